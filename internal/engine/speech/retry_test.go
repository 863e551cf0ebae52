package speech

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/transcript"
)

// The test binary plays pocketsphinx_continuous: run with SPHINX_TEST_CHILD
// set, it behaves as that mode says instead of running the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("SPHINX_TEST_CHILD"); mode != "" {
		os.Exit(fakeSphinx(mode))
	}
	os.Exit(m.Run())
}

func fakeSphinx(mode string) int {
	if mode == "stall-once" {
		// The first run leaves a mark and hangs; the next one works.
		mark := os.Getenv("SPHINX_TEST_MARK")
		mode = "slow"
		if _, err := os.Stat(mark); err != nil {
			os.WriteFile(mark, nil, 0o644)
			mode = "stall"
		}
	}
	switch mode {
	case "stall": // loads its model, then hangs
		fmt.Fprintln(os.Stderr, "INFO: loading model")
		time.Sleep(time.Hour)
	case "slow": // one word every 50 ms for 2.5 s
		for i := range 50 {
			fmt.Printf("w%d %.2f %.2f 0.9\n", i, 0.1*float64(i), 0.1*float64(i)+0.05)
			time.Sleep(50 * time.Millisecond)
		}
	}
	return 0
}

// testStall stands in for DefaultStall, so that a test takes a second; it
// is long enough that a loaded machine does not make a steady fake look
// stalled.
const testStall = time.Second

// testSphinx is a Sphinx whose program is the test binary in mode.
func testSphinx(t *testing.T, mode string) Sphinx {
	t.Setenv("SPHINX_TEST_CHILD", mode)
	// Under -race a child sleeps a silent second at exit.
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	t.Setenv("SPHINX_TEST_MARK", filepath.Join(t.TempDir(), "mark"))
	return Sphinx{Program: os.Args[0], Stall: testStall}
}

func TestSphinxStopsARunWithoutProgress(t *testing.T) {
	start := time.Now()
	_, err := testSphinx(t, "stall").TranscribeFile(context.Background(), filepath.Join(t.TempDir(), "p.wav"), "en")
	var fe *ffmpeg.Error
	if !errors.As(err, &fe) || fe.Stalled != testStall {
		t.Fatalf("err = %v, want a stall after %v", err, testStall)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("stopped after %v", took)
	}
}

// A run that keeps printing is never stopped for being slow: here it runs
// 2.5 times the no-progress limit.
func TestSphinxSparesASlowRunThatKeepsPrinting(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes that must stall for seconds: the full run has it")
	}
	start := time.Now()
	got, err := testSphinx(t, "slow").TranscribeFile(context.Background(), filepath.Join(t.TempDir(), "p.wav"), "en")
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); len(got.Words) != 50 || took < 2*testStall {
		t.Fatalf("%d words in %v, want 50 in at least %v", len(got.Words), took, 2*testStall)
	}
}

// A piece that stalls is run again, and the job goes on.
func TestParallelRetriesAStalledPiece(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes that must stall for seconds: the full run has it")
	}
	p := Parallel{Recognizer: testSphinx(t, "stall-once"), Workers: 1, Dir: t.TempDir()}
	got, err := p.Transcribe(context.Background(), track(t, 3, 1, 0.5), "en", nil)
	if err != nil || len(got.Words) != 50 {
		t.Fatalf("%d words, err %v; want 50 from the second run", len(got.Words), err)
	}
}

// A piece that stalls twice fails the job with a message that names the
// stage and the span.
func TestParallelGivesUpOnAPieceThatStallsTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes that must stall for seconds: the full run has it")
	}
	p := Parallel{Recognizer: testSphinx(t, "stall"), Workers: 1, Dir: t.TempDir()}
	_, err := p.Transcribe(context.Background(), track(t, 43, 4.5, 0.5), "en", nil)
	var pe *PieceError
	if !errors.As(err, &pe) || pe.Attempts != 2 {
		t.Fatalf("err = %v, want a PieceError after 2 attempts", err)
	}
	want := "Speech recognition of 0:00-0:43 stopped after 1 s without progress (tried 2 times)."
	if pe.Message() != want {
		t.Errorf("message %q, want %q", pe.Message(), want)
	}
}

