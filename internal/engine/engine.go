// Package engine runs a clipping job through its stages: source, transcript,
// selection, reframe, captions and render. Each stage is its own package
// behind a small interface or function, so that one can be replaced without
// touching the others.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/audio"
	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/llm"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/engine/selection"
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

// NewID returns a random 32-character hex id.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b[:])
}

// Run runs the job. It returns an error only when the job as a whole fails;
// a clip that fails alone is reported with its Err set.
func (e *Engine) Run(ctx context.Context, job Job, ev Events) (*Result, error) {
	started := time.Now()
	res := &Result{}
	if err := job.Settings.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(job.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("create output folder: %w", err)
	}
	work, err := os.MkdirTemp(job.OutDir, ".work-")
	if err != nil {
		return nil, fmt.Errorf("create work folder: %w", err)
	}
	defer os.RemoveAll(work)
	p := newProgress(ev, job.Transcript == nil)

	// 1. Source.
	p.stage(StageSource, 0)
	var info source.Info
	err = res.Stats.time(StageSource, func() error {
		path, err := source.Fetch(ctx, job.Input, work, e.Download, e.HTTPClient)
		if err != nil {
			return err
		}
		if path, err = filepath.Abs(path); err != nil {
			return err
		}
		info, err = source.Probe(ctx, e.FFmpeg, source.DisplayName(job.Input), path)
		return err
	})
	if err != nil {
		return nil, &StageError{StageSource, err}
	}
	res.SourceDuration = info.Duration
	res.Title = job.Title
	if res.Title == "" {
		res.Title = info.Title
	}

	// 2. Audio and transcript.
	var track *audio.Track
	var words []transcript.Word
	noSpeech := ""
	if info.HasAudio {
		p.stage(StageAudio, 0)
		err = res.Stats.time(StageAudio, func() error {
			track, err = audio.Extract(ctx, e.FFmpeg, info.Path, work, info.Duration)
			return err
		})
		if err != nil {
			return nil, &StageError{StageAudio, err}
		}
		p.stage(StageTranscript, 0)
		var tr transcript.Transcript
		err = res.Stats.time(StageTranscript, func() error {
			tr, err = e.transcript(ctx, job, track, work, func(f float64) { p.stage(StageTranscript, f) })
			return err
		})
		if err != nil {
			return nil, &StageError{StageTranscript, err}
		}
		words = tr.Words
		res.Language = tr.Language
		if len(words) == 0 {
			noSpeech = "No speech was found in the audio"
		}
	} else {
		noSpeech = "The source has no audio track"
		if job.Transcript != nil {
			// Captions from a file still make sense on a silent video.
			words, res.Language, noSpeech = job.Transcript.Words, job.Transcript.Language, ""
		}
	}
	if res.Language == "" {
		res.Language = job.Language
	}

	// 3. Selection.
	p.stage(StageSelect, 0)
	var picks []selection.Clip
	err = res.Stats.time(StageSelect, func() error {
		picks, err = e.selectClips(ctx, job, info, track, words, noSpeech)
		return err
	})
	if err != nil {
		return nil, &StageError{StageSelect, err}
	}

	// 4-6. Reframe, captions and render, clips in parallel.
	clipStart := time.Now()
	res.Clips = e.renderAll(ctx, job, info, track, picks, work, p, &res.Stats)
	res.Stats.Clips = time.Since(clipStart)
	res.Stats.Wall = time.Since(started)
	if err := ctx.Err(); err != nil {
		return res, err
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
		return res, &StageError{StageRender, fmt.Errorf("no clip could be rendered: %w", firstErr)}
	}
	p.stage("done", 1)
	return res, nil
}

// transcript reads the user's transcript file, or recognises the track.
func (e *Engine) transcript(ctx context.Context, job Job, track *audio.Track, work string, progress func(float64)) (transcript.Transcript, error) {
	if job.Transcript != nil {
		return *job.Transcript, nil
	}
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
	par := speech.Parallel{Recognizer: rec, Workers: e.workers(), Target: 60, Max: 600, Dir: dir}
	return par.Transcribe(ctx, track, job.Language, progress)
}

// errNoClips guards against a silent empty result.
var errNoClips = errors.New("selection found no clip")
