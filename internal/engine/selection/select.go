// Package selection is the stage that decides where to cut. It splits the
// transcript into sentences and topics (finding the intro, the segues and
// the outro), scores each sentence as an opening hook, scores every window
// of whole sentences that fits each requested duration, and picks distinct
// clips, best first, each with a title, a virality score and a reason that
// names the facts behind them.
package selection

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/transcript"
)

// Input is what selection reads.
type Input struct {
	Words    []transcript.Word
	Duration float64 // the source's length, seconds
	// Loudness returns the level of a span in dBFS; nil when there is no
	// audio to measure.
	Loudness func(start, end float64) float64
	Prompt   string
	Requests []clipping.DurationType
}

// Clip is one chosen cut.
type Clip struct {
	DurationType clipping.DurationType
	Start, End   float64 // seconds in the source
	Words        []transcript.Word
	Title        string
	Virality     int // 0..100
	Reason       string
	Hashtags     []string // none offline; a language model may write them
}

// Shares is the share of the shorter of two clips that they have in common.
func (c Clip) Shares(o Clip) float64 { return shared(c.Start, c.End, o.Start, o.End) }

// Window is the range of lengths a duration type accepts, and the lengths
// it prefers within that range.
type Window struct {
	Min, Max            float64
	SweetLow, SweetHigh float64
}

// Windows gives each duration type its window. "long" is the model's choice
// above 180 s; it prefers a complete segment of 3.5 to 7 minutes.
var Windows = map[clipping.DurationType]Window{
	clipping.Duration30:   {Min: 20, Max: 40, SweetLow: 27, SweetHigh: 35},
	clipping.Duration60:   {Min: 45, Max: 75, SweetLow: 55, SweetHigh: 66},
	clipping.Duration180:  {Min: 150, Max: 210, SweetLow: 165, SweetHigh: 195},
	clipping.DurationLong: {Min: 180, Max: 600, SweetLow: 210, SweetHigh: 420},
}

// maxOverlap is how much of the shorter of two clips of one job they may
// share.
const maxOverlap = 0.2

// ErrNoSpeech means the transcript has no words to cut around.
var ErrNoSpeech = errors.New("no speech to select from")

// Select picks one clip per request, returned in request order. Clips are
// chosen greedily, the best candidate of all the requests first, and no
// two share more than a fifth of the shorter; when the source is too short
// for that, the reason says so.
func Select(in Input) ([]Clip, error) {
	props, err := Propose(in, 1)
	if err != nil {
		return nil, err
	}
	out := make([]Clip, len(props))
	for i, p := range props {
		out[i] = p.Clip
	}
	return out, nil
}

// Proposal is the offline choice for one request, and the alternatives a
// language model may choose among instead.
type Proposal struct {
	Clip Clip
	// Alternatives are up to n clips for the request, the choice first,
	// each keeping clear of the other requests' choices and differing from
	// the other alternatives.
	Alternatives []Clip
}

// Propose makes Select's choices, each with up to n alternatives.
func Propose(in Input, n int) ([]Proposal, error) {
	if len(in.Words) == 0 {
		return nil, ErrNoSpeech
	}
	for _, dt := range in.Requests {
		if _, ok := Windows[dt]; !ok {
			return nil, fmt.Errorf("unknown duration type %q", dt)
		}
	}
	a := analyse(in)
	picked, err := a.pickAll(in.Requests)
	if err != nil {
		return nil, err
	}
	out := make([]Proposal, len(picked))
	var titled []string
	for r, c := range picked {
		out[r].Clip = a.clip(c, titled)
		titled = append(titled, out[r].Clip.Title)
	}
	for r, c := range picked {
		others := append(append([]candidate(nil), picked[:r]...), picked[r+1:]...)
		alts := []candidate{c}
		out[r].Alternatives = []Clip{out[r].Clip}
		for _, o := range a.sorted(c.dt) {
			if len(alts) >= n {
				break
			}
			if o.end-o.start < Windows[c.dt].Min || overlapWith(o, others) > maxOverlap || overlapWith(o, alts) > 0.5 {
				continue
			}
			alts = append(alts, o)
			out[r].Alternatives = append(out[r].Alternatives, a.clip(o, titled))
		}
	}
	return out, nil
}

// pickAll picks a candidate for each request, greedily, best first.
func (a *analysis) pickAll(requests []clipping.DurationType) ([]candidate, error) {
	picked := make([]*candidate, len(requests))
	var chosen []candidate
	for range requests {
		var best *candidate
		at := -1
		for r, dt := range requests {
			if picked[r] != nil {
				continue
			}
			// The others still to fill, so a pick leaves them room.
			var rest []clipping.DurationType
			for o, odt := range requests {
				if o != r && picked[o] == nil {
					rest = append(rest, odt)
				}
			}
			c, ok := a.best(dt, chosen, rest)
			if ok && (best == nil || c.score > best.score) {
				best, at = &c, r
			}
		}
		if best == nil {
			return nil, ErrNoSpeech
		}
		picked[at] = best
		chosen = append(chosen, *best)
	}
	out := make([]candidate, len(picked))
	for r, c := range picked {
		out[r] = *c
	}
	return out, nil
}

