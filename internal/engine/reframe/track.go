package reframe

import (
	"math"
	"sort"

	"github.com/clipmill/clipmill/internal/stats"
)

// Tracking settings.
const (
	maxBridge   = 1.0  // seconds a face may go unseen and still be the same track
	jumpGap     = 0.45 // a face gone from one place and seen in another this soon has jumped
	minTrackLen = 3    // detections; shorter tracks are taken for false detections
	minSeen     = 10   // detections (two seconds) that make a person, however long the shot
)

// point is a face at one time, in source pixels.
type point struct {
	T, X, Y, S, Mouth float64
}

// track is one face followed from frame to frame.
type track struct {
	pts []point
}

func (t *track) first() point { return t.pts[0] }
func (t *track) last() point  { return t.pts[len(t.pts)-1] }

// link joins the detections of consecutive frames into tracks: a detection
// continues the nearest track whose face was seen within maxBridge seconds,
// is about the same size, and is near enough for a person to have moved
// there in that time. Everything else starts a new track.
func link(obs []observation) []*track {
	var all, open []*track
	for _, o := range obs {
		type pair struct {
			t    *track
			d    int
			cost float64
		}
		var pairs []pair
		kept := open[:0]
		for _, tr := range open {
			if o.T-tr.last().T <= maxBridge {
				kept = append(kept, tr)
			}
		}
		open = kept
		for _, tr := range open {
			l := tr.last()
			for d, s := range o.Faces {
				ratio := s.Size / l.S
				if ratio < 0.67 || ratio > 1.5 {
					continue
				}
				size := math.Max(s.Size, l.S)
				dist := math.Hypot(s.X-l.X, s.Y-l.Y)
				// Half a face for detector jitter, and a walking pace of
				// a face and a half per second.
				if dist > (0.5+1.5*(o.T-l.T))*size {
					continue
				}
				pairs = append(pairs, pair{tr, d, dist / size})
			}
		}
		sort.Slice(pairs, func(i, j int) bool { return pairs[i].cost < pairs[j].cost })
		usedT := map[*track]bool{}
		usedD := map[int]bool{}
		for _, p := range pairs {
			if usedT[p.t] || usedD[p.d] {
				continue
			}
			usedT[p.t], usedD[p.d] = true, true
			s := o.Faces[p.d]
			p.t.pts = append(p.t.pts, point{o.T, s.X, s.Y, s.Size, s.Mouth})
		}
		for d, s := range o.Faces {
			if !usedD[d] {
				tr := &track{pts: []point{{o.T, s.X, s.Y, s.Size, s.Mouth}}}
				all = append(all, tr)
				open = append(open, tr)
			}
		}
	}
	var out []*track
	for _, tr := range all {
		if len(tr.pts) >= minTrackLen {
			out = append(out, tr)
		}
	}
	return out
}

// jump is a face that vanished in one place and appeared in another.
type jump struct {
	from, to point
}

// jumps finds faces that vanish from one place and appear in another within
// jumpGap seconds, with no track still near the old place: the presenter
// crossed the stage in a cut, or a second camera on the same set took over.
// Both tracks must be steady (a second or more), so a false detection or a
// face turning away does not cut.
func jumps(tracks []*track) []jump {
	var out []jump
	for _, b := range tracks {
		bf := b.first()
		if b.last().T-bf.T < 1 {
			continue
		}
		for _, a := range tracks {
			al := a.last()
			gap := bf.T - al.T
			if a == b || gap <= 0 || gap > jumpGap || al.T-a.first().T < 1 {
				continue
			}
			if math.Hypot(bf.X-al.X, bf.Y-al.Y) < 1.5*math.Max(al.S, bf.S) {
				continue
			}
			out = append(out, jump{al, bf})
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].to.T < out[j].to.T })
	return out
}

// splitAt cuts tracks at the shot boundaries, so no track spans a cut.
func splitAt(tracks []*track, cuts []float64) []*track {
	var out []*track
	for _, tr := range tracks {
		cur := &track{}
		next := 0
		for _, p := range tr.pts {
			for next < len(cuts) && p.T >= cuts[next] {
				if len(cur.pts) > 0 {
					out = append(out, cur)
					cur = &track{}
				}
				next++
			}
			cur.pts = append(cur.pts, p)
		}
		if len(cur.pts) > 0 {
			out = append(out, cur)
		}
	}
	return out
}

// person is one or more tracks of one face within a shot.
type person struct {
	pts []point // in time order
}

// people groups the tracks of a shot into persons: a track that starts
// after another ended, near where it ended, is the same face seen again
// (after turning away, or hidden for a moment). Persons seen in less than a
// fifth of the shot's frames, and for less than two seconds in all, are
// dropped as false detections, unless nobody is seen more.
func people(tracks []*track, frames int) []*person {
	sort.Slice(tracks, func(i, j int) bool { return tracks[i].first().T < tracks[j].first().T })
	var ps []*person
	for _, tr := range tracks {
		var best *person
		bestD := math.Inf(1)
		f := tr.first()
		for _, p := range ps {
			l := p.pts[len(p.pts)-1]
			if l.T >= f.T {
				continue // seen at the same time: someone else
			}
			if d := math.Hypot(f.X-l.X, f.Y-l.Y); d < math.Max(f.S, l.S) && d < bestD {
				best, bestD = p, d
			}
		}
		if best == nil {
			best = &person{}
			ps = append(ps, best)
		}
		best.pts = append(best.pts, tr.pts...)
	}
	most := 0
	for _, p := range ps {
		most = max(most, len(p.pts))
	}
	var out []*person
	for _, p := range ps {
		if 5*len(p.pts) >= frames || len(p.pts) >= minSeen || len(p.pts) == most {
			out = append(out, p)
		}
	}
	// Left to right, so a split layout puts the left person on top.
	sort.Slice(out, func(i, j int) bool { return out[i].medianX() < out[j].medianX() })
	return out
}

func (p *person) medianX() float64 {
	xs := make([]float64, len(p.pts))
	for i, q := range p.pts {
		xs[i] = q.X
	}
	return stats.Median(xs)
}

func (p *person) medianSize() float64 {
	s := make([]float64, len(p.pts))
	for i, q := range p.pts {
		s[i] = q.S
	}
	return stats.Median(s)
}

// at is the person's position at time t: interpolated between sightings,
// held before the first and after the last.
func (p *person) at(t float64) point {
	i := sort.Search(len(p.pts), func(i int) bool { return p.pts[i].T >= t })
	switch {
	case i == 0:
		return p.pts[0]
	case i == len(p.pts):
		return p.pts[len(p.pts)-1]
	}
	a, b := p.pts[i-1], p.pts[i]
	f := (t - a.T) / (b.T - a.T)
	return point{T: t, X: a.X + f*(b.X-a.X), Y: a.Y + f*(b.Y-a.Y), S: a.S + f*(b.S-a.S)}
}

// seen reports whether the person was detected near time t.
func (p *person) seen(t, within float64) (point, bool) {
	i := sort.Search(len(p.pts), func(i int) bool { return p.pts[i].T >= t-within })
	if i < len(p.pts) && p.pts[i].T <= t+within {
		return p.pts[i], true
	}
	return point{}, false
}
