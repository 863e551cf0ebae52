package engine

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/audio"
	"github.com/clipmill/clipmill/internal/engine/captions"
	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/llm"
	"github.com/clipmill/clipmill/internal/engine/reframe"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/engine/scene"
	"github.com/clipmill/clipmill/internal/engine/selection"
	"github.com/clipmill/clipmill/internal/engine/source"
	"github.com/clipmill/clipmill/internal/engine/transcript"
)

// selectClips cuts around speech when there is any, else from the pictures.
func (e *Engine) selectClips(ctx context.Context, job Job, info source.Info, track *audio.Track, words []transcript.Word, noSpeech string) ([]selection.Clip, error) {
	var picks []selection.Clip
	if noSpeech == "" {
		in := selection.Input{Words: words, Duration: info.Duration, Requests: job.Settings.DurationTypes}
		if job.Settings.Prompt != nil {
			in.Prompt = *job.Settings.Prompt
		}
		if track != nil {
			in.Loudness = track.Loudness
		}
		n := 1
		if e.LLM != nil {
			n = llmCandidates
		}
		props, err := selection.Propose(in, n)
		if err != nil {
			return nil, err
		}
		for _, p := range props {
			picks = append(picks, p.Clip)
		}
		if e.LLM != nil {
			picks = e.choose(ctx, job.titleOr(info.Title), in.Prompt, props)
		}
	} else {
		// Keyframes alone give a whole-source scan in seconds; x264 puts a
		// keyframe at every scene change, which is what this looks for.
		frames, err := scene.Sample(ctx, e.FFmpeg, scene.Request{
			Path: info.Path, FPS: 1, SrcW: info.Width, SrcH: info.Height, Side: 160, KeyframesOnly: true,
		})
		if err != nil {
			return nil, err
		}
		times := make([]float64, len(frames.Frames))
		for i, f := range frames.Frames {
			times[i] = f.T
		}
		picks = selection.SelectVisual(selection.VisualInput{
			Duration: info.Duration, Cuts: frames.Cuts(), Times: times, Motion: frames.Motion(),
			Title: job.titleOr(info.Title), Why: noSpeech, Requests: job.Settings.DurationTypes,
		})
	}
	if len(picks) == 0 {
		return nil, errNoClips
	}
	return picks, nil
}

// llmCandidates is how many clips the language model chooses among for each
// requested one.
const llmCandidates = 8

// choose lets the language model pick each clip among the offline scorer's
// candidates and write its title, reason and hashtags. Any failure keeps
// the offline choice, with a warning: the model is never required.
func (e *Engine) choose(ctx context.Context, title, prompt string, props []selection.Proposal) []selection.Clip {
	offline := make([]selection.Clip, len(props))
	slots := make([]llm.Slot, len(props))
	byID := map[string]selection.Clip{}
	for i, p := range props {
		offline[i] = p.Clip
		slots[i].DurationType = string(p.Clip.DurationType)
		for k, c := range p.Alternatives {
			// Short ids are easier for a small model to copy.
			id := fmt.Sprintf("c%d_%d", i+1, k+1)
			byID[id] = c
			slots[i].Candidates = append(slots[i].Candidates, llm.Candidate{
				ID: id, DurationType: string(c.DurationType), Start: c.Start, End: c.End,
				Transcript: transcript.Text(c.Words), Title: c.Title, Reason: c.Reason, Score: c.Virality,
			})
		}
	}
	choices, err := e.LLM.Choose(ctx, title, prompt, slots)
	if err != nil {
		e.log().Warn("language model not used; keeping the offline choices", "err", err)
		return offline
	}
	picks := make([]selection.Clip, len(choices))
	for i, ch := range choices {
		c := byID[ch.ID]
		for _, o := range picks[:i] {
			if c.Shares(o) > 0.2 {
				e.log().Warn("language model not used: it chose overlapping clips; keeping the offline choices", "clip", ch.ID)
				return offline
			}
		}
		c.Title, c.Hashtags = ch.Title, ch.Hashtags
		c.Reason = strings.TrimRight(ch.Reason, ". ") + ". Opening line: “" + ch.Hook + "”"
		picks[i] = c
	}
	return picks
}

func (j Job) titleOr(t string) string {
	if j.Title != "" {
		return j.Title
	}
	return t
}

