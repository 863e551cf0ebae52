// Package engine runs a clipping job through its stages: source, transcript,
// selection, reframe, captions and render. Each stage is its own package,
// called through plain functions and types; speech recognition, which has
// several providers, is the one stage behind an interface
// (speech.FileTranscriber).
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/audio"
	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/llm"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/engine/source"
	"github.com/clipmill/clipmill/internal/engine/speech"
	"github.com/clipmill/clipmill/internal/engine/transcript"
)

// Engine holds what every job shares.
type Engine struct {
	FFmpeg ffmpeg.Binaries
	// Speech recognises each piece of audio; nil uses pocketsphinx.
	Speech  speech.FileTranscriber
	Workers int // parallel recognition pieces and renders; 0: the core count
	Encoder render.Encoder
	// Download bounds fetching an https source; HTTPClient (nil: the default
	// client) is how it is fetched.
	Download   source.Limits
	HTTPClient *http.Client
	Log        *slog.Logger
	LLM        *llm.Client // nil: the offline scorer alone
}

// Job is one clipping request.
type Job struct {
	Input    string // a local path or an https URL
	Title    string // "" takes the source's title
	Language string // ISO-639-1; "" detects
	Settings clipping.OutputSettings
	// Transcript, when set, is used instead of recognising speech (a file
	// the user has, already read with transcript.Load).
	Transcript *transcript.Transcript
	OutDir     string // where the clip files are written
}

// Clip is one finished (or failed) clip. Its files are named by ID in the
// job's OutDir.
type Clip struct {
	ID                         string
	DurationType               clipping.DurationType
	Start, End                 float64
	Duration                   float64 // of the rendered file
	Title                      string
	Reason                     string
	Hashtags                   []string // "#word"s the language model wrote; none without one
	Transcript                 string
	Virality                   int
	Video, Thumbnail, SRT, VTT string // file names in OutDir; "" when absent
	Err                        error
}

// Result describes a finished job.
type Result struct {
	Title          string
	Language       string
	SourceDuration float64
	Clips          []Clip
	Stats          Stats
}

// Events receives a job's progress; both methods may be called from
// several goroutines.
type Events interface {
	Progress(stage string, percent int)
	ClipDone(c Clip)
}

// Stage names, as the progress bar and the stats show them.
const (
	StageSource     = "source"
	StageAudio      = "audio"
	StageTranscript = "transcript"
	StageSelect     = "select"
	StageReframe    = "reframe"
	StageCaptions   = "captions"
	StageRender     = "render"
	StageThumbnail  = "thumbnail"
)

// Stats are wall times per stage; parallel stages (reframe, captions,
// render, thumbnail) add up the time of every clip.
type Stats struct {
	mu     sync.Mutex
	Stages map[string]time.Duration
	Wall   time.Duration
	Clips  time.Duration // the wall time of the parallel clip phase
}

func (s *Stats) add(stage string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Stages == nil {
		s.Stages = map[string]time.Duration{}
	}
	s.Stages[stage] += d
}

func (s *Stats) time(stage string, f func() error) error {
	t := time.Now()
	err := f()
	s.add(stage, time.Since(t))
	return err
}

// StageError says which stage failed; Err says why.
type StageError struct {
	Stage string
	Err   error
}

func (e *StageError) Error() string { return e.Stage + ": " + e.Err.Error() }
func (e *StageError) Unwrap() error { return e.Err }

func (e *Engine) workers() int {
	if e.Workers > 0 {
		return e.Workers
	}
	return runtime.NumCPU()
}

func (e *Engine) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.Default()
}

// Run runs the job: Plan, then Render of every clip. It returns an error
// only when the job as a whole fails; a clip that fails alone is reported
// with its Err set.
func (e *Engine) Run(ctx context.Context, job Job, ev Events) (*Result, error) {
	started := time.Now()
	if err := job.Settings.Validate(); err != nil {
		return nil, err
	}
	work, done, err := workFolder(job.OutDir)
	if err != nil {
		return nil, err
	}
	defer done()
	res := &Result{}
	p := newProgress(ev, job.Transcript == nil)
	pl, err := e.plan(ctx, job, work, work, p, &res.Stats)
	if err != nil {
		return nil, err
	}
	return res, e.renderPlan(ctx, pl, pl.Clips, job.OutDir, work, p, res, started)
}

