package selection

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/clipmill/clipmill/internal/clipping"
)

const maxTitle = 70 // characters; longer titles are cut at a word

// title names a clip by its key phrase: a short opening question when there
// is one, else the run of content words that is most particular to this clip
// (frequent here, rare in the rest of the source). It avoids repeating a
// title already given to another clip.
func (a *analysis) title(c candidate, chosen []Clip) string {
	used := map[string]bool{}
	for _, cl := range chosen {
		used[strings.ToLower(cl.Title)] = true
	}
	s := a.sents[c.first]
	if n := s.last - s.first + 1; a.sentInfo[c.first].hook.question && a.punctuated && n >= 3 && n <= 12 {
		t := capitalise(a.text(s.first, s.last))
		if !used[strings.ToLower(t)] {
			return cut(t)
		}
	}
	// A short, self-standing line says what the clip is about better than
	// any phrase pulled from it: the opening one if it is short, else the
	// most telling short sentence.
	if a.punctuated {
		for _, k := range a.titleSentences(c) {
			first := a.skipLeadIn(a.sents[k].first, a.sents[k].last)
			t := capitalise(a.text(first, a.sents[k].last))
			if !used[strings.ToLower(t)] {
				return cut(t)
			}
		}
	}
	for _, p := range a.phrases(c) {
		t := titleCase(p)
		if !used[strings.ToLower(t)] {
			return cut(t)
		}
	}
	// Nothing distinctive: the opening words.
	t := capitalise(a.text(s.first, min(s.last, s.first+7)))
	if used[strings.ToLower(t)] {
		t = fmt.Sprintf("%s (%s)", t, clock(c.start))
	}
	return cut(t)
}

