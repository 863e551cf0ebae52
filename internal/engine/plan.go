package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/audio"
	"github.com/clipmill/clipmill/internal/engine/reframe"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/engine/source"
	"github.com/clipmill/clipmill/internal/engine/transcript"
	"github.com/clipmill/clipmill/internal/ids"
)

// PlanVersion is the version of the plan.json format this engine writes
// and reads.
const PlanVersion = 1

// Plan is a job made ready to render: where its source is, what the source
// is, its words, and the chosen clips. It is the first half of a job (the
// source, audio, transcript and selection stages); Render is the second.
// As plan.json, a user may edit a clip's start, end, title or words and
// render again.
type Plan struct {
	Version  int                     `json:"version"`
	Input    string                  `json:"input"`  // as the job gave it: a path or a URL
	Source   string                  `json:"source"` // the file the clips are cut from: a path, or a URL read with ranges
	Title    string                  `json:"title"`
	Language string                  `json:"language,omitempty"`
	Settings clipping.OutputSettings `json:"settings"`
	Info     SourceInfo              `json:"source_info"`
	// Words are the whole transcript; Speech is when someone speaks, the
	// words trimmed to their sound, in seconds of the source.
	Words  []transcript.Word `json:"words,omitempty"`
	Speech []reframe.Span    `json:"speech,omitempty"`
	Clips  []PlannedClip     `json:"clips"`
}

// SourceInfo is what rendering needs to know of the source.
type SourceInfo struct {
	Duration float64 `json:"duration"`
	Width    int     `json:"width"` // display size, square pixels
	Height   int     `json:"height"`
	FPS      float64 `json:"fps"`
	SAR      float64 `json:"sar"`
	HasAudio bool    `json:"has_audio"`
}

// PlannedClip is one clip of a plan.
type PlannedClip struct {
	ID           string                `json:"id"`
	DurationType clipping.DurationType `json:"duration_type"`
	Start        float64               `json:"start"` // seconds in the source
	End          float64               `json:"end"`
	Title        string                `json:"title"`
	Reason       string                `json:"reason"`
	Virality     int                   `json:"virality"`
	Hashtags     []string              `json:"hashtags,omitempty"`
	// Words are the clip's captions. Left out, they are the plan's words
	// between start and end: delete them after moving a cut.
	Words []transcript.Word `json:"words,omitempty"`
	// Gain is the dB from the source's loudness to the target, a starting
	// point the render refines; left out for silence.
	Gain *float64 `json:"gain_db,omitempty"`
}

// plan runs the first half of a job: source, audio, transcript and
// selection. A source fetched from a URL is kept in keep.
func (e *Engine) plan(ctx context.Context, job Job, keep, work string, p *progress, st *Stats) (*Plan, error) {
	// 1. Source.
	p.stage(StageSource, 0)
	var info source.Info
	err := st.time(StageSource, func() error {
		var err error
		info, err = e.Source(ctx, job.Input, keep)
		return err
	})
	if err != nil {
		return nil, &StageError{StageSource, err}
	}

	// 2. Audio and transcript.
	var track *audio.Track
	var tr *transcript.Transcript
	if info.HasAudio {
		p.stage(StageAudio, 0)
		err = st.time(StageAudio, func() error {
			track, err = audio.Extract(ctx, e.FFmpeg, info.Path, work, info.Duration)
			return err
		})
		if err != nil {
			return nil, &StageError{StageAudio, err}
		}
		p.stage(StageTranscript, 0)
		err = st.time(StageTranscript, func() error {
			t, err := e.transcript(ctx, job, track, work, func(f float64) { p.stage(StageTranscript, f) })
			tr = &t
			return err
		})
		if err != nil {
			return nil, &StageError{StageTranscript, err}
		}
	} else if job.Transcript != nil {
		// Captions from a file still make sense on a silent video.
		tr = job.Transcript
	}

	// 3. Selection.
	p.stage(StageSelect, 0)
	var pl *Plan
	err = st.time(StageSelect, func() error {
		pl, err = e.PlanFrom(ctx, job, info, track, tr)
		return err
	})
	if err != nil {
		return nil, &StageError{StageSelect, err}
	}
	return pl, nil
}

// Source fetches the job's input (a local file, or an https URL kept in
// dir) and probes it.
func (e *Engine) Source(ctx context.Context, input, dir string) (source.Info, error) {
	path, err := source.Fetch(ctx, input, dir, e.Download, e.HTTPClient)
	if err != nil {
		return source.Info{}, err
	}
	if !strings.Contains(path, "://") {
		if path, err = filepath.Abs(path); err != nil {
			return source.Info{}, err
		}
	}
	return source.Probe(ctx, e.FFmpeg, source.DisplayName(input), path)
}

