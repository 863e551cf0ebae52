package reframe

import (
	"math"
	"sort"
)

// Span is a stretch of time, in seconds from the clip's start.
type Span struct{ Start, End float64 }

// Speaker settings, in seconds.
const (
	minTurn     = 1.0 // a new speaker must hold this long before the camera goes to them
	minHold     = 2.0 // the camera stays on a speaker at least this long
	rapidTurn   = 1.6 // turns shorter than this, three in a row, are a rapid exchange
	minSplit    = 3.0 // a split layout lasts at least this long
	mouthWindow = 0.3 // mouth movement is averaged this far either side of a frame
	labelMargin = 0.25
)

// segment is a part of a shot with one layout and subject.
type segment struct {
	start, end float64
	layout     Layout
	who        []int // the persons shown: one (single) or two (split, left first)
	why        string
}

// speakers decides whom the camera shows, and how, in a shot of two or more
// persons: the one whose mouth moves while someone speaks. Speech comes from
// the transcript's word times (and the audio), mouth movement from the
// faces; each person's movement is scaled to their own range, so a beard or
// a shadow does not make a listener look like a speaker. The camera goes to
// a new speaker at the first word of their turn, only for a turn of a
// second or more (a "yeah" does not move it), and holds each speaker at
// least two seconds. Rapid exchanges, and two people talking at once, get
// a split layout instead of a camera that ping-pongs.
func speakers(ps []*person, times []float64, speech []Span, start, end float64) []segment {
	score := mouthScores(ps, times)
	talking := func(t float64) bool { return speech == nil || inSpans(speech, t, 0.1) }

	// Each frame's speaker, where one clearly is, and the frames where two
	// mouths move at once.
	label := make([]int, len(times))
	var overlap []float64
	for k, t := range times {
		label[k] = -1
		if !talking(t) {
			continue
		}
		best, second := -1, -1
		for p := range ps {
			if math.IsNaN(score[p][k]) {
				continue
			}
			if best < 0 || score[p][k] > score[best][k] {
				best, second = p, best
			} else if second < 0 || score[p][k] > score[second][k] {
				second = p
			}
		}
		if best < 0 {
			continue
		}
		lead := score[best][k]
		if second >= 0 {
			if score[second][k] >= 0.5 && lead >= 0.5 {
				overlap = append(overlap, t)
			}
			lead -= score[second][k]
		}
		if lead >= labelMargin {
			label[k] = best
		}
	}

	runs := speakerRuns(label, times)
	splits := splitRegions(runs, overlap, speech, start, end)
	turns := settle(runs)

	// The camera's speaker over time: a switch at the first word of each
	// new turn, at least minHold after the last.
	first := mostTalkative(score, label, ps)
	if len(turns) > 0 {
		first = turns[0].who
	}
	segs := []segment{{start: start, end: end, layout: LayoutSingle, who: []int{first}, why: ""}}
	last := start
	for _, tn := range turns[min(1, len(turns)):] {
		cur := &segs[len(segs)-1]
		if tn.who == cur.who[0] {
			continue
		}
		at := snap(tn.first, speech)
		if at-last < minHold {
			if tn.end-at < minHold {
				continue // too short to show without breaking the hold
			}
			at = last + minHold
		}
		if at >= end-0.5 {
			break
		}
		cur.end = at
		segs = append(segs, segment{start: at, end: end, layout: LayoutSingle, who: []int{tn.who}, why: "speaker"})
		last = at
	}
	return overlaySplits(segs, splits, ps)
}

