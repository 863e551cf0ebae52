package transcript

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// ParseJSON reads a JSON transcript in one of these shapes, told apart by
// their keys:
//
//   - OpenAI/whisper verbose_json: {"language", "words": [{"word", "start",
//     "end"}], "segments": [{"start", "end", "text", "words"?}]}. Top-level
//     words are used when there are any; otherwise each segment's words,
//     or its text spread across it.
//   - Generic: {"language"?, "words": [{"text" or "word", "start", "end",
//     "confidence"?}]}, or a bare array of such words.
//   - Amazon Transcribe: {"results": {"language_code"?, "items": [...]}};
//     punctuation items join the word before.
//
// A document with no words gives an empty transcript without error (a
// silent stretch of audio transcribes to nothing); Load treats that as an
// error.
func ParseJSON(r io.Reader) (Transcript, error) {
	text, err := readText(r)
	if err != nil {
		return Transcript{}, err
	}
	return parseJSON(text)
}

// jsonNumber accepts a number or a string holding one: Amazon writes times
// as strings.
type jsonNumber struct {
	v   float64
	set bool
}

func (n *jsonNumber) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("bad number %s", b)
	}
	n.v, n.set = v, true
	return nil
}

type jsonWord struct {
	Word        *string    `json:"word"`
	Text        *string    `json:"text"`
	Start       jsonNumber `json:"start"`
	End         jsonNumber `json:"end"`
	Confidence  jsonNumber `json:"confidence"`
	Probability jsonNumber `json:"probability"` // faster-whisper
	Score       jsonNumber `json:"score"`       // whisperX
}

type jsonSegment struct {
	Start jsonNumber `json:"start"`
	End   jsonNumber `json:"end"`
	Text  string     `json:"text"`
	Words []jsonWord `json:"words"`
}

type jsonDoc struct {
	Language     string         `json:"language"`
	LanguageCode string         `json:"language_code"`
	Words        []jsonWord     `json:"words"`
	Segments     []jsonSegment  `json:"segments"`
	Results      *amazonResults `json:"results"`
}

type amazonResults struct {
	LanguageCode string       `json:"language_code"`
	Items        []amazonItem `json:"items"`
}

type amazonItem struct {
	Type         string     `json:"type"`
	StartTime    jsonNumber `json:"start_time"`
	EndTime      jsonNumber `json:"end_time"`
	Alternatives []struct {
		Content    string     `json:"content"`
		Confidence jsonNumber `json:"confidence"`
	} `json:"alternatives"`
}

func parseJSON(text string) (Transcript, error) {
	if strings.HasPrefix(strings.TrimSpace(text), "[") {
		var ws []jsonWord
		if err := json.Unmarshal([]byte(text), &ws); err != nil {
			return Transcript{}, jsonError(text, err)
		}
		words, err := jsonWords(ws, "")
		return Transcript{Words: finish(words)}, err
	}
	var d jsonDoc
	if err := json.Unmarshal([]byte(text), &d); err != nil {
		return Transcript{}, jsonError(text, err)
	}
	switch {
	case d.Results != nil:
		lang := d.Results.LanguageCode
		if lang == "" {
			lang = d.LanguageCode
		}
		words, err := amazonWords(d.Results.Items)
		return Transcript{Language: LanguageCode(lang), Words: finish(words)}, err
	case d.Words != nil || d.Segments != nil:
		t := Transcript{Language: LanguageCode(d.Language)}
		if t.Language == "" {
			t.Language = LanguageCode(d.LanguageCode)
		}
		var err error
		if len(d.Words) > 0 {
			t.Words, err = jsonWords(d.Words, "words")
		} else {
			t.Words, err = segmentWords(d.Segments)
		}
		t.Words = finish(t.Words)
		return t, err
	}
	return Transcript{}, errors.New(`JSON transcript has no "words", "segments" or "results"`)
}

// jsonError puts the line of a JSON syntax or type error in front of it.
func jsonError(text string, err error) error {
	var offset int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		offset = se.Offset
	case errors.As(err, &te):
		offset = te.Offset
	}
	line := 0
	if offset >= 0 && offset <= int64(len(text)) {
		line = 1 + strings.Count(text[:offset], "\n")
	}
	return &ParseError{Line: line, Err: fmt.Errorf("bad JSON: %w", err)}
}

func jsonWords(ws []jsonWord, where string) ([]Word, error) {
	out := make([]Word, 0, len(ws))
	for i, jw := range ws {
		text := jw.Text
		if jw.Word != nil {
			text = jw.Word
		}
		if text == nil {
			return nil, fmt.Errorf(`%s[%d]: no "word" or "text"`, where, i)
		}
		conf := jw.Confidence
		if !conf.set {
			conf = jw.Probability
		}
		if !conf.set {
			conf = jw.Score
		}
		w, err := checkedWord(fmt.Sprintf("%s[%d]", where, i), *text, jw.Start, jw.End, conf.v)
		if err != nil {
			return nil, err
		}
		if w.Text != "" {
			out = append(out, w)
		}
	}
	return out, nil
}

func segmentWords(segs []jsonSegment) ([]Word, error) {
	var out []Word
	for i, s := range segs {
		if len(s.Words) > 0 {
			ws, err := jsonWords(s.Words, fmt.Sprintf("segments[%d].words", i))
			if err != nil {
				return nil, err
			}
			out = append(out, ws...)
			continue
		}
		w, err := checkedWord(fmt.Sprintf("segments[%d]", i), s.Text, s.Start, s.End, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, spread(tokens(w.Text), w.Start, w.End)...)
	}
	return out, nil
}

func amazonWords(items []amazonItem) ([]Word, error) {
	var out []Word
	for i, it := range items {
		if len(it.Alternatives) == 0 {
			continue
		}
		alt := it.Alternatives[0]
		switch it.Type {
		case "punctuation":
			if len(out) > 0 {
				out[len(out)-1].Text += strings.TrimSpace(alt.Content)
			}
		case "pronunciation":
			w, err := checkedWord(fmt.Sprintf("results.items[%d]", i), alt.Content, it.StartTime, it.EndTime, alt.Confidence.v)
			if err != nil {
				return nil, err
			}
			if w.Text != "" {
				out = append(out, w)
			}
		}
	}
	return out, nil
}

// checkedWord builds a word, refusing times that would break later stages.
// Whisper puts a space before each word; it is trimmed.
func checkedWord(where, text string, start, end jsonNumber, conf float64) (Word, error) {
	if !start.set || !end.set {
		return Word{}, fmt.Errorf("%s: no start or end time", where)
	}
	s, e := start.v, end.v
	switch {
	case math.IsNaN(s) || math.IsNaN(e) || math.IsInf(s, 0) || math.IsInf(e, 0):
		return Word{}, fmt.Errorf("%s: time is not a number", where)
	case s < 0 || e < 0:
		return Word{}, fmt.Errorf("%s: negative time", where)
	case e < s:
		return Word{}, fmt.Errorf("%s: ends (%g) before it starts (%g)", where, e, s)
	}
	if math.IsNaN(conf) {
		conf = 0
	}
	return Word{Text: strings.TrimSpace(text), Start: s, End: e, Confidence: min(1, max(0, conf))}, nil
}
