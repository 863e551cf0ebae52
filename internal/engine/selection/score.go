package selection

import (
	"math"
	"math/bits"

	"github.com/clipmill/clipmill/internal/clipping"
)

// candidate is a window of sentences first..last.
type candidate struct {
	dt          clipping.DurationType
	first, last int
	start, end  float64
	score       float64 // ranking: quality, fit, the prompt, and keeping to the best hook
	quality     float64 // content alone: the basis of the virality score
	f           features
	crossings   int     // topic boundaries inside
	forcedCross bool    // it crosses because no window of one topic fits
	overlapped  float64 // the share it had to share with a chosen clip
	weak        bool    // the talk had only an intro, segues or an outro to offer
}

type features struct {
	hook                     hook
	hookGap                  float64 // how far below the best opening its topic offers
	startsTopic, endsTopic   bool
	closes, final            bool
	complete                 float64
	wps, density             float64
	dbAbove, loud            float64
	fillerShare, filler      float64
	lowConf                  float64 // share of words recognised with low confidence
	fit                      float64
	relevance                float64
	termsHit                 uint64
	promptWords              int // words of the clip that match the prompt
	topicShare, promptTopics float64
}

// candidates are every window of whole sentences that fits the duration
// type (and, in a source too short for it, the shorter ones): starting on
// a sentence of the talk's body, never on its intro or a segue, ending on
// one, never on a segue or its outro, and holding neither intro nor outro.
func (a *analysis) candidates(dt clipping.DurationType, w Window) []candidate {
	bestHook := a.bestHooks(w)
	var out []candidate
	for _, strict := range []bool{true, false} {
		for i := range a.sents {
			if strict && a.info[i].role != body {
				continue
			}
			acc := accum{}
			for j := i; j < len(a.sents); j++ {
				if r := a.info[j].role; strict && (r == intro || r == outro) {
					break
				}
				acc.add(a, j)
				start, end := a.bounds(i, j)
				if end-start > w.Max {
					break
				}
				if strict && a.info[j].role != body {
					continue
				}
				c := a.score(i, j, start, end, &acc, w, bestHook)
				c.dt, c.weak = dt, !strict
				out = append(out, c)
			}
		}
		if len(out) > 0 {
			break
		}
	}
	return out
}

// bestHooks is, per topic, the best opening line from which a window of the
// shortest length fits inside the topic.
func (a *analysis) bestHooks(w Window) []float64 {
	best := make([]float64, len(a.topics))
	for t, tp := range a.topics {
		for k := tp.first; k <= tp.last; k++ {
			if a.info[k].role == body && a.sents[tp.last].end-a.sents[k].start >= w.Min {
				best[t] = math.Max(best[t], a.opening(k))
			}
		}
	}
	return best
}

