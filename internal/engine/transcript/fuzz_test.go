package transcript

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// The parsers read files users bring, so they are fuzzed: whatever the
// bytes, no panic, and either an error or words that every later stage
// can use (see checkWordsSane).

// seedFile adds a testdata file to the corpus.
func seedFile(f *testing.F, name string) {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
}

// checkWordsSane checks what the parsers promise of any words they
// return: checkOrder's times, order and text, finite times and a
// confidence in [0, 1].
func checkWordsSane(t *testing.T, words []Word) {
	t.Helper()
	checkOrder(t, words)
	for i, w := range words {
		if math.IsInf(w.Start, 0) || math.IsInf(w.End, 0) {
			t.Errorf("word %d %q has infinite times %v-%v", i, w.Text, w.Start, w.End)
		}
		if !(w.Confidence >= 0 && w.Confidence <= 1) {
			t.Errorf("word %d %q has confidence %v", i, w.Text, w.Confidence)
		}
	}
}

// checkLanguage: a language is an ISO-639-1 code or nothing.
func checkLanguage(t *testing.T, lang string) {
	t.Helper()
	if lang != "" && (len(lang) != 2 || lang[0] < 'a' || lang[0] > 'z' || lang[1] < 'a' || lang[1] > 'z') {
		t.Errorf("language %q is not a two-letter code", lang)
	}
}

func FuzzParseSRT(f *testing.F) {
	seedFile(f, "talk.srt")
	for _, s := range []string{
		"1\n00:00:00,000 --> 00:00:03,000\nHi there, friend.\n",
		"\uFEFF1\r\n0:00:01.000 --> 0:00:02.000\r\n<i>Hello</i> {\\an8}<b>world.</b>\r\n\r\n" +
			"00:00:02,500 --> 00:00:04,000 X1:10 X2:20\r\n- Who's there?\r\n-Me &amp; you.\r\n",
		"1\n00:00:01,000 --> 00:00:05,000\nlong cue\n\n2\n00:00:02,000 --> 00:00:03,000\ninside it\n",
		"1\n00:00:01,000 --> 00:00:02,000\n[Music]\n\n2\n00:00:01,000 --> 00:00:02,000\n♪ -- ♪\n",
		"1\n00:00:02,000 --> 00:00:01,000\nbackwards\n",
		"1\n00:00:01 --> 99:99:99,999999999\nodd but digits\n",
		"1\n00:00:01,000 --> \nno end\n",
		"just some text\nwith no timings\n",
		"-->",
		"1\n\n\n2\n",
		"\xff\xfe1\x00\n\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		words, err := ParseSRT(bytes.NewReader(b))
		if err != nil {
			return
		}
		checkWordsSane(t, words)
		// Text without a single timing line is not SubRip: an error,
		// not an empty transcript.
		if text := decodeText(b); strings.TrimSpace(text) != "" && !strings.Contains(text, "-->") {
			t.Errorf("%q has no timing line, yet parsed to %d words", b, len(words))
		}
	})
}

