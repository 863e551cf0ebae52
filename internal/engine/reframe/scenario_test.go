package reframe_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/reframe"
	"github.com/clipmill/clipmill/internal/engine/reframe/reframetest"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/engine/scene"
	"github.com/clipmill/clipmill/internal/sample/sampletest"
)

// plan makes the scenario's video and plans a portrait reframe of all of it.
func plan(t *testing.T, s *reframetest.Scenario) reframe.Plan {
	t.Helper()
	path, err := s.Make(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return analyse(t, s.Request(path, 1080, 1920))
}

func analyse(t *testing.T, r reframe.Request) reframe.Plan {
	t.Helper()
	p, err := reframe.Analyse(context.Background(), ffmpeg.Binaries{}, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range p.Shots {
		t.Logf("shot %.2f-%.2f %s (%s)", sh.Start, sh.End, sh.Layout, sh.Why)
	}
	return p
}

// faceInside checks that the face is whole in the crop on 98% of the
// frames, sampled at 2 fps.
func faceInside(t *testing.T, s *reframetest.Scenario, p reframe.Plan) {
	t.Helper()
	if r := s.InsideRate(p, 0, 2); r < 0.98 {
		t.Errorf("face inside the crop on %.1f%% of frames, want >= 98%%", 100*r)
	}
}

// rendered renders the plan of the clip r asks for as the engine does
// (seeking before the input), samples the result at 2 fps, and checks that
// each frame shows a whole face.
func rendered(t *testing.T, r reframe.Request, p reframe.Plan) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	err := render.Encoder{Preset: "ultrafast"}.Render(ctx, ffmpeg.Binaries{}, dir, render.Clip{
		Source: r.Path, Start: r.Start, Dur: r.Dur, Video: p.Filter(), FPS: p.FPS, Out: "clip.mp4"})
	if err != nil {
		t.Fatal(err)
	}
	frames, err := scene.Sample(ctx, ffmpeg.Binaries{}, scene.Request{Path: filepath.Join(dir, "clip.mp4"),
		FPS: 2, SrcW: r.OutW, SrcH: r.OutH, Side: 480})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames.Frames {
		faces, err := reframe.DetectFaces(f.Gray, frames.W, frames.H)
		if err != nil {
			t.Fatal(err)
		}
		whole := false
		for _, fc := range faces {
			if fc.X-0.5*fc.Size >= 0 && fc.X+0.5*fc.Size <= float64(frames.W) {
				whole = true
			}
		}
		if !whole {
			t.Errorf("the rendered clip shows no whole face at %.1f s: %+v", f.T, faces)
		}
	}
}

// A face that jumps sides inside a shot, with no colour change: the crop
// cuts with it and never shows the empty background.
func TestScenarioJump(t *testing.T) {
	sampletest.EndToEnd(t)
	s := reframetest.Jump(12)
	p := plan(t, s)
	faceInside(t, s, p)
	cuts := 0
	for _, sh := range p.Shots {
		if sh.Why == "face jump" {
			cuts++
		}
	}
	if cuts != 1 {
		t.Errorf("%d face-jump cuts, want 1", cuts)
	}
	// The clip from 3 to 9 s, as the engine renders it: the cut lands on
	// the frame, 3 s into the clip.
	r := s.Request(s.Video, 1080, 1920).Clip(3, 6)
	rendered(t, r, analyse(t, r))
}

// The cut lands on the frame where the face jumps, also in a source with
// B-frames, which the face search skips to save time.
func TestScenarioJumpOnTheFrame(t *testing.T) {
	sampletest.EndToEnd(t)
	s := reframetest.Jump(8)
	s.Preset = "medium"
	faceInside(t, s, plan(t, s))
	// The face is at its new place from the frame at 4.00 s (25 fps): the
	// crop switches half a frame before, whatever frame the clip starts on.
	for _, start := range []float64{0.36, 0.52, 0.68, 0.84} {
		p := analyse(t, s.Request(s.Video, 1080, 1920).Clip(start, 7))
		cuts := 0
		for _, sh := range p.Shots {
			if sh.Why == "face jump" {
				cuts++
				if want := 3.98 - start; math.Abs(sh.Start-want) > 0.015 {
					t.Errorf("clip from %.2f s: the cut is at %.3f s, want %.3f", start, sh.Start, want)
				}
			}
		}
		if cuts != 1 {
			t.Errorf("clip from %.2f s: %d face-jump cuts, want 1", start, cuts)
		}
	}
}

// A face that walks across the frame and part of the way back: the crop
// pans with it, smoothly, without hunting back and forth.
func TestScenarioWalk(t *testing.T) {
	sampletest.EndToEnd(t)
	s := reframetest.Walk(20)
	p := plan(t, s)
	faceInside(t, s, p)
	if r := reframetest.Reversals(p, s.Dur, 25); r > 1 {
		t.Errorf("%.2f changes of pan direction per 10 s, want <= 1", r)
	}
}

// A seated speaker who sways a little: the crop holds perfectly still.
func TestScenarioStill(t *testing.T) {
	sampletest.EndToEnd(t)
	s := reframetest.Still(12)
	p := plan(t, s)
	if r := reframetest.StillRate(p, s.Dur, 25); r < 0.95 {
		t.Errorf("crop still on %.1f%% of frames, want >= 95%%", 100*r)
	}
	faceInside(t, s, p)
}

// Two people taking turns: the camera is on whoever speaks, switches at
// the first word of each turn, and ignores a "yeah".
func TestScenarioTwoSpeakers(t *testing.T) {
	sampletest.EndToEnd(t)
	s := reframetest.TwoSpeakers()
	p := plan(t, s)
	sc := s.Speakers(p)
	t.Logf("score %+v heard %v", sc, s.Heard)
	if sc.Fill < 0.90 {
		t.Errorf("speaker in the crop %.1f%% of speech time, want >= 90%%", 100*sc.Fill)
	}
	if sc.Backchannel {
		t.Error("the camera went to the backchannel")
	}
	if sc.Latency > 0.5 {
		t.Errorf("a switch was %.2f s from its turn's first word, want <= 0.5", sc.Latency)
	}
	// Turns of 2-8 s are followed, not shown split: 8 turns, 7 switches.
	if sc.Switches < 6 || sc.Split > 0.1*s.Dur {
		t.Errorf("%d switches and %.1f s split, want the camera to follow each turn", sc.Switches, sc.Split)
	}
}

// Nobody on screen: the whole frame over a blurred copy, decided from the
// keyframes alone.
func TestScenarioEmpty(t *testing.T) {
	sampletest.EndToEnd(t)
	p := plan(t, reframetest.Empty(6))
	if len(p.Shots) != 1 || p.Shots[0].Layout != reframe.LayoutFit {
		t.Errorf("shots %+v, want one fit", p.Shots)
	}
}

// A quick exchange of one-second turns is shown split, both people at
// once, until one of them talks at length.
func TestScenarioBanter(t *testing.T) {
	sampletest.EndToEnd(t)
	s := reframetest.Banter()
	p := plan(t, s)
	var split []reframe.Shot
	for _, sh := range p.Shots {
		if sh.Layout == reframe.LayoutSplit {
			split = append(split, sh)
		}
	}
	// The exchange runs from "Dogs." (line 1) to "Fair." (line 6); the
	// long answer (line 7) is followed.
	if len(split) != 1 || split[0].Start > s.Heard[1].Start+0.05 || split[0].End < s.Heard[6].End {
		t.Fatalf("split shots %+v, want one over the exchange %.2f-%.2f", split, s.Heard[1].Start, s.Heard[6].End)
	}
	at := s.Heard[7].Start + 1
	if !s.Shows(p, 1, at) || s.Shows(p, 0, at) {
		t.Errorf("at %.1f s the camera is not on the one who talks at length", at)
	}
}
