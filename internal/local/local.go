// Package local runs the whole drop-folder pipeline on one machine, with no
// AWS and no keys: an embedded S3-compatible server whose bucket is a
// folder, clipmill's own API server as the backend, and the same submit,
// poll and store code stepped through the same state machine definition
// that Step Functions runs.
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clipmill/clipmill/internal/asl"
	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/enginesteps"
	"github.com/clipmill/clipmill/internal/heygen"
	"github.com/clipmill/clipmill/internal/netguard"
	"github.com/clipmill/clipmill/internal/pipeline"
	"github.com/clipmill/clipmill/internal/server"
	"github.com/clipmill/clipmill/statemachine"
)

// Bucket is the local bucket's name.
const Bucket = "clipmill"

// Config is the local pipeline's settings.
type Config struct {
	DataDir string // the bucket: inbox/, clips/, failed/
	// StateDir holds the local server's database, secrets, executions and
	// scratch files: outside the bucket, so that no S3 request reaches
	// them. Default: the data folder's name with ".state", beside it.
	StateDir string
	S3Addr   string // HOST:PORT for the S3 endpoint; "" picks a free loopback port
	// Defaults are the settings when a video has no settings file.
	Defaults         clipping.CreateRequest
	PollMin, PollMax time.Duration
	MaxAttempts      int
	JobTimeout       time.Duration
	Scan             time.Duration // how often inbox/ is looked at
	// Sweep is how often inbox videos with no outcome and nothing running
	// are looked for (and at start); default a minute.
	Sweep   time.Duration
	Encoder render.Encoder
	// Backend is BackendEngine to run statemachine/engine.asl.json (the
	// stack's own engine, with local recognition for Transcribe), or
	// BackendAPI (the default) to send jobs to a local clipmill server
	// through statemachine/pipeline.asl.json.
	Backend string
	// RenderConcurrency is how many clips the engine renders at once.
	RenderConcurrency int
	// NoWatch serves the bucket and the API alone: nothing submits what
	// lands in inbox/. clipmill invoke runs the submit function itself.
	NoWatch bool
	Log     *slog.Logger
}

// The backends a local pipeline runs.
const (
	BackendAPI    = "api"
	BackendEngine = "engine"
)

// Local is a running pipeline.
type Local struct {
	cfg      Config
	S3URL    string // the S3 endpoint any S3 client can use (path style)
	APIURL   string // the clipmill API the pipeline submits to
	APIKey   string // its key
	pipe     *pipeline.Pipeline
	s3       *s3.Client // the pipeline's own client of the endpoint
	machine  []byte
	steps    *enginesteps.Steps // the engine backend's steps
	srv      *server.Server
	servers  []*http.Server
	work     context.Context
	stopWork context.CancelFunc
	runs     sync.WaitGroup
	saving   sync.Mutex // one write of executions.json at a time

	mu       sync.Mutex
	started  map[string]*execution // by name, as Step Functions keeps them
	running  map[string]bool       // executions running in this process
	seen     map[string]string     // inbox key -> size/mtime already submitted
	pending  map[string]string     // inbox key -> size/mtime seen once, waiting to settle
	statePth string
	active   int
	scans    int
	idle     chan struct{}
}

