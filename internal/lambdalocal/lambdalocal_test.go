package lambdalocal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/enginesteps"
	"github.com/clipmill/clipmill/internal/lambdaruntime"
	"github.com/clipmill/clipmill/internal/local"
	"github.com/clipmill/clipmill/internal/pipeline"
	"github.com/clipmill/clipmill/internal/sample/sampletest"
	"github.com/clipmill/clipmill/statemachine"
)

// sampleEvents are the files of events/, each with its function, in the
// order of a video's way through the stack: later events find in the
// bucket what earlier ones wrote.
var sampleEvents = []struct{ file, function string }{
	{"s3-put-sidecar.json", "SubmitFunction"},
	{"s3-put.json", "SubmitFunction"},
	{"poll-input.json", "PollFunction"},
	{"store-input.json", "StoreFunction"},
	{"store-failure-input.json", "StoreFunction"},
	{"engine-prepare.json", "EngineFunction"},
	{"transcribe-start.json", "TranscribeFunction"},
	{"transcribe-check.json", "TranscribeFunction"},
	{"engine-select.json", "EngineFunction"},
	{"engine-render.json", "EngineFunction"},
}

var functions = []string{"SubmitFunction", "PollFunction", "StoreFunction", "EngineFunction", "TranscribeFunction"}

