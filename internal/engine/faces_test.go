package engine

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/reframe/reframetest"
	"github.com/clipmill/clipmill/internal/engine/render"
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
	sc, err := s.Captions(ctx, filepath.Join(withDir, c.Video), filepath.Join(plainDir, plain.Video), c.Start, c.End-c.Start)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Frames < 5 {
		t.Fatalf("captions seen on %d frames: the test saw none to check", sc.Frames)
	}
	if sc.OnFace > 0 || sc.Outside > 0 {
		t.Errorf("over %d frames, %d caption pixels on the face and %d outside the safe zone", sc.Frames, sc.OnFace, sc.Outside)
	}
}