// PlanFrom selects the clips of a source whose audio and words are known:
// the last stage of Plan, on its own, for a pipeline that runs the stages
// in steps. track is nil for a source without sound, tr for one without
// words; without words, the clips are cut from the pictures.
func (e *Engine) PlanFrom(ctx context.Context, job Job, info source.Info, track *audio.Track, tr *transcript.Transcript) (*Plan, error) {
	pl := &Plan{Version: PlanVersion, Input: job.Input, Settings: job.Settings, Source: info.Path, Title: job.titleOr(info.Title),
		Info: SourceInfo{Duration: info.Duration, Width: info.Width, Height: info.Height, FPS: info.FPS, SAR: info.SAR, HasAudio: info.HasAudio}}
	noSpeech := "The source has no audio track"
	if tr != nil {
		pl.Words, pl.Language = tr.Words, tr.Language
		noSpeech = ""
		if len(pl.Words) == 0 {
			noSpeech = "No speech was found in the audio"
		}
	}
	if pl.Language == "" {
		pl.Language = job.Language
	}
	pl.Speech = speechOf(pl.Words, track)
	picks, err := e.selectClips(ctx, job, info, track, pl.Words, noSpeech)
	if err != nil {
		return nil, err
	}
	for _, pick := range picks {
		pc := PlannedClip{ID: ids.New(), DurationType: pick.DurationType, Start: pick.Start, End: pick.End,
			Title: pick.Title, Reason: pick.Reason, Virality: pick.Virality, Hashtags: pick.Hashtags, Words: pick.Words}
		if track != nil {
			if lufs, ok := track.Integrated(pick.Start, pick.End); ok {
				pc.Gain = clipping.Ptr(render.GainFor(lufs))
			}
		}
		pl.Clips = append(pl.Clips, pc)
	}
	return pl, nil
}

// speechOf is when someone speaks: the words' times, each trimmed to where
// its sound is (within 25 dB of the source's loudness), which is sharper
// than a recogniser's word times. The reframe stage uses it to tell the
// speaker from the listeners.
func speechOf(words []transcript.Word, track *audio.Track) []reframe.Span {
	level := math.Inf(-1)
	if track != nil {
		level = track.Loudness(0, track.Duration()) - 25
	}
	var out []reframe.Span
	for _, w := range words {
		s, e := w.Start, w.End
		if track != nil {
			if vs, ve, ok := track.Voiced(s, e, level); ok {
				s, e = vs, ve
			}
		}
		if e > s {
			out = append(out, reframe.Span{Start: s, End: e})
		}
	}
	return out
}

// words is the clip's words: its own, or the plan's between its start and
// end.
func (pl *Plan) words(c PlannedClip) []transcript.Word {
	if len(c.Words) > 0 {
		return c.Words
	}
	var out []transcript.Word
	for _, w := range pl.Words {
		if w.Start >= c.Start && w.End <= c.End {
			out = append(out, w)
		}
	}
	return out
}

// speech is when someone speaks in the clip, on the clip's clock.
func (pl *Plan) speech(c PlannedClip) []reframe.Span {
	var out []reframe.Span
	for _, s := range pl.Speech {
		s.Start, s.End = math.Max(0, s.Start-c.Start), math.Min(c.End-c.Start, s.End-c.Start)
		if s.End > s.Start {
			out = append(out, s)
		}
	}
	return out
}

// Check says what is wrong with a plan a user may have edited, naming the
// clip and the field.
func (pl *Plan) Check() error {
	if pl.Version != PlanVersion {
		return fmt.Errorf("plan: version %d; this clipmill reads version %d", pl.Version, PlanVersion)
	}
	if err := pl.Settings.Validate(); err != nil {
		return fmt.Errorf("plan: settings: %w", err)
	}
	// A source on the web (a presigned URL) is read by ffmpeg with ranges.
	if !strings.Contains(pl.Source, "://") {
		if _, err := os.Stat(pl.Source); err != nil {
			return fmt.Errorf("plan: source: %w", err)
		}
	}
	seen := map[string]bool{}
	for i, c := range pl.Clips {
		name := fmt.Sprintf("plan: clips[%d] (%s)", i, c.ID)
		switch {
		case c.ID == "" || seen[c.ID]:
			return fmt.Errorf("%s: id is empty or used twice", name)
		case c.Start < 0 || c.End <= c.Start || (pl.Info.Duration > 0 && c.End > pl.Info.Duration+0.5):
			return fmt.Errorf("%s: start %.2f and end %.2f are not a span of the %.1f s source", name, c.Start, c.End, pl.Info.Duration)
		case len([]rune(c.Title)) > 255:
			return fmt.Errorf("%s: title is over 255 characters", name)
		}
		seen[c.ID] = true
		if !sort.SliceIsSorted(c.Words, func(a, b int) bool { return c.Words[a].Start < c.Words[b].Start }) {
			return fmt.Errorf("%s: words are not in time order", name)
		}
	}
	return nil
}

// WritePlan writes the plan as indented JSON to path.
func WritePlan(path string, pl *Plan) error {
	b, err := json.MarshalIndent(pl, "", "  ")
	if err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadPlan reads a plan.json and checks it.
func ReadPlan(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	var pl Plan
	if err := json.Unmarshal(b, &pl); err != nil {
		return nil, fmt.Errorf("read plan %s: %w", path, err)
	}
	return &pl, pl.Check()
}