// flaky fails the first fails attempts at each piece with err, then says
// one word.
type flaky struct {
	fails int
	err   error
	mu    sync.Mutex
	calls map[string]int
}

func (f *flaky) TranscribeFile(ctx context.Context, path, lang string) (transcript.Transcript, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[path]++
	n := f.calls[path]
	f.mu.Unlock()
	if n <= f.fails {
		return transcript.Transcript{}, f.err
	}
	return transcript.Transcript{Language: "en", Words: []transcript.Word{{Text: "hi", Start: 0.5, End: 0.9}}}, nil
}

func TestParallelRetriesAFailedPieceOnce(t *testing.T) {
	rec := &flaky{fails: 1, err: fmt.Errorf("pocketsphinx: %w", &ffmpeg.Error{Program: "pocketsphinx_continuous", Err: errors.New("signal: killed")})}
	p := Parallel{Recognizer: rec, Workers: 2, Target: 30, Max: 60, Dir: t.TempDir()}
	got, err := p.Transcribe(context.Background(), track(t, 130, 4.5, 0.5), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Words) != len(rec.calls) || len(rec.calls) < 3 {
		t.Fatalf("%d words from %d pieces", len(got.Words), len(rec.calls))
	}
	for path, n := range rec.calls {
		if n != 2 {
			t.Errorf("%s tried %d times, want 2", filepath.Base(path), n)
		}
	}
}

func TestParallelFailsAPieceThatFailsTwice(t *testing.T) {
	rec := &flaky{fails: 2, err: errors.New("pocketsphinx: exit status 1: ERROR: /tmp/x/piece-000.wav")}
	p := Parallel{Recognizer: rec, Workers: 1, Dir: t.TempDir()}
	_, err := p.Transcribe(context.Background(), track(t, 43, 4.5, 0.5), "", nil)
	var pe *PieceError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("err = %v, want a PieceError wrapping the recogniser's", err)
	}
	if want := "Speech recognition of 0:00-0:43 failed (tried 2 times)."; pe.Message() != want {
		t.Errorf("message %q, want %q", pe.Message(), want)
	}
	for _, n := range rec.calls {
		if n != 2 {
			t.Errorf("tried %d times, want 2", n)
		}
	}
}

// What another attempt cannot change is not tried again.
func TestParallelDoesNotRetryWhatWouldFailAgain(t *testing.T) {
	for _, err := range []error{
		&UnsupportedLanguageError{Language: "de", Recognizer: "pocketsphinx"},
		final{errors.New("401 Unauthorized")},
	} {
		rec := &flaky{fails: 2, err: err}
		p := Parallel{Recognizer: rec, Workers: 1, Dir: t.TempDir()}
		_, got := p.Transcribe(context.Background(), track(t, 20, 4.5, 0.5), "", nil)
		if !errors.Is(got, err) {
			t.Errorf("err = %v, want %v", got, err)
		}
		for _, n := range rec.calls {
			if n != 1 {
				t.Errorf("%v: tried %d times, want once", err, n)
			}
		}
	}
}

func TestPieceErrorMessage(t *testing.T) {
	for _, c := range []struct {
		e    PieceError
		want string
	}{
		{PieceError{Start: 59.6, End: 121, Attempts: 2, Err: &ffmpeg.Error{Stalled: 2 * time.Minute}},
			"Speech recognition of 1:00-2:01 stopped after 120 s without progress (tried 2 times)."},
		{PieceError{Start: 3600, End: 3725, Attempts: 2, Err: fmt.Errorf("pocketsphinx: %w", &ffmpeg.Error{TimedOut: true})},
			"Speech recognition of 1:00:00-1:02:05 did not finish in time (tried 2 times)."},
		{PieceError{Start: 0, End: 43, Attempts: 1, Err: errors.New("open /secret/piece-000.wav: no such file")},
			"Speech recognition of 0:00-0:43 failed."},
	} {
		if got := c.e.Message(); got != c.want {
			t.Errorf("Message() = %q, want %q", got, c.want)
		}
	}
}