// mouthScores is each person's mouth movement at each frame, scaled to the
// person's own 20th-80th percentile range and averaged over mouthWindow on
// either side; NaN where the face was not seen. A range smaller than half
// the widest person's (someone who never speaks) is widened to it, so
// their still mouth is not magnified into speech.
func mouthScores(ps []*person, times []float64) [][]float64 {
	raw := make([][]float64, len(ps))
	lo, rng := make([]float64, len(ps)), make([]float64, len(ps))
	widest := 0.0
	for p, per := range ps {
		raw[p] = make([]float64, len(times))
		var seen []float64
		for k, t := range times {
			raw[p][k] = math.NaN()
			if q, ok := per.seen(t, 0.5/sampleRate); ok {
				raw[p][k] = q.Mouth
				seen = append(seen, q.Mouth)
			}
		}
		lo[p] = percentile(seen, 0.2)
		rng[p] = percentile(seen, 0.8) - lo[p]
		widest = math.Max(widest, rng[p])
	}
	floor := math.Max(0.5*widest, 1.0) // a grey level: below it is noise
	out := make([][]float64, len(ps))
	for p := range ps {
		r := math.Max(rng[p], floor)
		out[p] = make([]float64, len(times))
		for k, t := range times {
			sum, n := 0.0, 0
			for j := k; j >= 0 && t-times[j] <= mouthWindow; j-- {
				if !math.IsNaN(raw[p][j]) {
					sum += raw[p][j]
					n++
				}
			}
			for j := k + 1; j < len(times) && times[j]-t <= mouthWindow; j++ {
				if !math.IsNaN(raw[p][j]) {
					sum += raw[p][j]
					n++
				}
			}
			out[p][k] = math.NaN()
			if n > 0 {
				out[p][k] = (sum/float64(n) - lo[p]) / r
			}
		}
	}
	return out
}

func mostTalkative(score [][]float64, label []int, ps []*person) int {
	count := make([]int, len(ps))
	for _, l := range label {
		if l >= 0 {
			count[l]++
		}
	}
	best := 0
	for p := range ps {
		if count[p] > count[best] || (count[p] == count[best] && len(ps[p].pts) > len(ps[best].pts)) {
			best = p
		}
	}
	return best
}

// run is a stretch of frames labelled with one speaker.
type run struct {
	who         int
	first, end  float64 // the first labelled frame, and just after the last
	frames      int
	evidenceSec float64
}

// speakerRuns groups the labelled frames into runs of one speaker;
// unlabelled frames do not break a run.
func speakerRuns(label []int, times []float64) []run {
	var runs []run
	for k, l := range label {
		if l < 0 {
			continue
		}
		end := times[k] + 1/sampleRate
		if n := len(runs); n > 0 && runs[n-1].who == l {
			runs[n-1].end = end
			runs[n-1].frames++
			continue
		}
		runs = append(runs, run{who: l, first: times[k], end: end, frames: 1})
	}
	for i := range runs {
		runs[i].evidenceSec = float64(runs[i].frames) / sampleRate
	}
	return runs
}

// settle removes runs shorter than minTurn, shortest first, joining the
// runs on either side when they are the same speaker: what is left are
// turns.
func settle(runs []run) []run {
	rs := append([]run(nil), runs...)
	for {
		at := -1
		for i, r := range rs {
			if r.evidenceSec < minTurn && (at < 0 || r.evidenceSec < rs[at].evidenceSec) {
				at = i
			}
		}
		if at < 0 {
			return rs
		}
		rs = append(rs[:at], rs[at+1:]...)
		if at > 0 && at < len(rs) && rs[at-1].who == rs[at].who {
			rs[at-1].end = rs[at].end
			rs[at-1].frames += rs[at].frames
			rs[at-1].evidenceSec += rs[at].evidenceSec
			rs = append(rs[:at], rs[at+1:]...)
		}
	}
}

