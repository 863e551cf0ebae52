package enginesteps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine"
	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/engine/speech"
	"github.com/clipmill/clipmill/internal/engine/speech/transcribetest"
	"github.com/clipmill/clipmill/internal/pipeline"
	"github.com/clipmill/clipmill/internal/sample"
	"github.com/clipmill/clipmill/internal/sample/sampletest"
	"github.com/clipmill/clipmill/statemachine/sfntest"
)

// These tests run the real definition, statemachine/engine.asl.json, in
// aws-local-stepfunctions (npm), an independent implementation of Step
// Functions. Its Lambda tasks are the Go handlers: Steps.Handle for the
// engine and transcribe functions (real ffmpeg on a generated talk in
// gofakes3, and Amazon Transcribe's real SDK client against a fake that
// answers as AWS does), and pipeline.Store for the store function.

// talk is a generated 70 s talk, made once for all the tests.
var talk = sync.OnceValues(func() (*sample.Result, error) {
	dir, err := os.MkdirTemp("", "enginesteps-talk-")
	if err != nil {
		return nil, err
	}
	return sample.Generate(context.Background(), ffmpeg.Binaries{}, sample.Options{
		Seconds: 70, Width: 320, Height: 180, Out: filepath.Join(dir, "talk.mp4")})
})

// world is a bucket holding the talk, a fake Transcribe, and the steps.
type world struct {
	t      *testing.T
	talk   *sample.Result
	aws    transcribetest.Clients
	bucket *pipeline.S3Bucket
	pipe   *pipeline.Pipeline
	steps  *Steps
	// render, when set, answers the render step instead of the engine.
	render func(in pipeline.RenderInput) (any, error)
	// throttle makes a step's next calls fail as Lambda throttling does.
	throttle map[string]int

	mu    sync.Mutex
	calls map[string]int // by step
}

func newWorld(t *testing.T, settings string) *world {
	t.Helper()
	sampletest.EndToEnd(t)
	res, err := talk()
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, talk: res, aws: transcribetest.New(t), throttle: map[string]int{}, calls: map[string]int{}}
	w.aws.Fake.ResultFor = func(map[string]any) string { return transcribeResult(res.Sentences) }
	w.bucket = &pipeline.S3Bucket{Client: w.aws.S3, Bucket: transcribetest.Bucket}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w.pipe = &pipeline.Pipeline{Bucket: w.bucket, Engine: true, BackendURL: pipeline.BackendEngine, Log: log,
		Defaults: clipping.CreateRequest{OutputSettings: clipping.DefaultOutputSettings()}}
	w.steps = &Steps{
		Bucket: w.bucket, Scratch: t.TempDir(), Log: log,
		Engine:     &engine.Engine{Encoder: render.Encoder{Preset: "ultrafast"}, Log: log},
		Recogniser: speech.Transcribe{Client: w.aws.Transcribe, S3: w.aws.S3, Bucket: transcribetest.Bucket},
	}
	video, err := os.Open(res.Video)
	if err != nil {
		t.Fatal(err)
	}
	defer video.Close()
	ctx := context.Background()
	if err := w.bucket.Put(ctx, "inbox/talk.mp4", video, "video/mp4"); err != nil {
		t.Fatal(err)
	}
	if settings != "" {
		if err := w.bucket.Put(ctx, "inbox/talk.json", strings.NewReader(settings), "application/json"); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// transcribeResult is what Transcribe writes for the talk: its sentences'
// words, spread over each sentence's time.
func transcribeResult(ss []sample.Sentence) string {
	var items []map[string]any
	for _, s := range ss {
		words := strings.Fields(s.Text)
		step := (s.End - s.Start) / float64(len(words))
		for i, word := range words {
			text := strings.TrimRight(word, ".,?!")
			a := s.Start + float64(i)*step
			items = append(items, map[string]any{"type": "pronunciation", "start_time": fmt.Sprintf("%.3f", a),
				"end_time": fmt.Sprintf("%.3f", a+step*0.9), "alternatives": []map[string]string{{"confidence": "0.98", "content": text}}})
			if p := word[len(text):]; p != "" {
				items = append(items, map[string]any{"type": "punctuation", "alternatives": []map[string]string{{"confidence": "0.0", "content": p}}})
			}
		}
	}
	b, _ := json.Marshal(map[string]any{"jobName": "x", "results": map[string]any{"language_code": "en-US", "items": items}})
	return string(b)
}

// submit puts the video through the real submit step and returns the
// execution it would start.
func (w *world) submit() pipeline.Execution {
	w.t.Helper()
	st := &recorder{}
	w.pipe.Starter = st
	ctx := context.Background()
	obj, _, err := w.bucket.Head(ctx, "inbox/talk.mp4", "")
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.pipe.Submit(ctx, pipeline.Source{Bucket: transcribetest.Bucket, Key: "inbox/talk.mp4", ETag: obj.ETag, LastModified: obj.LastModified}); err != nil {
		w.t.Fatal(err)
	}
	if len(st.started) != 1 {
		w.t.Fatalf("%d executions started", len(st.started))
	}
	ex := st.started[0].ex
	ex.Limits.MaxAttempts = 20
	return ex
}

type recorder struct {
	mu      sync.Mutex
	started []struct {
		name string
		ex   pipeline.Execution
	}
}

func (r *recorder) Start(_ context.Context, name string, ex pipeline.Execution) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, struct {
		name string
		ex   pipeline.Execution
	}{name, ex})
	return nil
}

