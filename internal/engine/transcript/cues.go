package transcript

import (
	"errors"
	"fmt"
	"html"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds what SubRip and WebVTT share: timestamps, markup, and
// turning timed caption text into timed words.

// segment is caption text known to start at a time: the cue start, or an
// inline timestamp tag.
type segment struct {
	at   float64
	text string
}

// cue is one caption with its markup removed.
type cue struct {
	start, end float64
	segs       []segment // segs[0].at is start
}

// parseTimestamp reads "hh:mm:ss,ttt", "h:mm:ss.ttt", "hhh:mm:ss.ttt" or
// "mm:ss.ttt"; the fraction is optional.
func parseTimestamp(s string) (float64, bool) {
	parts := strings.Split(s, ":")
	if len(parts) != 2 && len(parts) != 3 {
		return 0, false
	}
	last := parts[len(parts)-1]
	secs, frac, hasFrac := strings.Cut(strings.Replace(last, ",", ".", 1), ".")
	t := 0.0
	for _, p := range append(parts[:len(parts)-1], secs) {
		n, ok := parseDigits(p)
		if !ok {
			return 0, false
		}
		t = t*60 + float64(n)
	}
	if hasFrac {
		n, ok := parseDigits(frac)
		if !ok {
			return 0, false
		}
		t += float64(n) / math.Pow10(len(frac))
	}
	return t, true
}

func parseDigits(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// parseTiming reads a cue timing line "start --> end [settings]".
func parseTiming(line string) (start, end float64, err error) {
	l, r, _ := strings.Cut(line, "-->")
	l = strings.TrimSpace(l)
	if f := strings.Fields(r); len(f) > 0 {
		r = f[0] // WebVTT cue settings and SubRip X1:... coordinates follow
	} else {
		r = ""
	}
	start, ok := parseTimestamp(l)
	if !ok {
		return 0, 0, fmt.Errorf("bad timestamp %q", l)
	}
	end, ok = parseTimestamp(r)
	if !ok {
		return 0, 0, fmt.Errorf("bad timestamp %q", r)
	}
	if end < start {
		return 0, 0, fmt.Errorf("cue ends (%s) before it starts (%s)", r, l)
	}
	return start, end, nil
}

// piece is part of a caption line; every piece but the first starts at an
// inline timestamp tag.
type piece struct {
	at   float64
	text string
}

// cleanLine removes markup from one caption line: HTML-like tags (<i>,
// <font color="red">, <v Speaker>, <c.yellow>), ASS override blocks
// ({\an8}), entities (&amp;) and bracketed sound descriptions ([Music]).
// With stamps, WebVTT timestamp tags (<00:00:01.500>) split the line into
// pieces.
func cleanLine(s string, stamps bool) ([]piece, error) {
	pieces := []piece{{}}
	var sb strings.Builder
	flush := func() {
		pieces[len(pieces)-1].text = tidyText(sb.String())
		sb.Reset()
	}
	// Where the next '>', '}' and ':' are: each is looked for once however
	// many tags open before it, so a line of "<<<<" takes linear time.
	gt, brace, colon := nextByte{s: s, c: '>'}, nextByte{s: s, c: '}'}, nextByte{s: s, c: ':'}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '<':
			end := gt.from(i)
			if end < 0 {
				break
			}
			j := end - i
			tag := s[i+1 : i+j]
			if stamps && tag != "" && tag[0] >= '0' && tag[0] <= '9' && inside(colon.from(i), end) {
				t, ok := parseTimestamp(tag)
				if !ok {
					return nil, fmt.Errorf("bad timestamp tag %q", s[i:i+j+1])
				}
				flush()
				pieces = append(pieces, piece{at: t})
				i += j + 1
				continue
			}
			// "a < b" and "<3" are text, not tags.
			if tag != "" && (tag[0] == '/' || isASCIILetter(tag[0])) {
				i += j + 1
				continue
			}
		case c == '{' && strings.HasPrefix(s[i:], `{\`):
			if end := brace.from(i); end >= 0 {
				i = end + 1
				continue
			}
		}
		sb.WriteByte(c)
		i++
	}
	flush()
	// Dialogue dashes: "- Hello", "-Hello".
	pieces[0].text = strings.TrimLeft(strings.TrimSpace(pieces[0].text), "-‐–—")
	return pieces, nil
}

// inside reports whether a byte found at k (-1 for none) comes before end.
func inside(k, end int) bool { return k >= 0 && k < end }

// nextByte finds the next c in s at or after a position, for positions
// that only grow: it scans s once in all.
type nextByte struct {
	s    string
	c    byte
	at   int  // the last answer: the index of the next c, or -1 for none
	done bool // whether at has been looked for
}

// from returns the index of the first c at or after i, or -1.
func (n *nextByte) from(i int) int {
	if !n.done || (n.at >= 0 && i > n.at) {
		n.done = true
		if k := strings.IndexByte(n.s[i:], n.c); k >= 0 {
			n.at = i + k
		} else {
			n.at = -1 // none after i, so none after any later position
		}
	}
	return n.at
}

func isASCIILetter(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// tidyText decodes entities and drops [bracketed] sound descriptions, which
// are not speech. A '[' that no ']' follows is text.
func tidyText(s string) string {
	s = html.UnescapeString(s)
	var sb strings.Builder
	for {
		i := strings.IndexByte(s, '[')
		j := -1
		if i >= 0 {
			j = strings.IndexByte(s[i:], ']')
		}
		if j < 0 {
			if sb.Len() == 0 {
				return s
			}
			sb.WriteString(s)
			return sb.String()
		}
		sb.WriteString(s[:i])
		sb.WriteByte(' ')
		s = s[i+j+1:]
	}
}

// plainText is a line's text without timestamps, with single spaces.
func plainText(pieces []piece) string {
	var parts []string
	for _, p := range pieces {
		parts = append(parts, p.text)
	}
	return strings.Join(strings.Fields(strings.Join(parts, " ")), " ")
}

// tokens splits caption text into words on white space. Tokens that are
// only dashes or music marks ("- " dialogue dashes, "--", "♪") are dropped;
// tokens that are only closing punctuation ("Hello ." or "Wait ...") join
// the word before, so sentence ends stay on a word.
func tokens(s string) []string {
	var (
		out  []string
		word []byte // the last word, with the punctuation joined to it
		has  bool
	)
	for _, f := range strings.Fields(s) {
		switch {
		case allRunes(f, isDropRune):
		case allRunes(f, isClosingRune):
			// Built in place: "Wait . . . . ." stays linear.
			if has {
				word = append(word, f...)
			}
		default: // a word, or "&", "%", "$": spoken
			if has {
				out = append(out, string(word))
			}
			word, has = append(word[:0], f...), true
		}
	}
	if has {
		out = append(out, string(word))
	}
	return out
}

func allRunes(s string, f func(rune) bool) bool {
	return strings.IndexFunc(s, func(r rune) bool { return !f(r) }) < 0
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }

func isDropRune(r rune) bool {
	return unicode.Is(unicode.Pd, r) || strings.ContainsRune("♪♫♬♩#*~", r)
}

func isClosingRune(r rune) bool {
	return strings.ContainsRune(`.,;:!?…)]}»"'”’。、？！`, r)
}

