package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/statemachine/sfntest"
)

// These tests run the real definition, statemachine/pipeline.asl.json, in
// aws-local-stepfunctions (npm), an independent implementation of Step
// Functions, with the Go handlers (Poll and Store, on gofakes3 and a fake
// backend) as its Lambda tasks.

func runStepFunctions(t *testing.T, p *Pipeline, input Execution) sfntest.Result {
	t.Helper()
	return sfntest.Run(t, "pipeline.asl.json", func(ctx context.Context, fn string, payload json.RawMessage) (any, error) {
		switch fn {
		case "poll":
			var ex Execution
			if err := json.Unmarshal(payload, &ex); err != nil {
				return nil, err
			}
			return p.Poll(ctx, ex)
		case "store":
			var in StoreInput
			if err := json.Unmarshal(payload, &in); err != nil {
				return nil, err
			}
			return p.Store(ctx, in)
		}
		return nil, fmt.Errorf("no function %s", fn)
	}, input)
}

func execution(p *Pipeline, jobID string) Execution {
	return Execution{
		Source: Source{Bucket: bucket, Key: "inbox/talk.mp4", ETag: "e"}, Name: "talk", JobID: jobID,
		Backend: "backend", SubmittedAt: p.now().Unix(), Upload: strings.Repeat("ab", 24), Attempt: 2,
		Limits: Limits{MaxAttempts: 20, JobTimeout: 3600}, Poll: Poll{Status: "pending", Wait: 10},
	}
}

func TestStepFunctionsCompleted(t *testing.T) {
	p, s3b, be, _ := newPipeline(t)
	be.jobs["j"] = &clipping.Job{ID: "j", Status: clipping.JobRunning, Clips: []clipping.Clip{}}
	gets := 0
	be.onGet = func(j *clipping.Job) {
		if gets++; gets == 3 {
			be.completeLocked(j.ID)
		}
	}
	res := runStepFunctions(t, p, execution(p, "j"))
	if res.Status != "SUCCEEDED" {
		t.Fatalf("%+v", res)
	}
	if got := res.Path(); got != "Wait,Poll,Ended?,Wait,Poll,Ended?,Wait,Poll,Ended?,Store,Stored" {
		t.Errorf("states %s", got)
	}
	var out Execution
	json.Unmarshal(res.Output, &out)
	if out.Stored == nil || out.Stored.Manifest != "clips/talk/manifest.json" || out.Poll.Attempt != 3 || out.Poll.Wait != 80 {
		t.Errorf("output %s", res.Output)
	}
	if !strings.Contains(read(t, s3b, "clips/talk/manifest.json"), `"job_id": "j"`) {
		t.Error("no manifest")
	}
}

func TestStepFunctionsFailed(t *testing.T) {
	p, s3b, be, _ := newPipeline(t)
	be.jobs["j"] = &clipping.Job{ID: "j", Status: clipping.JobFailed, FailureMessage: clipping.Ptr("The source video is truncated.")}
	res := runStepFunctions(t, p, execution(p, "j"))
	// The library reports a Fail state as an ExecutionError with its Cause.
	if res.Status != "FAILED" || !strings.Contains(res.Cause, "see failed/<video name>.json") || res.States[len(res.States)-1] != "Failed" {
		t.Fatalf("%+v", res)
	}
	if !strings.Contains(read(t, s3b, "failed/talk.json"), "truncated") {
		t.Error("no failure record")
	}
	// The state carries the attempt to StoreFailure, which marks it failed.
	if rec := read(t, s3b, "failed/.attempts/talk/abababababababab/2-0.json"); !strings.Contains(rec, `"attempt": 2`) {
		t.Errorf("marker %s", rec)
	}
}

func TestStepFunctionsTimedOut(t *testing.T) {
	p, s3b, be, _ := newPipeline(t)
	be.jobs["j"] = &clipping.Job{ID: "j", Status: clipping.JobRunning, Clips: []clipping.Clip{}}
	ex := execution(p, "j")
	ex.SubmittedAt -= 7200 // submitted two hours ago, with a one-hour job timeout
	res := runStepFunctions(t, p, ex)
	if res.Status != "FAILED" || !strings.Contains(res.Path(), "StoreFailure") {
		t.Fatalf("%+v", res)
	}
	if !strings.Contains(read(t, s3b, "failed/talk.json"), "did not finish within 3600 s") {
		t.Error("no timeout record")
	}
	// The attempt cap, too: a job that stays running.
	ex = execution(p, "j")
	ex.Limits.MaxAttempts = 3
	res = runStepFunctions(t, p, ex)
	if res.Status != "FAILED" || strings.Count(res.Path(), "Poll") != 3 {
		t.Fatalf("attempt cap: %+v", res)
	}
}

func TestStepFunctionsRetryThenSuccess(t *testing.T) {
	p, s3b, be, _ := newPipeline(t)
	be.jobs["j"] = &clipping.Job{ID: "j", Status: clipping.JobRunning, Clips: []clipping.Clip{}}
	be.completeLocked("j")
	be.script = []int{500, 500} // the next two calls fail: RetryableError
	res := runStepFunctions(t, p, execution(p, "j"))
	if res.Status != "SUCCEEDED" {
		t.Fatalf("%+v", res)
	}
	if be.script = nil; be.calls < 3 {
		t.Errorf("the backend saw %d calls; want the two failures retried", be.calls)
	}
	read(t, s3b, "clips/talk/manifest.json")
	// A 4xx is terminal: caught at once and recorded, not retried.
	p2, s3b2, be2, _ := newPipeline(t)
	be2.jobs["other"] = &clipping.Job{ID: "other"}
	res = runStepFunctions(t, p2, execution(p2, "missing"))
	if res.Status != "FAILED" || be2.calls > 2 {
		t.Fatalf("terminal: %+v after %d calls", res, be2.calls)
	}
	if rec := read(t, s3b2, "failed/talk.json"); !strings.Contains(rec, "TerminalError") {
		t.Errorf("record %s", rec)
	}
}
