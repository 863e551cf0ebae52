package transcript

import (
	"strings"
	"testing"
)

func parseVTTString(t *testing.T, s string) []Word {
	t.Helper()
	words, err := ParseVTT(strings.NewReader(s))
	if err != nil {
		t.Fatalf("ParseVTT: %v", err)
	}
	return words
}

func TestVTTBlocksAndMarkup(t *testing.T) {
	src := `WEBVTT - a talk

NOTE this is a comment
that spans lines --> and has an arrow

STYLE
::cue { color: yellow }

REGION
id:bottom width:40%

intro
00:01.000 --> 00:03.000 align:start position:10%
<v Roger Bingham>We are <b>in</b> New York</v>

00:00:03.000 --> 00:00:04.000 line:0
<c.yellow>Tom &amp; Jerry &lt;3 <3</c>
`
	words := parseVTTString(t, src)
	checkText(t, words, "We are in New York Tom & Jerry <3 <3")
	checkWords(t, words[:2], []want{{"We", 1, 1 + 2*2.0/14}, {"are", 1 + 2*2.0/14, 1 + 2*5.0/14}})
}

func TestVTTInlineTimestamps(t *testing.T) {
	src := "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nHello <00:00:01.500><c>big</c> <00:00:02.000><c>world</c>\n"
	checkWords(t, parseVTTString(t, src), []want{
		{"Hello", 1, 1.5},
		{"big", 1.5, 2},
		{"world", 2, 4},
	})
}

func TestVTTYouTubeRolling(t *testing.T) {
	words, lang, err := parseVTT(mustRead(t, "testdata/youtube.vtt"))
	if err != nil {
		t.Fatal(err)
	}
	if lang != "en" {
		t.Errorf("language = %q, want en", lang)
	}
	checkWords(t, words, []want{
		{"so", 0, 0.48},
		{"today", 0.48, 0.9},
		{"we're", 0.9, 1.2},
		{"going", 1.2, 1.5},
		{"to", 1.5, 2.31},
		{"cut", 2.32, 2.8},
		{"some", 2.8, 3.1},
		{"clips", 3.1, 5.11},
	})
}

func TestVTTRepeatsKeptWithoutTimestamps(t *testing.T) {
	// Without inline timestamps, a repeated line is real speech.
	src := "WEBVTT\n\n00:00.000 --> 00:01.000\nNo!\n\n00:01.000 --> 00:02.000\nNo!\n"
	checkText(t, parseVTTString(t, src), "No! No!")
}

func TestVTTErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		parts     []string
	}{
		{"no header", "00:00.000 --> 00:01.000\nhi\n", []string{"line 1", "WEBVTT"}},
		{"webvttx", "WEBVTTX\n\n00:00.000 --> 00:01.000\nhi\n", []string{"line 1", "WEBVTT"}},
		{"bad timing", "WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n\n00:0a.000 --> 00:02.000\nthere\n", []string{"line 6", `bad timestamp "00:0a.000"`}},
		{"bad tag", "WEBVTT\n\n00:00.000 --> 00:05.000\nhi <00:01.x00> there\n", []string{"line 4", "bad timestamp tag"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseVTT(strings.NewReader(tc.src))
			errContains(t, err, tc.parts...)
		})
	}
}

func TestVTTHeaderOnly(t *testing.T) {
	words, err := ParseVTT(strings.NewReader("WEBVTT\r\n\r\n"))
	if err != nil || len(words) != 0 {
		t.Fatalf("got %v, %v; want no words and no error", words, err)
	}
}
