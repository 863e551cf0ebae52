package transcript

import (
	"strings"
	"testing"
	"unicode/utf16"
)

func parseSRTString(t *testing.T, s string) []Word {
	t.Helper()
	words, err := ParseSRT(strings.NewReader(s))
	if err != nil {
		t.Fatalf("ParseSRT: %v", err)
	}
	return words
}

func TestSRTSpreadsByLength(t *testing.T) {
	words := parseSRTString(t, "1\n00:00:00,000 --> 00:00:03,000\nHi there, friend.\n")
	// 2 + 6 + 7 = 15 characters over 3 s: 0.2 s a character.
	checkWords(t, words, []want{
		{"Hi", 0, 0.4},
		{"there,", 0.4, 1.6},
		{"friend.", 1.6, 3},
	})
}

func TestSRTRobust(t *testing.T) {
	src := "\uFEFF1\r\n" +
		"0:00:01.000 --> 0:00:02.000\r\n" + // "." separator, one-digit hour
		"<i>Hello</i> <font color=\"#ff0000\">big</font>\r\n" +
		"{\\an8}<b>world.</b>\r\n" +
		"\r\n" +
		"00:00:02,500 --> 00:00:04,000 X1:10 X2:20 Y1:30 Y2:40\r\n" + // no index
		"- Who's there?\r\n" +
		"-Me &amp; you.\r\n" +
		"\r\n" +
		"Dialogue 3\r\n" + // non-numeric index
		"100:00:00,000 --> 100:00:01,000\r\n" + // three-digit hour
		"♪ La la -- la ♪\r\n"
	words := parseSRTString(t, src)
	checkText(t, words, "Hello big world. Who's there? Me & you. La la la")
	checkWords(t, words[:3], []want{
		{"Hello", 1, 1 + 5.0/14},
		{"big", 1 + 5.0/14, 1 + 8.0/14},
		{"world.", 1 + 8.0/14, 2},
	})
	if last := words[len(words)-1]; !near(last.End, 360001) {
		t.Errorf("last word ends at %v, want 360001", last.End)
	}
}

func TestSRTOrderAndOverlap(t *testing.T) {
	src := `3
00:00:10,000 --> 00:00:12,000
third

1
00:00:00,000 --> 00:00:04,000
first cue

2
00:00:02,000 --> 00:00:05,000
second cue
`
	words := parseSRTString(t, src)
	checkOrder(t, words)
	// "first cue" runs into cue 2, so it is cut at 2 s.
	checkWords(t, words, []want{
		{"first", 0, 2 * 5.0 / 8},
		{"cue", 2 * 5.0 / 8, 2},
		{"second", 2, 2 + 3*6.0/9},
		{"cue", 2 + 3*6.0/9, 5},
		{"third", 10, 12},
	})
}

func TestSRTSameStart(t *testing.T) {
	src := `1
00:00:00,000 --> 00:00:02,000
Hello

1
00:00:00,000 --> 00:00:02,000
Hello

2
00:00:00,000 --> 00:00:03,000
there
`
	words := parseSRTString(t, src)
	// The duplicate goes; the other cue with the same start is merged.
	checkWords(t, words, []want{{"Hello", 0, 1.5}, {"there", 1.5, 3}})
}

func TestSRTBlankLineInText(t *testing.T) {
	src := "1\n00:00:00,000 --> 00:00:01,000\nfirst\n\nstill first\n2\n00:00:01,000 --> 00:00:02,000\nsecond\n\n3\n"
	checkText(t, parseSRTString(t, src), "first still first second")
}

func TestSRTNoBlankBetweenCues(t *testing.T) {
	src := "00:00:00,000 --> 00:00:01,000\none\n00:00:01,000 --> 00:00:02,000\ntwo\n"
	checkWords(t, parseSRTString(t, src), []want{{"one", 0, 1}, {"two", 1, 2}})
}

func TestSRTPunctuationTokens(t *testing.T) {
	src := "1\n00:00:00,000 --> 00:00:02,000\n[laughs] Wait ... what ? <3 5 %\n"
	checkText(t, parseSRTString(t, src), "Wait... what? <3 5 %")
}

func TestSRTErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		parts     []string
	}{
		{"bad timestamp", "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:xx,000 --> 00:00:03,000\nbad\n", []string{"line 6", `bad timestamp "00:00:xx,000"`}},
		{"bad end", "1\n00:00:01,000 --> \nx\n", []string{"line 2", `bad timestamp ""`}},
		{"backwards", "1\n00:00:05,000 --> 00:00:03,000\nx\n", []string{"line 2", "before it starts"}},
		{"not srt", "just some text\nmore text\n", []string{"line 1", "no cue timing lines"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSRT(strings.NewReader(tc.src))
			errContains(t, err, tc.parts...)
		})
	}
}

func TestSRTEmpty(t *testing.T) {
	words, err := ParseSRT(strings.NewReader("\uFEFF\r\n\r\n"))
	if err != nil || len(words) != 0 {
		t.Fatalf("got %v, %v; want no words and no error", words, err)
	}
}

func TestSRTEncodings(t *testing.T) {
	// Windows-1252: "Caf\xe9 \x93ol\xe9\x94" is `Café “olé”`.
	win := "1\n00:00:00,000 --> 00:00:01,000\nCaf\xe9 \x93ol\xe9\x94\n"
	checkText(t, parseSRTString(t, win), "Café “olé”")

	// UTF-16 little-endian with BOM, as Windows tools write it.
	src := "1\r\n00:00:00,000 --> 00:00:01,000\r\nNaïve 日本\r\n"
	b := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(src)) {
		b = append(b, byte(u), byte(u>>8))
	}
	checkText(t, parseSRTString(t, string(b)), "Naïve 日本")
}
