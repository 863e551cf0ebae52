// Package speech turns audio into word-timed transcripts: Debian's
// pocketsphinx (English, offline, the embedded default) and any
// OpenAI-compatible transcription endpoint, each run over pieces of the
// audio in parallel.
package speech

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/transcript"
)

// Sphinx runs pocketsphinx_continuous on one WAV file.
type Sphinx struct {
	Program string // default "pocketsphinx_continuous"
	// Model, when set, is passed as -hmm, -lm and -dict; empty uses the
	// package's built-in English model.
	HMM, LM, Dict string
	// Stall stops a run that has printed nothing for this long; 0:
	// DefaultStall.
	Stall time.Duration
}

// DefaultStall is how long pocketsphinx may print nothing before it is
// stopped. It logs every few seconds of audio while decoding; its longest
// silences are loading the model (about a second of CPU) and the passes at
// the end of each utterance (up to a tenth of the utterance's length). For
// a minute-long piece that is at most 6 s, 30 s on a machine five times
// oversubscribed; 120 s leaves room for that and more, while a run that is
// truly stuck is still stopped within two minutes.
const DefaultStall = 120 * time.Second

// sphinxCap bounds a whole run, however much it prints, so that nothing
// runs forever. A healthy run takes about 0.25x the audio's length on one
// core; this is 40 times that and 10 minutes more, so that it is met only
// by a run gone wrong, never by a slow machine.
func sphinxCap(audioSeconds float64) time.Duration {
	return 10*time.Minute + 10*time.Duration(audioSeconds*float64(time.Second))
}

// UnsupportedLanguageError says that a recogniser cannot handle a language.
type UnsupportedLanguageError struct{ Language, Recognizer string }

func (e *UnsupportedLanguageError) Error() string {
	return fmt.Sprintf("the %s recogniser %s, not %q: give a transcript file or use an OpenAI-compatible endpoint", e.Recognizer, e.Handles(), e.Language)
}

// Handles says which languages the recogniser knows.
func (e *UnsupportedLanguageError) Handles() string {
	if e.Recognizer == "pocketsphinx" {
		return "handles English only"
	}
	return "does not handle this language"
}

// TranscribeFile recognises one WAV file; times are relative to the file.
func (s Sphinx) TranscribeFile(ctx context.Context, path, language string) (transcript.Transcript, error) {
	if language != "" && language != "en" {
		return transcript.Transcript{}, &UnsupportedLanguageError{Language: language, Recognizer: "pocketsphinx"}
	}
	prog := s.Program
	if prog == "" {
		prog = "pocketsphinx_continuous"
	}
	// Its log goes to stderr: it is the sign of progress while an utterance
	// is decoded, and its tail says why a run failed.
	args := []string{"-infile", path, "-time", "yes"}
	if s.HMM != "" {
		args = append(args, "-hmm", s.HMM)
	}
	if s.LM != "" {
		args = append(args, "-lm", s.LM)
	}
	if s.Dict != "" {
		args = append(args, "-dict", s.Dict)
	}
	stall := s.Stall
	if stall <= 0 {
		stall = DefaultStall
	}
	var out bytes.Buffer
	o := ffmpeg.Opts{Timeout: sphinxCap(wavSeconds(path)), Stall: stall, Stdout: &out}
	if err := ffmpeg.CommandOpts(ctx, o, prog, args...); err != nil {
		return transcript.Transcript{}, fmt.Errorf("pocketsphinx: %w", err)
	}
	words, err := ParseSphinx(&out)
	if err != nil {
		return transcript.Transcript{}, err
	}
	return transcript.Transcript{Language: "en", Words: words}, nil
}

// wavSeconds estimates a 16 kHz mono 16-bit WAV file's length from its size.
func wavSeconds(path string) float64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(st.Size()) / 32000
}

// ParseSphinx reads the output of `pocketsphinx_continuous -time yes`:
// hypothesis lines, and one "word start end confidence" line per segment.
// Silence, sentence markers and noise are dropped; "word(2)" (an alternate
// pronunciation) becomes "word".
func ParseSphinx(r io.Reader) ([]transcript.Word, error) {
	var words []transcript.Word
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 {
			continue
		}
		start, err1 := strconv.ParseFloat(f[1], 64)
		end, err2 := strconv.ParseFloat(f[2], 64)
		conf, err3 := strconv.ParseFloat(f[3], 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue // a four-word hypothesis line
		}
		w := f[0]
		if i := strings.IndexByte(w, '('); i > 0 && strings.HasSuffix(w, ")") {
			w = w[:i]
		}
		if isSphinxFiller(w) || end < start {
			continue
		}
		words = append(words, transcript.Word{Text: w, Start: start, End: end, Confidence: clamp01(conf)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read pocketsphinx output: %w", err)
	}
	return words, nil
}

func isSphinxFiller(w string) bool {
	switch {
	case w == "<s>", w == "</s>", w == "<sil>", w == "(NULL)":
		return true
	case strings.HasPrefix(w, "[") && strings.HasSuffix(w, "]"): // [NOISE], [SPEECH]
		return true
	case strings.HasPrefix(w, "++") && strings.HasSuffix(w, "++"):
		return true
	}
	return false
}

func clamp01(v float64) float64 {
	return min(1, max(0, v))
}
