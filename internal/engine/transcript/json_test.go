package transcript

import (
	"strings"
	"testing"
)

func parseJSONString(t *testing.T, s string) Transcript {
	t.Helper()
	tr, err := ParseJSON(strings.NewReader(s))
	if err != nil {
		t.Fatalf("ParseJSON: %v", err)
	}
	return tr
}

func TestJSONWhisperWords(t *testing.T) {
	tr := parseJSONString(t, mustRead(t, "testdata/whisper.json"))
	if tr.Language != "en" {
		t.Errorf("language = %q, want en", tr.Language)
	}
	checkWords(t, tr.Words, []want{
		{"Hello", 0, 0.42},
		{"world.", 0.42, 0.98},
		{"How", 1.5, 1.7},
		{"are", 1.7, 1.86},
		{"you?", 1.86, 2.3},
	})
}

func TestJSONWhisperSegmentWords(t *testing.T) {
	src := `{"language":"de","text":" Guten Tag.","segments":[
		{"start":0.5,"end":1.5,"text":" Guten Tag.","words":[
			{"word":" Guten","start":0.5,"end":0.9,"probability":0.91},
			{"word":" Tag.","start":0.9,"end":1.5,"probability":0.8}]}]}`
	tr := parseJSONString(t, src)
	if tr.Language != "de" {
		t.Errorf("language = %q, want de", tr.Language)
	}
	checkWords(t, tr.Words, []want{{"Guten", 0.5, 0.9}, {"Tag.", 0.9, 1.5}})
	if tr.Words[0].Confidence != 0.91 {
		t.Errorf("confidence = %v, want 0.91", tr.Words[0].Confidence)
	}
}

func TestJSONWhisperSegmentsOnly(t *testing.T) {
	src := `{"language":"klingon","text":"x","words":[],"segments":[
		{"start":2,"end":3,"text":" Bye now."},
		{"start":0,"end":1.2,"text":" Hi  all ."}]}`
	tr := parseJSONString(t, src)
	if tr.Language != "" {
		t.Errorf("language = %q, want empty", tr.Language)
	}
	checkWords(t, tr.Words, []want{
		{"Hi", 0, 0.4},
		{"all.", 0.4, 1.2},
		{"Bye", 2, 2 + 3.0/7},
		{"now.", 2 + 3.0/7, 3},
	})
}

func TestJSONGeneric(t *testing.T) {
	tr := parseJSONString(t, `{"language":"fr-FR","words":[
		{"text":"monde.","start":0.6,"end":1.0,"confidence":0.5},
		{"text":"Bonjour","start":0.1,"end":0.6,"confidence":1.7}]}`)
	if tr.Language != "fr" {
		t.Errorf("language = %q, want fr", tr.Language)
	}
	checkWords(t, tr.Words, []want{{"Bonjour", 0.1, 0.6}, {"monde.", 0.6, 1.0}})
	if tr.Words[0].Confidence != 1 || tr.Words[1].Confidence != 0.5 {
		t.Errorf("confidences = %v, %v; want 1 (clamped), 0.5", tr.Words[0].Confidence, tr.Words[1].Confidence)
	}

	tr = parseJSONString(t, `[{"word":"a","start":0,"end":0.5},{"text":"b","start":"0.5","end":"1"}]`)
	checkWords(t, tr.Words, []want{{"a", 0, 0.5}, {"b", 0.5, 1}})
}

func TestJSONAmazon(t *testing.T) {
	tr := parseJSONString(t, mustRead(t, "testdata/amazon.json"))
	if tr.Language != "en" {
		t.Errorf("language = %q, want en", tr.Language)
	}
	checkWords(t, tr.Words, []want{{"Hello,", 0.04, 0.51}, {"world.", 0.51, 1.1}})
	if tr.Words[0].Confidence != 0.998 {
		t.Errorf("confidence = %v, want 0.998", tr.Words[0].Confidence)
	}

	// A punctuation item first has no word to join, and the language code
	// may sit at the top.
	tr = parseJSONString(t, `{"language_code":"es-US","results":{"items":[
		{"type":"punctuation","alternatives":[{"content":"¿"}]},
		{"type":"pronunciation","start_time":"1","end_time":"1.5","alternatives":[{"content":"Hola","confidence":"0.9"}]},
		{"type":"punctuation","alternatives":[{"content":"?"}]}]}}`)
	if tr.Language != "es" {
		t.Errorf("language = %q, want es", tr.Language)
	}
	checkWords(t, tr.Words, []want{{"Hola?", 1, 1.5}})
}

func TestJSONOverlapCut(t *testing.T) {
	tr := parseJSONString(t, `{"words":[{"word":"a","start":0,"end":1.2},{"word":"b","start":1,"end":2}]}`)
	checkWords(t, tr.Words, []want{{"a", 0, 1}, {"b", 1, 2}})
}

func TestJSONEmpty(t *testing.T) {
	tr := parseJSONString(t, `{"task":"transcribe","language":"english","duration":4.5,"text":"","words":[],"segments":[]}`)
	if len(tr.Words) != 0 || tr.Language != "en" {
		t.Errorf("got %+v, want no words, language en", tr)
	}
}

func TestJSONErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		parts     []string
	}{
		{"negative", `{"words":[{"word":"a","start":-0.1,"end":1}]}`, []string{"words[0]", "negative time"}},
		{"backwards", `{"words":[{"word":"a","start":0,"end":1},{"word":"b","start":2,"end":1.5}]}`, []string{"words[1]", "before it starts"}},
		{"nan", `{"words":[{"word":"a","start":"NaN","end":1}]}`, []string{"words[0]", "not a number"}},
		{"missing end", `[{"word":"a","start":1}]`, []string{"[0]", "no start or end"}},
		{"no text", `{"words":[{"start":0,"end":1}]}`, []string{"words[0]", `no "word" or "text"`}},
		{"segment", `{"segments":[{"start":3,"end":2,"text":"x"}]}`, []string{"segments[0]", "before it starts"}},
		{"amazon", `{"results":{"items":[{"type":"pronunciation","start_time":"x","end_time":"1","alternatives":[{"content":"a"}]}]}}`, []string{"bad JSON", "bad number"}},
		{"text only", `{"text":"hello"}`, []string{`no "words", "segments" or "results"`}},
		{"syntax", "{\"words\": [\n}", []string{"line 2", "bad JSON"}},
		{"type", "{\n\"words\": 5}", []string{"line 2", "bad JSON"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJSON(strings.NewReader(tc.src))
			errContains(t, err, tc.parts...)
		})
	}
}
