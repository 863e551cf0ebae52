package reframe

import (
	"context"
	"fmt"
	"image"
	"math"
	"sort"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/scene"
)

// Cut settings.
const (
	minShot    = 0.3 // seconds; a cut this close after another is the same cut
	maxRefines = 40  // cuts placed to the frame per clip; beyond, to the sample
	refineSide = 240 // the frames a cut is placed on are this wide
)

// findCuts returns the clip's shot boundaries from two signals: AutoFlip's
// colour-histogram rule, and faces that jump (which the colours miss when
// a presenter crosses the same set, or a second camera shows it). Samples
// are a fifth of a second apart, so each cut is then placed on the exact
// frame, by decoding that fifth of a second in full: a crop that switches a
// few frames late shows an empty background.
func findCuts(ctx context.Context, bin ffmpeg.Binaries, r Request, o *observed, tracks []*track) ([]cut, error) {
	type candidate struct {
		lo, hi float64
		region image.Rectangle // where the picture changes; empty: anywhere
		why    string
	}
	var cands []candidate
	for _, t := range o.frames.Cuts() {
		cands = append(cands, candidate{lo: t - 1/sampleRate, hi: t, why: "cut"})
	}
	for _, j := range jumps(tracks) {
		region := faceRect(j.from).Union(faceRect(j.to))
		cands = append(cands, candidate{lo: j.from.T, hi: j.to.T, region: region, why: "face jump"})
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].hi < cands[j].hi })
	var out []cut
	for i, c := range cands {
		t := c.hi
		if i < maxRefines {
			var err error
			if t, err = placeCut(ctx, bin, r, c.lo, c.hi, c.region); err != nil {
				return nil, err
			}
		}
		if n := len(out); (n > 0 && t-out[n-1].T < minShot) || t < minShot || t > r.Dur-minShot {
			continue
		}
		out = append(out, cut{t, c.why})
	}
	return out, nil
}

func faceRect(q point) image.Rectangle {
	b := FaceAt{X: q.X, Y: q.Y, Size: q.S}.Box()
	return image.Rect(int(b.X0), int(b.Y0), int(math.Ceil(b.X1)), int(math.Ceil(b.Y1)))
}

// placeCut finds the frame near (lo, hi] where the picture changes most, in
// region (source pixels) or, when it is empty, in its colours, and returns
// the time halfway between that frame and the one before, so the crop
// switches on exactly that frame.
func placeCut(ctx context.Context, bin ffmpeg.Binaries, r Request, lo, hi float64, region image.Rectangle) (float64, error) {
	fps := r.FPS
	if fps <= 0 || fps > 120 {
		fps = 30
	}
	// The samples' times are good to a frame or two (the face search
	// skips B-frames): look a little either side.
	lo, hi = math.Max(0, lo-2/fps), math.Min(r.Dur, hi+2/fps)
	f, err := scene.Sample(ctx, bin, scene.Request{
		Path: r.Path, Start: r.Start + math.Max(0, lo), Dur: hi - lo + 1/fps, FPS: fps,
		SrcW: r.SrcW, SrcH: r.SrcH, Side: refineSide, Every: true,
	})
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("reframe: place a cut: %w", err)
	}
	if len(f.Frames) < 2 {
		return (lo + hi) / 2, nil
	}
	kx, ky := float64(f.W)/float64(r.SrcW), float64(f.H)/float64(r.SrcH)
	rg := image.Rect(int(float64(region.Min.X)*kx), int(float64(region.Min.Y)*ky),
		int(math.Ceil(float64(region.Max.X)*kx)), int(math.Ceil(float64(region.Max.Y)*ky))).Intersect(image.Rect(0, 0, f.W, f.H))
	best, bestD := 1, -1.0
	for k := 1; k < len(f.Frames); k++ {
		var d float64
		if region.Empty() {
			d = scene.Change(&f.Frames[k-1], &f.Frames[k])
		} else {
			d = meanDiff(f.Frames[k-1].Gray, f.Frames[k].Gray, f.W, rg)
		}
		if d > bestD {
			best, bestD = k, d
		}
	}
	return math.Max(0, lo) + (float64(best)-0.5)/fps, nil
}

// meanDiff is the mean absolute difference of two grey frames inside r.
func meanDiff(a, b []uint8, w int, r image.Rectangle) float64 {
	sum, n := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			d := int(a[y*w+x]) - int(b[y*w+x])
			if d < 0 {
				d = -d
			}
			sum += d
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(sum) / float64(n)
}
