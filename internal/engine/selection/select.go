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
	"sort"
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
		c, ok := a.best(dt, w, out)
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
	usualGap   float64 // the median pause between sentences
	// bestOnTopic is the most on-topic speech, in seconds, that a window of
	// the duration type being chosen can hold.
	bestOnTopic float64
}

type sentStats struct {
	// boundary is how strongly a topic seems to change after this
	// sentence: a long pause and little shared vocabulary, 0..1.
	boundary float64
	words    int
	filler   float64
	hits     float64 // idf-weighted prompt-term mentions
	mask     uint64  // which prompt terms appear
	onTopic  float64 // 1: mentions the prompt; 0.5: next to a sentence that does
	power    float64 // sum of linear power over the sentence's duration
	dur      float64
	hook     hook
	depends  bool // opens with a connective or a pronoun that needs context
	closes   bool // contains a closing word
	final    bool // ends with . or !
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
	a.topicBoundaries()
	a.markOnTopic()
	return a
}

// markOnTopic spreads the prompt's mentions to the neighbouring sentences of
// the same topic: the sentence after "Sleep is the cheapest upgrade" is
// about sleep too, even if it says "bedroom".
func (a *analysis) markOnTopic() {
	for k := range a.sentInfo {
		if a.sentInfo[k].mask != 0 {
			a.sentInfo[k].onTopic = 1
		}
	}
	for k := range a.sentInfo {
		if a.sentInfo[k].mask == 0 {
			continue
		}
		if k > 0 && a.sentInfo[k-1].boundary < 0.5 {
			a.sentInfo[k-1].onTopic = math.Max(a.sentInfo[k-1].onTopic, 0.6)
		}
		if k+1 < len(a.sentInfo) && a.sentInfo[k].boundary < 0.5 {
			a.sentInfo[k+1].onTopic = math.Max(a.sentInfo[k+1].onTopic, 0.6)
		}
	}
}

// topicBoundaries scores each gap between sentences as a possible change of
// topic: a pause well beyond the speaker's usual one, with little shared
// vocabulary between the two sentences before and the two after.
func (a *analysis) topicBoundaries() {
	var gaps []float64
	for k := 0; k+1 < len(a.sents); k++ {
		gaps = append(gaps, a.sents[k+1].start-a.sents[k].end)
	}
	a.usualGap = 0.4
	if len(gaps) > 0 {
		sort.Float64s(gaps)
		a.usualGap = math.Max(0.2, gaps[len(gaps)/2])
	}
	stems := func(from, to int) map[string]bool {
		m := map[string]bool{}
		for k := max(0, from); k <= min(len(a.sents)-1, to); k++ {
			for i := a.sents[k].first; i <= a.sents[k].last; i++ {
				if content(a.tokens[i]) {
					m[a.stems[i]] = true
				}
			}
		}
		return m
	}
	for k := 0; k+1 < len(a.sents); k++ {
		gap := a.sents[k+1].start - a.sents[k].end
		// A pause counts as a break relative to the speaker's usual one.
		pause := clamp((gap-a.usualGap)/(a.usualGap+0.3), 0, 1)
		if pause == 0 {
			continue
		}
		before, after := stems(k-1, k), stems(k+1, k+2)
		shared, union := 0, len(after)
		for st := range before {
			if after[st] {
				shared++
			} else {
				union++
			}
		}
		sim := 0.0
		if union > 0 {
			sim = float64(shared) / float64(union)
		}
		a.sentInfo[k].boundary = pause * (1 - math.Min(1, 3*sim))
	}
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
	coherence                                                 float64
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
// best one. A clip of the same duration type already chosen is never
// repeated; other types may overlap it, at a small cost, since a 30 s
// highlight inside a 180 s clip is natural. When nothing fits (a short
// source), it returns the best shorter window.
func (a *analysis) best(dt clipping.DurationType, w Window, chosen []Clip) (candidate, bool) {
	var same, others []Clip
	for _, c := range chosen {
		if c.DurationType == dt {
			same = append(same, c)
		} else {
			others = append(others, c)
		}
	}
	// The most prompt-related speech any window of this length can hold, so
	// that relevance is measured against what the source has to offer.
	a.bestOnTopic = 0
	if len(a.terms) > 0 {
		for i := range a.sents {
			acc := accum{}
			for j := i; j < len(a.sents); j++ {
				acc.add(a, j)
				if start, end := a.bounds(i, j); end-start > w.Max {
					break
				}
				a.bestOnTopic = math.Max(a.bestOnTopic, acc.onTopic)
			}
		}
	}
	var top, short candidate
	found, shortFound := false, false
	for i := range a.sents {
		acc := accum{}
		for j := i; j < len(a.sents); j++ {
			acc.add(a, j)
			start, end := a.bounds(i, j)
			d := end - start
			if d > w.Max {
				break
			}
			if overlap(start, end, same) > 0.25 {
				continue
			}
			c := a.score(i, j, start, end, &acc, w)
			c.score -= 0.15 * overlap(start, end, others)
			if d < w.Min {
				// Keep the longest good window in case nothing reaches Min.
				c.score += 1.5 * d / w.Min
				if !shortFound || c.score > short.score {
					short, shortFound = c, true
				}
				continue
			}
			if !found || c.score > top.score {
				top, found = c, true
			}
		}
	}
	switch {
	case found:
		return top, true
	case shortFound:
		return short, true
	case len(same) > 0:
		// The source is used up: repeat rather than return nothing.
		return a.best(dt, w, others)
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
	onTopic        float64 // seconds of speech on the prompt's topic
	power, voiced  float64
	speech         float64
	gaps           float64 // pause time beyond 0.6 s between sentences
	closes, finalS bool
	crossings      float64 // topic boundaries inside the window
	lastBoundary   float64 // the boundary after the window's last sentence
}

func (c *accum) add(a *analysis, j int) {
	st := a.sentInfo[j]
	c.words += st.words
	c.filler += st.filler
	c.hits += st.hits
	c.mask |= st.mask
	c.onTopic += st.onTopic * st.dur
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
	c.crossings += c.lastBoundary
	c.lastBoundary = st.boundary
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
	f.self = 0.3
	if first.depends {
		f.self = 0
	}
	// Starting where a topic starts and ending where it ends; a long clip
	// that starts mid-topic loses the viewer from the first second.
	startW := 0.3
	if w.Min >= 150 {
		startW = 0.6
	}
	if i == 0 {
		f.self += startW
	} else {
		f.self += startW * a.sentInfo[i-1].boundary
	}
	if j == len(a.sents)-1 {
		f.self += 0.2
	} else {
		f.self += 0.2 * a.sentInfo[j].boundary
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
		// How much of the clip is on the prompt's topic matters more than
		// how many of its words it mentions once.
		coverage := float64(bits.OnesCount64(acc.mask)) / float64(len(a.terms))
		onTopic := 0.0
		if a.bestOnTopic > 0 {
			onTopic = acc.onTopic / a.bestOnTopic
		}
		f.relevance = 0.25*coverage + 0.75*onTopic
		f.termsHit = acc.mask
	}

	// A clip that wanders across topics is harder to follow on its own.
	f.coherence = 1 - math.Min(1, acc.crossings/2)

	q := 0.30*f.hook + 0.25*f.self + 0.18*f.density + 0.10*f.loud + 0.10*f.ending +
		0.08*(1-f.filler) - 0.2*f.filler - 0.15*(1-f.coherence)
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
