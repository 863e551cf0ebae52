package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/transcribe"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine"
	"github.com/clipmill/clipmill/internal/engine/llm"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/engine/source"
	"github.com/clipmill/clipmill/internal/engine/speech"
	"github.com/clipmill/clipmill/internal/engine/transcript"
	"github.com/clipmill/clipmill/internal/gallery"
	"github.com/clipmill/clipmill/internal/ids"
)

// flagNames maps the contract's parameter paths to this command's flags, so
// that a validation error names what the user typed.
var flagNames = map[string]string{
	"output_settings.duration_types": "--duration",
	"output_settings.aspect_ratio":   "--aspect",
	"output_settings.captions":       "--captions",
	"output_settings.caption_style":  "--caption-style",
	"output_settings.prompt":         "--prompt",
	"input_language":                 "--language",
	"title":                          "--title",
}

func flagError(err error) error {
	if ce, ok := clipping.AsError(err); ok && ce.Param != nil {
		name := *ce.Param
		for param, f := range flagNames {
			if name == param || strings.HasPrefix(name, param+"[") {
				return usageError{fmt.Sprintf("%s: %s", f, ce.Message)}
			}
		}
	}
	return usageError{err.Error()}
}

// jobFlags are the flags that describe a job and the engine that runs it,
// shared by clip and plan.
type jobFlags struct {
	durations, aspect, style, prompt, language, transcriptF, out, title *string
	speechKind, speechURL, speechModel, speechBucket, llmURL, llmModel  *string
	captions                                                            *bool
	engine                                                              engineFlags
	maxDownload                                                         *int64
	dlTimeout                                                           *time.Duration
}

// engineFlags are the flags of the render side, shared by clip and render.
type engineFlags struct {
	workers *int
	preset  *string
	timeout *time.Duration
}

func addEngineFlags(fs *flag.FlagSet) engineFlags {
	return engineFlags{
		workers: fs.Int("workers", 0, "parallel recognition pieces and renders (default: the core count)"),
		preset:  fs.String("x264-preset", "veryfast", "x264 preset: ultrafast is faster and larger, medium slower and smaller"),
		timeout: fs.Duration("timeout", 2*time.Hour, "give up on the job after this long"),
	}
}

func addJobFlags(fs *flag.FlagSet) *jobFlags {
	return &jobFlags{
		durations:    fs.String("duration", "60", "comma-separated clip lengths: 30, 60, 180, long"),
		aspect:       fs.String("aspect", "portrait", "portrait (1080x1920), square (1080x1080) or landscape (1920x1080)"),
		captions:     fs.Bool("captions", true, "burn captions in (SRT and VTT files are written either way)"),
		style:        fs.String("caption-style", "", "caption preset: "+strings.Join(clipping.CaptionStyles, ", ")),
		prompt:       fs.String("prompt", "", "what to look for, e.g. \"pricing advice\""),
		language:     fs.String("language", "", "the spoken language as an ISO-639-1 code (default: detect; pocketsphinx is English only)"),
		transcriptF:  fs.String("transcript", "", "a transcript file (SRT, WebVTT or JSON words) to use instead of speech recognition"),
		out:          fs.String("out", "", "output folder (default ./clips/<input name>)"),
		title:        fs.String("title", "", "the job's title (default: the source's)"),
		speechKind:   fs.String("speech", "pocketsphinx", "speech recogniser: pocketsphinx, openai or transcribe (Amazon Transcribe)"),
		speechURL:    fs.String("speech-url", "", "base URL of an OpenAI-compatible transcription API (with --speech openai); the key is read from CLIPMILL_SPEECH_KEY"),
		speechModel:  fs.String("speech-model", "whisper-1", "model name for --speech openai"),
		speechBucket: fs.String("speech-bucket", "", "an S3 bucket Amazon Transcribe reads the audio from and writes to (with --speech transcribe; AWS credentials and region from the environment)"),
		llmURL:       fs.String("llm-url", "", "base URL of an OpenAI-compatible chat-completions API (Ollama, llama.cpp, vLLM, OpenAI) to choose the clips and write titles and hashtags; empty: off. The key is read from CLIPMILL_LLM_KEY"),
		llmModel:     fs.String("llm-model", llm.DefaultModel, "model name for --llm-url"),
		engine:       addEngineFlags(fs),
		maxDownload:  fs.Int64("max-download", 20<<30, "largest source to download from a URL, in bytes"),
		dlTimeout:    fs.Duration("download-timeout", time.Hour, "longest a source download may take"),
	}
}

// newEngine is the engine the render-side flags describe.
func (f engineFlags) newEngine() *engine.Engine {
	return &engine.Engine{Workers: *f.workers, Encoder: render.Encoder{Preset: *f.preset}}
}

