package captions

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Costs of a layout, in pages: every page costs one (see pageCost), plus
// what each page or line break costs the reader where it falls. A break
// after punctuation is free; one inside a name or a number's phrase costs
// more than the extra pages that avoid it, so it happens only when nothing
// else fits.
const (
	costPhrase   = 1.0 // a break between two words of a phrase
	costFunction = 2.5 // after a small function word, which leads into the next
	costBound    = 40  // inside a name, or between a number and what it counts
	// A page or line that runs past a pause only to break inside a phrase
	// ("TOMORROW: DO | NOT SKIP") reads as two fragments.
	costRunOn = 2.5
	// A page short by a fraction s of the preset's words costs s² of this:
	// a lone word costs most, so pages come out balanced, and more so for
	// the presets of many words, whose lone words would blink.
	costSlack = 2
	// A page or line of one word cut off from its phrase (see lone).
	costLone = 3
)

// breakCost is the cost of a break between the words a and b (as spoken,
// before any uppercasing).
func breakCost(a, b string) float64 {
	switch {
	case endsClause(a):
		return 0
	case isNumber(a) || isNamePart(a) && isNamePart(b):
		return costBound
	case functionWords[strings.ToLower(bare(a))]:
		return costFunction
	case functionWords[strings.ToLower(bare(b))]:
		return costPhrase / 2 // a function word starts the next phrase
	}
	return costPhrase
}

// functionWords are the small words that lead into the phrase after them.
var functionWords = setOf("a an the of to in on at by for with from into onto as " +
	"about after around before between over through under because " +
	"and or but nor if than my your his her its our their this these those every each")

// numberWords count what follows them: "twenty percent", "five hundred years".
var numberWords = setOf("one two three four five six seven eight nine ten eleven twelve " +
	"thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty " +
	"fifty sixty seventy eighty ninety hundred thousand million billion trillion dozen")

func setOf(words string) map[string]bool {
	set := map[string]bool{}
	for _, w := range strings.Fields(words) {
		set[w] = true
	}
	return set
}

// bare is a word without the punctuation around it.
func bare(w string) string {
	return strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// isNumber reports whether a word is a number, in digits ("16", "$5",
// "3.5", "1,350", "20%") or in words ("twenty", "twenty-five", "million").
func isNumber(w string) bool {
	t := strings.ToLower(bare(w))
	r, _ := utf8.DecodeRuneInString(t)
	if unicode.IsDigit(r) {
		return true
	}
	return numberWords[t[strings.LastIndexByte(t, '-')+1:]]
}

// isNamePart reports whether a word is capitalised, as the words of a name
// are. A capitalised sentence start counts too: it may begin a name ("New
// York is..."), and keeping "So Queen's" together costs little. "I" does
// not: it is capitalised wherever it stands.
func isNamePart(w string) bool {
	t := bare(w)
	r, _ := utf8.DecodeRuneInString(t)
	if !unicode.IsUpper(r) {
		return false
	}
	return t != "I" && !strings.HasPrefix(t, "I'") && !strings.HasPrefix(t, "I’")
}

// endsClause reports whether a word ends with a comma or another mark a
// reader pauses at.
func endsClause(text string) bool {
	t := strings.TrimRight(text, `"')]}»”’`)
	r, _ := utf8.DecodeLastRuneInString(t)
	return strings.ContainsRune(",;:–—", r) || endsSentence(text)
}

// abbreviations end with a full stop but rarely end a sentence.
var abbreviations = map[string]bool{
	"mr.": true, "mrs.": true, "ms.": true, "dr.": true, "prof.": true,
	"st.": true, "vs.": true, "jr.": true, "sr.": true, "e.g.": true, "i.e.": true,
}

// endsSentence reports whether a word ends with ., ? or ! (or an ellipsis),
// looking past closing quotes and brackets.
func endsSentence(text string) bool {
	t := strings.TrimRight(text, `"')]}»”’`)
	if t == "" || abbreviations[strings.ToLower(t)] {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(t)
	return strings.ContainsRune(".?!…", r)
}
