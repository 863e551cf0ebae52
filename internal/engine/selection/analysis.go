package selection

import (
	"math"
	"strings"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/transcript"
)

// lowConfidence: a recognised word below this confidence is likely wrong.
const lowConfidence = 0.6

// analysis holds per-word, per-sentence and per-topic facts, computed once
// and shared by every candidate window.
type analysis struct {
	in         Input
	words      []transcript.Word
	tokens     []string // normalised
	stems      []string
	sents      []sentence
	info       []sentInfo
	topics     []topic
	terms      []string // the prompt's stems
	idf        map[string]float64
	meanDB     float64
	punctuated bool
	usualGap   float64 // the median pause between sentences
	cands      map[clipping.DurationType][]candidate
}

// role is what a sentence does in the talk.
type role int

const (
	body role = iota
	intro
	segue
	outro
)

func (r role) String() string { return [...]string{"body", "intro", "segue", "outro"}[r] }

type sentInfo struct {
	words   int
	filler  float64
	hits    float64 // idf-weighted prompt-term mentions
	mask    uint64  // which prompt terms appear
	power   float64 // linear power times duration
	dur     float64
	hook    hook
	depends bool // opens with a connective or a pronoun that needs context
	closes  bool // contains a closing word
	final   bool // ends with . ! or ?
	role    role
	topic   int // index in analysis.topics
	lowConf int // words recognised with low confidence
}

func analyse(in Input) *analysis {
	a := &analysis{in: in, words: in.Words, cands: map[clipping.DurationType][]candidate{}}
	a.tokens = make([]string, len(in.Words))
	a.stems = make([]string, len(in.Words))
	for i, w := range in.Words {
		a.tokens[i] = norm(w.Text)
		a.stems[i] = stem(a.tokens[i])
	}
	a.sents = splitSentences(in.Words)
	a.punctuated = hasPunctuation(in.Words)
	a.idf = idf(a)
	a.promptTerms()

	var totalPower, totalDur float64
	a.info = make([]sentInfo, len(a.sents))
	for k, s := range a.sents {
		st := &a.info[k]
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
			if c := in.Words[i].Confidence; c > 0 && c < lowConfidence {
				st.lowConf++
			}
		}
		st.hook = a.hookOf(s)
		st.depends = dependentOpeners[a.tokens[s.first]]
		last := strings.TrimRight(in.Words[s.last].Text, `"'”’)`)
		st.final = strings.HasSuffix(last, ".") || strings.HasSuffix(last, "!") || strings.HasSuffix(last, "?")
		if in.Loudness != nil && st.dur > 0 {
			st.power = math.Pow(10, in.Loudness(s.start, s.end)/10) * st.dur
			totalPower += st.power
			totalDur += st.dur
		}
	}
	if totalDur > 0 {
		a.meanDB = 10 * math.Log10(totalPower/totalDur)
	}
	a.markRoles()
	a.findTopics()
	return a
}

// idf is the inverse document frequency of each stem over sentences: rare
// words carry the topic.
func idf(a *analysis) map[string]float64 {
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
	out := map[string]float64{}
	for st, n := range df {
		out[st] = math.Log(float64(len(a.sents)+1) / float64(n))
	}
	return out
}

// promptTerms are the prompt's content words, stemmed, at most 64.
func (a *analysis) promptTerms() {
	for _, t := range strings.Fields(a.in.Prompt) {
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

// has reports whether sentence k contains the phrase.
func (a *analysis) has(k int, phrase []string) bool {
	s := a.sents[k]
	for i := s.first; i+len(phrase)-1 <= s.last; i++ {
		match := true
		for j, w := range phrase {
			match = match && a.tokens[i+j] == w
		}
		if match {
			return true
		}
	}
	return false
}

func (a *analysis) hasAny(k int, list [][]string) bool {
	for _, p := range list {
		if a.has(k, p) {
			return true
		}
	}
	return false
}

// opensWith reports whether sentence k starts with one of the phrases.
func (a *analysis) opensWith(k int, list [][]string) bool {
	s := a.sents[k]
	for _, p := range list {
		if s.first+len(p)-1 > s.last {
			continue
		}
		match := true
		for j, w := range p {
			match = match && a.tokens[s.first+j] == w
		}
		if match {
			return true
		}
	}
	return false
}

// content reports a word that carries meaning: not a stopword or a filler.
func content(t string) bool {
	return len(t) > 1 && !stopwords[t] && !fillers[t] && !weakFillers[t]
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }
