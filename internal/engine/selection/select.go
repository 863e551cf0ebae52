// Package selection is the stage that decides where to cut: it splits the
// transcript into sentences, scores every window of whole sentences that fits
// each requested duration, and keeps the best one per request, with a title,
// a virality score and a one-line reason.
package selection

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strings"

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
}

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

// ErrNoSpeech means the transcript has no words to cut around.
var ErrNoSpeech = errors.New("no speech to select from")

// Select picks one clip per request, best first in request order; a
// repeated duration type gets a different, non-overlapping clip.
func Select(in Input) ([]Clip, error) {
	if len(in.Words) == 0 {
		return nil, ErrNoSpeech
	}
	a := analyse(in)
	var out []Clip
	for _, dt := range in.Requests {
		w, ok := Windows[dt]
		if !ok {
			return nil, fmt.Errorf("unknown duration type %q", dt)
		}
		c, ok := a.best(w, out)
		if !ok {
			return nil, ErrNoSpeech
		}
		clip := a.clip(c, dt, w, out)
		out = append(out, clip)
	}
	return out, nil
}

// analysis holds per-word and per-sentence facts, computed once and shared
// by every candidate window.
type analysis struct {
	in         Input
	words      []transcript.Word
	tokens     []string // normalised
	stems      []string
	sents      []sentence
	sentInfo   []sentStats
	terms      []string // prompt stems
	idf        map[string]float64
	meanDB     float64
	punctuated bool
}

type sentStats struct {
	words   int
	filler  float64
	hits    float64 // idf-weighted prompt-term mentions
	mask    uint64  // which prompt terms appear
	power   float64 // sum of linear power over the sentence's duration
	dur     float64
	hook    hook
	depends bool // opens with a connective or a pronoun that needs context
	closes  bool // contains a closing word
	final   bool // ends with . or !
}

type hook struct {
	question, number, bold, you bool
}

func (h hook) score() float64 {
	miss := 1.0
	if h.question {
		miss *= 1 - 0.85
	}
	if h.number {
		miss *= 1 - 0.55
	}
	if h.bold {
		miss *= 1 - 0.5
	}
	if h.you {
		miss *= 1 - 0.2
	}
	return 1 - miss
}

func analyse(in Input) *analysis {
	a := &analysis{in: in, words: in.Words}
	a.tokens = make([]string, len(in.Words))
	a.stems = make([]string, len(in.Words))
	for i, w := range in.Words {
		a.tokens[i] = norm(w.Text)
		a.stems[i] = stem(a.tokens[i])
	}
	a.sents = splitSentences(in.Words)
	a.punctuated = hasPunctuation(in.Words)

	// Inverse document frequency over sentences: rare words carry the topic.
	df := map[string]int{}
	for _, s := range a.sents {
		seen := map[string]bool{}
		for i := s.first; i <= s.last; i++ {
			if st := a.stems[i]; st != "" && !seen[st] {
				seen[st] = true
				df[st]++
			}
		}
	}
	a.idf = map[string]float64{}
	for st, n := range df {
		a.idf[st] = math.Log(float64(len(a.sents)+1) / float64(n))
	}

	for _, t := range strings.Fields(in.Prompt) {
		t = norm(t)
		if t == "" || stopwords[t] || len(a.terms) == 64 {
			continue
		}
		st := stem(t)
		dup := false
		for _, x := range a.terms {
			dup = dup || x == st
		}
		if !dup {
			a.terms = append(a.terms, st)
		}
	}

	var totalPower, totalDur float64
	a.sentInfo = make([]sentStats, len(a.sents))
	for k, s := range a.sents {
		st := &a.sentInfo[k]
		st.words = s.last - s.first + 1
		st.dur = s.end - s.start
		for i := s.first; i <= s.last; i++ {
			t := a.tokens[i]
			switch {
			case fillers[t]:
				st.filler++
			case weakFillers[t]:
				st.filler += 0.33
			}
			if i < s.last && fillerPairs[t+"_"+a.tokens[i+1]] {
				st.filler++
			}
			for b, term := range a.terms {
				if matchTerm(a.stems[i], term) {
					st.mask |= 1 << b
					st.hits += math.Max(0.5, a.idf[a.stems[i]])
				}
			}
			if closers[t] {
				st.closes = true
			}
		}
		st.hook = a.hookOf(s)
		st.depends = dependentOpeners[a.tokens[s.first]]
		st.final = strings.HasSuffix(strings.TrimRight(in.Words[s.last].Text, `"'”’)`), ".") ||
			strings.HasSuffix(strings.TrimRight(in.Words[s.last].Text, `"'”’)`), "!")
		if in.Loudness != nil && st.dur > 0 {
			st.power = math.Pow(10, in.Loudness(s.start, s.end)/10) * st.dur
			totalPower += st.power
			totalDur += st.dur
		}
	}
	if totalDur > 0 {
		a.meanDB = 10 * math.Log10(totalPower/totalDur)
	}
	return a
}

