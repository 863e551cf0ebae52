package transcript

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadTestdata(t *testing.T) {
	for _, tc := range []struct {
		path, lang, text string
	}{
		{"testdata/talk.srt", "", "Welcome back to the show. Today we talk about editing video. It's easier than you think!"},
		{"testdata/youtube.vtt", "en", "so today we're going to cut some clips"},
		{"testdata/whisper.json", "en", "Hello world. How are you?"},
		{"testdata/amazon.json", "en", "Hello, world."},
	} {
		t.Run(tc.path, func(t *testing.T) {
			tr, err := Load(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Language != tc.lang {
				t.Errorf("language = %q, want %q", tr.Language, tc.lang)
			}
			checkText(t, tr.Words, tc.text)
		})
	}
}

func TestLoadSniffs(t *testing.T) {
	for _, tc := range []struct{ name, content, text string }{
		{"a.SRT", "1\n00:00:00,000 --> 00:00:01,000\nupper case\n", "upper case"},
		{"a.Vtt", "WEBVTT\n\n00:00.000 --> 00:01.000\nmixed case\n", "mixed case"},
		{"a.txt", "1\n00:00:00,000 --> 00:00:01,000\nsrt text\n", "srt text"},
		{"a.sub", "\uFEFFWEBVTT\n\n00:00.000 --> 00:01.000\nvtt text\n", "vtt text"},
		{"a", ` {"words":[{"text":"json","start":0,"end":1}]}`, "json"},
		{"a.transcript", `[{"word":"array","start":0,"end":1}]`, "array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Load(writeFile(t, tc.name, tc.content))
			if err != nil {
				t.Fatal(err)
			}
			checkText(t, tr.Words, tc.text)
		})
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		parts         []string
		noWords       bool
	}{
		{"talk.srt", "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:xx,000 --> 00:00:03,000\nbad\n", []string{"talk.srt:6: bad timestamp \"00:00:xx,000\""}, false},
		{"empty.srt", "", []string{"empty.srt: has no words"}, true},
		{"blank.json", " \n\t\n", []string{"blank.json: has no words"}, true},
		{"header.vtt", "WEBVTT\n\nNOTE nothing here\n", []string{"header.vtt: has no words"}, true},
		{"music.srt", "1\n00:00:01,000 --> 00:00:02,000\n♪ [Music] ♪\n", []string{"music.srt: has no words"}, true},
		{"silent.json", `{"text":"","segments":[],"words":[]}`, []string{"silent.json: has no words"}, true},
		{"broken.json", "{\n  \"words\": [\n    {\"word\": \"a\", \"start\": 0, \"end\": 1},\n    oops\n  ]\n}", []string{"broken.json:4: bad JSON"}, false},
		{"neg.json", `{"words":[{"word":"a","start":-1,"end":1}]}`, []string{"neg.json: words[0]: negative time"}, false},
		{"notes.txt", "just some notes", []string{"notes.txt: unknown transcript format"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.name, tc.content)
			_, err := Load(path)
			errContains(t, err, tc.parts...)
			if !strings.HasPrefix(err.Error(), path) {
				t.Errorf("error %q does not start with the path %q", err, path)
			}
			if got := errors.Is(err, ErrNoWords); got != tc.noWords {
				t.Errorf("errors.Is(err, ErrNoWords) = %v, want %v", got, tc.noWords)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.srt"))
	errContains(t, err, "nope.srt")
}

func TestLanguageCode(t *testing.T) {
	for in, want := range map[string]string{
		"english": "en", "English": "en", " en ": "en", "en-US": "en", "pt_BR": "pt",
		"japanese": "ja", "castilian": "es", "klingon": "", "": "", "eng": "", "12": "",
	} {
		if got := LanguageCode(in); got != want {
			t.Errorf("LanguageCode(%q) = %q, want %q", in, got, want)
		}
	}
}
