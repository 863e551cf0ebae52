package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/engine/source"
	"github.com/clipmill/clipmill/internal/engine/speech"
	"github.com/clipmill/clipmill/internal/engine/transcript"
	"github.com/clipmill/clipmill/internal/sample"
	"github.com/clipmill/clipmill/internal/sample/sampletest"
)

type recorder struct {
	mu       sync.Mutex
	progress []int
	stages   []string
	clips    []Clip
}

func (r *recorder) Progress(stage string, pct int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.progress = append(r.progress, pct)
	r.stages = append(r.stages, stage)
}

func (r *recorder) ClipDone(c Clip) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clips = append(r.clips, c)
}

func talk(t *testing.T, seconds float64) *sample.Result {
	t.Helper()
	return sampletest.Talk(t, sample.Options{Seconds: seconds})
}

// Progress only moves forward, visits the stages in order, ends at 100, and
// every clip is reported as it finishes.
func TestRunReportsProgressAndClips(t *testing.T) {
	sampletest.EndToEnd(t)
	tk := talk(t, 45)
	out := t.TempDir()
	rec := &recorder{}
	e := &Engine{Encoder: render.Encoder{Preset: "ultrafast"}, Workers: 2}
	s := clipping.DefaultOutputSettings()
	s.DurationTypes = []clipping.DurationType{clipping.Duration30, clipping.Duration30}
	s.AspectRatio = clipping.AspectSquare
	res, err := e.Run(context.Background(), Job{Input: tk.Video, Settings: s, Transcript: load(t, tk.SRT), OutDir: out}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Clips) != 2 || len(rec.clips) != 2 {
		t.Fatalf("%d clips, %d reported", len(res.Clips), len(rec.clips))
	}
	last := -1
	for i, p := range rec.progress {
		if p < last && rec.stages[i] != StageRender {
			t.Fatalf("progress went back from %d to %d at %s", last, p, rec.stages[i])
		}
		last = max(last, p)
	}
	if rec.progress[len(rec.progress)-1] != 100 {
		t.Fatalf("progress ends at %d", rec.progress[len(rec.progress)-1])
	}
	for _, st := range []string{StageSource, StageAudio, StageTranscript, StageSelect, StageReframe, StageCaptions, StageRender, StageThumbnail} {
		if res.Stats.Stages[st] <= 0 {
			t.Errorf("no time recorded for %s", st)
		}
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".work-") {
			t.Errorf("work folder %s left behind", e.Name())
		}
	}
	// The two clips were made at the same time: their stages add up to
	// clearly more than the clip phase's wall time.
	var sum time.Duration
	for _, st := range []string{StageReframe, StageCaptions, StageRender, StageThumbnail} {
		sum += res.Stats.Stages[st]
	}
	if sum < res.Stats.Clips*13/10 {
		t.Errorf("clip stages took %v in a %v phase: the clips were not made in parallel", sum, res.Stats.Clips)
	}
}

// A job cancelled in the middle of rendering stops promptly, kills ffmpeg
// and cleans up.
func TestRunCancelStopsPromptly(t *testing.T) {
	sampletest.EndToEnd(t)
	tk := talk(t, 45)
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	rec := &recorder{}
	go func() {
		// Cancel once rendering has begun.
		for {
			time.Sleep(20 * time.Millisecond)
			rec.mu.Lock()
			n := len(rec.stages)
			rendering := n > 0 && rec.stages[n-1] == StageRender
			rec.mu.Unlock()
			if rendering {
				time.Sleep(300 * time.Millisecond)
				cancel()
				return
			}
		}
	}()
	start := time.Now()
	e := &Engine{Encoder: render.Encoder{Preset: "veryfast"}}
	_, err := e.Run(ctx, Job{Input: tk.Video, Settings: clipping.DefaultOutputSettings(), Transcript: load(t, tk.SRT), OutDir: out}, rec)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want cancelled", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("took %v to stop", d)
	}
	if FailureMessage(err) != "The job was cancelled." {
		t.Errorf("failure message %q", FailureMessage(err))
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".mp4") || strings.HasPrefix(e.Name(), ".work-") {
			t.Errorf("%s left behind", e.Name())
		}
	}
}

func TestFailureMessages(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&StageError{StageSource, &source.Error{Name: "/secret/path/a.mp4", Msg: "is truncated or damaged: its last seconds cannot be decoded"}},
			"The source video is truncated or damaged: its last seconds cannot be decoded."},
		{&StageError{StageTranscript, &speech.UnsupportedLanguageError{Language: "de", Recognizer: "pocketsphinx"}},
			`The pocketsphinx recogniser handles English only; this job asked for "de".`},
		{&StageError{StageRender, errors.New("ffmpeg: exit status 1: /tmp/x/y: Invalid argument")}, "Processing failed at the render stage."},
		{context.DeadlineExceeded, "The job took longer than its deadline and was stopped."},
		{&StageError{StageTranscript, &speech.PieceError{Start: 0, End: 43.2, Attempts: 2,
			Err: fmt.Errorf("pocketsphinx: %w", &ffmpeg.Error{Program: "/usr/bin/pocketsphinx_continuous", Err: ffmpeg.ErrStalled, Stalled: 2 * time.Minute})}},
			"Speech recognition of 0:00-0:43 stopped after 120 s without progress (tried 2 times)."},
		{&StageError{StageTranscript, &speech.PieceError{Start: 60, End: 120, Attempts: 2,
			Err: &ffmpeg.Error{Program: "pocketsphinx_continuous", Err: context.DeadlineExceeded, TimedOut: true}}},
			"Speech recognition of 1:00-2:00 did not finish in time (tried 2 times)."},
		{&StageError{StageRender, &ffmpeg.Error{Program: "ffmpeg", Err: ffmpeg.ErrStalled, Stalled: 90 * time.Second, Stderr: "/tmp/x.mp4"}},
			"A processing step stopped after 90 s without progress."},
	} {
		got := FailureMessage(c.err)
		if got != c.want {
			t.Errorf("FailureMessage(%v) = %q, want %q", c.err, got, c.want)
		}
		if strings.Contains(got, "/") {
			t.Errorf("%q leaks a path", got)
		}
	}
}

func TestRunRefusesBadSettings(t *testing.T) {
	s := clipping.DefaultOutputSettings()
	s.DurationTypes = nil
	_, err := (&Engine{}).Run(context.Background(), Job{Input: "x.mp4", Settings: s, OutDir: t.TempDir()}, nil)
	if ce, ok := clipping.AsError(err); !ok || *ce.Param != "output_settings.duration_types" {
		t.Fatalf("err = %v", err)
	}
}

func load(t *testing.T, path string) *transcript.Transcript {
	t.Helper()
	tr, err := transcript.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return &tr
}
