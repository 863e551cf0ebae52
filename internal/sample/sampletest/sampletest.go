// Package sampletest holds what the end-to-end tests share: they run real
// programs on media made by package sample, so they need those programs,
// and `go test -short` skips them.
package sampletest

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/sample"
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

// Talk generates a talk with package sample, its exact transcript beside
// it: 320x180 unless o sets a size, at a new temporary folder's talk.mp4
// unless o.Out says where. It fails the test when generation fails.
func Talk(t testing.TB, o sample.Options) *sample.Result {
	t.Helper()
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 320, 180
	}
	if o.Out == "" {
		o.Out = filepath.Join(t.TempDir(), "talk.mp4")
	}
	r, err := sample.Generate(context.Background(), ffmpeg.Binaries{}, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
