package reframe

import (
	"context"
	"fmt"
	"image"
	"math"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/scene"
)

// Analysis settings: faces are looked for five times a second on frames
// 480 pixels wide, which finds a face 80 pixels wide in 1080p and costs
// about 15 ms a frame.
const (
	sampleRate = 5.0
	sampleSide = 480
)

// observation is what one sampled frame shows.
type observation struct {
	T     float64 // seconds from the clip's start
	Faces []sighting
	Luma  float64 // mean brightness, 0..255: a fade or a black frame is dark
}

// sighting is one face in one frame, in source pixels.
type sighting struct {
	X, Y, Size float64 // centre and side of the detector's box
	// Mouth is how much the mouth changed since the previous sample, beyond
	// how much the eyes did (which takes out the head's own movement), in
	// grey levels.
	Mouth float64
}

// observed is a sampled span: the faces of every frame, and the frames'
// colour histograms for the cut rule (their pictures are dropped).
type observed struct {
	obs    []observation
	frames scene.Frames
}

// observe samples the span at sampleRate and finds the faces in each frame.
// Frames are handed over as they are decoded, so a long clip holds only a
// few pictures in memory, and faces are found in order, each frame's near
// the last's, while ffmpeg decodes the next frames on the other cores.
func observe(ctx context.Context, bin ffmpeg.Binaries, r Request) (*observed, error) {
	if _, err := faceClassifier(); err != nil {
		return nil, err
	}
	type frame struct {
		t         float64
		cur, prev []uint8
		w, h      int
	}
	frames := make(chan frame, 8)
	out := &observed{}
	done := make(chan error, 1)
	// A failed search stops the decoding rather than waiting for its end.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		var fd finder
		var err error
		for f := range frames {
			if err != nil {
				continue // drain, so the decoder never blocks
			}
			var faces []Face
			if faces, err = fd.find(f.cur, f.w, f.h); err != nil {
				cancel()
				continue
			}
			sx, sy := float64(r.SrcW)/float64(f.w), float64(r.SrcH)/float64(f.h)
			o := observation{T: f.t, Luma: meanLuma(f.cur)}
			for _, fc := range faces {
				s := sighting{X: fc.X * sx, Y: fc.Y * sy, Size: fc.Size * sx}
				if f.prev != nil {
					s.Mouth = mouthMotion(f.prev, f.cur, f.w, f.h, fc)
				}
				o.Faces = append(o.Faces, s)
			}
			out.obs = append(out.obs, o)
		}
		done <- err
	}()
	var prev []uint8
	err := scene.Stream(ctx, bin, scene.Request{
		Path: r.Path, Start: r.Start, Dur: r.Dur, FPS: sampleRate,
		SrcW: r.SrcW, SrcH: r.SrcH, Side: sampleSide,
	}, func(f *scene.Frames, fr scene.Frame) error {
		select {
		case frames <- frame{t: fr.T, cur: fr.Gray, prev: prev, w: f.W, h: f.H}:
		case <-ctx.Done():
			return ctx.Err()
		}
		prev = fr.Gray
		fr.Gray = nil // the histogram is all the cut rule needs
		out.frames.Frames = append(out.frames.Frames, fr)
		return nil
	})
	close(frames)
	if derr := <-done; derr != nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("reframe: %w", err)
	}
	out.frames.FPS = sampleRate
	return out, nil
}

// Regions of a face, as fractions of the detector's box side from its
// centre; pigo's box spans about brow to mouth.
var (
	mouthRegion = [4]float64{-0.22, 0.22, 0.22, 0.48} // x0, x1, y0, y1
	eyesRegion  = [4]float64{-0.30, 0.30, -0.20, 0.05}
)

// mouthMotion is the mean change of the mouth region between two frames,
// less that of the eyes: a head that moves changes both, a mouth that
// speaks only the first.
func mouthMotion(prev, cur []uint8, w, h int, f Face) float64 {
	m := regionChange(prev, cur, w, h, f, mouthRegion)
	e := regionChange(prev, cur, w, h, f, eyesRegion)
	return math.Max(0, m-e)
}

func regionChange(prev, cur []uint8, w, h int, f Face, r [4]float64) float64 {
	rect := image.Rect(int(f.X+r[0]*f.Size), int(f.Y+r[2]*f.Size),
		int(math.Ceil(f.X+r[1]*f.Size)), int(math.Ceil(f.Y+r[3]*f.Size))).Intersect(image.Rect(0, 0, w, h))
	return meanDiff(prev, cur, w, rect)
}

func meanLuma(gray []uint8) float64 {
	sum := 0
	for i := 0; i < len(gray); i += 4 {
		sum += int(gray[i])
	}
	return float64(sum) / float64(max(1, (len(gray)+3)/4))
}