// matchTerm lets "price" meet "prices" and "pricing" through their stems,
// and a longer prompt word meet its start ("econom" in "economics").
func matchTerm(stemmed, term string) bool {
	if stemmed == "" {
		return false
	}
	if stemmed == term {
		return true
	}
	return len(term) >= 4 && len(stemmed) >= 4 && (strings.HasPrefix(stemmed, term) || strings.HasPrefix(term, stemmed))
}

// hookOf reads the opening line of a sentence for what makes people stop
// scrolling: a question, a number, a bold claim, talking to "you".
func (a *analysis) hookOf(s sentence) hook {
	var h hook
	last := min(s.last, s.first+20) // the first few seconds are the hook
	h.question = strings.HasSuffix(a.words[s.last].Text, "?") ||
		(!a.punctuated && questionOpeners[a.tokens[s.first]])
	for i := s.first; i <= last; i++ {
		t := a.tokens[i]
		h.number = h.number || isNumber(t)
		h.bold = h.bold || boldWords[t]
		h.you = h.you || t == "you" || t == "your" || t == "you're"
	}
	return h
}

// candidate is a window of sentences first..last.
type candidate struct {
	first, last int
	start, end  float64
	score       float64 // ranking score
	quality     float64 // content quality: the basis of the virality score
	f           features
}

type features struct {
	hook, self, density, loud, ending, filler, fit, relevance float64
	wps                                                       float64
	dbAbove                                                   float64
	h                                                         hook
	termsHit                                                  uint64
}

// bounds pads a window into the pauses around it without reaching the
// neighbouring words, so a cut never clips a syllable.
func (a *analysis) bounds(first, last int) (float64, float64) {
	s, e := a.sents[first], a.sents[last]
	start := s.start - 0.25
	if s.first > 0 {
		start = math.Max(start, (a.words[s.first-1].End+s.start)/2)
	}
	end := e.end + 0.45
	if e.last+1 < len(a.words) {
		end = math.Min(end, (e.end+a.words[e.last+1].Start)/2)
	}
	start = math.Max(0, start)
	if a.in.Duration > 0 {
		end = math.Min(a.in.Duration, end)
	}
	return start, end
}

// best scores every window of whole sentences that fits w and returns the
// best one that does not overlap the clips already chosen. When nothing
// fits (a short source), it returns the best shorter window.
func (a *analysis) best(w Window, chosen []Clip) (candidate, bool) {
	var top, topAny, shortTop candidate
	found, foundAny, shortFound := false, false, false
	anyScore := 0.0
	for i := range a.sents {
		if a.sents[i].end-a.sents[i].start > w.Max {
			continue
		}
		acc := accum{}
		for j := i; j < len(a.sents); j++ {
			acc.add(a, j)
			start, end := a.bounds(i, j)
			d := end - start
			if d > w.Max {
				break
			}
			c := a.score(i, j, start, end, &acc, w)
			over := overlap(start, end, chosen)
			if d < w.Min {
				// Keep the longest good window in case nothing reaches Min.
				c.score += 1.5 * d / w.Min
				if over < 0.5 && (!shortFound || c.score > shortTop.score) {
					shortTop, shortFound = c, true
				}
				continue
			}
			if pen := c.score - over; !foundAny || pen > anyScore {
				topAny, foundAny, anyScore = c, true, pen
			}
			if over < 0.5 && (!found || c.score > top.score) {
				top, found = c, true
			}
		}
	}
	switch {
	case found:
		return top, true
	case foundAny:
		return topAny, true
	case shortFound:
		return shortTop, true
	}
	if len(chosen) > 0 {
		// Everything overlaps: allow it rather than return nothing.
		return a.best(w, nil)
	}
	return candidate{}, false
}

// overlap is the largest fraction of [start,end) already used by a chosen clip.
func overlap(start, end float64, chosen []Clip) float64 {
	worst := 0.0
	for _, c := range chosen {
		o := math.Min(end, c.End) - math.Max(start, c.Start)
		if o > 0 {
			worst = math.Max(worst, o/math.Min(end-start, c.End-c.Start))
		}
	}
	return worst
}