// opening is sentence k's strength as a clip's first line: its hook, a
// little less the further into its topic it is, since a line deep in a
// topic leans on what the viewer has not heard.
func (a *analysis) opening(k int) float64 {
	return a.info[k].hook.score - 0.03*float64(k-a.topics[a.info[k].topic].first)
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

// accum sums sentence stats as a window grows by one sentence at a time.
type accum struct {
	words, lowConf  int
	filler, hits    float64
	mask            uint64
	power, voiced   float64
	speech          float64
	relevant        float64 // seconds of speech in prompted topics, weighted by their relevance
	mentioning      float64 // seconds of sentences that say a prompt word
	gaps            float64 // pause time beyond 0.6 s between sentences
	closes, final   bool
	crossings       int
	lastTopic       int
	promptWords     int
	sentences       int
	sentencesInBody int
}

func (c *accum) add(a *analysis, j int) {
	st := a.info[j]
	if c.sentences > 0 {
		if g := a.sents[j].start - a.sents[j-1].end - 0.6; g > 0 {
			c.gaps += g
		}
	}
	c.sentences++
	c.words += st.words
	c.lowConf += st.lowConf
	c.filler += st.filler
	c.hits += st.hits
	c.mask |= st.mask
	c.power += st.power
	c.voiced += st.dur
	c.speech += st.dur
	if top := a.topRelevance(); top > 0 {
		c.relevant += st.dur * a.topics[st.topic].relevance / top
	}
	if st.mask != 0 {
		c.mentioning += st.dur
	}
	for i := a.sents[j].first; i <= a.sents[j].last; i++ {
		for _, t := range a.terms {
			if matchTerm(a.stems[i], t) {
				c.promptWords++
				break
			}
		}
	}
	c.closes = st.closes
	c.final = st.final
	if st.role == body {
		if c.sentencesInBody > 0 && st.topic != c.lastTopic {
			c.crossings++
		}
		c.lastTopic = st.topic
		c.sentencesInBody++
	}
}

// topRelevance is the relevance of the topic that is most about the prompt.
func (a *analysis) topRelevance() float64 {
	top := 0.0
	for _, t := range a.topics {
		top = math.Max(top, t.relevance)
	}
	return top
}

func (a *analysis) score(i, j int, start, end float64, acc *accum, w Window, bestHook []float64) candidate {
	d := end - start
	first := a.info[i]
	var f features
	f.hook = first.hook
	tp := a.topics[first.topic]
	f.hookGap = math.Max(0, bestHook[first.topic]-a.opening(i))

	// Complete: it starts where its topic starts or on a strong opening,
	// and ends where the topic ends or on a conclusion.
	f.startsTopic = i == tp.first || a.info[i-1].role != body
	f.endsTopic = j == a.topics[a.info[j].topic].last || (j+1 < len(a.sents) && a.info[j+1].role != body)
	f.closes, f.final = acc.closes, acc.final || !a.punctuated
	open, close := 0.3, 0.2
	switch {
	case f.startsTopic || f.hook.score >= 0.5:
		open = 1
	case !first.depends:
		open = 0.6
	}
	switch {
	case f.endsTopic:
		close = 1
	case f.closes:
		close = 0.8
	case f.final:
		close = 0.5
	}
	f.complete = (open + close) / 2

	f.wps = float64(acc.words) / d
	f.density = math.Min(1, f.wps/2.6) * (1 - math.Min(1, 2*acc.gaps/d))
	f.loud = 0.5
	if acc.voiced > 0 && a.in.Loudness != nil {
		f.dbAbove = 10*math.Log10(acc.power/acc.voiced) - a.meanDB
		f.loud = clamp(0.5+f.dbAbove/8, 0, 1)
	}
	f.fillerShare = acc.filler / math.Max(1, float64(acc.words))
	f.filler = math.Min(1, 8*f.fillerShare)
	f.lowConf = float64(acc.lowConf) / math.Max(1, float64(acc.words))

	switch {
	case d >= w.SweetLow && d <= w.SweetHigh:
		f.fit = 1
	case d < w.SweetLow:
		f.fit = clamp(1-(w.SweetLow-d)/(w.SweetLow-w.Min+1), 0, 1)
	default:
		f.fit = clamp(1-(d-w.SweetHigh)/(w.Max-w.SweetHigh+1), 0, 1)
	}

	if len(a.terms) > 0 {
		f.termsHit, f.promptWords = acc.mask, acc.promptWords
		// The prompt's topic, the sentences that say its words, and how
		// many of its words: the topic weighs most, so a clip stays in it.
		f.topicShare = acc.relevant / math.Max(acc.speech, 1e-9)
		mentioning := acc.mentioning / math.Max(acc.speech, 1e-9)
		coverage := float64(bits.OnesCount64(acc.mask)) / float64(len(a.terms))
		f.relevance = 0.5*f.topicShare + 0.3*math.Min(1, 2*mentioning) + 0.2*coverage
	}

	// Quality: what makes a clip worth sharing, whatever was asked for.
	focus := 1.0
	if acc.crossings > 0 {
		focus = 0.3
	}
	delivery := 0.6*f.density + 0.4*f.loud
	clarity := (1 - f.filler) * (1 - f.lowConf)
	q := 0.35*f.hook.score + 0.25*f.complete + 0.15*delivery + 0.10*focus + 0.15*clarity
	score := q + 0.15*f.fit - 0.6*f.hookGap + 1.2*f.relevance
	return candidate{first: i, last: j, start: start, end: end, score: score, quality: q, f: f, crossings: acc.crossings}
}

// virality maps content quality onto 0..100: a strong hook, a complete
// thought, lively delivery, one topic and clean speech make the top; plain
// talk lands near the middle. Filler-laden talk, an intro or an outro, and
// an uncertain transcript stay under 50, whatever else they have.
func (a *analysis) virality(c candidate) int {
	v := 99 * clamp((c.quality-0.15)/0.8, 0, 1)
	if c.f.filler >= 0.5 || c.f.lowConf >= 0.5 || c.weak {
		v = math.Min(v, 45)
	}
	return int(math.Round(v))
}