// spread gives words times across [start, end] in proportion to their
// length in characters: a caption says when a line was shown, not when
// each word was said, and long words take longer to say.
func spread(words []string, start, end float64) []Word {
	total := 0
	for _, w := range words {
		total += utf8.RuneCountInString(w)
	}
	out := make([]Word, len(words))
	n := 0
	for i, w := range words {
		out[i].Text = w
		out[i].Start = start + (end-start)*float64(n)/float64(total)
		n += utf8.RuneCountInString(w)
		out[i].End = start + (end-start)*float64(n)/float64(total)
	}
	if len(out) > 0 {
		out[len(out)-1].End = end // exact, whatever the rounding
	}
	return out
}

// cueWords turns cues into words. Cues are sorted by start; cues with the
// same start are merged (exact duplicates dropped) and a cue that runs into
// the next one is cut where the next starts, so words do not overlap.
func cueWords(cues []cue) []Word {
	sort.SliceStable(cues, func(i, j int) bool { return cues[i].start < cues[j].start })
	var merged []cue
	for _, c := range cues {
		if n := len(merged); n > 0 && merged[n-1].start == c.start {
			p := &merged[n-1]
			if p.end == c.end && cueText(*p) == cueText(c) {
				continue
			}
			if len(p.segs) == 1 && len(c.segs) == 1 {
				p.segs[0].text += " " + c.segs[0].text
				p.end = max(p.end, c.end)
				continue
			}
		}
		merged = append(merged, c)
	}
	var words []Word
	for i := range merged {
		c := &merged[i]
		if i+1 < len(merged) {
			if next := merged[i+1].start; next > c.start && next < c.end {
				c.end = next
			}
		}
		prev := c.start
		for j := range c.segs {
			// Inline times outside the cue or going backwards are clamped.
			at := min(max(c.segs[j].at, prev), c.end)
			c.segs[j].at, prev = at, at
		}
		for j, s := range c.segs {
			end := c.end
			if j+1 < len(c.segs) {
				end = c.segs[j+1].at
			}
			words = append(words, spread(tokens(s.text), s.at, end)...)
		}
	}
	return finish(words)
}

func cueText(c cue) string {
	var parts []string
	for _, s := range c.segs {
		parts = append(parts, s.text)
	}
	return strings.Join(strings.Fields(strings.Join(parts, " ")), " ")
}

// finish sorts words by start and cuts any word that runs past the start of
// the next one.
func finish(words []Word) []Word {
	sort.SliceStable(words, func(i, j int) bool { return words[i].Start < words[j].Start })
	for i := 0; i+1 < len(words); i++ {
		if words[i].End > words[i+1].Start {
			words[i].End = max(words[i].Start, words[i+1].Start)
		}
	}
	return words
}

var errNoCues = errors.New("no cue timing lines (\"00:00:01,000 --> 00:00:02,500\")")
