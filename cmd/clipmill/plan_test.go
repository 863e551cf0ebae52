package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/clipmill/clipmill/internal/engine"
	"github.com/clipmill/clipmill/internal/sample"
	"github.com/clipmill/clipmill/internal/sample/sampletest"
)

// clip's two halves: plan writes plan.json; a user moves a cut, retitles it
// and drops its words (to be taken from the transcript again); render
// renders that clip alone, as edited.
func TestPlanEditRender(t *testing.T) {
	sampletest.EndToEnd(t)
	tk := talk(t, "landscape", sample.Options{Seconds: 50, Width: 640, Height: 360})
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := clipmill("plan", tk.Video, "--transcript", tk.SRT, "--duration", "30,30", "--out", dir)
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, stderr)
	}
	path := filepath.Join(dir, "plan.json")
	if !strings.Contains(stdout, "clipmill render "+path) {
		t.Errorf("plan says %q", stdout)
	}
	pl, err := engine.ReadPlan(path)
	if err != nil || len(pl.Clips) != 2 || len(pl.Clips[0].Words) == 0 {
		t.Fatalf("plan %+v: %v", pl, err)
	}
	c := &pl.Clips[0]
	c.Start, c.End, c.Title, c.Words = 5, 26, "My own title", nil
	if err := engine.WritePlan(path, pl); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = clipmill("render", path, "--clip", c.ID, "--x264-preset", "ultrafast")
	if code != 0 {
		t.Fatalf("render: exit %d: %s", code, stderr)
	}
	job := readManifest(t, dir)
	checkClips(t, dir, job, 1080, 1920, true)
	if len(job.Clips) != 1 {
		t.Fatalf("%d clips rendered, want the one asked for", len(job.Clips))
	}
	got := job.Clips[0]
	if *got.Title != "My own title" || *got.StartSeconds != 5 || *got.DurationSeconds < 20.5 || *got.DurationSeconds > 21.5 {
		t.Errorf("rendered %q from %.1f s for %.1f s, want the edit: %q from 5 s for 21 s", *got.Title, *got.StartSeconds, *got.DurationSeconds, "My own title")
	}
	if got.Transcript == nil || *got.Transcript == "" {
		t.Error("the clip's words were not taken from the transcript")
	}

	// A plan that makes no sense is refused with a message that says why.
	c.End = 1e6
	if err := engine.WritePlan(path, pl); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := clipmill("render", path); code != 1 || !strings.Contains(stderr, "are not a span of the") {
		t.Errorf("a clip past the source's end: exit %d, %q", code, stderr)
	}
}