// sorted returns the duration type's candidates, best first, computed once.
func (a *analysis) sorted(dt clipping.DurationType) []candidate {
	if cs, ok := a.cands[dt]; ok {
		return cs
	}
	cs := a.candidates(dt, Windows[dt])
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].score > cs[j].score })
	a.cands[dt] = cs
	return cs
}

// best returns the best window for the duration type that keeps clear of
// the chosen clips and leaves room for the rest still to fill. It keeps to
// one topic unless no window of one topic fits (or, with a prompt, none of
// the prompted topic does). When nothing keeps clear, it takes the window
// that overlaps least, and the reason says so. A source too short for the
// window gets its best shorter window.
func (a *analysis) best(dt clipping.DurationType, chosen []candidate, rest []clipping.DurationType) (candidate, bool) {
	w := Windows[dt]
	var full, short []candidate
	for _, c := range a.sorted(dt) {
		if c.end-c.start >= w.Min {
			full = append(full, c)
		} else {
			short = append(short, c)
		}
	}
	clear := func(c candidate) bool { return overlapWith(c, chosen) <= maxOverlap }
	roomy := func(c candidate) bool { return clear(c) && a.room(rest, append(chosen, c)) }
	if c, found := pick(full, roomy); found {
		return c, true
	}
	if c, found := a.leastCrowding(full, clear, chosen, rest); found {
		return c, true
	}
	pool := full
	if len(pool) == 0 {
		if c, found := pick(short, clear); found {
			return c, true
		}
		pool = short
	}
	if len(pool) == 0 {
		return candidate{}, false
	}
	// Nothing keeps clear of the chosen clips: the least overlap, said so.
	c := pool[0]
	for _, o := range pool[1:] {
		if overlapWith(o, chosen) < overlapWith(c, chosen) {
			c = o
		}
	}
	c.overlapped = overlapWith(c, chosen)
	return c, true
}

// pick returns the best candidate (they are sorted, best first) that ok
// accepts: within one topic, unless one across topics is clearly more
// about the prompt.
func pick(sorted []candidate, ok func(candidate) bool) (candidate, bool) {
	var one, cross *candidate
	for i := range sorted {
		c := &sorted[i]
		if (c.crossings > 0 && cross != nil) || (c.crossings == 0 && one != nil) || !ok(*c) {
			continue
		}
		if c.crossings > 0 {
			cross = c
		} else {
			one = c
		}
		if one != nil && cross != nil {
			break
		}
	}
	switch {
	case one != nil && (cross == nil || cross.f.relevance-one.f.relevance < 0.3):
		return *one, true
	case cross != nil:
		c := *cross
		c.forcedCross = true
		return c, true
	}
	return candidate{}, false
}

// leastCrowding is, of the best few candidates ok accepts, the one that
// leaves the clips still to fill the least overlap: when the source cannot
// hold every clip apart, the overlap is shared out rather than left to the
// last.
func (a *analysis) leastCrowding(sorted []candidate, ok func(candidate) bool, chosen []candidate, rest []clipping.DurationType) (candidate, bool) {
	var best candidate
	bestCrowd, found, tried := math.Inf(1), false, 0
	for _, c := range sorted {
		if tried == 40 {
			break
		}
		if !ok(c) {
			continue
		}
		tried++
		crowd := 0.0
		for _, dt := range rest {
			least := 1.0
			for _, o := range a.sorted(dt) {
				if o.end-o.start >= Windows[dt].Min {
					least = math.Min(least, math.Max(overlapWith(o, chosen), overlapWith(o, []candidate{c})))
				}
			}
			crowd = math.Max(crowd, least)
		}
		if crowd < bestCrowd-1e-9 {
			best, bestCrowd, found = c, crowd, true
		}
	}
	return best, found
}

// room reports whether every duration type still to fill has a full-length
// window that keeps clear of the chosen clips.
func (a *analysis) room(rest []clipping.DurationType, chosen []candidate) bool {
	for _, dt := range rest {
		found := false
		for _, c := range a.sorted(dt) {
			if c.end-c.start >= Windows[dt].Min && overlapWith(c, chosen) <= maxOverlap {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// overlapWith is the largest share of the shorter clip that c has in common
// with one of the chosen.
func overlapWith(c candidate, chosen []candidate) float64 {
	worst := 0.0
	for _, o := range chosen {
		worst = math.Max(worst, shared(c.start, c.end, o.start, o.end))
	}
	return worst
}

// shared is the share of the shorter of two spans that they have in common.
func shared(a0, a1, b0, b1 float64) float64 {
	l := math.Min(a1, b1) - math.Max(a0, b0)
	if l <= 0 {
		return 0
	}
	return l / math.Min(a1-a0, b1-b0)
}

func (a *analysis) clip(c candidate, titled []string) Clip {
	s, e := a.sents[c.first], a.sents[c.last]
	clip := Clip{
		DurationType: c.dt,
		Start:        c.start,
		End:          c.end,
		Words:        append([]transcript.Word(nil), a.words[s.first:e.last+1]...),
		Virality:     a.virality(c),
	}
	clip.Title = a.title(c, titled)
	clip.Reason = a.reason(c)
	return clip
}
