package selection

import (
	"fmt"
	"math"

	"github.com/clipmill/clipmill/internal/clipping"
)

// VisualInput is what selection reads when there is no speech: shot cuts and
// motion from a scan of the whole source.
type VisualInput struct {
	Duration float64
	Cuts     []float64 // seconds
	Times    []float64 // sample times, seconds, ascending
	Motion   []float64 // per sample, 0..1
	Title    string    // the source's title, for clip titles
	Why      string    // why there is no speech, for the reason
	Requests []clipping.DurationType
}

// SelectVisual picks one clip per request from motion and scene changes:
// a window that starts and ends on a cut where it can, with the most
// movement in it.
func SelectVisual(in VisualInput) []Clip {
	mean := func(a, b float64) float64 {
		var sum float64
		n := 0
		for i, t := range in.Times {
			if t >= a && t < b && i < len(in.Motion) {
				sum += in.Motion[i]
				n++
			}
		}
		if n == 0 {
			return 0
		}
		return sum / float64(n)
	}
	points := append([]float64{0}, in.Cuts...)
	var out []Clip
	for _, dt := range in.Requests {
		w := Windows[dt]
		best, bestScore, bestMotion := Clip{}, math.Inf(-1), 0.0
		for _, s := range points {
			end, onCut := windowEnd(s, w, in.Cuts, in.Duration)
			if end-s < 1 {
				continue
			}
			m := mean(s, end)
			score := m + 0.02*float64(cutsIn(in.Cuts, s, end))
			if onCut {
				score += 0.05
			}
			if end-s < w.Min {
				score -= 0.5 * (1 - (end-s)/w.Min) // prefer full-length windows
			}
			for _, o := range out {
				score -= shared(s, end, o.Start, o.End)
			}
			if score > bestScore {
				best, bestScore, bestMotion = Clip{DurationType: dt, Start: s, End: end}, score, m
			}
		}
		d := best.End - best.Start
		// Without speech a clip can only be so interesting: motion lifts the
		// score from about 10 to about 45.
		best.Virality = int(math.Round(10 + 35*math.Min(1, bestMotion*8)))
		best.Title = fmt.Sprintf("%s, %s to %s", in.Title, clock(best.Start), clock(best.End))
		best.Reason = fmt.Sprintf("%s: chosen from scene changes and motion (%d cuts), no captions.", in.Why, cutsIn(in.Cuts, best.Start, best.End))
		if d < w.Min {
			best.Reason = fmt.Sprintf("%s: the source is only %.0f s, so this is all of it; no captions.", in.Why, in.Duration)
		}
		out = append(out, best)
	}
	return out
}

// windowEnd ends a window starting at s on the last cut inside the duration
// window, else at the sweet spot; it reports whether it ended on a cut.
func windowEnd(s float64, w Window, cuts []float64, dur float64) (float64, bool) {
	end, onCut := -1.0, false
	for _, c := range cuts {
		if c-s >= w.Min && c-s <= w.Max && c-s <= w.SweetHigh*1.1 {
			end, onCut = c, true
		}
	}
	if end < 0 {
		end = s + (w.SweetLow+w.SweetHigh)/2
	}
	return math.Min(end, dur), onCut && end <= dur
}

func cutsIn(cuts []float64, a, b float64) int {
	n := 0
	for _, c := range cuts {
		if c > a && c < b {
			n++
		}
	}
	return n
}