// renderAll runs each clip's reframe, captions and render, up to the worker
// count at once, and reports each clip as it finishes.
func (e *Engine) renderAll(ctx context.Context, pl *Plan, clips []PlannedClip, outDir, work string, p *progress, st *Stats) []Clip {
	out := make([]Clip, len(clips))
	sem := make(chan struct{}, e.workers())
	var wg sync.WaitGroup
	p.clips(len(clips))
	for i, pc := range clips {
		out[i] = Clip{
			ID: pc.ID, DurationType: pc.DurationType, Start: pc.Start, End: pc.End,
			Title: pc.Title, Reason: pc.Reason, Virality: pc.Virality, Hashtags: pc.Hashtags,
			Transcript: transcript.Text(pl.words(pc)),
		}
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				out[i].Err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			c := &out[i]
			var done float64 // this clip's share of the progress so far
			c.Err = e.renderClip(ctx, pl, pc, c, outDir, work, func(f float64) {
				done += f
				p.clipPart(f)
			}, st)
			if c.Err != nil {
				if ctx.Err() != nil {
					// The job was cancelled or deleted, or the process
					// is stopping: not a fault of this clip.
					e.log().Info("clip stopped", "clip", c.ID, "why", context.Cause(ctx))
				} else {
					e.log().Error("clip failed", "clip", c.ID, "err", c.Err)
				}
				// What the clip wrote before it failed is no use to anyone.
				for _, f := range []string{c.Video, c.Thumbnail, c.SRT, c.VTT} {
					if f != "" {
						os.Remove(filepath.Join(outDir, f))
					}
				}
				c.Video, c.Thumbnail, c.SRT, c.VTT = "", "", "", ""
				p.clipPart(1 - done) // a failed clip is finished too
			}
			p.ev.ClipDone(*c)
		})
	}
	wg.Wait()
	return out
}

// renderClip is the second half of a job for one clip: reframe, captions,
// render and thumbnail, from the plan alone.
func (e *Engine) renderClip(ctx context.Context, pl *Plan, pc PlannedClip, c *Clip, outDir, work string, part func(float64), st *Stats) error {
	dur := pc.End - pc.Start
	outW, outH := reframe.OutputSize(pl.Settings.AspectRatio)
	words := pl.words(pc)

	// The passes below read the source at at. A source on the web (on AWS,
	// a presigned S3 URL) is read once, the clip's part alone, with ranges.
	input, at := pl.Source, pc.Start
	if strings.Contains(input, "://") {
		err := st.time(StageSource, func() error {
			var err error
			input, err = excerpt(ctx, e.FFmpeg, pl.Source, pc.Start, dur, filepath.Join(work, c.ID+".source.mp4"))
			return err
		})
		if err != nil {
			return &StageError{StageSource, err}
		}
		defer os.Remove(input)
		at = 0
	}

	var plan reframe.Plan
	err := st.time(StageReframe, func() error {
		var err error
		plan, err = reframe.Analyse(ctx, e.FFmpeg, reframe.Request{
			Path: input, SrcW: pl.Info.Width, SrcH: pl.Info.Height, FPS: pl.Info.FPS, SAR: pl.Info.SAR,
			Start: at, Dur: dur, OutW: outW, OutH: outH, Speech: pl.speech(pc),
		})
		return err
	})
	if err != nil {
		return &StageError{StageReframe, err}
	}
	part(0.1)

	// Captions: word times relative to the clip.
	picture := plan.Filter()
	video := picture
	err = st.time(StageCaptions, func() error {
		if len(words) == 0 {
			return nil
		}
		style := clipping.DefaultCaptionStyle
		if pl.Settings.CaptionStyle != nil {
			style, _ = clipping.CaptionPreset(*pl.Settings.CaptionStyle) // validated already
		}
		preset, err := captions.Lookup(style)
		if err != nil {
			return err
		}
		pages := captions.Layout(shift(words, pc.Start, dur), preset, outW, outH)
		captions.Place(pages, preset, outW, outH, plan.FaceBoxes)
		c.SRT, c.VTT = c.ID+".srt", c.ID+".vtt"
		if err := writeFile(filepath.Join(outDir, c.SRT), captions.SRT(pages)); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(outDir, c.VTT), captions.VTT(pages)); err != nil {
			return err
		}
		if !pl.Settings.Captions {
			return nil
		}
		ass := c.ID + ".ass"
		if err := writeFile(filepath.Join(work, ass), captions.ASS(pages, preset, outW, outH)); err != nil {
			return err
		}
		video += ",subtitles=f=" + ass
		return nil
	})
	if err != nil {
		return &StageError{StageCaptions, err}
	}

	err = st.time(StageRender, func() error {
		mp4 := c.ID + ".mp4"
		err := e.Encoder.Render(ctx, e.FFmpeg, work, render.Clip{
			Source: input, Start: at, Dur: dur, Video: video, FPS: plan.FPS,
			Audio: pl.Info.HasAudio, Gain: pc.Gain, Title: pc.Title, Out: mp4,
		})
		if err != nil {
			return err
		}
		return os.Rename(filepath.Join(work, mp4), filepath.Join(outDir, mp4))
	})
	if err != nil {
		return &StageError{StageRender, err}
	}
	c.Video = c.ID + ".mp4"
	part(0.8)

	err = st.time(StageThumbnail, func() error {
		// The frame the reframe stage chose, reframed, without captions.
		c.Thumbnail = c.ID + ".jpg"
		thumb := math.Max(0, math.Min(plan.Thumb, dur-0.1))
		return render.Still(ctx, e.FFmpeg, outDir, input, at, thumb, picture, c.Thumbnail)
	})
	if err != nil {
		return &StageError{StageThumbnail, err}
	}
	c.Duration = e.probeDuration(ctx, filepath.Join(outDir, c.Video), dur)
	part(0.1)
	return nil
}

