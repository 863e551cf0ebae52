package reframe

import (
	"math"
	"sort"

	"github.com/clipmill/clipmill/internal/stats"
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
// persons. Speech (the transcript's words, trimmed to their sound) says
// when someone speaks and where each utterance starts; mouths say who: an
// utterance belongs to the person whose mouth moves most during it, each
// person's movement scaled to their own range, so a beard or a shadow does
// not make a listener look like a speaker. The camera goes to a new
// speaker at the first word of their turn, only for a turn of a second or
// more (a "yeah" does not move it), and holds each speaker at least two
// seconds. Rapid exchanges, and two people talking at once, get a split
// layout instead of a camera that ping-pongs.
func speakers(ps []*person, times []float64, speech []Span, start, end float64) []segment {
	norm, smooth := mouthScores(ps, times)
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
		best, second := ranked(smooth, k)
		if best < 0 {
			continue
		}
		lead := smooth[best][k]
		if second >= 0 {
			if smooth[second][k] >= 0.5 && lead >= 0.5 {
				overlap = append(overlap, t)
			}
			lead -= smooth[second][k]
		}
		if lead >= labelMargin {
			label[k] = best
		}
	}

	var utts []turn
	if speech != nil {
		for _, u := range utterances(speech) {
			utts = append(utts, turn{attribute(norm, times, u), u.Start, u.End})
		}
	} else {
		utts = labelRuns(label, times)
	}
	turns := joinTurns(utts)
	splits := splitRegions(turns, overlap, start, end)
	turns = settle(turns)

	// The camera's speaker over time: a switch at the first word of each
	// new turn, at least minHold after the last.
	first := mostTalkative(label, ps)
	if len(turns) > 0 {
		first = turns[0].who
	}
	segs := []segment{{start: start, end: end, layout: LayoutSingle, who: []int{first}}}
	last := start
	for _, tn := range turns[min(1, len(turns)):] {
		cur := &segs[len(segs)-1]
		if tn.who == cur.who[0] {
			continue
		}
		at := tn.start
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

// ranked returns the persons with the highest and second highest score at
// frame k, -1 where there is none.
func ranked(score [][]float64, k int) (best, second int) {
	best, second = -1, -1
	for p := range score {
		v := score[p][k]
		if math.IsNaN(v) {
			continue
		}
		if best < 0 || v > score[best][k] {
			best, second = p, best
		} else if second < 0 || v > score[second][k] {
			second = p
		}
	}
	return best, second
}

// mouthScores is each person's mouth movement at each frame, scaled to the
// person's own 20th-80th percentile range (norm), and that averaged over
// mouthWindow on either side (smooth); NaN where the face was not seen. A
// range smaller than half the widest person's (someone who never speaks)
// is widened to it, so their still mouth is not magnified into speech.
func mouthScores(ps []*person, times []float64) (norm, smooth [][]float64) {
	norm, smooth = make([][]float64, len(ps)), make([][]float64, len(ps))
	lo, rng := make([]float64, len(ps)), make([]float64, len(ps))
	widest := 0.0
	for p, per := range ps {
		norm[p] = make([]float64, len(times))
		var seen []float64
		for k, t := range times {
			norm[p][k] = math.NaN()
			if q, ok := per.seen(t, 0.5/sampleRate); ok {
				norm[p][k] = q.Mouth
				seen = append(seen, q.Mouth)
			}
		}
		lo[p] = stats.Percentile(seen, 0.2)
		rng[p] = stats.Percentile(seen, 0.8) - lo[p]
		widest = math.Max(widest, rng[p])
	}
	floor := math.Max(0.5*widest, 1.0) // a grey level: below it is noise
	for p := range ps {
		r := math.Max(rng[p], floor)
		for k := range times {
			norm[p][k] = (norm[p][k] - lo[p]) / r
		}
		smooth[p] = make([]float64, len(times))
		for k, t := range times {
			sum, n := 0.0, 0
			for j := range times {
				if math.Abs(times[j]-t) <= mouthWindow && !math.IsNaN(norm[p][j]) {
					sum += norm[p][j]
					n++
				}
			}
			smooth[p][k] = math.NaN()
			if n > 0 {
				smooth[p][k] = sum / float64(n)
			}
		}
	}
	return norm, smooth
}

func mostTalkative(label []int, ps []*person) int {
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

// turn is a stretch of speech by one person; who is -1 when it is not
// known whose.
type turn struct {
	who        int
	start, end float64
}

// utterances are the stretches of speech with no pause of a sixth of a
// second or more: a change of speaker nearly always leaves one.
func utterances(speech []Span) []Span {
	var out []Span
	for _, s := range speech {
		if n := len(out); n > 0 && s.Start-out[n-1].End < 0.15 {
			out[n-1].End = math.Max(out[n-1].End, s.End)
			continue
		}
		out = append(out, s)
	}
	return out
}

// attribute says whose utterance u is: the person whose mouth moved most,
// on average, while it was heard (a frame shows the movement since the one
// before), by a clear margin; -1 when nobody's did.
func attribute(norm [][]float64, times []float64, u Span) int {
	// A short word is seen on at least three frames.
	lo, hi := u.Start, u.End+0.5/sampleRate
	if mid := (lo + hi) / 2; hi-lo < 0.6 {
		lo, hi = mid-0.3, mid+0.3
	}
	avg := make([][]float64, len(norm))
	for p := range norm {
		var vs []float64
		for k, t := range times {
			if v := norm[p][k]; t > lo && t <= hi && !math.IsNaN(v) {
				vs = append(vs, v)
			}
		}
		avg[p] = []float64{math.NaN()}
		if len(vs) > 0 {
			avg[p][0] = mean(vs)
		}
	}
	best, second := ranked(avg, 0)
	switch {
	case best < 0:
		return -1
	case second < 0 && avg[best][0] >= 0.5:
		return best // the other face is not seen: a clearly moving mouth
	case second >= 0 && avg[best][0]-avg[second][0] >= labelMargin:
		return best
	}
	return -1
}

// labelRuns makes turns of the frames' labels, where there are no word
// times: runs of one label, which unlabelled frames do not break.
func labelRuns(label []int, times []float64) []turn {
	var out []turn
	for k, l := range label {
		if l < 0 {
			continue
		}
		s, e := times[k]-0.5/sampleRate, times[k]+0.5/sampleRate
		if n := len(out); n > 0 && out[n-1].who == l {
			out[n-1].end = e
			continue
		}
		out = append(out, turn{l, s, e})
	}
	return out
}

// joinTurns gives utterances of unknown speaker to the speaker before them
// (or after, at the start), and joins a speaker's consecutive utterances
// into one turn.
func joinTurns(utts []turn) []turn {
	known := -1
	for _, u := range utts {
		if u.who >= 0 {
			known = u.who
			break
		}
	}
	if known < 0 {
		return nil
	}
	var out []turn
	for _, u := range utts {
		if u.who < 0 {
			u.who = known
		}
		known = u.who
		if n := len(out); n > 0 && out[n-1].who == u.who {
			out[n-1].end = u.end
			continue
		}
		out = append(out, u)
	}
	return out
}

// settle removes turns shorter than minTurn, shortest first, joining the
// turns on either side when they are the same speaker's.
func settle(turns []turn) []turn {
	ts := append([]turn(nil), turns...)
	for {
		at := -1
		for i, t := range ts {
			if d := t.end - t.start; d < minTurn && (at < 0 || d < ts[at].end-ts[at].start) {
				at = i
			}
		}
		if at < 0 {
			return ts
		}
		ts = append(ts[:at], ts[at+1:]...)
		if at > 0 && at < len(ts) && ts[at-1].who == ts[at].who {
			ts[at-1].end = ts[at].end
			ts = append(ts[:at], ts[at+1:]...)
		}
	}
}

// splitRegions finds where a split layout serves better than a camera that
// follows the speaker: three or more turns in a row each shorter than
// rapidTurn, or a second or more of two mouths moving at once.
func splitRegions(turns []turn, overlap []float64, start, end float64) []Span {
	var spans []Span
	short := func(i int) bool { return i < len(turns) && turns[i].end-turns[i].start < rapidTurn }
	for i := 0; i < len(turns); i++ {
		j := i
		for short(j) {
			j++
		}
		if j-i >= 3 {
			// It lasts until the next turn starts, unless that is long after.
			sp := Span{turns[i].start, turns[j-1].end}
			if j < len(turns) && turns[j].start-sp.End < minHold {
				sp.End = turns[j].start
			}
			spans = append(spans, sp)
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

// inSpans reports whether t is in one of the spans, widened by pad.
func inSpans(spans []Span, t, pad float64) bool {
	i := sort.Search(len(spans), func(i int) bool { return spans[i].End+pad >= t })
	return i < len(spans) && spans[i].Start-pad <= t
}

func mean(v []float64) float64 {
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return sum / float64(len(v))
}