// splitRegions finds where a split layout serves better than a camera that
// follows the speaker: three or more turns in a row each shorter than
// rapidTurn, or a second or more of two mouths moving at once. Each starts
// at the first word of its exchange.
func splitRegions(runs []run, overlap []float64, speech []Span, start, end float64) []Span {
	var spans []Span
	// Runs of under 0.4 s of evidence are noise even in a quick exchange.
	var rs []run
	for _, r := range runs {
		if r.evidenceSec < 0.4 {
			continue
		}
		if n := len(rs); n > 0 && rs[n-1].who == r.who {
			rs[n-1].end = r.end
			continue
		}
		rs = append(rs, r)
	}
	short := func(i int) bool { return i < len(rs) && rs[i].end-rs[i].first < rapidTurn }
	for i := 0; i < len(rs); i++ {
		j := i
		for short(j) {
			j++
		}
		if j-i >= 3 {
			spans = append(spans, Span{rs[i].first, rs[j-1].end})
		}
		i = j
	}
	for i := 0; i < len(overlap); {
		j := i
		for j+1 < len(overlap) && overlap[j+1]-overlap[j] <= 0.6 {
			j++
		}
		if overlap[j]-overlap[i] >= 1 {
			spans = append(spans, Span{overlap[i] - mouthWindow, overlap[j] + mouthWindow})
		}
		i = j + 1
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].Start < spans[j].Start })
	var out []Span
	for _, s := range spans {
		if d := minSplit - (s.End - s.Start); d > 0 {
			s.Start, s.End = s.Start-d/2, s.End+d/2
		}
		s.Start = snap(s.Start, speech)
		s.Start, s.End = math.Max(start, s.Start), math.Min(end, s.End)
		// A gap too short to hold a speaker is split too.
		if n := len(out); n > 0 && s.Start-out[n-1].End < minHold {
			out[n-1].End = math.Max(out[n-1].End, s.End)
			continue
		}
		out = append(out, s)
	}
	for i := range out {
		if out[i].Start-start < minHold {
			out[i].Start = start
		}
		if end-out[i].End < minHold {
			out[i].End = end
		}
	}
	return out
}

// overlaySplits lays the split regions over the speaker segments. A split
// shows the two persons who talk most in it, the left one first.
func overlaySplits(segs []segment, splits []Span, ps []*person) []segment {
	if len(splits) == 0 || len(ps) < 2 {
		return segs
	}
	pair := []int{0, 1}
	if len(ps) > 2 {
		// The two largest faces: with three or more, the nearest two are
		// the conversation.
		idx := []int{}
		for i := range ps {
			idx = append(idx, i)
		}
		sort.Slice(idx, func(a, b int) bool { return ps[idx[a]].medianSize() > ps[idx[b]].medianSize() })
		pair = []int{min(idx[0], idx[1]), max(idx[0], idx[1])}
	}
	var out []segment
	add := func(s segment) {
		if s.end-s.start <= 1e-6 {
			return
		}
		if n := len(out); n > 0 && out[n-1].layout == s.layout && sameWho(out[n-1].who, s.who) {
			out[n-1].end = s.end
			return
		}
		out = append(out, s)
	}
	for _, s := range segs {
		cur := s.start
		for _, sp := range splits {
			if sp.End <= cur || sp.Start >= s.end {
				continue
			}
			if sp.Start > cur {
				add(segment{start: cur, end: sp.Start, layout: s.layout, who: s.who, why: s.why})
			}
			stop := math.Min(sp.End, s.end)
			add(segment{start: math.Max(cur, sp.Start), end: stop, layout: LayoutSplit, who: pair, why: "layout"})
			cur = stop
		}
		if cur < s.end {
			why := s.why
			if cur > s.start {
				why = "layout"
			}
			add(segment{start: cur, end: s.end, layout: s.layout, who: s.who, why: why})
		}
	}
	// A stretch too short to hold (a speaker between the end of a split
	// and the next turn) goes to the segment before it.
	for i := 1; i < len(out); {
		if out[i].end-out[i].start < minHold && i+1 < len(out) {
			out[i-1].end = out[i].end
			out = append(out[:i], out[i+1:]...)
			if i < len(out) && out[i-1].layout == out[i].layout && sameWho(out[i-1].who, out[i].who) {
				out[i-1].end = out[i].end
				out = append(out[:i], out[i+1:]...)
			}
			continue
		}
		i++
	}
	return out
}

func sameWho(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// snap moves a turn's start, as the mouths show it, to the start of the
// speech nearest to it: the turn's first word.
func snap(t float64, speech []Span) float64 {
	best, bestD := t, math.Inf(1)
	for _, s := range speech {
		if s.Start < t-1.0 || s.Start > t+0.5 {
			continue
		}
		if d := math.Abs(s.Start - t); d < bestD {
			best, bestD = s.Start, d
		}
	}
	return best
}

// inSpans reports whether t is in one of the spans, widened by pad.
func inSpans(spans []Span, t, pad float64) bool {
	i := sort.Search(len(spans), func(i int) bool { return spans[i].End+pad >= t })
	return i < len(spans) && spans[i].Start-pad <= t
}
