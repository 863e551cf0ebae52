package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/clipmill/clipmill/statemachine"
	"github.com/clipmill/clipmill/statemachine/scenarios"
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

func poll(status string, attempt, wait int) map[string]any {
	return map[string]any{"status": status, "progress": 50, "attempt": attempt, "wait": wait}
}

func TestCompletedPath(t *testing.T) {
	r := &run{t: t, polls: []any{poll("running", 1, 10), poll("running", 2, 20), poll("completed", 3, 40)}}
	out, err := r.machine().Run(context.Background(), scenarios.PipelineInput(100))
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
		_, err := r.machine().Run(context.Background(), scenarios.PipelineInput(100))
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
	_, err := r.machine().Run(context.Background(), scenarios.PipelineInput(3))
	if err == nil || r.calls != 3 || len(r.stored) != 1 || r.stored[0]["failure"] != true {
		t.Fatalf("err %v after %d polls, stores %v", err, r.calls, r.stored)
	}
}

func TestRetryThenSuccess(t *testing.T) {
	r := &run{t: t, polls: []any{&RetryableError{}, &RetryableError{}, poll("completed", 1, 10)}}
	m := r.machine()
	m.Rand = func() float64 { return 0.5 }
	if _, err := m.Run(context.Background(), scenarios.PipelineInput(100)); err != nil {
		t.Fatal(err)
	}
	// The input's wait, then two retry backoffs of 5 s and 10 s, each
	// jittered by the factor Rand gave.
	want := []time.Duration{5 * time.Second, 2500 * time.Millisecond, 5 * time.Second}
	if r.calls != 3 || !slices.Equal(r.sleeps, want) {
		t.Fatalf("%d polls, sleeps %v; want 3 polls, sleeps %v", r.calls, r.sleeps, want)
	}
}

func TestRetriesRunOut(t *testing.T) {
	r := &run{t: t, polls: []any{&RetryableError{}}}
	_, err := r.machine().Run(context.Background(), scenarios.PipelineInput(100))
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
	_, err := r.machine().Run(context.Background(), scenarios.PipelineInput(100))
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

// In a synctest bubble the clock is fake: the task times out after
// exactly its TimeoutSeconds, and the test takes no real second.
func TestTaskTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
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
		if err != nil || !strings.Contains(string(out), `"States.Timeout"`) || time.Since(start) != time.Second {
			t.Fatalf("out %s, err %v after %v, want States.Timeout after 1s", out, err, time.Since(start))
		}
	})
}