// excerpt copies the part [start, start+dur) of a source on the web to the
// file out, without re-encoding: ffmpeg seeks with HTTP ranges, and the
// excerpt's time 0 is start (frames back to the keyframe before it are kept,
// hidden by an edit list, so the passes can decode from it).
func excerpt(ctx context.Context, bin ffmpeg.Binaries, src string, start, dur float64, out string) (string, error) {
	_, err := bin.Exec(ctx, ffmpeg.Opts{Timeout: 2*time.Minute + time.Duration(dur*float64(time.Second))},
		"-nostdin", "-v", "error", "-y", "-ss", ffmpeg.Seconds(start), "-t", ffmpeg.Seconds(dur+0.5), "-i", src,
		"-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", "-f", "mp4", out)
	if err != nil {
		return "", fmt.Errorf("read the clip's part of the source: %w", err)
	}
	return out, nil
}

// probeDuration reads the rendered file's real length, falling back to the
// planned one.
func (e *Engine) probeDuration(ctx context.Context, path string, planned float64) float64 {
	out, err := e.FFmpeg.Probe(ctx, 30*time.Second, "-v", "error", "-show_entries", "format=duration",
		"-of", "default=noprint_wrappers=1:nokey=1", path)
	if err != nil {
		return planned
	}
	var d float64
	if _, err := fmt.Sscan(string(out), &d); err != nil || d <= 0 {
		return planned
	}
	return math.Round(d*1000) / 1000
}

// shift moves words onto the clip's clock and drops what falls outside.
func shift(words []transcript.Word, start, dur float64) []transcript.Word {
	out := make([]transcript.Word, 0, len(words))
	for _, w := range words {
		w.Start = math.Max(0, w.Start-start)
		w.End = math.Min(dur, w.End-start)
		if w.End > w.Start {
			out = append(out, w)
		}
	}
	return out
}

func writeFile(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// progress turns stage events into one percentage for the whole job.
type progress struct {
	ev      Events
	weights map[string][2]float64 // stage -> [start, end] percent
	mu      sync.Mutex
	n       int     // clips being made
	done    float64 // finished parts of clips, counted in clips
}

func newProgress(ev Events, recognise bool) *progress {
	if ev == nil {
		ev = nopEvents{}
	}
	w := map[string][2]float64{
		StageSource: {0, 3}, StageAudio: {3, 5}, StageTranscript: {5, 8}, StageSelect: {8, 10},
	}
	if recognise {
		// Recognising speech takes about as long as rendering.
		w[StageTranscript] = [2]float64{5, 50}
		w[StageSelect] = [2]float64{50, 52}
	}
	return &progress{ev: ev, weights: w}
}

func (p *progress) stage(name string, frac float64) {
	if name == "done" {
		p.ev.Progress(name, 100)
		return
	}
	r := p.weights[name]
	p.ev.Progress(name, int(r[0]+(r[1]-r[0])*frac))
}

func (p *progress) clips(n int) {
	p.mu.Lock()
	p.n = n
	p.mu.Unlock()
	p.clipPart(0)
}

// clipPart records that a fraction of one clip's work is done.
func (p *progress) clipPart(f float64) {
	p.mu.Lock()
	p.done += f
	start := p.weights[StageSelect][1]
	pct := start + (99-start)*math.Min(1, p.done/float64(max(1, p.n)))
	p.mu.Unlock()
	p.ev.Progress(StageRender, int(pct))
}

type nopEvents struct{}

func (nopEvents) Progress(string, int) {}
func (nopEvents) ClipDone(Clip)        {}
