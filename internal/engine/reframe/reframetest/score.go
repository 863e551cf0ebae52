package reframetest

import (
	"context"
	"fmt"
	"image"
	"math"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/reframe"
	"github.com/clipmill/clipmill/internal/engine/scene"
)

// Shows reports whether the output shows person i's whole head at time t:
// inside the crop of a panel (single or split), or anywhere in a layout
// that shows the whole frame.
func (s *Scenario) Shows(p reframe.Plan, i int, t float64) bool {
	sh := p.Shots[p.ShotAt(t)]
	head := s.Head(i, t)
	switch sh.Layout {
	case reframe.LayoutSingle, reframe.LayoutSplit:
		for _, pn := range sh.Panels {
			x, y := pn.At(t)
			x, y = math.Round(x), math.Round(y)
			if head.X0 >= x && head.X1 <= x+float64(pn.W) && head.Y0 >= y && head.Y1 <= y+float64(pn.H) {
				return true
			}
		}
		return false
	default:
		return true
	}
}

// InsideRate is the share of times, sampled at rate per second over the
// whole video, at which person i's whole head is in the output.
func (s *Scenario) InsideRate(p reframe.Plan, i int, rate float64) float64 {
	n, in := 0, 0
	for t := 0.5 / rate; t < s.Dur; t += 1 / rate {
		n++
		if s.Shows(p, i, t) {
			in++
		}
	}
	return float64(in) / float64(max(1, n))
}

// cropXs is the first panel's crop x at every output frame (rounded, as
// ffmpeg's crop takes it), and whether that frame shows a crop.
func cropXs(p reframe.Plan, dur, fps float64) ([]float64, []bool) {
	var xs []float64
	var ok []bool
	for t := 0.0; t < dur; t += 1 / fps {
		sh := p.Shots[p.ShotAt(t)]
		if len(sh.Panels) == 0 {
			xs, ok = append(xs, 0), append(ok, false)
			continue
		}
		x, _ := sh.Panels[0].At(t)
		xs, ok = append(xs, math.Round(x)), append(ok, true)
	}
	return xs, ok
}

// StillRate is the share of output frames (at fps) on which the crop did
// not move from the frame before.
func StillRate(p reframe.Plan, dur, fps float64) float64 {
	xs, ok := cropXs(p, dur, fps)
	n, still := 0, 0
	for k := 1; k < len(xs); k++ {
		if ok[k] && ok[k-1] {
			n++
			if xs[k] == xs[k-1] {
				still++
			}
		}
	}
	return float64(still) / float64(max(1, n))
}

// Reversals is how many times the pan changes direction, per 10 seconds.
// A cut starts afresh.
func Reversals(p reframe.Plan, dur, fps float64) float64 {
	xs, ok := cropXs(p, dur, fps)
	dir, count := 0.0, 0
	for k := 1; k < len(xs); k++ {
		if !ok[k] || !ok[k-1] {
			dir = 0
			continue
		}
		d := xs[k] - xs[k-1]
		// A jump of more than a tenth of the crop's width in one frame is
		// a cut, not a pan.
		if pn := p.Shots[p.ShotAt(float64(k)/fps)].Panels; len(pn) > 0 && math.Abs(d) > 0.1*float64(pn[0].W) {
			dir = 0
			continue
		}
		if d == 0 {
			continue
		}
		s := math.Copysign(1, d)
		if dir != 0 && s != dir {
			count++
		}
		dir = s
	}
	return float64(count) * 10 / dur
}

// SpeakerScore is how well a plan follows the speaker in a dialogue.
type SpeakerScore struct {
	Fill        float64 // share of speech time in which the speaker is in the crop
	Backchannel bool    // the camera went to the backchannel
	Latency     float64 // the largest distance from a switch to its turn's first word, seconds
	Switches    int
	Split       float64 // seconds shown in a split layout, which shows everyone
}

// Speakers scores a plan of a dialogue (TwoSpeakers).
func (s *Scenario) Speakers(p reframe.Plan) SpeakerScore {
	var sc SpeakerScore
	total, in := 0, 0
	var turnStarts []float64
	prev := -1
	for k, l := range s.Lines {
		h := s.Heard[k]
		if l.Text == Backchannel {
			// The camera must stay on the other person.
			for t := h.Start; t < h.End; t += 0.05 {
				if s.Shows(p, l.Who, t) && !s.Shows(p, 1-l.Who, t) {
					sc.Backchannel = true
				}
			}
			continue
		}
		if l.Who != prev {
			turnStarts = append(turnStarts, h.Start)
		}
		prev = l.Who
		for t := h.Start; t < h.End; t += 0.05 {
			total++
			if s.Shows(p, l.Who, t) {
				in++
			}
		}
	}
	sc.Fill = float64(in) / float64(max(1, total))
	for _, sh := range p.Shots {
		if sh.Layout == reframe.LayoutSplit {
			sc.Split += sh.End - sh.Start
		}
		if sh.Why != "speaker" {
			continue
		}
		sc.Switches++
		best := math.Inf(1)
		for _, ts := range turnStarts {
			best = math.Min(best, math.Abs(sh.Start-ts))
		}
		sc.Latency = math.Max(sc.Latency, best)
	}
	return sc
}

// CaptionScore says where the captions of a clip of a one-person scenario
// land: Frames is how many sampled frames show captions, OnFace how many
// caption pixels fall on the face in them, and Outside how many fall outside
// the portrait safe zone (y 10%-80% of the height).
type CaptionScore struct {
	Frames, OnFace, Outside int
}

// Captions compares, once a second, a portrait clip of the scenario from
// start to start+dur rendered with captions and the same clip rendered
// without: caption pixels are where they differ. The face is where a fresh
// reframe plan of the clip puts it.
func (s *Scenario) Captions(ctx context.Context, with, plain string, start, dur float64) (CaptionScore, error) {
	var sc CaptionScore
	const w, h = 1080, 1920
	p, err := reframe.Analyse(ctx, ffmpeg.Binaries{}, s.Request(s.Video, w, h).Clip(start, dur))
	if err != nil {
		return sc, err
	}
	frame := func(path string, at float64) ([]uint8, error) {
		f, err := scene.Sample(ctx, ffmpeg.Binaries{}, scene.Request{Path: path, Start: at, Dur: 0.04, FPS: 25, SrcW: w, SrcH: h, Side: h})
		if err != nil || len(f.Frames) == 0 {
			return nil, fmt.Errorf("decode %s at %.1f s: %v", path, at, err)
		}
		return f.Frames[0].Gray, nil
	}
	for at := 1.0; at < dur-1; at++ {
		a, err := frame(with, at)
		if err != nil {
			return sc, err
		}
		b, err := frame(plain, at)
		if err != nil {
			return sc, err
		}
		head, _ := p.Map(at, s.Head(0, start+at))
		ink := 0
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if d := int(a[y*w+x]) - int(b[y*w+x]); d > 48 || d < -48 {
					ink++
					if image.Pt(x, y).In(head) {
						sc.OnFace++
					}
					if y < h/10 || y >= h*8/10 {
						sc.Outside++
					}
				}
			}
		}
		if ink > 0 {
			sc.Frames++
		}
	}
	return sc, nil
}
