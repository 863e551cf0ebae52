package selection

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

const maxTitle = 60 // characters

// title names a clip in the speaker's own words: its hook when it opens on
// one, else its key sentence; the whole sentence when it fits in 60
// characters, else its longest opening clause that does. Titles are in
// sentence case, never built from words recognised with low confidence,
// and never repeat another clip's of the same job.
func (a *analysis) title(c candidate, taken []string) string {
	best, bestScore := "", math.Inf(-1)
	for _, sc := range a.titleSentences(c) {
		t, kept, ok := a.titleFrom(sc.k)
		// A clause that keeps little of its sentence says little.
		if score := sc.score * (0.5 + 0.5*kept); ok && score > bestScore && !containsFold(taken, t) {
			best, bestScore = t, score
		}
	}
	if best == "" {
		// Nothing the clip says makes a title that can be trusted.
		return "Moment at " + clock(c.start)
	}
	return best
}

type scored struct {
	k     int
	score float64
}

// titleSentences are the clip's sentences that may give its title, scored:
// the opening line when it is a hook above all, then the sentences richest
// in the clip's own words. Sentences that lean on what came before are
// left out.
func (a *analysis) titleSentences(c candidate) []scored {
	tf := map[string]float64{}
	for i := a.sents[c.first].first; i <= a.sents[c.last].last; i++ {
		if content(a.tokens[i]) {
			tf[a.stems[i]]++
		}
	}
	var out []scored
	for k := c.first; k <= c.last; k++ {
		st := a.info[k]
		if st.role != body || st.depends {
			continue
		}
		weight := 0.0
		for i := a.sents[k].first; i <= a.sents[k].last; i++ {
			if content(a.tokens[i]) {
				weight += math.Log1p(tf[a.stems[i]]) * (0.3 + a.idf[a.stems[i]])
			}
		}
		score := weight/math.Sqrt(float64(st.words)) + 2*st.hook.score - 0.05*float64(k-c.first)
		if k == c.first && st.hook.score >= 0.5 {
			score += 10 // the line the viewer hears first
		}
		for b := range a.terms {
			if st.mask&(1<<b) != 0 {
				score += 0.5
			}
		}
		out = append(out, scored{k, score})
	}
	return out
}

// titleFrom makes a title of sentence k: the sentence after its lead-in,
// or its longest opening clause within 60 characters, of at least three
// words, two of them content words, none recognised with low confidence.
// kept is the share of the sentence's content words the title keeps.
func (a *analysis) titleFrom(k int) (title string, kept float64, ok bool) {
	s := a.sents[k]
	first := a.skipLeadIn(s.first, s.last)
	reveal := a.info[k].hook.has[hookReveal]
	// A question may drop what follows "and": "Why does it taste bitter at
	// home (and sweet in a cafe)?" It keeps its mark when it still asks.
	question := a.info[k].hook.has[hookQuestion] && questionOpeners[a.tokens[first]]
	total, words := 0, 0
	for i := first; i <= s.last; i++ {
		if content(a.tokens[i]) {
			total++
		}
	}
	for end := first; end <= s.last; end++ {
		if c := a.words[end].Confidence; c > 0 && c < lowConfidence {
			break // a title is never made of words that may be wrong
		}
		if content(a.tokens[end]) {
			words++
		}
		if end < first+2 || words < 2 || (end < s.last && !a.clauseEnds(end, reveal, question)) || a.dangles(first, end) || a.listItem(first, end) {
			continue
		}
		t := a.phrase(first, end, question)
		if utf8.RuneCountInString(t) > maxTitle {
			break
		}
		title, kept, ok = t, float64(words)/float64(max(1, total)), true
	}
	return title, kept, ok
}

// clauseEnds reports whether a clause can end after word i: at a comma, a
// colon or a dash, or before a word that starts a new clause ("and" does
// not: it joins words as often as clauses) (and, in a
// reveal, before its verb: "The biggest mistake beginners make | is"), but
// never inside a number ("three hundred and fifty") or on a small word.
func (a *analysis) clauseEnds(i int, reveal, question bool) bool {
	if strings.ContainsAny(lastRune(a.words[i].Text), ",;:—–") {
		return true
	}
	if functionWords[a.tokens[i]] {
		return false
	}
	next := a.tokens[i+1]
	if next == "and" && isNumber(a.tokens[i]) && i+2 < len(a.tokens) && isNumber(a.tokens[i+2]) {
		return false
	}
	return clauseStarters[next] || (reveal && copulas[next]) || (question && (next == "and" || next == "or"))
}

// dangles reports whether words first..last end on a subordinate clause
// with no main clause after it: "If it tastes sour, grind finer, and if it
// tastes bitter".
func (a *analysis) dangles(first, last int) bool {
	start := first // the last clause's first word
	for i := first; i < last; i++ {
		if strings.ContainsAny(lastRune(a.words[i].Text), ",;:—–") {
			start = i + 1
		}
	}
	for start < last && (a.tokens[start] == "and" || a.tokens[start] == "but" || a.tokens[start] == "or") {
		start++
	}
	return subordinators[a.tokens[start]]
}

// listItem reports whether words first..last end on an item of a list, a
// comma after a word or two since the last mark: "flour, water".
func (a *analysis) listItem(first, last int) bool {
	if lastRune(a.words[last].Text) != "," {
		return false
	}
	n := 1
	for i := last - 1; i >= first && !strings.ContainsAny(lastRune(a.words[i].Text), ",;:—–"); i-- {
		n++
	}
	return n < 3 && n < last-first+1
}

// subordinators open a clause that cannot stand alone.
var subordinators = set(`if when because while although though unless until since whereas as`)

// clauseStarters begin a new clause: a title may stop before one.
var clauseStarters = set(`but because which that when while if since yet although though unless
until where whereas`)

// phrase is words first..last as a title: sentence case, no trailing
// punctuation, but a question mark when the sentence asks one.
func (a *analysis) phrase(first, last int, question bool) string {
	parts := make([]string, 0, last-first+1)
	for k := first; k <= last; k++ {
		parts = append(parts, a.words[k].Text)
	}
	t := strings.Trim(strings.Join(parts, " "), `"'“”‘’`)
	t = strings.TrimRight(t, ",.;:!?…—– ")
	if question {
		t += "?"
	}
	return capitalise(t)
}

func capitalise(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

func lastRune(s string) string {
	r, _ := utf8.DecodeLastRuneInString(strings.TrimRight(s, `"'”’)`))
	return string(r)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func clock(t float64) string {
	s := int(t)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
