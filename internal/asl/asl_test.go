package asl

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clipmill/clipmill/statemachine"
)

// RetryableError and TerminalError stand in for the pipeline's error types:
// only their names matter to the definition.
type RetryableError struct{}

func (*RetryableError) Error() string { return "try again" }

type TerminalError struct{}

func (*TerminalError) Error() string { return "refused" }

// run executes the real pipeline definition with scripted poll answers.
type run struct {
	t       *testing.T
	polls   []any // each a Poll map, or an error
	mu      sync.Mutex
	calls   int
	stored  []map[string]any
	sleeps  []time.Duration
	visited []string
}

func (r *run) machine() *Machine {
	m, err := Parse(statemachine.Pipeline, map[string]string{
		"PollFunctionArn": "poll", "StoreFunctionArn": "store",
	})
	if err != nil {
		r.t.Fatal(err)
	}
	m.Sleep = func(ctx context.Context, d time.Duration) error {
		r.sleeps = append(r.sleeps, d)
		return ctx.Err()
	}
	m.OnState = func(name string, _ json.RawMessage) { r.visited = append(r.visited, name) }
	m.Tasks["poll"] = func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		var in map[string]any
		json.Unmarshal(p, &in)
		if _, ok := in["source"]; !ok {
			r.t.Errorf("poll got %s, not the execution", p)
		}
		a := r.polls[min(r.calls, len(r.polls)-1)]
		r.calls++
		if err, ok := a.(error); ok {
			return nil, err
		}
		return json.Marshal(a)
	}
	m.Tasks["store"] = func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		var in map[string]any
		json.Unmarshal(p, &in)
		r.stored = append(r.stored, in)
		return json.Marshal(map[string]string{"manifest": "clips/talk/manifest.json"})
	}
	return m
}

func input(maxAttempts int) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"source": map[string]any{"bucket": "b", "key": "inbox/talk.mp4"}, "name": "talk", "job_id": "j1",
		"backend": "https://api.heygen.com", "submitted_at": 1,
		"limits": map[string]any{"max_attempts": maxAttempts, "job_timeout": 3600},
		"poll":   map[string]any{"status": "pending", "progress": 0, "attempt": 0, "wait": 5},
	})
	return b
}

func poll(status string, attempt, wait int) map[string]any {
	return map[string]any{"status": status, "progress": 50, "attempt": attempt, "wait": wait}
}

func TestCompletedPath(t *testing.T) {
	r := &run{t: t, polls: []any{poll("running", 1, 10), poll("running", 2, 20), poll("completed", 3, 40)}}
	out, err := r.machine().Run(context.Background(), input(100))
	if err != nil {
		t.Fatal(err)
	}
	// Waits follow $.poll.wait: 5 from the input, then what poll returned.
	if got := r.sleeps; len(got) != 3 || got[0] != 5*time.Second || got[1] != 10*time.Second || got[2] != 20*time.Second {
		t.Fatalf("waits %v", got)
	}
	if len(r.stored) != 1 || r.stored[0]["failure"] != nil {
		t.Fatalf("store calls %v", r.stored)
	}
	var o map[string]any
	json.Unmarshal(out, &o)
	if o["stored"].(map[string]any)["manifest"] != "clips/talk/manifest.json" || o["poll"].(map[string]any)["status"] != "completed" {
		t.Fatalf("output %s", out)
	}
	if strings.Join(r.visited, ",") != "Wait,Poll,Ended?,Wait,Poll,Ended?,Wait,Poll,Ended?,Store,Stored" {
		t.Fatalf("states %v", r.visited)
	}
}

func TestFailedJobIsRecorded(t *testing.T) {
	for _, status := range []string{"failed", "cancelled", "timed_out"} {
		r := &run{t: t, polls: []any{poll(status, 1, 10)}}
		_, err := r.machine().Run(context.Background(), input(100))
		var fe *FailedError
		if !errors.As(err, &fe) || fe.Name != "ClippingFailed" {
			t.Fatalf("%s: err %v", status, err)
		}
		if len(r.stored) != 1 || r.stored[0]["failure"] != true {
			t.Fatalf("%s: store calls %v", status, r.stored)
		}
	}
}