// run executes engine.asl.json in aws-local-stepfunctions on ex.
func (w *world) run(ex pipeline.Execution) sfntest.Result {
	w.t.Helper()
	return sfntest.Run(w.t, "engine.asl.json", w.handle, ex)
}

// lambdaError is an error the Lambda service raises itself (throttling).
type lambdaError struct{ name string }

func (e *lambdaError) Error() string     { return "Rate exceeded." }
func (e *lambdaError) ErrorType() string { return e.name }

func (w *world) handle(ctx context.Context, fn string, payload json.RawMessage) (any, error) {
	if fn == "store" {
		var in pipeline.StoreInput
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, err
		}
		return w.pipe.Store(ctx, in)
	}
	var req Request
	if err := json.Unmarshal(payload, &req); err != nil {
		return nil, err
	}
	step := req.Step
	w.mu.Lock()
	w.calls[step]++
	throttled := w.throttle[step] > 0
	if throttled {
		w.throttle[step]--
	}
	w.mu.Unlock()
	switch {
	case fn == "transcribe" && step != StepStartTranscribe && step != StepCheckTranscribe,
		fn == "engine" && (step == StepStartTranscribe || step == StepCheckTranscribe):
		w.t.Errorf("the %s function was sent step %s", fn, step)
	case throttled:
		return nil, &lambdaError{"Lambda.TooManyRequestsException"}
	case step == StepRender && w.render != nil:
		return w.render(*req.Clip)
	}
	return w.steps.Handle(ctx, req)
}

// fakeRender answers the render step as Steps.Render does, without
// rendering: a completed clip's resource and files, or a failed one.
func (w *world) fakeRender(fail func(id string) error) func(in pipeline.RenderInput) (any, error) {
	return func(in pipeline.RenderInput) (any, error) {
		ctx := context.Background()
		out := pipeline.Rendered{ID: in.Clip, Status: "completed", Clip: in.Work + pipeline.ClipsDir + in.Clip + ".json"}
		c := clipping.Clip{ID: in.Clip, Status: clipping.ClipCompleted, Title: clipping.Ptr("A clip"),
			VideoURL: clipping.Ptr("clips/" + in.Name + "/" + in.Clip + ".mp4")}
		if err := fail(in.Clip); err != nil {
			var le *lambdaError
			if errors.As(err, &le) {
				return nil, err
			}
			out.Status = "failed"
			c = clipping.Clip{ID: in.Clip, Status: clipping.ClipFailed, FailureMessage: clipping.Ptr(err.Error())}
		} else if err := w.bucket.Put(ctx, *c.VideoURL, strings.NewReader("video"), "video/mp4"); err != nil {
			return nil, err
		}
		b, _ := json.Marshal(c)
		return out, w.bucket.Put(ctx, out.Clip, strings.NewReader(string(b)), "application/json")
	}
}

func (w *world) read(key string) string {
	w.t.Helper()
	b, found, err := w.bucket.Read(context.Background(), key, 1<<20)
	if err != nil || !found {
		w.t.Fatalf("%s: found %v, %v", key, found, err)
	}
	return string(b)
}

func (w *world) exists(key string) bool {
	_, found, err := w.bucket.Head(context.Background(), key, "")
	if err != nil {
		w.t.Fatal(err)
	}
	return found
}

