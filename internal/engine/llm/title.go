package llm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkTitle tidies a title and checks that it says only what the clip
// says: every content word must share a stem with a word of the
// transcript, and every number (in digits or in words) must be spoken. The
// title may drop words and reorder them, and may add the small words of
// functionWords.
func checkTitle(raw, transcript string) (string, error) {
	t := unquote(oneLine(raw))
	if t == "" {
		return "", errors.New("the title is empty")
	}
	if n := utf8.RuneCountInString(t); n > maxTitle {
		return "", fmt.Errorf("the title %s is %d characters, more than %d", quote(t, 80), n, maxTitle)
	}
	said := spokenTerms(transcript)
	var missing []string
	content := 0
	for _, term := range terms(t) {
		switch {
		case term.num != "":
			if !said.nums[term.num] {
				missing = append(missing, term.text)
				continue
			}
			content++
		case functionWords[term.text]:
		case said.stems[stem(term.text)]:
			content++
		default:
			missing = append(missing, term.text)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("the title %s has words the clip never says: %s", quote(t, 80), strings.Join(missing, ", "))
	}
	if content == 0 {
		return "", fmt.Errorf("the title %s has no word from the clip", quote(t, 80))
	}
	return t, nil
}

// functionWords may appear in a title although the clip never says them:
// they join the clip's words without claiming anything of their own.
// Negations, quantities and modal verbs are not among them.
var functionWords = wordSet(`a an the of to and or but for in on at by with from as into onto about
	over than then so if how why what when where who which that this these those
	is are was were be been being am do does did has have had it its
	you your we our us i me my he him his she her they them their there here can vs`)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// said is what a transcript says: the stems of its words, and its numbers
// however they were written.
type said struct {
	stems map[string]bool
	nums  map[string]bool
}

func spokenTerms(transcript string) said {
	s := said{stems: map[string]bool{}, nums: map[string]bool{}}
	words := tokenize(transcript)
	for _, w := range words {
		s.stems[stem(w)] = true
	}
	for _, t := range groupNumbers(words) {
		if t.num != "" {
			s.nums[t.num] = true
		}
	}
	return s
}

// term is a word, or a number (num is its value, as digits).
type term struct {
	text string
	num  string
}

func terms(s string) []term { return groupNumbers(tokenize(s)) }

// groupNumbers turns digits and runs of number words ("one thousand three
// hundred and fifty") into number terms, so that "1,350" in a title matches
// the spoken words, and "five" matches "5".
func groupNumbers(words []string) []term {
	var out []term
	for i := 0; i < len(words); i++ {
		w := words[i]
		if v, err := strconv.ParseFloat(w, 64); err == nil && isDigits(w) {
			out = append(out, term{text: w, num: strconv.FormatFloat(v, 'f', -1, 64)})
			continue
		}
		if _, ok := numberWords[w]; !ok {
			out = append(out, term{text: w})
			continue
		}
		j := i
		for j+1 < len(words) {
			next := words[j+1]
			if _, ok := numberWords[next]; ok {
				j++
				continue
			}
			// "hundred and fifty"
			if next == "and" && j+2 < len(words) {
				if _, ok := numberWords[words[j+2]]; ok {
					j += 2
					continue
				}
			}
			break
		}
		run := words[i : j+1]
		out = append(out, term{text: strings.Join(run, " "), num: strconv.FormatInt(numberValue(run), 10)})
		i = j
	}
	return out
}

func isDigits(w string) bool {
	return strings.IndexFunc(w, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }) < 0
}

var numberWords = map[string]int64{
	"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
	"nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
	"sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
	"forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
	"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000,
}

// numberValue reads a run of number words ("and" may be among them).
func numberValue(run []string) int64 {
	var total, cur int64
	for _, w := range run {
		v, ok := numberWords[w]
		switch {
		case !ok: // "and"
		case v == 100:
			cur = max(cur, 1) * 100
		case v >= 1000:
			total += max(cur, 1) * v
			cur = 0
		default:
			cur += v
		}
	}
	return total + cur
}

// tokenize lower-cases s and splits it into words: letters and digits,
// "1,350" as "1350", "3.5" kept whole, contractions spelled out ("don't":
// "do", "not"), and each CJK character a word of its own, since those
// scripts do not space their words.
func tokenize(s string) []string {
	rs := []rune(strings.ToLower(s))
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, expand(string(cur))...)
			cur = cur[:0]
		}
	}
	for i, r := range rs {
		switch {
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul):
			flush()
			out = append(out, string(r))
		case unicode.IsLetter(r), unicode.IsDigit(r), unicode.Is(unicode.Mn, r):
			cur = append(cur, r)
		case r == '\'', r == '’', r == '‘':
			cur = append(cur, '\'')
		case (r == '.' || r == ',') && len(cur) > 0 && unicode.IsDigit(rs[i-1]) && i+1 < len(rs) && unicode.IsDigit(rs[i+1]):
			if r == '.' {
				cur = append(cur, r)
			}
		default:
			flush()
		}
	}
	flush()
	return out
}

// contractions are spelled out; "'s" and "'d" are dropped, being either
// a small word or a possessive.
var contractions = []struct{ suffix, word string }{
	{"n't", "not"}, {"'re", "are"}, {"'ve", "have"}, {"'ll", "will"}, {"'m", "am"}, {"'s", ""}, {"'d", ""},
}

// irregular bases before "n't".
var notBases = map[string]string{"ca": "can", "wo": "will", "sha": "shall"}

func expand(w string) []string {
	w = strings.Trim(w, "'")
	if !strings.Contains(w, "'") {
		return nonEmpty(w)
	}
	for _, c := range contractions {
		if base, ok := strings.CutSuffix(w, c.suffix); ok {
			if c.word == "not" {
				if b, ok := notBases[base]; ok {
					base = b
				}
			}
			return nonEmpty(strings.ReplaceAll(base, "'", ""), c.word)
		}
	}
	return nonEmpty(strings.ReplaceAll(w, "'", "")) // "rock'n'roll"
}

func nonEmpty(ws ...string) []string {
	var out []string
	for _, w := range ws {
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

// stem strips common English inflections so that "brewing", "brewed" and
// "brews" meet at "brew", and "mistakes" and "mistake" at "mistak". Both
// sides go through it, so an odd stem costs nothing; it only needs to be
// the same for the forms of one word.
func stem(w string) string {
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		w = w[:len(w)-3] + "y"
	case len(w) > 4 && strings.HasSuffix(w, "sses"):
		w = w[:len(w)-2]
	case len(w) > 3 && strings.HasSuffix(w, "s") &&
		!strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		w = w[:len(w)-1]
	}
	switch {
	case len(w) > 5 && strings.HasSuffix(w, "ing"):
		w = undouble(w[:len(w)-3])
	case len(w) > 4 && strings.HasSuffix(w, "ed"):
		w = undouble(w[:len(w)-2])
	}
	if len(w) > 3 {
		w = strings.TrimSuffix(w, "e")
	}
	return w
}

// undouble turns "runn" (from "running") into "run".
func undouble(w string) string {
	n := len(w)
	if n >= 3 && w[n-1] == w[n-2] && strings.IndexByte("bdfgkmnprt", w[n-1]) >= 0 {
		return w[:n-1]
	}
	return w
}