// Every event in events/ is run, and every function gets one.
func TestEveryEventHasItsFunction(t *testing.T) {
	files, err := filepath.Glob("../../events/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var listed, got []string
	for _, e := range sampleEvents {
		listed = append(listed, e.file)
	}
	for _, f := range files {
		if f := filepath.Base(f); f != "local-env.json" {
			got = append(got, f)
		}
	}
	slices.Sort(listed)
	if !slices.Equal(listed, got) {
		t.Errorf("events/ holds %v; the test runs %v", got, listed)
	}
	for _, fn := range functions {
		if !slices.ContainsFunc(sampleEvents, func(e struct{ file, function string }) bool { return e.function == fn }) {
			t.Errorf("%s has no sample event", fn)
		}
	}
}

// TestFunctionsOnTheSampleEvents runs every function's real bootstrap,
// built for this machine, under the local runtime API on every sample
// event, against a clipmill local holding a generated video (ffmpeg's
// testsrc2 and a tone) with a transcript beside it. Each response must
// give the state machines' ResultSelector and Choice what they read, and
// each error the type their Retry and Catch match.
func TestFunctionsOnTheSampleEvents(t *testing.T) {
	sampletest.EndToEnd(t)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	if err := Build(ctx, "../..", bin, functions...); err != nil {
		t.Fatal(err)
	}
	t.Logf("built the functions in %v", time.Since(start).Round(time.Millisecond))
	var logs strings.Builder // one function at a time writes
	h, err := Start(ctx, Config{Root: "../..", Scratch: tmp, Bin: bin, Logs: &logs,
		// Faster clips; the template's veryfast is only slower.
		Env: map[string]string{"X264_PRESET": "ultrafast"}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	defer func() {
		if t.Failed() {
			t.Logf("the functions' logs:\n%s", logs.String())
		}
	}()
	data := h.cfg.Data
	seed(t, data)

	machines := map[string]*machine{"pipeline": parseMachine(t, statemachine.Pipeline), "engine": parseMachine(t, statemachine.Engine)}
	for _, e := range sampleEvents {
		event, err := os.ReadFile(filepath.Join("../../events", e.file))
		if err != nil {
			t.Fatal(err)
		}
		if e.file == "engine-render.json" {
			adoptClip(t, h, event)
		}
		began := time.Now()
		res, err := h.Invoke(ctx, e.function, event)
		if err != nil {
			t.Fatalf("%s: %v", e.file, err)
		}
		t.Logf("%s on %s: %v, %s", e.function, e.file, time.Since(began).Round(time.Millisecond), summary(res))
		switch e.file {
		case "poll-input.json", "store-input.json":
			// The scratch backend does not know the sample's job: no retry
			// mends that, and the state machine's Catch takes it.
			if res.Error == nil || res.Error.Type != "TerminalError" || !strings.Contains(res.Error.Message, "not_found") {
				t.Errorf("%s: %s, want a TerminalError for the unknown job", e.file, summary(res))
				continue
			}
			for _, m := range machines {
				m.checkTerminal(t, e.function, "", res.Error)
			}
			continue
		}
		if res.Error != nil {
			t.Errorf("%s: %s", e.file, summary(res))
			continue
		}
		checkResponse(t, e.file, res.Payload)
		step, states := stepOf(event), 0
		for _, m := range machines {
			states += m.checkResponse(t, e.file, e.function, step, res.Payload)
		}
		// S3 invokes submit; a state machine invokes the others.
		if states == 0 && e.function != "SubmitFunction" {
			t.Errorf("%s: no state of the state machines invokes %s for step %q", e.file, e.function, step)
		}
	}

	started := checkSubmitted(t, h, machines["pipeline"])
	checkFailures(t, h, machines, started)
	t.Logf("all in %v", time.Since(start).Round(time.Millisecond))
}

// seed puts the video the sample events name in the bucket, with its
// transcript beside it, and the settings submit resolved for the engine's
// execution (work/<execution>/request.json).
func seed(t *testing.T, data string) {
	t.Helper()
	video := filepath.Join(data, "inbox", "talk.mp4")
	out, err := exec.Command("ffmpeg", "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=24",
		"-f", "lavfi", "-i", "sine=frequency=220:sample_rate=44100:duration=24",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", video).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	var srt strings.Builder
	for i := range 8 {
		fmt.Fprintf(&srt, "%d\n00:00:%02d,000 --> 00:00:%02d,500\nThis is sentence number %d of the talk, which says something worth a clip.\n\n",
			i+1, 3*i, 3*i+2, i+1)
	}
	write(t, filepath.Join(data, "inbox", "talk.srt"), srt.String())
	var ex enginesteps.Request
	readEvent(t, "engine-prepare.json", &ex)
	req, _ := json.Marshal(clipping.CreateRequest{OutputSettings: clipping.OutputSettings{
		DurationTypes: []clipping.DurationType{clipping.Duration30}, AspectRatio: clipping.AspectSquare, Captions: true}})
	write(t, filepath.Join(data, ex.Execution.Work+pipeline.RequestFile), string(req))
}

// adoptClip names the first clip of the plan that the select step wrote
// as engine-render.json names its clip: the planner's ids are random. It
// goes through S3, which keeps the object's checksum beside the file.
func adoptClip(t *testing.T, h *Harness, event []byte) {
	t.Helper()
	var r enginesteps.Request
	json.Unmarshal(event, &r)
	bucket := &pipeline.S3Bucket{Bucket: local.Bucket, Client: s3.New(s3.Options{BaseEndpoint: aws.String(h.Local.S3URL),
		UsePathStyle: true, Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(local.AccessKeyID, local.SecretAccessKey, "")})}
	ctx := context.Background()
	b, found, err := bucket.Read(ctx, r.Clip.Plan, 64<<20)
	if err != nil || !found {
		t.Fatalf("the select step wrote no plan: %v", err)
	}
	var plan map[string]any
	json.Unmarshal(b, &plan)
	clips, _ := plan["clips"].([]any)
	if len(clips) == 0 {
		t.Fatalf("the plan has no clips: %s", b)
	}
	clips[0].(map[string]any)["id"] = r.Clip.Clip
	b, _ = json.Marshal(plan)
	if err := bucket.Put(ctx, r.Clip.Plan, strings.NewReader(string(b)), "application/json"); err != nil {
		t.Fatal(err)
	}
}

// checkResponse reads each response as the Go type its step returns,
// strictly, and checks what it says.
func checkResponse(t *testing.T, file string, payload json.RawMessage) {
	t.Helper()
	decode := func(v any) {
		dec := json.NewDecoder(strings.NewReader(string(payload)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Errorf("%s: %s: %v", file, payload, err)
		}
	}
	switch file {
	case "s3-put-sidecar.json":
		var out []pipeline.Submitted
		decode(&out)
		if len(out) != 1 || out[0].Key != "inbox/talk.json" || out[0].Skipped == "" {
			t.Errorf("%s: %s: want the settings file skipped", file, payload)
		}
	case "s3-put.json":
		var out []pipeline.Submitted
		decode(&out)
		if len(out) != 1 || out[0].Skipped != "" || out[0].Failure != "" || out[0].JobID == "" || !strings.HasPrefix(out[0].Execution, "talk-") {
			t.Errorf("%s: %s: want the video submitted", file, payload)
		}
	case "store-failure-input.json":
		var out pipeline.Stored
		decode(&out)
		if out.Manifest != "failed/talk.json" {
			t.Errorf("%s: %s", file, payload)
		}
	case "engine-prepare.json":
		var out pipeline.Prepared
		decode(&out)
		if !out.HasAudio || out.Duration < 23 || out.Transcript != "inbox/talk.srt" || out.NeedsTranscription {
			t.Errorf("%s: %s: want the video's sound and the transcript beside it", file, payload)
		}
	case "transcribe-start.json", "transcribe-check.json":
		var out pipeline.Transcription
		decode(&out)
		if !strings.HasPrefix(out.Job, "clipmill-talk-") || out.Status != "running" || out.Wait < 1 {
			t.Errorf("%s: %s", file, payload)
		}
	case "engine-select.json":
		var out pipeline.Planned
		decode(&out)
		if !strings.HasSuffix(out.Plan, "/plan.json") || len(out.Clips) == 0 {
			t.Errorf("%s: %s: want a plan with clips", file, payload)
		}
	case "engine-render.json":
		var out pipeline.Rendered
		decode(&out)
		if out.Status != "completed" || out.SourceBytes <= 0 || !strings.HasSuffix(out.Clip, out.ID+".json") {
			t.Errorf("%s: %s: want a rendered clip", file, payload)
		}
	default:
		t.Errorf("%s: no check for its response %s", file, payload)
	}
}

// checkSubmitted: what submit asked of Secrets Manager and Step
// Functions, exactly, and a poll of the execution it started, whose job
// the local backend knows. It returns the execution's input.
func checkSubmitted(t *testing.T, h *Harness, m *machine) []byte {
	t.Helper()
	var env map[string]map[string]string
	readEvent(t, "local-env.json", &env)
	var secretCalls, starts []Call
	for _, c := range h.AWS.Calls() {
		switch c.Target {
		case "secretsmanager.GetSecretValue":
			secretCalls = append(secretCalls, c)
		case "AWSStepFunctions.StartExecution":
			starts = append(starts, c)
		case "Transcribe.StartTranscriptionJob", "Transcribe.GetTranscriptionJob":
		default:
			t.Errorf("a call to %s: %s", c.Target, c.Body)
		}
	}
	// Each api function reads the key once, at init: one read per start
	// of a function that needs it.
	keyReads := 0
	for _, e := range sampleEvents {
		if v := env[e.function]; v["API_KEY_ID"] != "" && v["BACKEND"] != "engine" {
			keyReads++
		}
	}
	if want := keyReads; len(secretCalls) != want {
		t.Errorf("%d GetSecretValue calls, want %d (one per start of an api function)", len(secretCalls), want)
	}
	for _, c := range secretCalls {
		if string(c.Body) != `{"SecretId":"`+env["PollFunction"]["API_KEY_ID"]+`"}` {
			t.Errorf("GetSecretValue %s", c.Body)
		}
	}
	if len(starts) != 1 {
		t.Fatalf("StartExecution calls: %v", starts)
	}
	var start struct {
		StateMachineArn string `json:"stateMachineArn"`
		Name            string `json:"name"`
		Input           string `json:"input"`
	}
	dec := json.NewDecoder(strings.NewReader(string(starts[0].Body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&start); err != nil {
		t.Fatalf("StartExecution %s: %v", starts[0].Body, err)
	}
	var ex pipeline.Execution
	if err := json.Unmarshal([]byte(start.Input), &ex); err != nil {
		t.Fatal(err)
	}
	if start.StateMachineArn != env["SubmitFunction"]["STATE_MACHINE_ARN"] || !strings.HasPrefix(start.Name, "talk-") ||
		ex.Source.Key != "inbox/talk.mp4" || ex.Backend != h.Local.APIURL || ex.JobID == "" || ex.Poll.Wait < 1 {
		t.Errorf("StartExecution %s", starts[0].Body)
	}
	// The execution's first state after Wait: a poll of the job submit
	// created, on the local backend.
	res, err := h.Invoke(context.Background(), "PollFunction", []byte(start.Input))
	if err != nil || res.Error != nil {
		t.Fatalf("poll of the started execution: %s %v", summary(res), err)
	}
	var p pipeline.Poll
	if err := json.Unmarshal(res.Payload, &p); err != nil || p.Attempt != 1 || p.Status == "" {
		t.Errorf("poll %s", res.Payload)
	}
	if m.checkResponse(t, "the started execution", "PollFunction", "", res.Payload) == 0 {
		t.Error("no state invokes PollFunction")
	}
	return []byte(start.Input)
}

// checkFailures: what the state machines match on, from the real
// binaries. A backend that does not answer is a RetryableError, which
// each Task's Retry lists; a function past its Timeout is Sandbox.Timedout,
// listed beside it; a missing variable fails the init, naming it.
func checkFailures(t *testing.T, h *Harness, machines map[string]*machine, poll []byte) {
	t.Helper()
	ctx := context.Background()

	// Nothing listens: the backend is down.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	fn, _ := h.Function("PollFunction")
	fn.Env["BACKEND_URL"] = down
	res, err := lambdaruntime.Invoke(ctx, fn, poll)
	if err != nil || res.Error == nil || res.Error.Type != "RetryableError" {
		t.Errorf("backend down: %s %v, want a RetryableError", summary(res), err)
	} else {
		machines["pipeline"].checkRetried(t, "PollFunction", "", res.Error)
	}

	// A backend that takes the request and never answers, and a Timeout
	// shorter than the template's 30 s: the handler's deadline ends its
	// wait, and Lambda reports the timeout.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(io.Discard, c) // until the function gives up
				c.Close()
			}()
		}
	}()
	fn, _ = h.Function("PollFunction")
	fn.Env["BACKEND_URL"], fn.Timeout = "http://"+hang.Addr().String(), 2*time.Second
	res, err = lambdaruntime.Invoke(ctx, fn, poll)
	if err != nil || res.Error == nil || res.Error.Type != lambdaruntime.ErrTimedOut || res.Duration > 3*time.Second {
		t.Errorf("backend hangs: %s %v, want Sandbox.Timedout after 2 s", summary(res), err)
	} else {
		machines["pipeline"].checkRetried(t, "PollFunction", "", res.Error)
	}

	for id, missing := range map[string]string{"SubmitFunction": "STATE_MACHINE_ARN", "StoreFunction": "BUCKET_NAME",
		"EngineFunction": "BUCKET_NAME", "TranscribeFunction": "BUCKET_NAME", "PollFunction": "API_KEY_ID"} {
		fn, _ := h.Function(id)
		delete(fn.Env, missing)
		res, err := lambdaruntime.Invoke(ctx, fn, []byte(`{}`))
		if err != nil || res.Error == nil || res.Error.Type != "Runtime.InitError" || !strings.HasPrefix(res.Error.Message, missing+" is not set") {
			t.Errorf("%s without %s: %s %v", id, missing, summary(res), err)
		}
	}
}

// machine is a state machine definition, as data: what its Task states
// read of each function's response, and what its Choice, Wait and Map
// states read of the state.
type machine struct {
	tasks []task
	reads []rule // Choice variables, Wait SecondsPaths, Map ItemsPaths
}

type task struct {
	name, function, step string
	selector             map[string]string // result field -> $.Payload path
	resultPath           string
	retry                [][]string
}

type rule struct{ variable, op string }

func parseMachine(t *testing.T, def []byte) *machine {
	t.Helper()
	var d struct {
		States map[string]json.RawMessage
	}
	if err := json.Unmarshal(def, &d); err != nil {
		t.Fatal(err)
	}
	m := &machine{}
	m.add(t, d.States, "")
	if len(m.tasks) == 0 {
		t.Fatal("no Task states")
	}
	return m
}

type state struct {
	Type       string
	Next       string
	Parameters struct {
		FunctionName string
		Payload      json.RawMessage
	}
	ResultSelector map[string]string
	ResultPath     string
	Retry          []struct{ ErrorEquals []string }
	Choices        []json.RawMessage
	SecondsPath    string
	ItemsPath      string
	ItemSelector   struct{ Step string }
	ItemProcessor  struct{ States map[string]json.RawMessage }
}

func (m *machine) add(t *testing.T, raw map[string]json.RawMessage, mapStep string) {
	for name, r := range raw {
		var s state
		if err := json.Unmarshal(r, &s); err != nil {
			t.Fatalf("state %s: %v", name, err)
		}
		switch s.Type {
		case "Map":
			m.reads = append(m.reads, rule{s.ItemsPath, "ItemsPath"})
			m.add(t, s.ItemProcessor.States, s.ItemSelector.Step)
		case "Choice":
			for _, c := range s.Choices {
				for _, r := range rules(c) {
					if !slices.Contains(m.reads, r) {
						m.reads = append(m.reads, r)
					}
				}
			}
		case "Wait":
			if s.SecondsPath != "" {
				m.reads = append(m.reads, rule{s.SecondsPath, "SecondsPath"})
			}
		case "Task":
			fn := strings.TrimSuffix(strings.TrimPrefix(s.Parameters.FunctionName, "${"), "Arn}")
			var payload struct{ Step string }
			json.Unmarshal(s.Parameters.Payload, &payload)
			step := payload.Step
			if step == "" {
				step = mapStep
			}
			tk := task{name: name, function: fn, step: step, selector: s.ResultSelector, resultPath: s.ResultPath}
			for _, r := range s.Retry {
				tk.retry = append(tk.retry, r.ErrorEquals)
			}
			m.tasks = append(m.tasks, tk)
		}
	}
}

// rules flattens a choice rule (Or, And, Not included) into its
// variables and operators.
func rules(raw json.RawMessage) []rule {
	var c map[string]json.RawMessage
	json.Unmarshal(raw, &c)
	var out []rule
	for _, k := range []string{"Or", "And"} {
		var subs []json.RawMessage
		json.Unmarshal(c[k], &subs)
		for _, s := range subs {
			out = append(out, rules(s)...)
		}
	}
	if n, ok := c["Not"]; ok {
		out = append(out, rules(n)...)
	}
	var v string
	json.Unmarshal(c["Variable"], &v)
	for k := range c {
		if k != "Variable" && k != "Next" && k != "Or" && k != "And" && k != "Not" {
			out = append(out, rule{v, k})
		}
	}
	return out
}

func (m *machine) of(function, step string) []task {
	var out []task
	for _, tk := range m.tasks {
		if tk.function == function && tk.step == step {
			out = append(out, tk)
		}
	}
	return out
}

// checkResponse applies each ResultSelector that reads the function's
// response for the step, as Step Functions would (a path not in the
// response is a States.Runtime error there), and checks the type of what
// the Choice, Wait and Map states read of the result where ResultPath
// puts it. It returns how many states read it.
func (m *machine) checkResponse(t *testing.T, what, function, step string, payload json.RawMessage) int {
	t.Helper()
	var p any
	if err := json.Unmarshal(payload, &p); err != nil {
		t.Errorf("%s: %v", what, err)
		return 0
	}
	for _, tk := range m.of(function, step) {
		result := map[string]any{}
		for field, path := range tk.selector {
			v, ok := lookup(map[string]any{"Payload": p}, path)
			if !ok {
				t.Errorf("%s: state %s: ResultSelector reads %s, which the response %s lacks", what, tk.name, path, payload)
				continue
			}
			result[strings.TrimSuffix(field, ".$")] = v
		}
		for _, r := range m.reads {
			rest, ok := strings.CutPrefix(r.variable, tk.resultPath+".")
			if !ok {
				continue // not this state's result
			}
			v, ok := lookup(result, "$."+rest)
			var typed bool
			switch {
			case strings.HasPrefix(r.op, "String"):
				_, typed = v.(string)
			case strings.HasPrefix(r.op, "Numeric"), r.op == "SecondsPath":
				_, typed = v.(float64)
			case strings.HasPrefix(r.op, "Boolean"):
				_, typed = v.(bool)
			case r.op == "ItemsPath":
				_, typed = v.([]any)
			default:
				typed = true
			}
			if !ok || !typed {
				t.Errorf("%s: state %s: the state machine reads %s with %s; the result has %v", what, tk.name, r.variable, r.op, v)
			}
		}
	}
	return len(m.of(function, step))
}

// checkRetried: a Retry of each state that invokes the function lists the
// error's type.
func (m *machine) checkRetried(t *testing.T, function, step string, e *lambdaruntime.FunctionError) {
	t.Helper()
	tasks := m.of(function, step)
	if len(tasks) == 0 {
		t.Errorf("no state invokes %s", function)
	}
	for _, tk := range tasks {
		if !slices.ContainsFunc(tk.retry, func(l []string) bool { return slices.Contains(l, e.Type) }) {
			t.Errorf("state %s: no Retry lists %s", tk.name, e.Type)
		}
	}
}

// checkTerminal: no Retry of the states that invoke the function matches
// the error (it goes to the Catch at once), and it is the pipeline's
// TerminalError by name.
func (m *machine) checkTerminal(t *testing.T, function, step string, e *lambdaruntime.FunctionError) {
	t.Helper()
	if e.Type != "TerminalError" {
		t.Errorf("%s error type %q", function, e.Type)
	}
	for _, tk := range m.of(function, step) {
		for _, l := range tk.retry {
			if slices.Contains(l, e.Type) || slices.Contains(l, "States.ALL") {
				t.Errorf("state %s retries %s", tk.name, e.Type)
			}
		}
	}
}

func lookup(v any, path string) (any, bool) {
	if path == "$" {
		return v, true
	}
	for _, k := range strings.Split(strings.TrimPrefix(path, "$."), ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

func stepOf(event []byte) string {
	var r struct{ Step string }
	json.Unmarshal(event, &r)
	return r.Step
}

func summary(res lambdaruntime.Result) string {
	if res.Error != nil {
		return fmt.Sprintf("error %s: %s", res.Error.Type, res.Error.Message)
	}
	s := string(res.Payload)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return "response " + s
}

func readEvent(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../events", file))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func write(t *testing.T, file, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