func FuzzParseVTT(f *testing.F) {
	seedFile(f, "youtube.vtt")
	for _, s := range []string{
		"WEBVTT\n\n00:00.000 --> 00:02.000\nHello <b>world</b>.\n",
		"WEBVTT - a title\nLanguage: pt_BR\n\nNOTE a note\nover two lines\n\nSTYLE\n::cue { color: red }\n\n" +
			"intro\n00:00:01.000 --> 00:00:03.000 line:0 position:20%\n<v Ann>Hi <00:00:02.000>there</v>\n",
		"WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nrolls <00:00:09.000>past <00:00:00.500>the cue\n",
		"WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nbad <00:00:xx.000>stamp\n",
		"WEBVTT\n\n00:00:03.000 --> 00:00:01.000\nbackwards\n",
		"WEBVTT\n\nREGION\nid:fred\n\n00:01.000 --> 00:02.000\n&lt;3 a < b\n",
		"WEBVTTX\n\n00:00.000 --> 00:01.000\nnot a header\n",
		"1\n00:00:00,000 --> 00:00:03,000\nSubRip, not WebVTT\n",
		"WEBVTT",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		words, lang, err := parseVTT(decodeText(b))
		if err != nil {
			return
		}
		checkWordsSane(t, words)
		checkLanguage(t, lang)
		// Without the header it is not WebVTT.
		if !strings.HasPrefix(decodeText(b), "WEBVTT") {
			t.Errorf("%q has no WEBVTT header, yet parsed", b)
		}
		// ParseVTT is parseVTT on the decoded bytes.
		if w2, err := ParseVTT(bytes.NewReader(b)); err != nil || len(w2) != len(words) {
			t.Errorf("ParseVTT gave %d words, %v; parseVTT %d", len(w2), err, len(words))
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	seedFile(f, "whisper.json")
	seedFile(f, "amazon.json")
	for _, s := range []string{
		`[{"text": "Hello", "start": 0, "end": 0.5}, {"word": " world.", "start": "0.5", "end": "1", "confidence": 2}]`,
		`{"language": "English", "segments": [{"start": 0, "end": 2, "text": " Hello there."}, {"start": 2, "end": 3, "words": [{"word": "Hi", "start": 2, "end": 2.5, "probability": 0.9}]}]}`,
		`{"results": {"language_code": "de-DE", "items": [{"type": "punctuation", "alternatives": [{"content": "."}]}, {"type": "pronunciation", "start_time": "1", "end_time": "0.5", "alternatives": [{"content": "x"}]}]}}`,
		`{"words": [{"text": "a", "start": -1, "end": 1}]}`,
		`{"words": [{"text": "a", "start": 1e400, "end": 1e400}]}`,
		`{"words": [{"text": "a", "start": "NaN", "end": "Inf"}]}`,
		`{"words": [{"text": "late", "start": 5, "end": 6}, {"text": "early", "start": 1, "end": 9}]}`,
		`{"words": [{"start": 1, "end": 2}]}`,
		`{"words": []}`,
		`{"transcript": "no words"}`,
		`[1, 2, 3]`,
		`{"words": [`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ParseJSON(bytes.NewReader(b))
		if err != nil {
			return
		}
		checkWordsSane(t, tr.Words)
		checkLanguage(t, tr.Language)
		// Garbage is an error, never an empty transcript.
		if text := decodeText(b); !json.Valid([]byte(text)) {
			t.Errorf("%q is not JSON, yet parsed to %d words", b, len(tr.Words))
		}
	})
}

// TestLongLinesTakeLinearTime parses a megabyte of what once took minutes,
// as the fuzzer's small inputs cannot show: brackets, tag and override
// openers without their close, punctuation joined to one word, and one
// cue of many lines.
func TestLongLinesTakeLinearTime(t *testing.T) {
	if testing.Short() {
		t.Skip("parses megabytes")
	}
	const n = 1 << 20
	for name, text := range map[string]string{
		"brackets":     strings.Repeat("[]", n/2),
		"tag openers":  strings.Repeat("<", n) + ">",
		"stamp-like":   strings.Repeat("<1", n/2) + ">",
		"ASS openers":  strings.Repeat(`{\`, n/2),
		"punctuation":  "Wait" + strings.Repeat(" .", n/2),
		"many lines":   strings.Repeat("a\n", n/2),
		"plain speech": strings.Repeat("word ", n/5),
	} {
		for format, src := range map[string]string{
			"srt": "1\n00:00:00,000 --> 00:00:03,000\n" + text + "\n",
			"vtt": "WEBVTT\n\n00:00.000 --> 00:03.000\n" + text + "\n",
		} {
			start := time.Now()
			tr, err := parseBytes([]byte(src), format)
			if err != nil {
				t.Fatalf("%s %s: %v", format, name, err)
			}
			// Linear is well under a second; quadratic was minutes.
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("%s %s: %v for %d bytes", format, name, d, len(src))
			}
			checkWordsSane(t, tr.Words)
		}
	}
}