// Plan runs the first half of a job (source, audio, transcript and
// selection) and returns what Render needs. A source fetched from a URL is
// kept in the job's OutDir, for Render to cut from later.
func (e *Engine) Plan(ctx context.Context, job Job, ev Events) (*Plan, error) {
	if err := job.Settings.Validate(); err != nil {
		return nil, err
	}
	work, done, err := workFolder(job.OutDir)
	if err != nil {
		return nil, err
	}
	defer done()
	var st Stats
	pl, err := e.plan(ctx, job, job.OutDir, work, newProgress(ev, job.Transcript == nil), &st)
	if err == nil {
		newProgress(ev, false).stage("done", 1)
	}
	return pl, err
}

// Render renders the clips of a plan into outDir: all of them, or those
// whose ids are given.
func (e *Engine) Render(ctx context.Context, pl *Plan, outDir string, ids []string, ev Events) (*Result, error) {
	started := time.Now()
	if err := pl.Check(); err != nil {
		return nil, err
	}
	clips := pl.Clips
	if len(ids) > 0 {
		clips = nil
		for _, id := range ids {
			i := slices.IndexFunc(pl.Clips, func(c PlannedClip) bool { return c.ID == id })
			if i < 0 {
				return nil, fmt.Errorf("the plan has no clip %q", id)
			}
			clips = append(clips, pl.Clips[i])
		}
	}
	work, done, err := workFolder(outDir)
	if err != nil {
		return nil, err
	}
	defer done()
	res := &Result{}
	return res, e.renderPlan(ctx, pl, clips, outDir, work, newProgress(ev, false), res, started)
}

// renderPlan renders the clips in parallel and fills in the result. It
// fails only when no clip could be rendered.
func (e *Engine) renderPlan(ctx context.Context, pl *Plan, clips []PlannedClip, outDir, work string, p *progress, res *Result, started time.Time) error {
	res.Title, res.Language, res.SourceDuration = pl.Title, pl.Language, pl.Info.Duration
	clipStart := time.Now()
	res.Clips = e.renderAll(ctx, pl, clips, outDir, work, p, &res.Stats)
	res.Stats.Clips = time.Since(clipStart)
	res.Stats.Wall = time.Since(started)
	if err := ctx.Err(); err != nil {
		return err
	}
	ok := 0
	var firstErr error
	for _, c := range res.Clips {
		if c.Err == nil {
			ok++
		} else if firstErr == nil {
			firstErr = c.Err
		}
	}
	if ok == 0 {
		return &StageError{StageRender, fmt.Errorf("no clip could be rendered: %w", firstErr)}
	}
	p.stage("done", 1)
	return nil
}

// workFolder makes a scratch folder inside dir (creating dir) and returns
// the function that removes it.
func workFolder(dir string) (string, func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("create output folder: %w", err)
	}
	work, err := os.MkdirTemp(dir, ".work-")
	if err != nil {
		return "", nil, fmt.Errorf("create work folder: %w", err)
	}
	return work, func() { os.RemoveAll(work) }, nil
}

// transcript reads the user's transcript file, or recognises the track.
func (e *Engine) transcript(ctx context.Context, job Job, track *audio.Track, work string, progress func(float64)) (transcript.Transcript, error) {
	if job.Transcript != nil {
		return *job.Transcript, nil
	}
	return e.Recognise(ctx, track, job.Language, work, progress)
}

// Recognise finds the words of a track with the engine's recogniser, in
// pieces in a folder under work. The language is ISO-639-1, or "".
func (e *Engine) Recognise(ctx context.Context, track *audio.Track, language, work string, progress func(float64)) (transcript.Transcript, error) {
	rec := e.Speech
	if rec == nil {
		rec = speech.Sphinx{}
	}
	dir := filepath.Join(work, "pieces")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return transcript.Transcript{}, err
	}
	// Pieces of about a minute keep both cores busy and cost one model load
	// each; a hosted API takes at most about ten minutes (25 MB) at once.
	par := speech.Parallel{Recognizer: rec, Workers: e.workers(), Target: 60, Max: 600, Dir: dir, Log: e.log()}
	// A recogniser that takes long audio at once (Amazon Transcribe) says
	// how long its pieces may be.
	if pl, ok := rec.(interface{ PieceLength() (float64, float64) }); ok {
		par.Target, par.Max = pl.PieceLength()
	}
	return par.Transcribe(ctx, track, language, progress)
}

// errNoClips guards against a silent empty result.
var errNoClips = errors.New("selection found no clip")