// titleSentences returns the clip's sentences that could stand as its
// title, best first: 3 to 10 words after any lead-in, not leaning on what
// came before, with content words.
func (a *analysis) titleSentences(c candidate) []int {
	tf := a.termFrequency(c)
	type cand struct {
		k     int
		score float64
	}
	var cands []cand
	for k := c.first; k <= c.last; k++ {
		s, st := a.sents[k], a.sentInfo[k]
		first := a.skipLeadIn(s.first, s.last)
		n := s.last - first + 1
		if n < 3 || n > 10 || st.depends || dependentOpeners[a.tokens[first]] {
			continue
		}
		var weight float64
		words := 0
		for i := first; i <= s.last; i++ {
			if content(a.tokens[i]) {
				weight += math.Log1p(tf[a.stems[i]]) * (0.3 + a.idf[a.stems[i]])
				words++
			}
		}
		if words < 2 {
			continue
		}
		score := weight/math.Sqrt(float64(n)) + st.hook.score() + 1.5*st.onTopic
		if k == c.first {
			score += 1 // the opening line is what the viewer hears first
		}
		score -= 0.05 * float64(k-c.first)
		cands = append(cands, cand{k, score})
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	out := make([]int, len(cands))
	for i, c := range cands {
		out[i] = c.k
	}
	return out
}

// leadIns are openings a title does without: "Here is the biggest
// mistake" is titled "The biggest mistake".
var leadIns = [][]string{{"here", "is"}, {"here's"}, {"so"}, {"and"}, {"well"}, {"okay"}, {"ok"}, {"now"},
	{"look"}, {"listen"}, {"you", "know"}, {"i", "think"}, {"the", "thing", "is"}, {"basically"}, {"um"}, {"uh"}}

func (a *analysis) skipLeadIn(first, last int) int {
	for again := true; again; {
		again = false
		for _, l := range leadIns {
			if first+len(l) > last {
				continue
			}
			match := true
			for k, w := range l {
				match = match && a.tokens[first+k] == w && !breaksPhrase(a.words[first+k].Text)
			}
			if match {
				first += len(l)
				again = true
			}
		}
	}
	return first
}

// termFrequency counts the clip's content words by stem.
func (a *analysis) termFrequency(c candidate) map[string]float64 {
	tf := map[string]float64{}
	for i := a.sents[c.first].first; i <= a.sents[c.last].last; i++ {
		if content(a.tokens[i]) {
			tf[a.stems[i]]++
		}
	}
	return tf
}

// phrases returns the clip's candidate key phrases, best first.
func (a *analysis) phrases(c candidate) []string {
	first, last := a.sents[c.first].first, a.sents[c.last].last
	tf := a.termFrequency(c)
	type phrase struct {
		text  string
		score float64
	}
	var best []phrase
	seen := map[string]bool{}
	opening := a.sents[c.first].last
	for i := first; i <= last; i++ {
		for n := 1; n <= 4 && i+n-1 <= last; n++ {
			j := i + n - 1
			if !content(a.tokens[j]) {
				break
			}
			if n > 1 && breaksPhrase(a.words[j-1].Text) {
				break
			}
			key := strings.Join(a.stems[i:j+1], " ")
			if seen[key] {
				continue
			}
			seen[key] = true
			var sc float64
			for k := i; k <= j; k++ {
				sc += math.Log1p(tf[a.stems[k]]) * (0.3 + a.idf[a.stems[k]])
				for _, t := range a.terms {
					if matchTerm(a.stems[k], t) {
						sc += 1.5
					}
				}
			}
			// Two or three words read best as a title.
			sc *= []float64{0, 0.75, 1.15, 1.1, 0.9}[n]
			if i <= opening {
				sc *= 1.15
			}
			if isNumber(a.tokens[i]) && n > 1 {
				sc *= 1.2
			}
			best = append(best, phrase{a.text(i, j), sc})
		}
	}
	// A simple selection sort of the top few is enough.
	var out []string
	for len(out) < 5 && len(best) > 0 {
		k := 0
		for m := range best {
			if best[m].score > best[k].score {
				k = m
			}
		}
		out = append(out, best[k].text)
		best = append(best[:k], best[k+1:]...)
	}
	return out
}

func content(t string) bool {
	return t != "" && !stopwords[t] && !fillers[t] && !weakFillers[t] && utf8.RuneCountInString(t) > 1
}

func breaksPhrase(w string) bool {
	return strings.ContainsAny(w[max(0, len(w)-1):], ",.;:?!")
}

// text joins words i..j without trailing punctuation.
func (a *analysis) text(i, j int) string {
	parts := make([]string, 0, j-i+1)
	for k := i; k <= j; k++ {
		parts = append(parts, a.words[k].Text)
	}
	t := strings.Join(parts, " ")
	if !strings.HasSuffix(t, "?") {
		t = strings.TrimRight(t, ",.;:!…")
	}
	return t
}

var smallWords = set("a an and as at but by for in of on or the to vs via")

func titleCase(s string) string {
	f := strings.Fields(strings.Trim(s, ",.;:!"))
	for i, w := range f {
		if i > 0 && smallWords[strings.ToLower(w)] {
			f[i] = strings.ToLower(w)
			continue
		}
		f[i] = capitalise(w)
	}
	return strings.Join(f, " ")
}

func capitalise(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

func cut(s string) string {
	if utf8.RuneCountInString(s) <= maxTitle {
		return s
	}
	r := []rune(s)[:maxTitle]
	if i := strings.LastIndexByte(string(r), ' '); i > maxTitle/2 {
		return strings.TrimRight(string(r)[:i], ",.;:") + "…"
	}
	return string(r) + "…"
}

func clock(t float64) string {
	s := int(t)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// reason says in one line why this clip was chosen, from its strongest
// signals.
func (a *analysis) reason(c candidate, dt clipping.DurationType, w Window) string {
	f := c.f
	var parts []string
	switch {
	case f.h.question:
		parts = append(parts, "opens with a question")
	case f.h.number:
		parts = append(parts, "opens with a number")
	case f.h.bold:
		parts = append(parts, "opens with a bold claim")
	case f.h.you:
		parts = append(parts, "opens by speaking to the viewer")
	}
	if f.termsHit != 0 {
		var hit []string
		for b, t := range a.terms {
			if f.termsHit&(1<<b) != 0 {
				hit = append(hit, a.promptWord(t))
			}
		}
		parts = append(parts, fmt.Sprintf("matches the prompt (%s)", strings.Join(hit, ", ")))
	} else if len(a.terms) > 0 {
		parts = append(parts, "nothing in the source matches the prompt, so it is the best moment overall")
	}
	if f.self >= 0.8 {
		parts = append(parts, "a complete thought from start to end")
	}
	switch {
	case f.density >= 0.85:
		parts = append(parts, fmt.Sprintf("dense speech (%.1f words/s)", f.wps))
	case f.density < 0.5:
		parts = append(parts, fmt.Sprintf("slow speech (%.1f words/s)", f.wps))
	}
	if f.dbAbove >= 2 {
		parts = append(parts, fmt.Sprintf("energetic delivery (+%.0f dB)", f.dbAbove))
	}
	if f.filler >= 0.4 {
		parts = append(parts, "but many filler words")
	} else if f.filler == 0 && len(parts) < 4 {
		parts = append(parts, "no filler words")
	}
	d := c.end - c.start
	prefix := ""
	if d < w.Min {
		prefix = fmt.Sprintf("The source has only %.0f s of speech to offer for the %s s target, so this is its best %.0f s: ", a.speechSpan(), dt, d)
		if dt == clipping.DurationLong {
			prefix = fmt.Sprintf("The source is too short for a long clip (over %.0f s), so this is its best %.0f s: ", w.Min, d)
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "the strongest moment of the source")
	}
	line := strings.Join(parts, ", ") + "."
	if prefix != "" {
		return prefix + line
	}
	return capitalise(line)
}

// promptWord maps a prompt stem back to the word the user typed.
func (a *analysis) promptWord(stemmed string) string {
	for _, t := range strings.Fields(a.in.Prompt) {
		if n := norm(t); stem(n) == stemmed {
			return n
		}
	}
	return stemmed
}

func (a *analysis) speechSpan() float64 {
	return a.words[len(a.words)-1].End - a.words[0].Start
}