// build checks the flags with the same contract code as the API and
// returns the engine and the job they describe.
func (f *jobFlags) build(cmd string, pos []string) (*engine.Engine, engine.Job, error) {
	var job engine.Job
	if len(pos) != 1 {
		return nil, job, usageError{fmt.Sprintf("%s takes one INPUT (a video file or an https URL); see clipmill %s -h", cmd, cmd)}
	}
	input := pos[0]
	settings := clipping.DefaultOutputSettings()
	settings.Captions = *f.captions
	settings.AspectRatio = clipping.AspectRatio(*f.aspect)
	var err error
	if settings.DurationTypes, err = clipping.ParseDurationTypes(*f.durations); err != nil {
		return nil, job, flagError(err)
	}
	if *f.style != "" {
		settings.CaptionStyle = f.style
	}
	if *f.prompt != "" {
		settings.Prompt = f.prompt
	}
	if err := settings.Validate(); err != nil {
		return nil, job, flagError(err)
	}
	lang := ""
	if *f.language != "" {
		if lang, err = clipping.NormalizeLanguage(*f.language); err != nil {
			return nil, job, flagError(err)
		}
	}
	if n := len([]rune(*f.title)); n > 255 {
		return nil, job, usageError{fmt.Sprintf("--title: is %d characters, at most 255 are allowed", n)}
	}
	var words *transcript.Transcript
	if *f.transcriptF != "" {
		if _, err := os.Stat(*f.transcriptF); err != nil {
			return nil, job, usageError{fmt.Sprintf("--transcript: %s: no such file", *f.transcriptF)}
		}
		// Read it now, so a broken file fails before any work starts.
		tr, err := transcript.Load(*f.transcriptF)
		if err != nil {
			return nil, job, err
		}
		words = &tr
	}
	eng := f.engine.newEngine()
	eng.Download = source.Limits{MaxBytes: *f.maxDownload, Timeout: *f.dlTimeout}
	if eng.LLM, err = llmClient(*f.llmURL, *f.llmModel); err != nil {
		return nil, job, err
	}
	switch *f.speechKind {
	case "pocketsphinx", "sphinx":
		if lang != "" && lang != "en" && *f.transcriptF == "" {
			return nil, job, usageError{fmt.Sprintf("--language: pocketsphinx recognises English only, not %q; give --transcript or use --speech openai", lang)}
		}
	case "openai":
		if *f.speechURL == "" {
			return nil, job, usageError{"--speech openai needs --speech-url"}
		}
		eng.Speech = &speech.OpenAI{BaseURL: *f.speechURL, APIKey: os.Getenv("CLIPMILL_SPEECH_KEY"), Model: *f.speechModel}
	case "transcribe":
		if *f.speechBucket == "" {
			return nil, job, usageError{"--speech transcribe needs --speech-bucket"}
		}
		cfg, err := awsconfig.LoadDefaultConfig(context.Background())
		if err != nil {
			return nil, job, fmt.Errorf("--speech transcribe: AWS configuration: %w", err)
		}
		eng.Speech = speech.Transcribe{Client: transcribe.NewFromConfig(cfg), S3: s3.NewFromConfig(cfg), Bucket: *f.speechBucket}
	default:
		return nil, job, usageError{fmt.Sprintf("--speech: unknown recogniser %q; valid: pocketsphinx, openai, transcribe", *f.speechKind)}
	}
	out := *f.out
	if out == "" {
		base := filepath.Base(input)
		if strings.Contains(input, "://") {
			base = filepath.Base(strings.SplitN(strings.SplitN(input, "?", 2)[0], "#", 2)[0])
		}
		name := strings.TrimSuffix(base, filepath.Ext(base))
		if name == "" || name == "." || name == "/" {
			name = "clips"
		}
		out = filepath.Join("clips", name)
	}
	// Refuse a missing local file before creating any folder.
	if !strings.Contains(input, "://") {
		if _, err := source.Fetch(context.Background(), input, "", source.Limits{}, nil); err != nil {
			return nil, job, err
		}
	}
	job = engine.Job{Input: input, Title: *f.title, Language: lang, Settings: settings, Transcript: words, OutDir: out}
	return eng, job, nil
}

// jobContext is the context a command's job runs in: cancelled by Ctrl-C
// or SIGTERM, and at the timeout.
func jobContext(timeout time.Duration) (context.Context, func()) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, func() { cancel(); stop() }
}

func clipCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("clip", flag.ContinueOnError)
	f := addJobFlags(fs)
	statsF := fs.String("stats", "", "write stage timings as JSON to this file")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: clipmill clip INPUT [flags]\n\nINPUT is a video file or an https URL.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	eng, job, err := f.build("clip", pos)
	if err != nil {
		return err
	}
	ctx, done := jobContext(*f.engine.timeout)
	defer done()
	bar := newProgressBar(stderr)
	res, runErr := eng.Run(ctx, job, bar)
	bar.finish()
	return finish(ctx, stdout, job.OutDir, job.Settings.AspectRatio, res, runErr, *f.engine.timeout, *statsF)
}

// finish writes the manifest and the gallery of a run (a failed run too:
// its manifest says why), the stats if asked for, and the summary.
func finish(ctx context.Context, stdout io.Writer, out string, aspect clipping.AspectRatio, res *engine.Result, runErr error, timeout time.Duration, statsF string) error {
	manifest := clipping.Job{ID: ids.New(), CreatedAt: clipping.Ptr(time.Now().Unix()), Clips: []clipping.Clip{}}
	engine.Record(ctx, timeout, &manifest, aspect, res, runErr)
	if runErr != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			runErr = fmt.Errorf("stopped after --timeout %v", timeout)
		}
		// A failure replaces any earlier manifest, so none claims success.
		if err := writeOutputs(out, manifest); err != nil {
			return err
		}
		var se *source.Error
		if errors.As(runErr, &se) {
			return se
		}
		return runErr
	}
	if err := writeOutputs(out, manifest); err != nil {
		return err
	}
	if statsF != "" {
		if err := writeStats(statsF, res); err != nil {
			return err
		}
	}
	printSummary(stdout, out, manifest)
	return nil
}

// llmClient is the language model the flags name, or nil when --llm-url
// is empty. Its key comes from the environment, never from a flag, so that
// it does not show in the process list.
func llmClient(baseURL, model string) (*llm.Client, error) {
	if baseURL == "" {
		return nil, nil
	}
	if err := llm.ValidBaseURL(baseURL); err != nil {
		return nil, usageError{"--llm-url: " + err.Error()}
	}
	if model == "" {
		return nil, usageError{"--llm-model: is empty"}
	}
	return &llm.Client{BaseURL: baseURL, Model: model, APIKey: os.Getenv("CLIPMILL_LLM_KEY")}, nil
}

// writeOutputs writes index.html and then manifest.json, each through a
// temporary file and a rename, so a reader never sees half of either.
func writeOutputs(dir string, job clipping.Job) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := atomicWrite(filepath.Join(dir, "index.html"), func(w io.Writer) error {
		return gallery.Write(w, job)
	}); err != nil {
		return err
	}
	return atomicWrite(filepath.Join(dir, "manifest.json"), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(clipping.Data[clipping.Job]{Data: job})
	})
}

func atomicWrite(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func printSummary(w io.Writer, dir string, job clipping.Job) {
	for _, c := range job.Clips {
		if c.Status != clipping.ClipCompleted {
			fmt.Fprintf(w, "  %-5s failed: %s\n", c.DurationType, deref(c.FailureMessage))
			continue
		}
		fmt.Fprintf(w, "  %-5s %5.1f s  score %3d  %s\n        %s\n", c.DurationType, *c.DurationSeconds,
			*c.ViralityScore, *c.Title, filepath.Join(dir, *c.VideoURL))
	}
	fmt.Fprintf(w, "manifest: %s\ngallery:  %s\n", filepath.Join(dir, "manifest.json"), filepath.Join(dir, "index.html"))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

type statsJSON struct {
	WallSeconds           float64            `json:"wall_seconds"`
	ClipsWallSeconds      float64            `json:"clips_wall_seconds"`
	SourceDurationSeconds float64            `json:"source_duration_seconds"`
	Stages                map[string]float64 `json:"stages_seconds"`
	PeakRSSBytes          int64              `json:"peak_rss_bytes"`
	Clips                 []statsClip        `json:"clips"`
}

type statsClip struct {
	Start float64 `json:"start"`
	Dur   float64 `json:"duration"`
}

func writeStats(path string, res *engine.Result) error {
	s := statsJSON{
		WallSeconds:           res.Stats.Wall.Seconds(),
		ClipsWallSeconds:      res.Stats.Clips.Seconds(),
		SourceDurationSeconds: res.SourceDuration,
		Stages:                map[string]float64{},
		PeakRSSBytes:          peakRSS(),
	}
	for k, v := range res.Stats.Stages {
		s.Stages[k] = v.Seconds()
	}
	for _, c := range res.Clips {
		s.Clips = append(s.Clips, statsClip{c.Start, c.End - c.Start})
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// peakRSS is this process's own peak resident memory (ffmpeg and the
// recogniser run as children and are not counted).
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024
}