func TestParseRefusesWhatItCannotRun(t *testing.T) {
	if _, err := Parse(statemachine.Pipeline, map[string]string{"PollFunctionArn": "p"}); err == nil || !strings.Contains(err.Error(), "StoreFunctionArn") {
		t.Errorf("missing substitution: %v", err)
	}
	inner := `"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`
	for _, def := range []string{
		`{"StartAt":"M","States":{"M":{"Type":"Map","End":true}}}`,
		`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","End":true}}}`,
		`{"StartAt":"X","States":{}}`,
		// Fields Step Functions runs and this package would ignore.
		`{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"a":1},"End":true}}}`,
		`{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.a","End":true}}}`,
		`{"StartAt":"P","States":{"P":{"Type":"Pass","OutputPath":"$.a","End":true}}}`,
		`{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"ResultPath":"$.x","End":true}}}`,
		`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","StringMatches":"x*","Next":"D"}],"Default":"D"},"D":{"Type":"Succeed"}}}`,
		`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","StringEquals":"x","BooleanEquals":true,"Next":"D"}],"Default":"D"},"D":{"Type":"Succeed"}}}`,
		`{"StartAt":"M","States":{"M":{"Type":"Map","Retry":[{"ErrorEquals":["States.ALL"]}],` + inner + `,"End":true}}}`,
		`{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
		`{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"Q"}}},"End":true}}}`,
		`{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"Nowhere"}}}`,
		`{"StartAt":"P","Version":"1.0","States":{"P":{"Type":"Pass","End":true}}}`,
	} {
		if _, err := Parse([]byte(def), nil); err == nil {
			t.Errorf("accepted %s", def)
		}
	}
}

// A Map state runs its processor on each item, at most MaxConcurrencyPath
// at once, with $$.Map.Item in its ItemSelector, and keeps the items'
// order; an iteration's Catch keeps its failure to itself.
func TestMap(t *testing.T) {
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrencyPath":"$.limit",
		"ItemSelector":{"tag.$":"$.tag","item.$":"$$.Map.Item.Value","index.$":"$$.Map.Item.Index"},
		"ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"T","States":{
			"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload.$":"$"},
				"ResultSelector":{"out.$":"$.Payload.out"},
				"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Failed"}],"End":true},
			"Failed":{"Type":"Pass","Parameters":{"failed.$":"$.item","error.$":"$.error.Error"},"End":true}}},
		"ResultPath":"$.results","Next":"Done"},"Done":{"Type":"Succeed"}}}`
	m, err := Parse([]byte(def), nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	running, most := 0, 0
	m.Tasks["f"] = func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		var in struct {
			Tag, Item string
			Index     int
		}
		json.Unmarshal(p, &in)
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		if in.Item == "bad" {
			return nil, &TerminalError{}
		}
		return json.Marshal(map[string]string{"out": fmt.Sprintf("%s-%s-%d", in.Tag, in.Item, in.Index)})
	}
	out, err := m.Run(context.Background(), json.RawMessage(`{"tag":"t","limit":2,"items":["a","bad","c","d","e"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var o struct{ Results []map[string]string }
	json.Unmarshal(out, &o)
	got, _ := json.Marshal(o.Results)
	want := `[{"out":"t-a-0"},{"error":"TerminalError","failed":"bad"},{"out":"t-c-2"},{"out":"t-d-3"},{"out":"t-e-4"}]`
	if string(got) != want {
		t.Errorf("results %s, want %s", got, want)
	}
	if most != 2 {
		t.Errorf("%d iterations ran at once; MaxConcurrencyPath says 2", most)
	}

	// An iteration that fails uncaught fails the Map, which its own Catch
	// may catch.
	def2 := `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
		"ItemProcessor":{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Broken","Cause":"no"}}},
		"Catch":[{"ErrorEquals":["Broken"],"ResultPath":"$.error","Next":"Done"}],"End":true},"Done":{"Type":"Succeed"}}}`
	m2, err := Parse([]byte(def2), nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err = m2.Run(context.Background(), json.RawMessage(`{"items":[1,2,3]}`))
	if err != nil || !strings.Contains(string(out), `"Error":"Broken"`) {
		t.Errorf("out %s, err %v", out, err)
	}
	if _, err := m2.Run(context.Background(), json.RawMessage(`{"items":"x"}`)); err == nil || !strings.Contains(err.Error(), "not an array") {
		t.Errorf("items that are not an array: %v", err)
	}
}

func TestEngineDefinitionParses(t *testing.T) {
	if _, err := Parse(statemachine.Engine, map[string]string{
		"EngineFunctionArn": "engine", "TranscribeFunctionArn": "transcribe", "StoreFunctionArn": "store",
	}); err != nil {
		t.Fatal(err)
	}
}

// The shared scenarios take the same paths here as in
// aws-local-stepfunctions (package sfntest runs them there).
func TestScenarios(t *testing.T) {
	defs := map[string][]byte{"pipeline.asl.json": statemachine.Pipeline, "engine.asl.json": statemachine.Engine}
	for _, sc := range scenarios.All {
		t.Run(sc.Name, func(t *testing.T) {
			m, err := Parse(defs[sc.Definition], map[string]string{
				"PollFunctionArn": "poll", "StoreFunctionArn": "store", "EngineFunctionArn": "engine", "TranscribeFunctionArn": "transcribe",
			})
			if err != nil {
				t.Fatal(err)
			}
			script := sc.Script()
			var states []string
			m.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
			m.OnState = func(name string, _ json.RawMessage) { states = append(states, name) }
			for fn := range sc.Answers {
				m.Tasks[fn] = func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) { return script.Answer(fn) }
			}
			_, err = m.Run(context.Background(), sc.Input)
			status := "SUCCEEDED"
			if err != nil {
				status = "FAILED"
			}
			if got := strings.Join(states, ","); status != sc.Status || got != sc.Path {
				t.Errorf("%s through %s (%v), want %s through %s", status, got, err, sc.Status, sc.Path)
			}
			if got := script.Calls(); !maps.Equal(got, sc.Calls) {
				t.Errorf("calls %v, want %v", got, sc.Calls)
			}
		})
	}
}