// Start brings everything up; it stops when ctx ends. Close waits.
func Start(ctx context.Context, cfg Config) (*Local, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Scan <= 0 {
		cfg.Scan = time.Second
	}
	if cfg.Sweep <= 0 {
		cfg.Sweep = time.Minute
	}
	for _, d := range []string{"inbox", "clips", "failed"} {
		if err := os.MkdirAll(filepath.Join(cfg.DataDir, d), 0o755); err != nil {
			return nil, fmt.Errorf("data folder: %w", err)
		}
	}
	var err error
	if cfg.StateDir, err = stateDir(cfg.DataDir, cfg.StateDir, cfg.Log); err != nil {
		return nil, err
	}
	l := &Local{cfg: cfg, started: map[string]*execution{}, running: map[string]bool{}, seen: map[string]string{}, pending: map[string]string{},
		statePth: filepath.Join(cfg.StateDir, "executions.json"), idle: make(chan struct{}, 1)}
	if b, err := os.ReadFile(l.statePth); err == nil {
		if err := json.Unmarshal(b, &l.started); err != nil {
			// Its videos are submitted again, under the same names.
			cfg.Log.Warn("unreadable executions.json: starting afresh", "err", err)
			l.started = map[string]*execution{}
		}
	}

	// The S3 endpoint: the bucket is the data folder itself, so a file
	// copied into inbox/ and an object uploaded through S3 are the same.
	h, err := s3Handler(cfg.DataDir, time.Now)
	if err != nil {
		return nil, err
	}
	s3ln, err := listen(cfg.S3Addr)
	if err != nil {
		return nil, err
	}
	l.S3URL = "http://" + s3ln.Addr().String()
	l.serve(s3ln, h)

	work, stop := context.WithCancel(ctx)
	l.work, l.stopWork = work, stop
	var backend pipeline.Backend
	var apiKey []byte
	switch cfg.Backend {
	case "", BackendAPI:
		if apiKey, err = l.startServer(s3ln.Addr().String()); err != nil {
			stop()
			return nil, err
		}
		l.APIKey = strings.TrimSpace(string(apiKey))
		backend = &heygen.Client{BaseURL: l.APIURL, APIKey: l.APIKey}
	case BackendEngine:
	default:
		stop()
		return nil, fmt.Errorf("backend %q: want %s or %s", cfg.Backend, BackendAPI, BackendEngine)
	}

	l.s3 = s3.New(s3.Options{
		BaseEndpoint: aws.String(l.S3URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
	})
	bucket := &pipeline.S3Bucket{Client: l.s3, Bucket: Bucket}
	l.pipe = &pipeline.Pipeline{
		Bucket: bucket, Backend: backend, BackendURL: l.APIURL, Starter: l, Defaults: cfg.Defaults,
		Decode:      clipping.Options{AllowHTTP: true},
		MaxAttempts: cfg.MaxAttempts, JobTimeout: cfg.JobTimeout, PollMin: cfg.PollMin, PollMax: cfg.PollMax,
		Retries: 3, Log: cfg.Log,
	}
	l.machine = statemachine.Pipeline
	if cfg.Backend == BackendEngine {
		scratch := filepath.Join(cfg.StateDir, "scratch")
		if err := os.MkdirAll(scratch, 0o755); err != nil {
			stop()
			return nil, fmt.Errorf("scratch folder: %w", err)
		}
		eng := &engine.Engine{Encoder: cfg.Encoder, Log: cfg.Log}
		l.steps = &enginesteps.Steps{
			Bucket: bucket, Engine: eng, Scratch: scratch, Log: cfg.Log,
			Recogniser: &enginesteps.Local{Bucket: bucket, Engine: eng, Scratch: scratch, Context: work, Log: cfg.Log},
		}
		l.pipe.Engine, l.pipe.BackendURL, l.pipe.RenderConcurrency = true, BackendEngine, max(1, cfg.RenderConcurrency)
		l.machine = statemachine.Engine
	}
	if cfg.NoWatch {
		return l, nil
	}
	l.resume()
	go l.watch(work)
	return l, nil
}

// startServer starts the api backend: clipmill's own API server, allowed
// to fetch from the local S3 endpoint (and only there) over plain http.
// It returns the server's API key.
func (l *Local) startServer(s3Addr string) ([]byte, error) {
	apiln, err := listen("")
	if err != nil {
		return nil, err
	}
	cfg := l.cfg
	l.APIURL = "http://" + apiln.Addr().String()
	l.srv, err = server.Open(server.Config{
		DataDir: filepath.Join(cfg.StateDir, "server"), PublicURL: l.APIURL, RateLimit: 0,
		Workers: 1, JobTimeout: cfg.JobTimeout, Encoder: cfg.Encoder, Log: cfg.Log,
		Guard: netguard.Policy{AllowHosts: []string{s3Addr}, AllowHTTP: true},
	})
	if err != nil {
		return nil, err
	}
	if err := l.srv.Start(l.work); err != nil {
		return nil, err
	}
	l.serve(apiln, l.srv.Handler())
	return os.ReadFile(l.srv.KeyFile)
}

func listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}

func (l *Local) serve(ln net.Listener, h http.Handler) {
	s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	l.servers = append(l.servers, s)
	go s.Serve(ln)
}

// Close stops watching and serving, lets running executions end (they stop
// at their next wait) and closes the server.
func (l *Local) Close() error {
	l.stopWork()
	l.runs.Wait()
	for _, s := range l.servers {
		s.Close()
	}
	if l.srv == nil {
		return nil
	}
	return l.srv.Close()
}

// Start runs an execution of the state machine, unless one of that name
// already ran: Step Functions' ExecutionAlreadyExists, counted as success.
func (l *Local) Start(ctx context.Context, name string, input pipeline.Execution) error {
	l.mu.Lock()
	if rec, ok := l.started[name]; ok && (rec.Done || l.running[name]) {
		l.mu.Unlock()
		l.cfg.Log.Info("execution already exists", "name", name)
		return nil
	}
	l.started[name] = &execution{Input: input}
	l.mu.Unlock()
	if err := l.save(); err != nil {
		return err
	}
	return l.run(name, input)
}

