package speech

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/engine/audio"
	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/transcript"
)

// The output of `pocketsphinx_continuous -time yes` on two utterances.
const sphinxOut = `well he did but on the issue
<s> 0.000 0.320 0.998801
well 0.330 0.650 0.991436
<sil> 0.660 1.060 0.999000
he 1.070 1.140 0.032867
did(2) 1.150 1.290 0.007826
[NOISE] 1.300 1.400 0.5
++UM++ 1.400 1.500 0.5
money 1.510 1.790 1.216519
</s> 1.800 1.990 0.998601
one two three four
a 6.250 6.330 0.998401
</s> 10.110 10.410 1.000000
`

func TestParseSphinx(t *testing.T) {
	words, err := ParseSphinx(strings.NewReader(sphinxOut))
	if err != nil {
		t.Fatal(err)
	}
	want := []transcript.Word{
		{Text: "well", Start: 0.33, End: 0.65, Confidence: 0.991436},
		{Text: "he", Start: 1.07, End: 1.14, Confidence: 0.032867},
		{Text: "did", Start: 1.15, End: 1.29, Confidence: 0.007826},
		{Text: "money", Start: 1.51, End: 1.79, Confidence: 1},
		{Text: "a", Start: 6.25, End: 6.33, Confidence: 0.998401},
	}
	if len(words) != len(want) {
		t.Fatalf("got %d words %+v, want %d", len(words), words, len(want))
	}
	for i := range want {
		if words[i] != want[i] {
			t.Errorf("word %d = %+v, want %+v", i, words[i], want[i])
		}
	}
}

func TestSphinxRefusesOtherLanguages(t *testing.T) {
	_, err := Sphinx{}.TranscribeFile(context.Background(), "x.wav", "de")
	var ul *UnsupportedLanguageError
	if !errors.As(err, &ul) || ul.Language != "de" {
		t.Fatalf("err = %v, want UnsupportedLanguageError", err)
	}
}

// track writes a raw PCM track: tone bursts separated by silences, so Split
// has quiet places to cut.
func track(t *testing.T, seconds float64, burst, gap float64) *audio.Track {
	t.Helper()
	n := int(seconds * audio.Rate)
	b := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		ts := float64(i) / audio.Rate
		if math.Mod(ts, burst+gap) < burst {
			v := int16(8000 * math.Sin(2*math.Pi*300*ts))
			b[2*i], b[2*i+1] = byte(v), byte(v>>8)
		}
	}
	p := filepath.Join(t.TempDir(), "a.pcm")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := audio.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// fakeRecognizer says one word per piece, at 0.5 s into it, and records
// how many pieces ran at once.
type fakeRecognizer struct {
	running, peak atomic.Int32
	fail          bool
}

func (f *fakeRecognizer) TranscribeFile(ctx context.Context, path, lang string) (transcript.Transcript, error) {
	n := f.running.Add(1)
	defer f.running.Add(-1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			break
		}
	}
	if f.fail {
		return transcript.Transcript{}, errors.New("boom")
	}
	// Wait briefly for a second worker, so overlap is observed, not luck.
	for i := 0; i < 100 && f.peak.Load() < 2; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	st, err := os.Stat(path)
	if err != nil {
		return transcript.Transcript{}, err
	}
	secs := float64(st.Size()-44) / 32000
	return transcript.Transcript{Language: "en", Words: []transcript.Word{
		{Text: fmt.Sprintf("%.5f", secs), Start: 0.5, End: 0.9},
	}}, nil
}

func TestParallelPutsWordsOnTheTrackClock(t *testing.T) {
	tr := track(t, 130, 4.5, 0.5)
	rec := &fakeRecognizer{}
	p := Parallel{Recognizer: rec, Workers: 2, Target: 30, Max: 60, Dir: t.TempDir()}
	var last float64
	got, err := p.Transcribe(context.Background(), tr, "", func(f float64) { last = f })
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Words) < 3 {
		t.Fatalf("got %d pieces, want at least 3 for 130 s in 30 s pieces", len(got.Words))
	}
	if rec.peak.Load() != 2 {
		t.Errorf("peak parallel pieces = %d, want 2", rec.peak.Load())
	}
	if math.Abs(last-1) > 1e-9 {
		t.Errorf("final progress = %v, want 1", last)
	}
	// Each word sits 0.5 s into its piece; the pieces tile the track in order.
	start := 0.0
	for i, w := range got.Words {
		var secs float64
		fmt.Sscan(w.Text, &secs)
		if math.Abs(w.Start-(start+0.5)) > 0.01 {
			t.Errorf("word %d starts at %.2f, want %.2f", i, w.Start, start+0.5)
		}
		if secs > 60.01 {
			t.Errorf("piece %d is %.1f s, over the 60 s maximum", i, secs)
		}
		start += secs
	}
	if math.Abs(start-130) > 0.01 {
		t.Errorf("pieces add up to %.2f s, want 130", start)
	}
}

