package selection

import (
	"strings"
	"unicode"

	"github.com/clipmill/clipmill/internal/engine/transcript"
)

// sentence is a run of words that a cut may start before and end after.
type sentence struct {
	first, last int // word indexes, inclusive
	start, end  float64
}

const (
	// Without punctuation (pocketsphinx), a pause this long ends a sentence.
	pauseUnpunctuated = 0.45
	// With punctuation, only a long pause ends a sentence early.
	pausePunctuated = 1.2
	// A sentence longer than this is split at its longest pause, so that
	// candidate windows can still fit the shorter targets.
	maxSentence = 25.0
)

// splitSentences groups words into sentences from punctuation and pauses.
func splitSentences(words []transcript.Word) []sentence {
	if len(words) == 0 {
		return nil
	}
	punctuated := hasPunctuation(words)
	pause := pauseUnpunctuated
	if punctuated {
		pause = pausePunctuated
	}
	var out []sentence
	first := 0
	for i := range words {
		last := i == len(words)-1
		if !last && !endsSentence(words[i].Text) && words[i+1].Start-words[i].End < pause {
			continue
		}
		out = append(out, splitLong(words, first, i)...)
		first = i + 1
	}
	return out
}

// splitLong breaks words[a..b] at its longest pauses until every piece is
// at most maxSentence long.
func splitLong(words []transcript.Word, a, b int) []sentence {
	if words[b].End-words[a].Start <= maxSentence || a == b {
		return []sentence{{first: a, last: b, start: words[a].Start, end: words[b].End}}
	}
	cut, gap := a, -1.0
	for i := a; i < b; i++ {
		// Prefer a comma, then the longest gap.
		g := words[i+1].Start - words[i].End
		if strings.HasSuffix(words[i].Text, ",") || strings.HasSuffix(words[i].Text, ";") {
			g += 0.3
		}
		if g > gap {
			cut, gap = i, g
		}
	}
	return append(splitLong(words, a, cut), splitLong(words, cut+1, b)...)
}

func hasPunctuation(words []transcript.Word) bool {
	for _, w := range words {
		if endsSentence(w.Text) {
			return true
		}
	}
	return false
}

var abbreviations = map[string]bool{
	"mr.": true, "mrs.": true, "ms.": true, "dr.": true, "prof.": true, "st.": true,
	"vs.": true, "etc.": true, "e.g.": true, "i.e.": true, "inc.": true, "jr.": true, "sr.": true,
}

// endsSentence reports whether a word closes its sentence: "done.", "why?",
// "now!\"", but not "Dr." or "e.g.".
func endsSentence(w string) bool {
	t := strings.TrimRightFunc(w, func(r rune) bool {
		return r == '"' || r == '\'' || r == ')' || r == ']' || r == '”' || r == '’' || r == '»'
	})
	if t == "" {
		return false
	}
	switch r := []rune(t)[len([]rune(t))-1]; r {
	case '?', '!', '…', '。', '？', '！':
		return true
	case '.':
		return !abbreviations[strings.ToLower(t)]
	}
	return false
}

// norm lower-cases a word, strips surrounding punctuation and makes a
// typographic apostrophe plain, so "Let’s" and "let's" meet.
func norm(w string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimFunc(w, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})), "’", "'")
}