// execution is what executions.json keeps of each one, so that a run
// stopped with the process (Ctrl-C) resumes at the next start, while a
// finished one is never run again.
type execution struct {
	Input pipeline.Execution `json:"input"`
	Done  bool               `json:"done"`
}

// save writes executions.json whole or not at all: a process killed while
// writing must not lose which executions ended.
func (l *Local) save() error {
	l.saving.Lock()
	defer l.saving.Unlock()
	l.mu.Lock()
	b, _ := json.MarshalIndent(l.started, "", "  ")
	l.mu.Unlock()
	tmp := l.statePth + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("save executions: %w", err)
	}
	if err := os.Rename(tmp, l.statePth); err != nil {
		return fmt.Errorf("save executions: %w", err)
	}
	return nil
}

// redrive runs again, from the start, an execution that ended without
// leaving an outcome (its record deleted, or a store that could not
// write): every step is idempotent, and the job is the same.
func (l *Local) redrive(name string) error {
	l.mu.Lock()
	rec, ok := l.started[name]
	again := ok && rec.Done && !l.running[name]
	if again {
		rec.Done = false
	}
	l.mu.Unlock()
	if !again {
		return nil
	}
	l.cfg.Log.Info("re-running an execution that left no outcome", "name", name)
	if err := l.save(); err != nil {
		return err
	}
	return l.run(name, rec.Input)
}

// runningFor reports whether an execution for an inbox key is running.
func (l *Local) runningFor(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name := range l.running {
		if l.started[name].Input.Source.Key == key {
			return true
		}
	}
	return false
}

// resume runs again the executions a stopped process left unfinished; each
// step is idempotent, so running from the start is safe.
func (l *Local) resume() {
	l.mu.Lock()
	var todo []string
	for name, rec := range l.started {
		if !rec.Done {
			todo = append(todo, name)
		}
	}
	l.mu.Unlock()
	for _, name := range todo {
		l.cfg.Log.Info("resuming an unfinished execution", "name", name)
		if err := l.run(name, l.started[name].Input); err != nil {
			l.cfg.Log.Error("resume", "name", name, "err", err)
		}
	}
}

func (l *Local) run(name string, input pipeline.Execution) error {
	if engine := input.Backend == pipeline.BackendEngine; engine != (l.steps != nil) {
		want := BackendAPI
		if engine {
			want = BackendEngine
		}
		return fmt.Errorf("execution %s was started with --backend %s: run clipmill local with it to finish it", name, want)
	}
	m, err := asl.Parse(l.machine, map[string]string{"PollFunctionArn": "poll", "StoreFunctionArn": "store",
		"EngineFunctionArn": "engine", "TranscribeFunctionArn": "transcribe"})
	if err != nil {
		return err
	}
	m.Tasks["poll"] = task(l.pipe.Poll)
	m.Tasks["store"] = task(l.pipe.Store)
	if l.steps != nil {
		m.Tasks["engine"] = task(l.steps.Handle)
		m.Tasks["transcribe"] = task(l.steps.Handle)
	}
	in, _ := json.Marshal(input)
	l.mu.Lock()
	l.running[name] = true
	l.active++
	l.mu.Unlock()
	// The execution outlives the event that started it, not the pipeline.
	l.runs.Go(func() {
		out, err := m.Run(l.work, in)
		stopped := l.work.Err() != nil // the process is stopping: resume later
		if !stopped {
			l.report(input, out, err)
		}
		l.mu.Lock()
		l.active--
		delete(l.running, name)
		if !stopped {
			l.started[name].Done = true
		}
		l.mu.Unlock()
		if !stopped {
			if err := l.save(); err != nil {
				l.cfg.Log.Error("save executions", "err", err)
			}
		}
		select {
		case l.idle <- struct{}{}:
		default:
		}
	})
	return nil
}

// task adapts a pipeline step to a state machine task.
func task[In, Out any](step func(context.Context, In) (Out, error)) asl.Task {
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		var in In
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, &pipeline.TerminalError{Msg: "bad input: " + err.Error()}
		}
		out, err := step(ctx, in)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	}
}

func (l *Local) report(in pipeline.Execution, out json.RawMessage, err error) {
	var fe *asl.FailedError
	switch {
	case err == nil:
		l.cfg.Log.Info("clips stored", "video", in.Source.Key, "manifest", filepath.Join(l.cfg.DataDir, pipeline.ManifestKey(in.Name)))
	case errors.As(err, &fe):
		l.cfg.Log.Warn("job failed", "video", in.Source.Key, "record", filepath.Join(l.cfg.DataDir, pipeline.FailureKey(in.Name)))
	default:
		l.cfg.Log.Error("execution stopped", "video", in.Source.Key, "err", err)
	}
}

// Active is how many executions are running.
func (l *Local) Active() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.active
}
