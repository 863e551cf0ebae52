// Package transcript holds the word-timed transcript that every later stage
// reads, and the parsers for transcript files a user already has.
package transcript

// Word is one spoken word with its times in seconds from the start of the
// source. Text keeps the punctuation the provider gave ("world."), which the
// selection stage uses to find sentence ends.
type Word struct {
	Text       string  `json:"text"`
	Start      float64 `json:"start"`
	End        float64 `json:"end"`
	Confidence float64 `json:"confidence,omitempty"` // 0..1; 0 when unknown
}

// Transcript is the output of the transcript stage.
type Transcript struct {
	// Language is the ISO-639-1 code the provider detected or was given;
	// empty when unknown.
	Language string `json:"language,omitempty"`
	Words    []Word `json:"words"`
}

// Text joins the words with single spaces.
func Text(words []Word) string {
	n := 0
	for _, w := range words {
		n += len(w.Text) + 1
	}
	b := make([]byte, 0, n)
	for i, w := range words {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, w.Text...)
	}
	return string(b)
}
