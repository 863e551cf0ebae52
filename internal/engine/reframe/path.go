package reframe

import (
	"math"

	"github.com/clipmill/clipmill/internal/stats"
)

// Camera settings. Distances are fractions of the crop's side along the
// axis, times are seconds.
const (
	deadZone  = 0.12 // the subject may drift this far from where the camera holds before it moves
	maxSpeed  = 0.9  // the fastest pan, crop sides per second
	easing    = 0.3  // how long a pan takes to start and stop (the σ of a Gaussian)
	pathStep  = 0.1  // seconds between the path's samples
	medianWin = 1.0  // seconds of sightings a median takes, against detector jitter
	keyTol    = 1.0  // pixels a simplified path may stray from the planned one
)

// maxAccel follows from the easing: a Gaussian of width easing turns a
// change of speed v into an acceleration of at most v/(easing*sqrt(2π)).
var maxAccel = maxSpeed / (easing * math.Sqrt(2*math.Pi))

// axis is one direction of a camera's movement.
type axis struct {
	crop, src int     // the crop's side and the source's, pixels
	slack     float64 // how far the subject's centre may be off the crop's centre and still be wholly inside
}

// cameraPath plans how a crop follows a subject over [start, end], as a
// good operator would: it holds perfectly still while the subject stays in
// a dead zone, pans smoothly (speed and acceleration capped) when the
// subject walks, and never moves back and forth with the detector's
// jitter. target gives the top-left corner that would put the subject
// where it belongs in the crop.
func cameraPath(target func(t float64) (x, y float64), start, end float64, ax, ay axis) []Key {
	n := max(1, int(math.Ceil((end-start)/pathStep)))
	ts := make([]float64, n+1)
	xs, ys := make([]float64, n+1), make([]float64, n+1)
	for i := range ts {
		ts[i] = math.Min(end, start+float64(i)*pathStep)
		xs[i], ys[i] = target(ts[i])
	}
	xs, ys = ax.follow(xs), ay.follow(ys)
	keep := make([]bool, n+1)
	keep[0], keep[n] = true, true
	simplify(ts, xs, keep)
	simplify(ts, ys, keep)
	var keys []Key
	for i := range ts {
		if keep[i] {
			keys = append(keys, Key{ts[i], xs[i], ys[i]})
		}
	}
	return keys
}

// follow turns the subject's wanted positions, one per pathStep, into the
// camera's positions along one axis.
func (a axis) follow(want []float64) []float64 {
	hi := float64(max(0, a.src-a.crop))
	w := medianFilter(want, int(medianWin/pathStep/2))
	for i := range w {
		w[i] = math.Max(0, math.Min(hi, w[i]))
	}
	dz := math.Min(deadZone*float64(a.crop), 0.6*math.Max(0, a.slack))
	lo, up := w[0], w[0]
	for _, v := range w {
		lo, up = math.Min(lo, v), math.Max(up, v)
	}
	out := make([]float64, len(w))
	if up-lo <= 2*dz {
		// The subject never leaves a dead zone around the middle of its
		// range: one still position for the whole shot.
		c := math.Round((lo + up) / 2)
		for i := range out {
			out[i] = c
		}
		return out
	}
	// Drag: the camera stays until the subject reaches the edge of the dead
	// zone, then moves with it, holding it at that edge.
	c := stats.Median(w[:min(len(w), int(1/pathStep)+1)])
	for i, v := range w {
		if v-c > dz {
			c = v - dz
		} else if c-v > dz {
			c = v + dz
		}
		out[i] = c
	}
	// Ease the starts and stops of pans. The Gaussian weighs only nearby
	// positions, so long holds stay exactly still, and it never turns a
	// movement one way into a movement back.
	out = gaussian(out, easing/pathStep)
	vmax := maxSpeed * float64(a.crop) * pathStep
	for i := 1; i < len(out); i++ {
		out[i] = out[i-1] + math.Max(-vmax, math.Min(vmax, out[i]-out[i-1]))
	}
	for i := range out {
		out[i] = math.Round(math.Max(0, math.Min(hi, out[i])))
	}
	return out
}

// medianFilter takes the median of each value and r on either side.
func medianFilter(v []float64, r int) []float64 {
	out := make([]float64, len(v))
	for i := range v {
		out[i] = stats.Median(v[max(0, i-r):min(len(v), i+r+1)])
	}
	return out
}

// gaussian smooths v with a Gaussian of the given σ (in samples), holding
// the end values beyond the ends.
func gaussian(v []float64, sigma float64) []float64 {
	r := int(math.Ceil(3 * sigma))
	w := make([]float64, 2*r+1)
	sum := 0.0
	for k := -r; k <= r; k++ {
		w[k+r] = math.Exp(-float64(k*k) / (2 * sigma * sigma))
		sum += w[k+r]
	}
	out := make([]float64, len(v))
	for i := range v {
		acc := 0.0
		for k := -r; k <= r; k++ {
			j := max(0, min(len(v)-1, i+k))
			acc += w[k+r] * v[j]
		}
		out[i] = acc / sum
	}
	return out
}

// simplify marks in keep the samples a piecewise-linear path needs so that
// it strays from v by no more than keyTol (Ramer-Douglas-Peucker, on time
// and value); samples already kept stay kept.
func simplify(ts, v []float64, keep []bool) {
	var rec func(a, b int)
	rec = func(a, b int) {
		worst, at := 0.0, -1
		for i := a + 1; i < b; i++ {
			f := (ts[i] - ts[a]) / (ts[b] - ts[a])
			if d := math.Abs(v[i] - (v[a] + f*(v[b]-v[a]))); d > worst {
				worst, at = d, i
			}
		}
		if worst > keyTol {
			keep[at] = true
			rec(a, at)
			rec(at, b)
		}
	}
	rec(0, len(v)-1)
}
