// Package lambdaruntime runs a Lambda function's binary on this machine the
// way Lambda runs a provided.al2023 (or container image) function: it
// serves the Lambda runtime API that the function's runtime client polls
// (aws-lambda-go's, in clipmill's functions), starts the binary with
// AWS_LAMBDA_RUNTIME_API pointing at itself and with the function's
// environment and nothing else, hands it one event, and returns the
// response or the error as Lambda reports them to the caller.
//
// It is an emulator of the runtime API, not of the Lambda service: one
// event per process (a cold start every time), no freezing, no extensions,
// no concurrency. What it does reproduce is what a caller such as Step
// Functions sees: the request id, the deadline and the function ARN the
// handler gets; the {"errorType","errorMessage"} document of a function
// error; the init error a runtime reports before its first event; and what
// Lambda reports when the runtime exits without answering
// (Runtime.ExitError), answers too much (Function.ResponseSizeTooLarge) or
// outlives its timeout (Sandbox.Timedout, after which it is killed).
package lambdaruntime

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clipmill/clipmill/internal/ids"
	"github.com/clipmill/clipmill/internal/procgroup"
)

// Function is a function to run: its binary and its configuration, as the
// template gives them.
type Function struct {
	Name   string // the function's name (AWS_LAMBDA_FUNCTION_NAME, and the ARN's)
	Binary string // the bootstrap to start
	// Env is the function's environment variables. The binary gets these,
	// Lambda's own variables (which win) and, when Env has no PATH, this
	// machine's PATH (so that an image function finds the local ffmpeg):
	// nothing else of this process's environment.
	Env      map[string]string
	Timeout  time.Duration // the function's Timeout; Lambda's default, 3 s, when 0
	MemoryMB int           // MemorySize; 128 when 0
	Region   string        // AWS_REGION; us-east-1 when ""
	Account  string        // the account in the function's ARN; 123456789012 when ""
	// InitTimeout bounds the time from start to the runtime's first request
	// for an event, Lambda's 10 s when 0. Lambda then starts the init
	// again within the invocation's timeout; here the process gets the
	// invocation's timeout on top, and is then reported as timed out.
	InitTimeout time.Duration
	// Logs receives the binary's stdout and stderr (Lambda sends both to
	// CloudWatch Logs), between START and END/REPORT lines; nil discards.
	Logs io.Writer
	Dir  string // working directory (LAMBDA_TASK_ROOT); the binary's when ""
}

// ARN is the function's ARN, as the runtime API hands it to the handler.
func (f Function) ARN() string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", f.region(), f.account(), f.Name)
}

func (f Function) region() string  { return cmp(f.Region, "us-east-1") }
func (f Function) account() string { return cmp(f.Account, "123456789012") }
func (f Function) timeout() time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return 3 * time.Second
}

func (f Function) initTimeout() time.Duration {
	if f.InitTimeout > 0 {
		return f.InitTimeout
	}
	return 10 * time.Second
}

