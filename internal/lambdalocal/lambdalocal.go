// Package lambdalocal runs the stack's Lambda functions on this machine,
// as `sam local invoke` would without Docker: each function's bootstrap
// built for this machine (lambda.norpc, as the Makefile builds it for
// Lambda), run under the runtime API of package lambdaruntime with its
// Timeout and MemorySize from template.yaml, and its environment from the
// template and events/local-env.json pointed at a clipmill local instance
// (the bucket, the clipping API) and at FakeAWS for what cannot run here
// (the API key's secret, Step Functions, Amazon Transcribe).
package lambdalocal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/clipmill/clipmill/internal/lambdaruntime"
	"github.com/clipmill/clipmill/internal/local"
)

// Config says where things are.
type Config struct {
	Root string // the repository: go.mod, template.yaml, functions/, events/
	// Data is the bucket's folder (clipmill local's --data); Scratch when "".
	Data string
	// Scratch is a folder for what a run leaves: the bucket when Data is
	// "", and the functions' /tmp (TMPDIR).
	Scratch string
	// Bin holds the built functions, Bin/<name>/bootstrap.
	Bin string
	// Env is set over each function's environment, last.
	Env map[string]string
	// Logs receives the functions' output; nil discards it.
	Logs io.Writer
	Log  *slog.Logger // clipmill local's log; nil discards it
}

// Harness is a running clipmill local with the fakes beside it.
type Harness struct {
	cfg   Config
	Local *local.Local
	AWS   *FakeAWS
	tpl   *lambdaruntime.Template
	env   map[string]map[string]string // events/local-env.json
}

// Start starts clipmill local (api backend, the inbox not watched: the
// submit function submits) on the data folder, and the fake AWS.
func Start(ctx context.Context, cfg Config) (*Harness, error) {
	tpl, err := lambdaruntime.ReadTemplate(filepath.Join(cfg.Root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	h := &Harness{cfg: cfg, tpl: tpl}
	b, err := os.ReadFile(filepath.Join(cfg.Root, "events", "local-env.json"))
	if err != nil {
		return nil, fmt.Errorf("local env: %w", err)
	}
	if err := json.Unmarshal(b, &h.env); err != nil {
		return nil, fmt.Errorf("events/local-env.json: %w", err)
	}
	if h.cfg.Data == "" {
		h.cfg.Data = filepath.Join(cfg.Scratch, "bucket")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if h.Local, err = local.Start(ctx, local.Config{DataDir: h.cfg.Data, Backend: local.BackendAPI, NoWatch: true, Log: log}); err != nil {
		return nil, fmt.Errorf("clipmill local: %w", err)
	}
	// The API key, wherever a function's API_KEY_ID says it is.
	secrets := map[string]string{}
	for _, vars := range h.env {
		if id := vars["API_KEY_ID"]; id != "" {
			secrets[id] = h.Local.APIKey
		}
	}
	if h.AWS, err = StartFakeAWS(secrets); err != nil {
		h.Local.Close()
		return nil, err
	}
	return h, nil
}

// Close stops clipmill local and the fakes.
func (h *Harness) Close() error {
	h.AWS.Close()
	return h.Local.Close()
}

// Function is the function with logical id id, ready to invoke: its
// template settings, its local-env.json variables (those the template
// declares, as sam local takes them), then pointed at this harness.
func (h *Harness) Function(id string) (lambdaruntime.Function, error) {
	fn, deployed, err := h.tpl.Function(id)
	if err != nil {
		return fn, err
	}
	fn.Binary = filepath.Join(h.cfg.Bin, Name(id), "bootstrap")
	declared := func(k string) bool {
		_, ok := fn.Env[k]
		for _, d := range deployed {
			ok = ok || d == k
		}
		return ok
	}
	for k, v := range h.env[id] {
		if declared(k) {
			fn.Env[k] = v
		}
	}
	tmp := filepath.Join(h.cfg.Scratch, "tmp", Name(id))
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return fn, fmt.Errorf("function /tmp: %w", err)
	}
	for k, v := range map[string]string{
		// Lambda gives the role's keys; the local S3 checks presigned
		// URLs against these.
		"AWS_ACCESS_KEY_ID":     local.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": local.SecretAccessKey,
		// Every AWS call goes to loopback: S3 to clipmill local, the
		// rest to the fakes, which refuse what they do not serve.
		"AWS_ENDPOINT_URL":    h.AWS.URL,
		"AWS_ENDPOINT_URL_S3": h.Local.S3URL,
		"TMPDIR":              tmp,
	} {
		fn.Env[k] = v
	}
	if _, ok := fn.Env["BUCKET_NAME"]; ok {
		fn.Env["BUCKET_NAME"] = local.Bucket
	}
	if _, ok := fn.Env["BACKEND_URL"]; ok {
		fn.Env["BACKEND_URL"] = h.Local.APIURL
	}
	for k, v := range h.cfg.Env {
		fn.Env[k] = v
	}
	fn.Logs = h.cfg.Logs
	return fn, nil
}

// Invoke runs the function on one event.
func (h *Harness) Invoke(ctx context.Context, id string, event []byte) (lambdaruntime.Result, error) {
	fn, err := h.Function(id)
	if err != nil {
		return lambdaruntime.Result{}, err
	}
	return lambdaruntime.Invoke(ctx, fn, event)
}

// Name is a function's folder under functions/: SubmitFunction is submit.
func Name(id string) string {
	return strings.ToLower(strings.TrimSuffix(id, "Function"))
}

// Build builds the functions' bootstraps for this machine into
// bin/<name>/bootstrap, with the Makefile's flags for Lambda (lambda.norpc,
// no cgo): one go build for them all.
func Build(ctx context.Context, root, bin string, ids ...string) error {
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	out, err := os.MkdirTemp(bin, ".build-")
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	defer os.RemoveAll(out)
	args := []string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out + string(filepath.Separator)}
	for _, id := range ids {
		args = append(args, "./functions/"+Name(id))
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, msg)
	}
	for _, id := range ids {
		dir := filepath.Join(bin, Name(id))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("build: %w", err)
		}
		if err := os.Rename(filepath.Join(out, Name(id)), filepath.Join(dir, "bootstrap")); err != nil {
			return fmt.Errorf("build: %w", err)
		}
	}
	return nil
}

// Root finds the repository from dir: the first folder up with go.mod
// and template.yaml.
func Root(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		_, gomod := os.Stat(filepath.Join(dir, "go.mod"))
		_, tpl := os.Stat(filepath.Join(dir, "template.yaml"))
		if gomod == nil && tpl == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no clipmill repository (go.mod and template.yaml) above %s", dir)
		}
		dir = parent
	}
}
