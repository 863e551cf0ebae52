package lambdaruntime

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests run testdata/fn, a function on aws-lambda-go built as the
// Makefile builds the real ones (lambda.norpc), for this machine.
var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

func testBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lambdaruntime-test-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", binary, "./testdata/fn")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New("go build testdata/fn: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

func testFunction(t *testing.T, timeout time.Duration) Function {
	return Function{Name: "TestFunction", Binary: testBinary(t), Timeout: timeout, MemoryMB: 256,
		Env:  map[string]string{"BUCKET_NAME": "clipmill", "PID_FILE": filepath.Join(t.TempDir(), "pid")},
		Logs: testLog{t}}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func invoke(t *testing.T, fn Function, event string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Invoke(ctx, fn, []byte(event))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// The handler gets the event, the request id, the function's ARN, a
// deadline Timeout away, and the function's environment with Lambda's own
// variables and nothing else of this process's.
func TestResponse(t *testing.T) {
	t.Parallel()
	fn := testFunction(t, 5*time.Second)
	res := invoke(t, fn, `{"do":"look"}`)
	if res.Error != nil {
		t.Fatalf("error %v", res.Error)
	}
	var got struct {
		RequestID  string            `json:"request_id"`
		ARN        string            `json:"arn"`
		DeadlineMS int64             `json:"deadline_ms"`
		NowMS      int64             `json:"now_ms"`
		Env        map[string]string `json:"env"`
	}
	if err := json.Unmarshal(res.Payload, &got); err != nil {
		t.Fatalf("payload %s: %v", res.Payload, err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(res.RequestID) {
		t.Errorf("request id %q: want a UUID, as Lambda's", res.RequestID)
	}
	if got.RequestID != res.RequestID || got.ARN != "arn:aws:lambda:us-east-1:123456789012:function:TestFunction" {
		t.Errorf("request id %q (want %q), ARN %q", got.RequestID, res.RequestID, got.ARN)
	}
	// The deadline is the template's Timeout from the hand-over.
	if left := time.Duration(got.DeadlineMS-got.NowMS) * time.Millisecond; left > 5*time.Second || left < 4*time.Second {
		t.Errorf("the handler had %v left of a 5 s timeout", left)
	}
	for k, want := range map[string]string{"BUCKET_NAME": "clipmill", "AWS_LAMBDA_FUNCTION_NAME": "TestFunction",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_REGION": "us-east-1", "_HANDLER": "bootstrap"} {
		if got.Env[k] != want {
			t.Errorf("env %s = %q, want %q", k, got.Env[k], want)
		}
	}
	for k := range got.Env {
		_, own := fn.Env[k]
		lambda := strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "LAMBDA_") || strings.HasPrefix(k, "_")
		if !own && !lambda && k != "PATH" && k != "LANG" && k != "TZ" {
			t.Errorf("the function got %s from this process's environment", k)
		}
	}
	if !strings.HasPrefix(got.Env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q", got.Env["AWS_LAMBDA_RUNTIME_API"])
	}
}

// A returned error arrives as Lambda's error document, typed by the Go
// type's name: what the state machines' Retry and Catch match.
func TestFunctionErrors(t *testing.T) {
	t.Parallel()
	fn := testFunction(t, 5*time.Second)
	for do, want := range map[string]FunctionError{
		"retryable": {Type: "RetryableError", Message: "the backend answered 503"},
		"terminal":  {Type: "TerminalError", Message: "poll job j: HTTP 404 not_found"},
		"panic":     {Type: "errorString", Message: "boom"},
	} {
		res := invoke(t, fn, `{"do":"`+do+`"}`)
		if res.Error == nil || res.Error.Type != want.Type || res.Error.Message != want.Message || res.Payload != nil {
			t.Errorf("%s: error %+v, payload %s; want %+v", do, res.Error, res.Payload, want)
		}
	}
}

// A handler that ignores its deadline is cut at the Timeout and killed;
// one that returns when its context ends is late all the same.
func TestTimeout(t *testing.T) {
	t.Parallel()
	for _, do := range []string{"hang", "wait"} {
		t.Run(do, func(t *testing.T) {
			t.Parallel()
			fn := testFunction(t, time.Second)
			start := time.Now()
			res := invoke(t, fn, `{"do":"`+do+`"}`)
			took := time.Since(start)
			if res.Error == nil || res.Error.Type != ErrTimedOut ||
				res.Error.Message != "RequestId: "+res.RequestID+" Error: Task timed out after 1.00 seconds" {
				t.Fatalf("error %+v", res.Error)
			}
			if took < time.Second || took > 4*time.Second || res.Duration < time.Second || res.Duration > 1500*time.Millisecond {
				t.Errorf("took %v, duration %v, for a 1 s timeout", took, res.Duration)
			}
			if do != "hang" {
				return
			}
			b, err := os.ReadFile(fn.Env["PID_FILE"])
			pid, _ := strconv.Atoi(string(b))
			if err != nil || pid == 0 {
				t.Fatalf("pid file: %q %v", b, err)
			}
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("the function's process %d is still there: %v", pid, err)
			}
		})
	}
}

// An init that fails reports why through init/error: the caller reads
// which variable is missing, not just an exit status.
func TestInitError(t *testing.T) {
	t.Parallel()
	fn := testFunction(t, 5*time.Second)
	delete(fn.Env, "BUCKET_NAME")
	res := invoke(t, fn, `{"do":"look"}`)
	if res.Error == nil || res.Error.Type != "Runtime.InitError" || !strings.HasPrefix(res.Error.Message, "BUCKET_NAME is not set") {
		t.Fatalf("error %+v", res.Error)
	}
}

// What Lambda itself reports: a runtime that exits without answering, and
// a response over 6 MB.
func TestLambdaErrors(t *testing.T) {
	t.Parallel()
	fn := testFunction(t, 5*time.Second)
	res := invoke(t, fn, `{"do":"exit"}`)
	if res.Error == nil || res.Error.Type != ErrExit || !strings.HasSuffix(res.Error.Message, "Runtime exited with error: exit status 3") {
		t.Errorf("exit: %+v", res.Error)
	}
	res = invoke(t, fn, `{"do":"big","size":`+strconv.Itoa(MaxResponse)+`}`)
	if res.Error == nil || res.Error.Type != ErrResponseSize {
		t.Errorf("6 MB: %+v", res.Error)
	}
	res = invoke(t, fn, `{"do":"big","size":1000}`)
	if res.Error != nil || len(res.Payload) != 1002 {
		t.Errorf("1 kB: %+v, %d bytes", res.Error, len(res.Payload))
	}
}

// A binary that is not there is the caller's error, not the function's.
func TestNoBinary(t *testing.T) {
	t.Parallel()
	_, err := Invoke(context.Background(), Function{Name: "F", Binary: filepath.Join(t.TempDir(), "bootstrap")}, []byte(`{}`))
	if err == nil {
		t.Fatal("no error")
	}
}