func fileSize(t *testing.T, p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// The whole path on real media: Transcribe twice in progress, then done;
// the plan from its words; the clip rendered by ffmpeg; the manifest.
func TestStepFunctionsCompleted(t *testing.T) {
	w := newWorld(t, `{"title":"Saving money","output_settings":{"duration_types":["30"],"aspect_ratio":"square","captions":true}}`)
	w.aws.Fake.Polls = 2
	ex := w.submit()
	res := w.run(ex)
	if res.Status != "SUCCEEDED" {
		t.Fatalf("%+v", res)
	}
	want := "Prepare,Transcribe?,StartTranscription,WaitTranscription,CheckTranscription,Transcribed?," +
		"WaitTranscription,CheckTranscription,Transcribed?,WaitTranscription,CheckTranscription,Transcribed?," +
		"Select,Render,RenderClip,Store,Stored"
	if got := res.Path(); got != want {
		t.Errorf("states\n%s\nwant\n%s", got, want)
	}
	// The state stays small: keys and ids.
	if len(res.Output) > 4096 {
		t.Errorf("the final state is %d bytes", len(res.Output))
	}
	// The render read its part of the source through ranges, not the
	// whole file: 30 s of 70 s.
	var final pipeline.Execution
	json.Unmarshal(res.Output, &final)
	size := fileSize(t, w.talk.Video)
	if len(final.Rendered) != 1 || final.Rendered[0].SourceBytes <= 0 || final.Rendered[0].SourceBytes > size*7/10 {
		t.Errorf("rendered %+v of a %d-byte source", final.Rendered, size)
	} else {
		t.Logf("the render read %d of %d bytes (%.0f%%)", final.Rendered[0].SourceBytes, size, 100*float64(final.Rendered[0].SourceBytes)/float64(size))
	}
	var m pipeline.Manifest
	if err := json.Unmarshal([]byte(w.read("clips/talk/manifest.json")), &m); err != nil {
		t.Fatal(err)
	}
	if m.Status != "completed" || m.Backend != "engine" || len(m.Clips) != 1 || *m.Title != "Saving money" || *m.InputLanguage != "en" {
		t.Fatalf("manifest %+v", m)
	}
	c := m.Clips[0]
	// The words are Transcribe's, which are the talk's.
	if c.Status != clipping.ClipCompleted || !strings.Contains(*c.Transcript, "Why do most people fail at saving money?") || *c.AspectRatio != clipping.AspectSquare {
		t.Errorf("clip %+v", c)
	}
	// Its files are in the bucket, and the video plays through its URL.
	for _, kind := range []string{"video", "thumbnail", "captions_srt", "captions_vtt"} {
		key := strings.TrimPrefix(c.Files[kind], "s3://media/")
		if !strings.HasPrefix(key, "clips/talk/") || !w.exists(key) {
			t.Errorf("%s: %q is not in the bucket", kind, c.Files[kind])
		}
	}
	probe, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0", *c.VideoURL).Output()
	if err != nil || !strings.Contains(string(probe), "1080,1080") {
		t.Errorf("ffprobe %s: %q, %v", *c.VideoURL, probe, err)
	}
	// Transcribe was asked once, with the language left to identify, and
	// the job is named after the execution.
	starts := w.aws.Fake.Starts()
	if len(starts) != 1 || starts[0]["TranscriptionJobName"] != jobName(ex.Work) || starts[0]["IdentifyLanguage"] != true {
		t.Errorf("starts %v", starts)
	}
	// The audio is gone; the plan stays.
	for _, f := range pipeline.AudioFiles {
		if w.exists(ex.Work + f) {
			t.Errorf("%s left behind", f)
		}
	}
	if !w.exists(ex.Work + "plan.json") {
		t.Error("no plan.json")
	}
}

func TestStepFunctionsTranscriptionFailed(t *testing.T) {
	w := newWorld(t, "")
	w.aws.Fake.Reason = "The media format provided does not match the detected media format."
	res := w.run(w.submit())
	// The library reports a Fail state as an ExecutionError with its Cause.
	if res.Status != "FAILED" || !strings.Contains(res.Cause, "see failed/<video name>.json") || !strings.HasSuffix(res.Path(), "Transcribed?,StoreFailure,Failed") {
		t.Fatalf("%+v", res)
	}
	if rec := w.read("failed/talk.json"); !strings.Contains(rec, "Speech recognition failed: The media format provided does not match") {
		t.Errorf("record %s", rec)
	}
	if w.calls[StepSelect] != 0 {
		t.Error("select ran after a failed transcription")
	}
}

// A sidecar transcript replaces Transcribe; one clip of two fails, and the
// other is stored with the failure beside it in the manifest.
func TestStepFunctionsOneClipFails(t *testing.T) {
	w := newWorld(t, `{"output_settings":{"duration_types":["30","60"]}}`)
	if err := w.bucket.Put(context.Background(), "inbox/talk.srt", strings.NewReader(sample.SRT(w.talk.Sentences)), "application/x-subrip"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	first := ""
	w.render = w.fakeRender(func(id string) error {
		mu.Lock()
		defer mu.Unlock()
		if first == "" || first == id {
			first = id
			return errors.New("The clip's part of the source could not be read.")
		}
		return nil
	})
	res := w.run(w.submit())
	if res.Status != "SUCCEEDED" || strings.Contains(res.Path(), "Transcription") {
		t.Fatalf("%+v", res)
	}
	if len(w.aws.Fake.Starts()) != 0 {
		t.Error("Transcribe was asked despite the sidecar")
	}
	var m pipeline.Manifest
	json.Unmarshal([]byte(w.read("clips/talk/manifest.json")), &m)
	if len(m.Clips) != 2 {
		t.Fatalf("manifest %+v", m)
	}
	statuses := map[clipping.ClipStatus]int{}
	for _, c := range m.Clips {
		statuses[c.Status]++
		if c.Status == clipping.ClipFailed && (c.FailureMessage == nil || !strings.Contains(*c.FailureMessage, "could not be read")) {
			t.Errorf("failed clip %+v", c)
		}
	}
	if statuses[clipping.ClipCompleted] != 1 || statuses[clipping.ClipFailed] != 1 {
		t.Errorf("statuses %v", statuses)
	}
}

// When no clip renders, StoreFailure writes the video's failure; a render
// function that crashes (a Lambda timeout) counts as a failed clip.
func TestStepFunctionsEveryClipFails(t *testing.T) {
	w := newWorld(t, `{"output_settings":{"duration_types":["30","60"]}}`)
	w.bucket.Put(context.Background(), "inbox/talk.srt", strings.NewReader(sample.SRT(w.talk.Sentences)), "application/x-subrip")
	crashed := false
	var mu sync.Mutex
	w.render = func(in pipeline.RenderInput) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		if !crashed {
			crashed = true
			return nil, &lambdaError{"Sandbox.Timedout"}
		}
		return w.fakeRender(func(string) error { return errors.New("The encoder ran out of memory.") })(in)
	}
	res := w.run(w.submit())
	if res.Status != "FAILED" || !strings.HasSuffix(res.Path(), "Store,StoreFailure,Failed") {
		t.Fatalf("%+v", res)
	}
	rec := w.read("failed/talk.json")
	if !strings.Contains(rec, "No clip could be rendered (2 tried)") {
		t.Errorf("record %s", rec)
	}
	if w.exists("clips/talk/manifest.json") {
		t.Error("a manifest was written")
	}
}

// Throttled invocations are retried; a duplicate S3 event starts nothing
// new: both submits name the same execution.
func TestStepFunctionsThrottledAndDuplicate(t *testing.T) {
	w := newWorld(t, `{"output_settings":{"duration_types":["30"]}}`)
	w.bucket.Put(context.Background(), "inbox/talk.srt", strings.NewReader(sample.SRT(w.talk.Sentences)), "application/x-subrip")
	w.render = w.fakeRender(func(string) error { return nil })
	w.throttle[StepPrepare] = 2
	w.throttle[StepRender] = 1
	ex := w.submit()
	again := w.submit()
	if again.Work != ex.Work {
		t.Errorf("a repeated event names another execution: %s, %s", again.Work, ex.Work)
	}
	res := w.run(ex)
	if res.Status != "SUCCEEDED" {
		t.Fatalf("%+v", res)
	}
	if w.calls[StepPrepare] != 3 || w.calls[StepRender] != 2 {
		t.Errorf("calls %v; want prepare 3 (two throttled), render 2 (one throttled)", w.calls)
	}
	w.read("clips/talk/manifest.json")
}

func TestStepFunctionsAttemptCap(t *testing.T) {
	w := newWorld(t, "")
	w.aws.Fake.Polls = 1 << 30
	ex := w.submit()
	ex.Limits.MaxAttempts = 3
	res := w.run(ex)
	if res.Status != "FAILED" || strings.Count(res.Path(), "CheckTranscription") != 3 {
		t.Fatalf("%+v", res)
	}
	if rec := w.read("failed/talk.json"); !strings.Contains(rec, "Speech recognition did not finish after 3 checks") {
		t.Errorf("record %s", rec)
	}
	if w.exists(ex.Work + "audio.wav") {
		t.Error("the audio was left behind")
	}
}