func TestAttemptCap(t *testing.T) {
	var polls []any
	for i := 1; i <= 10; i++ {
		polls = append(polls, poll("running", i, 10))
	}
	r := &run{t: t, polls: polls}
	_, err := r.machine().Run(context.Background(), input(3))
	if err == nil || r.calls != 3 || len(r.stored) != 1 || r.stored[0]["failure"] != true {
		t.Fatalf("err %v after %d polls, stores %v", err, r.calls, r.stored)
	}
}

func TestRetryThenSuccess(t *testing.T) {
	r := &run{t: t, polls: []any{&RetryableError{}, &RetryableError{}, poll("completed", 1, 10)}}
	if _, err := r.machine().Run(context.Background(), input(100)); err != nil {
		t.Fatal(err)
	}
	// One wait, then two retry backoffs: 5 s and 10 s at most (full jitter).
	if r.calls != 3 || len(r.sleeps) != 3 || r.sleeps[1] > 5*time.Second || r.sleeps[2] > 10*time.Second {
		t.Fatalf("%d polls, sleeps %v", r.calls, r.sleeps)
	}
}

func TestRetriesRunOut(t *testing.T) {
	r := &run{t: t, polls: []any{&RetryableError{}}}
	_, err := r.machine().Run(context.Background(), input(100))
	if err == nil || r.calls != 7 { // the first try and six retries
		t.Fatalf("err %v after %d polls", err, r.calls)
	}
	ex := r.stored[0]["execution"].(map[string]any)
	if ex["error"].(map[string]any)["Error"] != "RetryableError" {
		t.Fatalf("caught %v", ex["error"])
	}
}

func TestTerminalErrorIsCaughtAtOnce(t *testing.T) {
	r := &run{t: t, polls: []any{&TerminalError{}}}
	_, err := r.machine().Run(context.Background(), input(100))
	if err == nil || r.calls != 1 || len(r.stored) != 1 {
		t.Fatalf("err %v, %d polls, stores %v", err, r.calls, r.stored)
	}
	caught := r.stored[0]["execution"].(map[string]any)["error"].(map[string]any)
	var cause map[string]string
	json.Unmarshal([]byte(caught["Cause"].(string)), &cause)
	if caught["Error"] != "TerminalError" || cause["errorType"] != "TerminalError" || cause["errorMessage"] != "refused" {
		t.Fatalf("caught %v", caught)
	}
}

func TestTaskTimeout(t *testing.T) {
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		"Parameters":{"FunctionName":"slow","Payload.$":"$"},"TimeoutSeconds":1,
		"Catch":[{"ErrorEquals":["States.Timeout"],"ResultPath":"$.error","Next":"Done"}],"End":true},
		"Done":{"Type":"Pass","End":true}}}`
	m, err := Parse([]byte(def), nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Tasks["slow"] = func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	start := time.Now()
	out, err := m.Run(context.Background(), json.RawMessage(`{"a":1}`))
	if err != nil || !strings.Contains(string(out), `"States.Timeout"`) || time.Since(start) > 5*time.Second {
		t.Fatalf("out %s, err %v after %v", out, err, time.Since(start))
	}
}

func TestParseRefusesWhatItCannotRun(t *testing.T) {
	if _, err := Parse(statemachine.Pipeline, map[string]string{"PollFunctionArn": "p"}); err == nil || !strings.Contains(err.Error(), "StoreFunctionArn") {
		t.Errorf("missing substitution: %v", err)
	}
	for _, def := range []string{
		`{"StartAt":"M","States":{"M":{"Type":"Map","End":true}}}`,
		`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","End":true}}}`,
		`{"StartAt":"X","States":{}}`,
	} {
		if _, err := Parse([]byte(def), nil); err == nil {
			t.Errorf("accepted %s", def)
		}
	}
}
