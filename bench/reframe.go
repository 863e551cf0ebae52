package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/reframe"
	"github.com/clipmill/clipmill/internal/engine/reframe/reframetest"
)

// reframeFigures measures the reframe stage on generated 1080p videos whose
// truth is known (where each face is, who speaks when), portrait output:
// the figures the stage is held to, and its cost against a plain decode of
// the same clip measured here.
func reframeFigures(ctx context.Context, bin, dir string) error {
	dir = filepath.Join(dir, "reframe")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	plan := func(s *reframetest.Scenario) (reframe.Plan, time.Duration, error) {
		if _, err := s.Make(ctx, dir); err != nil {
			return reframe.Plan{}, 0, err
		}
		start := time.Now()
		p, err := reframe.Analyse(ctx, ffmpeg.Binaries{}, s.Request(s.Video, 1080, 1920))
		return p, time.Since(start), err
	}
	fmt.Printf("== reframe: 1920x1080 sources, portrait 1080x1920 output\n")
	fmt.Printf("  %-34s %-38s %-9s %s\n", "case", "figure", "aim", "result")
	row := func(c, fig, aim, res string) { fmt.Printf("  %-34s %-38s %-9s %s\n", c, fig, aim, res) }
	pct := func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

	jump := reframetest.Jump(12)
	p, _, err := plan(jump)
	if err != nil {
		return err
	}
	row("face jumps sides, same colours", "face whole in the crop (2 fps)", ">= 98%", pct(jump.InsideRate(p, 0, 2)))

	walk := reframetest.Walk(20)
	if p, _, err = plan(walk); err != nil {
		return err
	}
	row("face walks across and back", "face whole in the crop (2 fps)", ">= 98%", pct(walk.InsideRate(p, 0, 2)))
	row("", "pan direction changes per 10 s", "<= 1", fmt.Sprintf("%.2f", reframetest.Reversals(p, walk.Dur, 25)))

	still := reframetest.Still(12)
	if p, _, err = plan(still); err != nil {
		return err
	}
	row("still face (sways a little)", "frames on which the crop is still", ">= 95%", pct(reframetest.StillRate(p, still.Dur, 25)))

	two := reframetest.TwoSpeakers()
	if p, _, err = plan(two); err != nil {
		return err
	}
	sc := two.Speakers(p)
	row("two people, turns of 2-8 s", "speaker in the crop, of speech time", ">= 90%", pct(sc.Fill))
	row("", "switched for a 0.7 s \"yeah\"", "no", map[bool]string{true: "yes", false: "no"}[sc.Backchannel])
	row("", "worst switch to the turn's first word", "<= 0.5 s", fmt.Sprintf("%.2f s (%d switches, %.0f s split)", sc.Latency, sc.Switches, sc.Split))

	on, frames, err := lowFaceCaptions(ctx, bin, dir)
	if err != nil {
		return err
	}
	row("face low in the frame", "caption pixels on the face", "0", fmt.Sprintf("%d (captions on %d frames)", on, frames))

	cost := reframetest.Walk(60)
	_, took, err := plan(cost)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := (ffmpeg.Binaries{}).Run(ctx, 0, "-nostdin", "-v", "error", "-i", cost.Video, "-map", "0:v", "-f", "null", "-"); err != nil {
		return err
	}
	decode := time.Since(start)
	row("analysis cost, 60 s of 1080p", "analysis wall / clip duration", "<= 0.25", fmt.Sprintf("%.3f (%.1f s)", took.Seconds()/cost.Dur, took.Seconds()))
	row("", "analysis / plain decode of the clip", "-", fmt.Sprintf("%.2f (decode %.1f s)", took.Seconds()/decode.Seconds(), decode.Seconds()))
	fmt.Println()
	return nil
}

// lowFaceCaptions clips the low-face talk with clipmill, with and without
// captions, and counts the caption pixels on the face.
func lowFaceCaptions(ctx context.Context, bin, dir string) (onFace, frames int, err error) {
	s := reframetest.LowFace()
	if _, err := s.Make(ctx, dir); err != nil {
		return 0, 0, err
	}
	var clips [2]clipping.Clip
	var outs [2]string
	for i, captions := range []bool{true, false} {
		outs[i] = filepath.Join(dir, fmt.Sprintf("lowface-captions-%v", captions))
		os.RemoveAll(outs[i])
		cmd := exec.CommandContext(ctx, bin, "clip", s.Video, "--transcript", s.SRT, "--duration", "30",
			"--caption-style", "bold", fmt.Sprintf("--captions=%v", captions), "--x264-preset", "ultrafast", "--out", outs[i])
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return 0, 0, fmt.Errorf("clipmill clip: %w", err)
		}
		b, err := os.ReadFile(filepath.Join(outs[i], "manifest.json"))
		if err != nil {
			return 0, 0, err
		}
		var m struct{ Data clipping.Job }
		if err := json.Unmarshal(b, &m); err != nil || len(m.Data.Clips) == 0 {
			return 0, 0, fmt.Errorf("read the manifest: %v", err)
		}
		clips[i] = m.Data.Clips[0]
	}
	c := clips[0]
	sc, err := s.Captions(ctx, filepath.Join(outs[0], *c.VideoURL), filepath.Join(outs[1], *clips[1].VideoURL),
		*c.StartSeconds, *c.EndSeconds-*c.StartSeconds)
	return sc.OnFace, sc.Frames, err
}