// accum sums sentence stats as a window grows by one sentence at a time.
type accum struct {
	words          int
	filler, hits   float64
	mask           uint64
	power, voiced  float64
	speech         float64
	gaps           float64 // pause time beyond 0.6 s between sentences
	closes, finalS bool
}

func (c *accum) add(a *analysis, j int) {
	st := a.sentInfo[j]
	c.words += st.words
	c.filler += st.filler
	c.hits += st.hits
	c.mask |= st.mask
	c.power += st.power
	c.voiced += st.dur
	c.speech += st.dur
	if j > 0 && c.words > st.words {
		if g := a.sents[j].start - a.sents[j-1].end - 0.6; g > 0 {
			c.gaps += g
		}
	}
	c.closes = st.closes
	c.finalS = st.final
}

func (a *analysis) score(i, j int, start, end float64, acc *accum, w Window) candidate {
	d := end - start
	first := a.sentInfo[i]
	var f features

	// The opening: the first sentence, and the second when the first is a
	// fragment of a few words.
	f.h = first.hook
	if first.words < 4 && i < j {
		n := a.sentInfo[i+1].hook
		f.h = hook{f.h.question || n.question, f.h.number || n.number, f.h.bold || n.bold, f.h.you || n.you}
	}
	f.hook = f.h.score()
	if first.depends {
		f.hook *= 0.6
	}

	// Self-contained: a clean opening and natural pauses at both ends.
	f.self = 0.4
	if first.depends {
		f.self = 0
	}
	if i == 0 || a.sents[i].start-a.sents[i-1].end >= 0.6 {
		f.self += 0.2
	}
	if j == len(a.sents)-1 || a.sents[j+1].start-a.sents[j].end >= 0.6 {
		f.self += 0.2
	}
	if !a.punctuated || acc.finalS {
		f.self += 0.2
	}

	f.wps = float64(acc.words) / d
	f.density = math.Min(1, f.wps/2.6) * (1 - math.Min(1, 2*acc.gaps/d))

	f.loud = 0.5
	if acc.voiced > 0 && a.in.Loudness != nil {
		f.dbAbove = 10*math.Log10(acc.power/acc.voiced) - a.meanDB
		f.loud = clamp(0.5+f.dbAbove/8, 0, 1)
	}

	f.ending = 0.3
	if acc.finalS || !a.punctuated {
		f.ending += 0.4
	}
	if acc.closes {
		f.ending += 0.3
	}

	f.filler = math.Min(1, 8*acc.filler/math.Max(1, float64(acc.words)))

	switch {
	case d >= w.SweetLow && d <= w.SweetHigh:
		f.fit = 1
	case d < w.SweetLow:
		f.fit = clamp(1-(w.SweetLow-d)/(w.SweetLow-w.Min+1), 0, 1)
	default:
		f.fit = clamp(1-(d-w.SweetHigh)/(w.Max-w.SweetHigh+1), 0, 1)
	}

	if len(a.terms) > 0 {
		coverage := float64(bits.OnesCount64(acc.mask)) / float64(len(a.terms))
		f.relevance = 0.6*coverage + 0.4*math.Min(1, 12*acc.hits/math.Max(1, float64(acc.words)))
		f.termsHit = acc.mask
	}

	q := 0.32*f.hook + 0.22*f.self + 0.18*f.density + 0.10*f.loud + 0.10*f.ending +
		0.08*(1-f.filler) - 0.2*f.filler
	score := q + 0.15*f.fit
	if len(a.terms) > 0 {
		score += 1.0 * f.relevance
	}
	return candidate{first: i, last: j, start: start, end: end, score: score, quality: q, f: f}
}

// virality maps content quality (about -0.2..1) onto 0..100 with a logistic
// curve, so that plain talk lands near the middle and the spread is wide.
func virality(q float64) int {
	v := 100 / (1 + math.Exp(-(q-0.5)*9))
	return int(math.Round(clamp(v, 0, 100)))
}

func (a *analysis) clip(c candidate, dt clipping.DurationType, w Window, chosen []Clip) Clip {
	s, e := a.sents[c.first], a.sents[c.last]
	words := append([]transcript.Word(nil), a.words[s.first:e.last+1]...)
	clip := Clip{
		DurationType: dt,
		Start:        c.start,
		End:          c.end,
		Words:        words,
		Virality:     virality(c.quality),
	}
	clip.Title = a.title(c, chosen)
	clip.Reason = a.reason(c, dt, w)
	return clip
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }
