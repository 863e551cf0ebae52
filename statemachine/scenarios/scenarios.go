// Package scenarios is one table of runs of the state machine definitions,
// each with its tasks' scripted answers and the states it must pass
// through. Package asl's tests run it in clipmill's own interpreter, and
// package sfntest's in aws-local-stepfunctions, an independent
// implementation of Step Functions: both must take the same paths.
package scenarios

import (
	"encoding/json"
	"sync"
)

// Scenario is one execution.
type Scenario struct {
	Name       string
	Definition string // a file of package statemachine: "pipeline.asl.json"
	Input      json.RawMessage
	// Answers scripts each function: its n-th call gets Answers[fn][n],
	// or the last one when the script runs out.
	Answers map[string][]Answer
	Status  string // SUCCEEDED or FAILED
	Path    string // the states entered, joined by commas
	Calls   map[string]int
}

// Answer is a task's result, or, when Error is set, the error of that
// type that the function raises.
type Answer struct {
	Result any
	Error  string
}

// Error is a function error with Lambda's errorType.
type Error struct{ Type, Message string }

func (e *Error) Error() string     { return e.Message }
func (e *Error) ErrorType() string { return e.Type }

// Script answers the scenario's calls in order, and counts them.
type Script struct {
	s     Scenario
	mu    sync.Mutex
	calls map[string]int
}

func (s Scenario) Script() *Script { return &Script{s: s, calls: map[string]int{}} }

// Answer is the next answer of function fn.
func (sc *Script) Answer(fn string) (json.RawMessage, error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	list := sc.s.Answers[fn]
	if len(list) == 0 {
		return nil, &Error{Type: "NoSuchFunction", Message: "the scenario scripts no function " + fn}
	}
	a := list[min(sc.calls[fn], len(list)-1)]
	sc.calls[fn]++
	if a.Error != "" {
		return nil, &Error{Type: a.Error, Message: "scripted " + a.Error}
	}
	return json.Marshal(a.Result)
}

// Calls is how often each function was called.
func (sc *Script) Calls() map[string]int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	out := map[string]int{}
	for k, v := range sc.calls {
		out[k] = v
	}
	return out
}

// PipelineInput is an execution of pipeline.asl.json, polled at most
// maxAttempts times.
func PipelineInput(maxAttempts int) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"source": map[string]any{"bucket": "b", "key": "inbox/talk.mp4"}, "name": "talk", "job_id": "j1",
		"backend": "https://api.heygen.com", "submitted_at": 1,
		"limits": map[string]any{"max_attempts": maxAttempts, "job_timeout": 3600},
		"poll":   map[string]any{"status": "pending", "progress": 0, "attempt": 0, "wait": 5},
	})
	return b
}

func poll(status string, attempt int) Answer {
	return Answer{Result: map[string]any{"status": status, "progress": 50, "attempt": attempt, "wait": 10}}
}

var stored = Answer{Result: map[string]string{"manifest": "clips/talk/manifest.json"}}

// engineInput is an execution of engine.asl.json. It renders one clip at
// a time, so that the order of the states is known.
func engineInput(maxAttempts int) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"source": map[string]any{"bucket": "b", "key": "inbox/talk.mp4"}, "name": "talk", "job_id": "talk-1",
		"backend": "engine", "submitted_at": 1, "work": "work/talk-1",
		"limits": map[string]any{"max_attempts": maxAttempts, "job_timeout": 3600, "render_concurrency": 1},
	})
	return b
}

func prepared(transcribe bool) Answer {
	return Answer{Result: map[string]any{"duration": 120.5, "has_audio": true, "transcript": "", "needs_transcription": transcribe}}
}

func transcription(status string, attempt int) Answer {
	return Answer{Result: map[string]any{"job": "clipmill-talk-1", "status": status, "reason": "", "attempt": attempt, "wait": 15}}
}

var (
	planned  = Answer{Result: map[string]any{"plan": "work/talk-1/plan.json", "clips": []string{"c1", "c2"}}}
	rendered = Answer{Result: map[string]any{"id": "c1", "status": "rendered", "clip": "work/talk-1/clips/c1.json", "source_bytes": 1000}}
)