func TestParallelCutsInSilence(t *testing.T) {
	tr := track(t, 200, 4.5, 0.5)
	for _, s := range tr.Split(30, 60)[1:] {
		// Bursts are at [5k, 5k+4.5): a cut must land in a gap.
		if m := math.Mod(s.Start, 5); m < 4.5 {
			t.Errorf("cut at %.2f s falls inside a tone burst", s.Start)
		}
	}
}

func TestParallelFailureStopsAndReports(t *testing.T) {
	tr := track(t, 130, 4.5, 0.5)
	p := Parallel{Recognizer: &fakeRecognizer{fail: true}, Workers: 2, Target: 30, Max: 60, Dir: t.TempDir()}
	if _, err := p.Transcribe(context.Background(), tr, "", nil); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v, want the piece's error", err)
	}
}

// TestSphinxOnSpeech runs the real recogniser on espeak-ng speech. The
// synthetic voice is recognised badly, so this checks the plumbing: words
// come out, in order, with times inside the audio.
func TestSphinxOnSpeech(t *testing.T) {
	if testing.Short() {
		t.Skip("pocketsphinx on synthetic speech: the full run has it")
	}
	for _, prog := range []string{"pocketsphinx_continuous", "espeak-ng", "ffmpeg"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Skipf("%s not installed", prog)
		}
	}
	dir := t.TempDir()
	wav := filepath.Join(dir, "s.wav")
	if err := exec.Command("espeak-ng", "-w", filepath.Join(dir, "e.wav"),
		"Hello world. This is a test of the speech recognition system. What would you do with a million dollars?").Run(); err != nil {
		t.Fatal(err)
	}
	if err := (ffmpeg.Binaries{}).Run(context.Background(), 0, "-v", "error", "-i", filepath.Join(dir, "e.wav"), "-ar", "16000", "-ac", "1", wav); err != nil {
		t.Fatal(err)
	}
	got, err := Sphinx{}.TranscribeFile(context.Background(), wav, "en")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Words) < 5 || got.Language != "en" {
		t.Fatalf("got %d words (%q), want at least 5 in English", len(got.Words), transcript.Text(got.Words))
	}
	prev := 0.0
	for _, w := range got.Words {
		if w.Start < prev || w.End < w.Start || w.End > 8 || strings.ContainsAny(w.Text, "<>()[]") {
			t.Errorf("bad word %+v", w)
		}
		prev = w.Start
	}
}

// When one piece fails, the error returned is that piece's, not the
// "context canceled" of the pieces it stopped: a caller must not mistake a
// failure for a cancellation.
func TestParallelReturnsTheFailureNotTheCancellation(t *testing.T) {
	tr := track(t, 200, 4.5, 0.5)
	rec := &slowFail{}
	p := Parallel{Recognizer: rec, Workers: 2, Target: 30, Max: 60, Dir: t.TempDir()}
	_, err := p.Transcribe(context.Background(), tr, "", nil)
	if err == nil || errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "piece broke") {
		t.Fatalf("err = %v", err)
	}
}

// slowFail fails its second piece, each time it is tried; the others wait
// until cancelled.
type slowFail struct {
	n      atomic.Int32
	broken atomic.Value // the second piece's path
}

func (s *slowFail) TranscribeFile(ctx context.Context, path, lang string) (transcript.Transcript, error) {
	if s.n.Add(1) == 2 {
		s.broken.Store(path)
	}
	if s.broken.Load() == path {
		time.Sleep(50 * time.Millisecond)
		return transcript.Transcript{}, errors.New("piece broke")
	}
	<-ctx.Done()
	return transcript.Transcript{}, ctx.Err()
}
