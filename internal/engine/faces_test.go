package engine

import (
	"context"
	"image"
	"testing"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/reframe"
	"github.com/clipmill/clipmill/internal/engine/reframe/reframetest"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/engine/scene"
	"github.com/clipmill/clipmill/internal/sample/sampletest"
)

// A presenter low in the frame: in the clip the engine renders, no caption
// pixel lands on the face, and the captions stay inside the apps' safe
// zone. The caption pixels are where the clip differs from the same clip
// rendered without captions.
func TestCaptionsKeepClearOfALowFace(t *testing.T) {
	sampletest.EndToEnd(t)
	ctx := context.Background()
	s := reframetest.LowFace()
	if _, err := s.Make(ctx, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	tr := load(t, s.SRT)
	run := func(captions bool) (Clip, string) {
		out := t.TempDir()
		st := clipping.DefaultOutputSettings()
		st.DurationTypes = []clipping.DurationType{clipping.Duration30}
		st.Captions = captions
		st.CaptionStyle = clipping.Ptr("bold")
		res, err := (&Engine{Encoder: render.Encoder{Preset: "ultrafast"}}).Run(ctx,
			Job{Input: s.Video, Settings: st, Transcript: tr, OutDir: out}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res.Clips[0], out
	}
	c, withDir := run(true)
	plain, plainDir := run(false)
	if c.Start != plain.Start || c.End != plain.End {
		t.Fatalf("the two runs cut differently")
	}
	p, err := reframe.Analyse(ctx, ffmpeg.Binaries{}, reframe.Request{Path: s.Video, SrcW: s.W, SrcH: s.H, FPS: 25,
		Start: c.Start, Dur: c.End - c.Start, OutW: 1080, OutH: 1920})
	if err != nil {
		t.Fatal(err)
	}
	frame := func(dir, name string, at float64) []uint8 {
		f, err := scene.Sample(ctx, ffmpeg.Binaries{}, scene.Request{Path: dir + "/" + name, Start: at, Dur: 0.04,
			FPS: 25, SrcW: 1080, SrcH: 1920, Side: 1920})
		if err != nil || len(f.Frames) == 0 {
			t.Fatalf("decode %s at %.1f: %v", name, at, err)
		}
		return f.Frames[0].Gray
	}
	captioned := 0
	for at := 1.0; at < c.End-c.Start-1; at += 2 {
		a, b := frame(withDir, c.Video, at), frame(plainDir, plain.Video, at)
		head, ok := p.Map(at, s.Head(0, c.Start+at))
		if !ok {
			t.Fatalf("the face is not in the clip at %.1f s", at)
		}
		var ink image.Rectangle
		onFace := 0
		for y := 0; y < 1920; y++ {
			for x := 0; x < 1080; x++ {
				if d := int(a[y*1080+x]) - int(b[y*1080+x]); d > 48 || d < -48 {
					ink = ink.Union(image.Rect(x, y, x+1, y+1))
					if image.Pt(x, y).In(head) {
						onFace++
					}
				}
			}
		}
		if ink.Empty() {
			continue
		}
		captioned++
		if onFace > 0 {
			t.Errorf("at %.1f s, %d caption pixels on the face %v (captions at %v)", at, onFace, head, ink)
		}
		if ink.Min.Y < 192 || ink.Max.Y > 1536 {
			t.Errorf("at %.1f s, captions at %v leave the safe zone (y 192-1536)", at, ink)
		}
	}
	if captioned < 5 {
		t.Fatalf("captions seen on %d frames: the test saw none to check", captioned)
	}
}