// All is the table.
var All = []Scenario{
	{
		Name: "completed after three polls", Definition: "pipeline.asl.json", Input: PipelineInput(100),
		Answers: map[string][]Answer{"poll": {poll("running", 1), poll("running", 2), poll("completed", 3)}, "store": {stored}},
		Status:  "SUCCEEDED", Path: "Wait,Poll,Ended?,Wait,Poll,Ended?,Wait,Poll,Ended?,Store,Stored",
		Calls: map[string]int{"poll": 3, "store": 1},
	},
	{
		Name: "the job failed", Definition: "pipeline.asl.json", Input: PipelineInput(100),
		Answers: map[string][]Answer{"poll": {poll("failed", 1)}, "store": {stored}},
		Status:  "FAILED", Path: "Wait,Poll,Ended?,StoreFailure,Failed",
		Calls: map[string]int{"poll": 1, "store": 1},
	},
	{
		Name: "the attempt cap", Definition: "pipeline.asl.json", Input: PipelineInput(2),
		Answers: map[string][]Answer{"poll": {poll("running", 1), poll("running", 2)}, "store": {stored}},
		Status:  "FAILED", Path: "Wait,Poll,Ended?,Wait,Poll,Ended?,StoreFailure,Failed",
		Calls: map[string]int{"poll": 2, "store": 1},
	},
	{
		Name: "retried, then completed", Definition: "pipeline.asl.json", Input: PipelineInput(100),
		Answers: map[string][]Answer{"poll": {{Error: "RetryableError"}, {Error: "RetryableError"}, poll("completed", 1)}, "store": {stored}},
		Status:  "SUCCEEDED", Path: "Wait,Poll,Ended?,Store,Stored",
		Calls: map[string]int{"poll": 3, "store": 1},
	},
	{
		Name: "retries run out", Definition: "pipeline.asl.json", Input: PipelineInput(100),
		Answers: map[string][]Answer{"poll": {{Error: "RetryableError"}}, "store": {stored}},
		Status:  "FAILED", Path: "Wait,Poll,StoreFailure,Failed",
		Calls: map[string]int{"poll": 7, "store": 1},
	},
	{
		Name: "a terminal error is caught at once", Definition: "pipeline.asl.json", Input: PipelineInput(100),
		Answers: map[string][]Answer{"poll": {{Error: "TerminalError"}}, "store": {stored}},
		Status:  "FAILED", Path: "Wait,Poll,StoreFailure,Failed",
		Calls: map[string]int{"poll": 1, "store": 1},
	},
	{
		Name: "the store fails: the failure is still recorded", Definition: "pipeline.asl.json", Input: PipelineInput(100),
		Answers: map[string][]Answer{"poll": {poll("completed", 1)}, "store": {{Error: "TerminalError"}, stored}},
		Status:  "FAILED", Path: "Wait,Poll,Ended?,Store,StoreFailure,Failed",
		Calls: map[string]int{"poll": 1, "store": 2},
	},
	{
		Name: "engine: transcribed, planned, two clips rendered", Definition: "engine.asl.json", Input: engineInput(10),
		Answers: map[string][]Answer{
			"engine":     {prepared(true), planned, rendered},
			"transcribe": {transcription("running", 0), transcription("running", 1), transcription("completed", 2)},
			"store":      {stored},
		},
		Status: "SUCCEEDED",
		Path: "Prepare,Transcribe?,StartTranscription,WaitTranscription,CheckTranscription,Transcribed?," +
			"WaitTranscription,CheckTranscription,Transcribed?,Select,Render,RenderClip,RenderClip,Store,Stored",
		Calls: map[string]int{"engine": 4, "transcribe": 3, "store": 1},
	},
	{
		Name: "engine: a transcript beside the video, one clip fails alone", Definition: "engine.asl.json", Input: engineInput(10),
		Answers: map[string][]Answer{
			"engine": {prepared(false), planned, {Error: "TerminalError"}, rendered},
			"store":  {stored},
		},
		Status: "SUCCEEDED",
		Path:   "Prepare,Transcribe?,Select,Render,RenderClip,ClipFailed,RenderClip,Store,Stored",
		Calls:  map[string]int{"engine": 4, "store": 1},
	},
	{
		Name: "engine: transcription failed", Definition: "engine.asl.json", Input: engineInput(10),
		Answers: map[string][]Answer{
			"engine":     {prepared(true)},
			"transcribe": {transcription("running", 0), transcription("failed", 1)},
			"store":      {stored},
		},
		Status: "FAILED",
		Path:   "Prepare,Transcribe?,StartTranscription,WaitTranscription,CheckTranscription,Transcribed?,StoreFailure,Failed",
		Calls:  map[string]int{"engine": 1, "transcribe": 2, "store": 1},
	},
	{
		Name: "engine: transcription never ends", Definition: "engine.asl.json", Input: engineInput(3),
		Answers: map[string][]Answer{
			"engine":     {prepared(true)},
			"transcribe": {transcription("running", 0), transcription("running", 1), transcription("running", 2), transcription("running", 3)},
			"store":      {stored},
		},
		Status: "FAILED",
		Path: "Prepare,Transcribe?,StartTranscription,WaitTranscription,CheckTranscription,Transcribed?," +
			"WaitTranscription,CheckTranscription,Transcribed?,WaitTranscription,CheckTranscription,Transcribed?,StoreFailure,Failed",
		Calls: map[string]int{"engine": 1, "transcribe": 4, "store": 1},
	},
	{
		Name: "engine: prepare refuses the file", Definition: "engine.asl.json", Input: engineInput(10),
		Answers: map[string][]Answer{"engine": {{Error: "TerminalError"}}, "store": {stored}},
		Status:  "FAILED", Path: "Prepare,StoreFailure,Failed",
		Calls: map[string]int{"engine": 1, "store": 1},
	},
}
