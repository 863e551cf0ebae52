// Package enginesteps runs clipmill's engine as the steps of
// statemachine/engine.asl.json, so that the drop-folder stack clips videos
// by itself: prepare (probe the source, extract its audio), transcribe
// (start a job, then check it in a wait/poll loop), select (the plan), render
// (one clip, in a Map state) and store (the manifest). Every step reads and
// writes the bucket; the state holds keys and ids only. The same steps run
// on AWS (Lambda, Amazon Transcribe) and on one machine (clipmill local).
package enginesteps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine"
	"github.com/clipmill/clipmill/internal/engine/audio"
	"github.com/clipmill/clipmill/internal/engine/source"
	"github.com/clipmill/clipmill/internal/engine/transcript"
	"github.com/clipmill/clipmill/internal/pipeline"
)

// Recogniser runs transcription jobs: Amazon Transcribe on AWS, local
// recognition on one machine. A job is named by the caller, so that a
// replayed step finds the job it started.
type Recogniser interface {
	// Start starts the job on the WAV at audioKey, writing its words to
	// outKey; language is ISO-639-1 or "" to identify it. Starting a job
	// that exists is not an error.
	Start(ctx context.Context, job, audioKey, outKey, language string) error
	// Status is "running", "completed" or "failed", with the reason when
	// it failed.
	Status(ctx context.Context, job string) (status, reason string, err error)
}

// Steps holds what the steps share.
type Steps struct {
	Bucket     pipeline.Bucket
	Engine     *engine.Engine
	Recogniser Recogniser
	Scratch    string        // a local folder for the steps' files (Lambda's /tmp)
	SourceTTL  time.Duration // how long the presigned source URL lives; 0 is an hour
	Log        *slog.Logger
}

func (s *Steps) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Files under an execution's Work prefix.
const (
	infoFile       = "source.json"
	wavFile        = "audio.wav"
	transcriptFile = "transcript.json"
	planFile       = "plan.json"
)

// request reads the settings that submit resolved.
func (s *Steps) request(ctx context.Context, ex pipeline.Execution) (clipping.CreateRequest, error) {
	var r clipping.CreateRequest
	err := s.getJSON(ctx, ex.Work+pipeline.RequestFile, &r)
	return r, err
}

// transcriptSidecars are the extensions of a transcript beside the video,
// used instead of Transcribe. (A <video>.json beside it is its settings.)
var transcriptSidecars = []string{".srt", ".vtt", ".transcript.json"}

