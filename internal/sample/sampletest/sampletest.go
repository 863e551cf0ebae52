// Package sampletest holds what the end-to-end tests share: they run real
// programs on media made by package sample, so they need those programs,
// and `go test -short` skips them.
package sampletest

import (
	"os/exec"
	"testing"
)

// EndToEnd skips the test under -short, and fails it (CI must not skip it
// quietly) when a program the media work needs is not installed.
func EndToEnd(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
	for _, p := range []string{"ffmpeg", "ffprobe", "espeak-ng", "pocketsphinx_continuous"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s is not installed: run scripts/setup.sh", p)
		}
	}
}
