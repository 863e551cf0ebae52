package selection

import "strings"

// hookKind is one way a sentence can make a viewer stop scrolling.
type hookKind int

const (
	hookQuestion   hookKind = iota // "Why do most people fail at saving money?"
	hookReveal                     // "The biggest mistake beginners make…"
	hookNumber                     // "A third of us sleep less than six hours."
	hookCounter                    // "Stop trying to run fast."
	hookImperative                 // "Raise your price."
	hookBold                       // "Nobody ever went out of business…"
	hookContrast                   // "…, yet a third of us sleep less than six."
	hookYou                        // talks to the viewer
	hookKinds
)

// hookWeights: how strongly each kind, alone, makes an opening line.
var hookWeights = [hookKinds]float64{0.85, 0.85, 0.6, 0.75, 0.4, 0.45, 0.35, 0.2}

// hookNames say what each kind is, for reasons.
var hookNames = [hookKinds]string{"a question", "a reveal", "a number", "advice against a habit", "a call to action",
	"a bold claim", "a contrast", "talking to the viewer"}

// hook is what a sentence offers as an opening line.
type hook struct {
	has   [hookKinds]bool
	score float64 // 0..1
}

// best is the strongest kind the sentence has, and whether it has any.
func (h hook) best() (hookKind, bool) {
	for k := hookKind(0); k < hookKinds; k++ {
		if h.has[k] {
			return k, true
		}
	}
	return 0, false
}

// hookOf scores a sentence as an opener. An opening that leans on what came
// before ("And that is why…", "It was…") or a fragment of a few words
// makes a weak first line whatever it says.
func (a *analysis) hookOf(s sentence) hook {
	var h hook
	first := a.skipLeadIn(s.first, s.last)
	n := s.last - first + 1
	last := min(s.last, first+24) // the first few seconds are the hook
	h.has[hookQuestion] = strings.HasSuffix(strings.TrimRight(a.words[s.last].Text, `"'”’)`), "?") ||
		(!a.punctuated && questionOpeners[a.tokens[first]])
	command := !h.has[hookQuestion] && (first == s.last || !copulas[a.tokens[first+1]])
	h.has[hookCounter] = command && counterVerbs[a.tokens[first]]
	h.has[hookImperative] = command && !h.has[hookCounter] && imperativeVerbs[a.tokens[first]]
	for i := first; i <= last; i++ {
		t := a.tokens[i]
		if superlatives[t] && i+1 <= last && (revealNouns[a.tokens[i+1]] || (i+2 <= last && revealNouns[a.tokens[i+2]])) {
			h.has[hookReveal] = true
		}
		next, after := "", ""
		if i+1 <= last {
			next = a.tokens[i+1]
		}
		if i+2 <= last {
			after = a.tokens[i+2]
		}
		if t == "most" && (mostWho[next] || (next == "of" && after == "us")) {
			h.has[hookReveal] = true
		}
		// A number that counts something: "nine hours", "a third of us",
		// "20%"; not "one of them".
		if isNumber(t) && t != "one" && (content(next) || (fractions[t] && next == "of")) ||
			strings.HasSuffix(t, "%") || t == "percent" {
			h.has[hookNumber] = true
		}
		if boldWords[t] {
			h.has[hookBold] = true
		}
		if contrastWords[t] && i > first {
			h.has[hookContrast] = true
		}
		if t == "you" || t == "your" || t == "you're" || t == "you'll" {
			h.has[hookYou] = true
		}
	}
	miss := 1.0
	for k, ok := range h.has {
		if ok {
			miss *= 1 - hookWeights[k]
		}
	}
	h.score = 1 - miss
	switch {
	case dependentOpeners[a.tokens[s.first]] && !h.has[hookQuestion]:
		h.score *= 0.4
	case n < 4 && !h.has[hookQuestion]:
		h.score *= 0.6
	}
	return h
}

// leadIns are openings a title does without, and a hook looks past: "Here
// is the biggest mistake" is "the biggest mistake".
var leadIns = [][]string{{"did", "you", "know", "that"}, {"did", "you", "know"}, {"here", "is"}, {"here's"}, {"so"}, {"and"}, {"well"}, {"okay"}, {"ok"}, {"now"},
	{"look"}, {"listen"}, {"you", "know"}, {"i", "think"}, {"the", "thing", "is"}, {"basically"}, {"um"}, {"uh"}}

// skipLeadIn returns the first word after any lead-ins.
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

func breaksPhrase(w string) bool {
	return strings.ContainsAny(w[max(0, len(w)-1):], ",.;:?!")
}