func cmp(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// Result is what the caller of the invocation gets.
type Result struct {
	RequestID string
	// Payload is the function's response, when it returned one.
	Payload json.RawMessage
	// Error is the function's error, as Lambda reports it (with the
	// X-Amz-Function-Error header): what the runtime posted, or Lambda's
	// own error when the runtime exited, answered too much or timed out.
	Error    *FunctionError
	Duration time.Duration // from the event handed over to the answer
}

// FunctionError is Lambda's error document. Step Functions' Retry and
// Catch match ErrorType; its Cause is the whole document.
type FunctionError struct {
	Type       string          `json:"errorType"`
	Message    string          `json:"errorMessage"`
	StackTrace json.RawMessage `json:"stackTrace,omitempty"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// ErrorType is the name Step Functions matches: the errorType itself.
func (e *FunctionError) ErrorType() string { return e.Type }

// The error types Lambda itself reports.
const (
	ErrTimedOut     = "Sandbox.Timedout"
	ErrExit         = "Runtime.ExitError"
	ErrResponseSize = "Function.ResponseSizeTooLarge"
	ErrUnknown      = "Runtime.Unknown"
)

// MaxResponse is Lambda's limit on a synchronous invocation's response.
const MaxResponse = 6291556

const apiVersion = "2018-06-01"

// Invoke starts fn's binary, hands it event, and returns the outcome once
// the runtime answered, exited or timed out; the process is killed then
// (with its process group). The error is for what kept the invocation from
// happening (a binary that cannot start, ctx ending); a function error is
// in the Result.
func Invoke(ctx context.Context, fn Function, event []byte) (Result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Result{}, fmt.Errorf("lambda runtime API: %w", err)
	}
	inv := &invocation{fn: fn, event: event, id: newRequestID(),
		started: make(chan struct{}), answered: make(chan struct{}), nexted: make(chan struct{}, 1)}
	srv := &http.Server{Handler: inv, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	logs := &syncWriter{w: fn.Logs}
	if fn.Logs == nil {
		logs.w = io.Discard
	}
	cmd := exec.Command(fn.Binary)
	cmd.Dir = fn.Dir
	if cmd.Dir == "" {
		cmd.Dir = filepath.Dir(fn.Binary)
	}
	cmd.Env = environ(fn, ln.Addr().String())
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = procgroup.Attr()
	// A child that keeps the output pipes open must not keep Wait waiting.
	cmd.WaitDelay = 2 * time.Second
	fmt.Fprintf(logs, "START RequestId: %s Version: $LATEST\n", inv.id)
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("start %s: %w", fn.Binary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	kill := func() {
		procgroup.Kill(cmd.Process)
	}

	// The init phase: until the runtime asks for its event, or gives up.
	initLimit := time.NewTimer(fn.initTimeout() + fn.timeout())
	defer initLimit.Stop()
	var res Result
	select {
	case <-inv.started:
	case <-inv.answered:
		// An init error: the runtime exits after reporting it, or is
		// stopped, as Lambda stops the sandbox.
		select {
		case <-exited:
		case <-time.After(time.Second):
			kill()
			<-exited
		}
		return inv.result(logs), nil
	case err := <-exited:
		inv.end(nil, inv.exitError(err))
		return inv.result(logs), nil
	case <-initLimit.C:
		kill()
		<-exited
		inv.end(nil, inv.timedOut(fn.initTimeout()+fn.timeout()))
		return inv.result(logs), nil
	case <-ctx.Done():
		kill()
		<-exited
		return res, ctx.Err()
	}

	// The invocation: until the runtime answers, exits, or the deadline.
	deadline := time.NewTimer(time.Until(inv.deadline))
	defer deadline.Stop()
	select {
	case <-inv.answered:
		// The runtime asks for its next event once it is done with this
		// one: Lambda freezes it there, this emulator ends it. One that
		// goes on working is stopped at the deadline.
		select {
		case <-inv.nexted:
		case <-deadline.C:
		case <-exited:
			return inv.result(logs), nil
		case <-ctx.Done():
		}
	case err := <-exited:
		inv.end(nil, inv.exitError(err))
		return inv.result(logs), nil
	case <-deadline.C:
		inv.end(nil, inv.timedOut(fn.timeout()))
	case <-ctx.Done():
		kill()
		<-exited
		return res, ctx.Err()
	}
	kill()
	<-exited
	return inv.result(logs), nil
}

// invocation is the runtime API's state for one event.
type invocation struct {
	fn    Function
	event []byte
	id    string

	mu        sync.Mutex
	started   chan struct{} // closed when the event is handed over
	startedAt time.Time
	deadline  time.Time
	initErr   *FunctionError
	payload   json.RawMessage
	err       *FunctionError
	done      bool
	answered  chan struct{} // closed when the outcome is known
	doneAt    time.Time
	nexted    chan struct{}
}

func (inv *invocation) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := strings.CutPrefix(r.URL.Path, "/"+apiVersion+"/runtime/")
	switch {
	case !ok:
		apiError(w, http.StatusNotFound, "NotFound", "no such path: "+r.URL.Path)
	case p == "invocation/next" && r.Method == http.MethodGet:
		inv.next(w, r)
	case p == "init/error" && r.Method == http.MethodPost:
		inv.postInitError(w, r)
	case strings.HasPrefix(p, "invocation/") && r.Method == http.MethodPost:
		id, what, _ := strings.Cut(strings.TrimPrefix(p, "invocation/"), "/")
		inv.post(w, r, id, what)
	default:
		apiError(w, http.StatusNotFound, "NotFound", r.Method+" "+r.URL.Path+" is not in the runtime API")
	}
}

func (inv *invocation) next(w http.ResponseWriter, r *http.Request) {
	inv.mu.Lock()
	if inv.startedAt.IsZero() && !inv.done {
		inv.startedAt = time.Now()
		inv.deadline = inv.startedAt.Add(inv.fn.timeout())
		close(inv.started)
		inv.mu.Unlock()
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", inv.fn.ARN())
		h.Set("Lambda-Runtime-Trace-Id", traceID(inv.startedAt))
		h.Set("Content-Type", "application/json")
		w.Write(inv.event)
		return
	}
	inv.mu.Unlock()
	// The next event never comes: the runtime is done with this one.
	select {
	case inv.nexted <- struct{}{}:
	default:
	}
	<-r.Context().Done()
}

func (inv *invocation) postInitError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxResponse))
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if !inv.startedAt.IsZero() || inv.done {
		apiError(w, http.StatusForbidden, "InvalidStateTransition", "init/error after the init phase")
		return
	}
	inv.initErr = errorDocument(body, r.Header.Get("Lambda-Runtime-Function-Error-Type"))
	inv.done, inv.err, inv.doneAt = true, inv.initErr, time.Now()
	close(inv.answered)
	accepted(w)
}

func (inv *invocation) post(w http.ResponseWriter, r *http.Request, id, what string) {
	if what != "response" && what != "error" {
		apiError(w, http.StatusNotFound, "NotFound", "no such path: "+r.URL.Path)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponse+1))
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	inv.mu.Lock()
	started, done, deadline := !inv.startedAt.IsZero(), inv.done, inv.deadline
	inv.mu.Unlock()
	switch {
	case id != inv.id || !started:
		apiError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	case done:
		apiError(w, http.StatusForbidden, "InvalidStateTransition", "the invocation has ended")
		return
	case !time.Now().Before(deadline):
		// Lambda's clock decides: an answer at or after the deadline comes
		// from a function that has timed out already (a handler whose
		// context ended with the deadline, as the runtime client sets it).
		inv.end(nil, inv.timedOut(inv.fn.timeout()))
		apiError(w, http.StatusForbidden, "InvalidStateTransition", "the invocation timed out")
		return
	}
	switch {
	case what == "error":
		inv.end(nil, errorDocument(body, r.Header.Get("Lambda-Runtime-Function-Error-Type")))
	case len(body) > MaxResponse:
		inv.end(nil, &FunctionError{Type: ErrResponseSize,
			Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponse)})
		apiError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", MaxResponse))
		return
	case r.Trailer.Get("Lambda-Runtime-Function-Error-Type") != "":
		// aws-lambda-go's client reports an error met while it streamed
		// the response in the request's trailers.
		doc, _ := base64.StdEncoding.DecodeString(r.Trailer.Get("Lambda-Runtime-Function-Error-Body"))
		inv.end(nil, errorDocument(doc, r.Trailer.Get("Lambda-Runtime-Function-Error-Type")))
	default:
		inv.end(body, nil)
	}
	accepted(w)
}

// end records the outcome, unless one is known already.
func (inv *invocation) end(payload []byte, err *FunctionError) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.done {
		return
	}
	inv.done, inv.payload, inv.err, inv.doneAt = true, payload, err, time.Now()
	close(inv.answered)
}

func (inv *invocation) result(logs io.Writer) Result {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	res := Result{RequestID: inv.id, Payload: inv.payload, Error: inv.err}
	if !inv.startedAt.IsZero() {
		res.Duration = inv.doneAt.Sub(inv.startedAt)
	}
	fmt.Fprintf(logs, "END RequestId: %s\n", inv.id)
	fmt.Fprintf(logs, "REPORT RequestId: %s\tDuration: %.2f ms\tMemory Size: %d MB\n", inv.id,
		float64(res.Duration.Microseconds())/1000, cmpInt(inv.fn.MemoryMB, 128))
	return res
}

// exitError is what Lambda reports of a runtime that exited without
// answering: the init error it reported first, if any.
func (inv *invocation) exitError(err error) *FunctionError {
	inv.mu.Lock()
	initErr := inv.initErr
	inv.mu.Unlock()
	if initErr != nil {
		return initErr
	}
	if err == nil {
		return &FunctionError{Type: ErrExit, Message: fmt.Sprintf("RequestId: %s Error: Runtime exited without providing a reason", inv.id)}
	}
	why := err.Error()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		why = ee.ProcessState.String() // "exit status 1", "signal: killed"
	}
	return &FunctionError{Type: ErrExit, Message: fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", inv.id, why)}
}

func (inv *invocation) timedOut(after time.Duration) *FunctionError {
	return &FunctionError{Type: ErrTimedOut, Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, after.Seconds())}
}

// errorDocument reads a posted error: Lambda's {"errorType",
// "errorMessage"} document, typed by the header when the body is not.
func errorDocument(body []byte, headerType string) *FunctionError {
	var doc FunctionError
	if json.Unmarshal(body, &doc) != nil {
		doc = FunctionError{Message: string(body)}
	}
	if doc.Type == "" {
		doc.Type = cmp(headerType, ErrUnknown)
	}
	return &doc
}

// environ is the binary's whole environment: the function's variables,
// then Lambda's own (which Lambda does not let a function set).
func environ(fn Function, api string) []string {
	env := map[string]string{
		"PATH": os.Getenv("PATH"),
		"LANG": "en_US.UTF-8",
		"TZ":   ":UTC",
	}
	for k, v := range fn.Env {
		env[k] = v
	}
	dir := fn.Dir
	if dir == "" {
		dir = filepath.Dir(fn.Binary)
	}
	for k, v := range map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          api,
		"AWS_LAMBDA_FUNCTION_NAME":        fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(cmpInt(fn.MemoryMB, 128)),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + fn.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + newRequestID()[:32],
		"AWS_REGION":                      fn.region(),
		"AWS_DEFAULT_REGION":              fn.region(),
		"LAMBDA_TASK_ROOT":                dir,
		"LAMBDA_RUNTIME_DIR":              dir,
		"_HANDLER":                        "bootstrap",
	} {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func cmpInt(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	w.Write([]byte(`{"status":"OK"}`))
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(FunctionError{Type: typ, Message: msg})
}

// newRequestID is a request id in Lambda's form, a UUID (version 4 in
// shape; its random bits come from package ids).
func newRequestID() string {
	h := []byte(ids.Hex(16))
	h[12] = '4'
	h[16] = "89ab"[strings.IndexByte("0123456789abcdef", h[16])%4]
	return string(h[:8]) + "-" + string(h[8:12]) + "-" + string(h[12:16]) + "-" + string(h[16:20]) + "-" + string(h[20:])
}

func traceID(t time.Time) string {
	h := ids.Hex(20)
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", t.Unix(), h[:24], h[24:40])
}

// syncWriter lets the binary's two streams and the START/END lines share
// one writer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