// scratch makes a local folder for one step, and the function that removes
// it.
func (s *Steps) scratch() (string, func(), error) {
	dir, err := os.MkdirTemp(s.Scratch, "step-")
	if err == nil {
		// ffmpeg runs in folders of its own: its paths must not be relative.
		dir, err = filepath.Abs(dir)
	}
	if err != nil {
		return "", nil, &pipeline.RetryableError{Msg: "scratch folder: " + err.Error()}
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// sourceURL is a presigned URL of the video, which ffmpeg reads with
// ranges: no step downloads the whole source.
func (s *Steps) sourceURL(ctx context.Context, src pipeline.Source) (string, error) {
	ttl := s.SourceTTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	u, err := s.Bucket.PresignGet(ctx, src.Key, src.Version, ttl)
	if err != nil {
		return "", &pipeline.RetryableError{Msg: "presign the source: " + err.Error()}
	}
	return u, nil
}

// Prepare probes the source and, when it has sound, extracts its audio
// (16 kHz mono for Transcribe, and the raw samples and loudness the select
// step scores with) to the Work prefix. A transcript beside the video is
// used instead of Transcribe.
func (s *Steps) Prepare(ctx context.Context, ex pipeline.Execution) (pipeline.Prepared, error) {
	dir, done, err := s.scratch()
	if err != nil {
		return pipeline.Prepared{}, err
	}
	defer done()
	u, err := s.sourceURL(ctx, ex.Source)
	if err != nil {
		return pipeline.Prepared{}, err
	}
	info, err := source.Probe(ctx, s.Engine.FFmpeg, path.Base(ex.Source.Key), u)
	if err != nil {
		return pipeline.Prepared{}, terminal(err)
	}
	info.Path = "" // a presigned URL is not worth keeping
	if err := s.putJSON(ctx, ex.Work+infoFile, info); err != nil {
		return pipeline.Prepared{}, err
	}
	out := pipeline.Prepared{Duration: info.Duration, HasAudio: info.HasAudio}
	if sidecar, found, err := s.sidecar(ctx, ex.Source.Key); err != nil {
		return out, err
	} else if found {
		out.Transcript = sidecar
	}
	if !info.HasAudio {
		return out, nil
	}
	track, err := audio.Extract(ctx, s.Engine.FFmpeg, u, dir, info.Duration)
	if err != nil {
		return out, &pipeline.RetryableError{Msg: err.Error()}
	}
	for _, f := range []string{audio.PCMFile, audio.LoudnessFile} {
		if err := s.putFile(ctx, ex.Work+f, filepath.Join(dir, f)); err != nil {
			return out, err
		}
	}
	if out.Transcript == "" {
		wav := filepath.Join(dir, wavFile)
		if err := track.WriteWAV(wav, audio.Span{Start: 0, End: track.Duration()}); err != nil {
			return out, &pipeline.RetryableError{Msg: err.Error()}
		}
		if err := s.putFile(ctx, ex.Work+wavFile, wav); err != nil {
			return out, err
		}
		out.NeedsTranscription = true
	}
	return out, nil
}

// sidecar finds a transcript beside the video.
func (s *Steps) sidecar(ctx context.Context, key string) (string, bool, error) {
	base := strings.TrimSuffix(key, path.Ext(key))
	for _, ext := range transcriptSidecars {
		if _, found, err := s.Bucket.Head(ctx, base+ext, ""); err != nil {
			return "", false, &pipeline.RetryableError{Msg: err.Error()}
		} else if found {
			return base + ext, true, nil
		}
	}
	return "", false, nil
}

// StartTranscription starts the transcription job, named after the
// execution, so a replayed step finds the job it started.
func (s *Steps) StartTranscription(ctx context.Context, ex pipeline.Execution) (pipeline.Transcription, error) {
	job := jobName(ex.Work)
	req, err := s.request(ctx, ex)
	if err != nil {
		return pipeline.Transcription{}, err
	}
	lang := ""
	if req.InputLanguage != nil {
		lang = *req.InputLanguage
	}
	if err := s.Recogniser.Start(ctx, job, ex.Work+wavFile, ex.Work+transcriptFile, lang); err != nil {
		return pipeline.Transcription{}, classify(err)
	}
	dur := 0.0
	if ex.Prepared != nil {
		dur = ex.Prepared.Duration
	}
	return pipeline.Transcription{Job: job, Status: "running", Wait: firstWait(dur)}, nil
}

// CheckTranscription looks at the job once and says how long to wait
// before looking again. A failed job is a status with its reason, which
// the state machine's Choice sends to StoreFailure.
func (s *Steps) CheckTranscription(ctx context.Context, ex pipeline.Execution) (pipeline.Transcription, error) {
	t := *ex.Transcription
	status, reason, err := s.Recogniser.Status(ctx, t.Job)
	if err != nil {
		return t, classify(err)
	}
	t.Attempt++
	t.Status, t.Reason = status, reason
	// Checks come faster at first, then settle at a minute.
	t.Wait = min(60, max(5, t.Wait*3/2))
	return t, nil
}

// firstWait is the first wait for a transcription: Transcribe takes about a
// third of the audio's length, at least half a minute.
func firstWait(duration float64) int {
	return int(math.Min(300, math.Max(30, duration/3)))
}

// jobName is the transcription job's name, from the execution's Work
// prefix (work/<execution name>/), in Transcribe's [0-9a-zA-Z._-].
func jobName(work string) string {
	n := strings.Trim(strings.TrimPrefix(work, "work/"), "/")
	return "clipmill-" + strings.Map(func(r rune) rune {
		if r < 128 && (r == '.' || r == '_' || r == '-' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')) {
			return r
		}
		return '-'
	}, n)
}

// Select makes the plan: the words (a sidecar's or Transcribe's), the
// audio's loudness and the settings give the clips. The plan goes to the
// Work prefix; the state gets its key and the clips' ids.
func (s *Steps) Select(ctx context.Context, ex pipeline.Execution) (pipeline.Planned, error) {
	dir, done, err := s.scratch()
	if err != nil {
		return pipeline.Planned{}, err
	}
	defer done()
	var info source.Info
	if err := s.getJSON(ctx, ex.Work+infoFile, &info); err != nil {
		return pipeline.Planned{}, err
	}
	if info.Path, err = s.sourceURL(ctx, ex.Source); err != nil {
		return pipeline.Planned{}, err
	}
	var track *audio.Track
	if info.HasAudio {
		for _, f := range []string{audio.PCMFile, audio.LoudnessFile} {
			if err := s.getFile(ctx, ex.Work+f, filepath.Join(dir, f)); err != nil {
				return pipeline.Planned{}, err
			}
		}
		if track, err = audio.Load(dir); err != nil {
			return pipeline.Planned{}, &pipeline.RetryableError{Msg: err.Error()}
		}
	}
	req, err := s.request(ctx, ex)
	if err != nil {
		return pipeline.Planned{}, err
	}
	job := engine.Job{Input: ex.Source.Key, Settings: req.OutputSettings}
	if req.Title != nil {
		job.Title = *req.Title
	}
	if req.InputLanguage != nil {
		job.Language = *req.InputLanguage
	}
	tr, err := s.words(ctx, ex, dir)
	if err != nil {
		return pipeline.Planned{}, err
	}
	pl, err := s.Engine.PlanFrom(ctx, job, info, track, tr)
	if err != nil {
		return pipeline.Planned{}, terminal(err)
	}
	res := clipping.Job{Status: clipping.JobCompleted, Title: clipping.Ptr(pl.Title), SourceDuration: clipping.Ptr(info.Duration), Clips: []clipping.Clip{}}
	if pl.Language != "" {
		res.InputLanguage = clipping.Ptr(pl.Language)
	}
	if err := s.putJSON(ctx, ex.Work+pipeline.JobFile, res); err != nil {
		return pipeline.Planned{}, err
	}
	// The render step presigns the source again: the plan names the key.
	pl.Source = "s3://" + ex.Source.Bucket + "/" + ex.Source.Key
	if err := s.putJSON(ctx, ex.Work+planFile, pl); err != nil {
		return pipeline.Planned{}, err
	}
	out := pipeline.Planned{Plan: ex.Work + planFile}
	for _, c := range pl.Clips {
		out.Clips = append(out.Clips, c.ID)
	}
	return out, nil
}

// words reads the words: the user's sidecar, the recogniser's result, or
// none (a source without sound). A sidecar with no words is an error in
// the user's file; a recording in which no one speaks is not.
func (s *Steps) words(ctx context.Context, ex pipeline.Execution, dir string) (*transcript.Transcript, error) {
	if ex.Prepared == nil {
		return nil, nil
	}
	key := ex.Prepared.Transcript
	if key == "" && ex.Prepared.NeedsTranscription {
		key = ex.Work + transcriptFile
	}
	if key == "" {
		return nil, nil
	}
	local := filepath.Join(dir, path.Base(key))
	if err := s.getFile(ctx, key, local); err != nil {
		return nil, err
	}
	if key == ex.Prepared.Transcript {
		t, err := transcript.Load(local)
		var pe *transcript.ParseError
		if errors.As(err, &pe) {
			pe.File = path.Base(key)
		}
		if err != nil {
			return nil, &pipeline.TerminalError{Msg: "the transcript beside the video: " + err.Error()}
		}
		return &t, nil
	}
	f, err := os.Open(local)
	if err != nil {
		return nil, &pipeline.RetryableError{Msg: err.Error()}
	}
	defer f.Close()
	t, err := transcript.ParseJSON(f)
	if err != nil {
		return nil, &pipeline.TerminalError{Msg: "the recogniser's transcript: " + err.Error()}
	}
	return &t, nil
}

// Render renders one clip of the plan and puts its files beside the
// manifest, in clips/<name>/, and its resource (the API's clip, with keys
// where the URLs go) under Work for the store step. A clip that cannot be
// rendered is a failed clip, not an error: the other clips are still
// stored.
func (s *Steps) Render(ctx context.Context, in pipeline.RenderInput) (pipeline.Rendered, error) {
	out := pipeline.Rendered{ID: in.Clip, Status: string(clipping.ClipFailed), Clip: in.Work + pipeline.ClipsDir + in.Clip + ".json"}
	dir, done, err := s.scratch()
	if err != nil {
		return out, err
	}
	defer done()
	var pl engine.Plan
	if err := s.getJSON(ctx, in.Plan, &pl); err != nil {
		return out, err
	}
	u, err := s.sourceURL(ctx, in.Source)
	if err != nil {
		return out, err
	}
	m, local, err := serveMetered(u, in.Source.Key)
	if err != nil {
		return out, &pipeline.RetryableError{Msg: "serve the source: " + err.Error()}
	}
	pl.Source = local
	res, err := s.Engine.Render(ctx, &pl, dir, []string{in.Clip}, nil)
	out.SourceBytes = m.Close()
	s.log().Info("rendered", "clip", in.Clip, "source_bytes_read", out.SourceBytes, "err", err)
	if ctx.Err() != nil {
		// The step's own deadline: Step Functions retries or catches it.
		return out, &pipeline.RetryableError{Msg: "render: " + ctx.Err().Error()}
	}
	var c engine.Clip
	switch {
	case res != nil && len(res.Clips) == 1:
		c = res.Clips[0]
	case err != nil:
		c = engine.Clip{ID: in.Clip, Err: err}
	default:
		return out, &pipeline.TerminalError{Msg: "the plan has no clip " + in.Clip}
	}
	prefix := "clips/" + in.Name + "/"
	if c.Err == nil {
		for _, f := range []*string{&c.Video, &c.Thumbnail, &c.SRT, &c.VTT} {
			if *f == "" {
				continue
			}
			if err := s.putFile(ctx, prefix+*f, filepath.Join(dir, *f)); err != nil {
				return out, err
			}
			*f = prefix + *f // the clip's resource names the object
		}
		out.Status = string(clipping.ClipCompleted)
	}
	r := c.Resource(pl.Settings.AspectRatio)
	if err := s.putJSON(ctx, out.Clip, r); err != nil {
		return out, err
	}
	return out, nil
}

// terminal marks an error the input caused (a file that is not a video,
// settings that make no sense) as one no retry mends.
func terminal(err error) error {
	var se *source.Error
	if errors.As(err, &se) {
		return &pipeline.TerminalError{Msg: engine.FailureMessage(err)}
	}
	return &pipeline.RetryableError{Msg: err.Error()}
}

// classify passes the pipeline's typed errors on and makes others retryable.
func classify(err error) error {
	var te *pipeline.TerminalError
	var re *pipeline.RetryableError
	if errors.As(err, &te) || errors.As(err, &re) {
		return err
	}
	return &pipeline.RetryableError{Msg: err.Error()}
}

func (s *Steps) putJSON(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if err := s.Bucket.Put(ctx, key, strings.NewReader(string(b)), "application/json"); err != nil {
		return &pipeline.RetryableError{Msg: err.Error()}
	}
	return nil
}

func (s *Steps) getJSON(ctx context.Context, key string, v any) error {
	b, found, err := s.Bucket.Read(ctx, key, 64<<20)
	switch {
	case err != nil:
		return &pipeline.RetryableError{Msg: err.Error()}
	case !found:
		return &pipeline.TerminalError{Msg: key + " is missing"}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &pipeline.TerminalError{Msg: fmt.Sprintf("%s: %v", key, err)}
	}
	return nil
}

func (s *Steps) putFile(ctx context.Context, key, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return &pipeline.RetryableError{Msg: err.Error()}
	}
	defer f.Close()
	ct := "application/octet-stream"
	switch path.Ext(file) {
	case ".mp4":
		ct = "video/mp4"
	case ".jpg":
		ct = "image/jpeg"
	case ".srt":
		ct = "application/x-subrip"
	case ".vtt":
		ct = "text/vtt"
	case ".wav":
		ct = "audio/wav"
	}
	if err := s.Bucket.Put(ctx, key, f, ct); err != nil {
		return &pipeline.RetryableError{Msg: err.Error()}
	}
	return nil
}

func (s *Steps) getFile(ctx context.Context, key, file string) error {
	body, _, err := s.Bucket.Open(ctx, key, "")
	if err != nil {
		return &pipeline.RetryableError{Msg: fmt.Sprintf("read %s: %v", key, err)}
	}
	defer body.Close()
	f, err := os.Create(file)
	if err != nil {
		return &pipeline.RetryableError{Msg: err.Error()}
	}
	if _, err := f.ReadFrom(body); err != nil {
		f.Close()
		return &pipeline.RetryableError{Msg: fmt.Sprintf("read %s: %v", key, err)}
	}
	return f.Close()
}
