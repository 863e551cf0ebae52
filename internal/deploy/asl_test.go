package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/cfn"
	"github.com/clipmill/clipmill/internal/pipeline"
	"github.com/clipmill/clipmill/statemachine/sfntest"
)

func aslFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "statemachine", "*.asl.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no statemachine/*.asl.json (%v)", err)
	}
	return files
}

// substituted is an ASL file with its ${...} placeholders replaced by the
// ARNs a deployment would give them, as DefinitionSubstitutions say (in
// Fn::Sub's syntax).
func substituted(t *testing.T, file string) []byte {
	t.Helper()
	st := loadTemplate(t)
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(repoRoot(t), file)
	arns := map[string]string{}
	for _, id := range st.ofType(stateMachineType) {
		p := st.props(id)
		if filepath.Clean(cfn.Scalar(cfn.Get(p, "DefinitionUri"))) != rel {
			continue
		}
		subs := cfn.Get(p, "DefinitionSubstitutions")
		for _, k := range keys(subs) {
			arn := "arn:aws:lambda:eu-west-1:123456789012:function:clipmill-" + k + "-1A2B3C4D5E6F"
			if name, arg := cfn.Intrinsic(cfn.Get(subs, k)); name == "GetAtt" {
				target, _ := cfn.GetAtt(arg)
				switch st.resourceType(target) {
				case functionType:
					arn = "arn:aws:lambda:eu-west-1:123456789012:function:clipmill-" + target + "-1A2B3C4D5E6F"
				case "AWS::SQS::Queue":
					arn = "arn:aws:sqs:eu-west-1:123456789012:clipmill-" + target + "-1A2B3C4D5E6F"
				}
			}
			arns[k] = arn
		}
	}
	var left []string
	out, _ := cfn.Substitute(string(raw), func(name string) (string, error) {
		arn, ok := arns[name]
		if !ok {
			if !strings.HasPrefix(name, "AWS::") {
				left = append(left, "${"+name+"}")
			}
			return "${" + name + "}", nil
		}
		return arn, nil
	})
	if len(left) > 0 {
		t.Fatalf("%s: placeholders with no substitution: %v", rel, left)
	}
	return []byte(out)
}

func runTool(t *testing.T, dir string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// asl-validator checks each definition against the States Language schema,
// its JSONPaths and its transitions: as written (placeholders are plain
// strings where they stand) and as deployed (placeholders replaced).
func TestASLValidator(t *testing.T) {
	if testing.Short() {
		t.Skip("an external tool (cfn-lint, asl-validator, aws-local-stepfunctions, the AWS CLI): the full run has it")
	}
	validator := sfntest.NodeTool(t, "asl-validator")
	root := repoRoot(t)
	dir := t.TempDir()

	// The check can fail: a transition to a state that does not exist.
	broken := filepath.Join(dir, "broken.asl.json")
	if err := os.WriteFile(broken, []byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nowhere"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runTool(t, root, validator, "--json-path", broken); err == nil {
		t.Fatalf("asl-validator accepted a broken definition:\n%s", out)
	}

	for _, file := range aslFiles(t) {
		rel, _ := filepath.Rel(root, file)
		t.Run(rel+"/raw", func(t *testing.T) {
			if out, err := runTool(t, root, validator, "--json-path", file); err != nil {
				t.Errorf("asl-validator %s: %v\n%s", rel, err, out)
			}
		})
		t.Run(rel+"/substituted", func(t *testing.T) {
			sub := filepath.Join(dir, filepath.Base(file))
			if err := os.WriteFile(sub, substituted(t, file), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := runTool(t, root, validator, "--json-path", sub); err != nil {
				t.Errorf("asl-validator %s with its substitutions: %v\n%s", rel, err, out)
			}
		})
	}
}

// harness runs one execution of a definition with aws-local-stepfunctions,
// each Task answered by a script instead of Lambda. aws-local-stepfunctions
// 3 wants Node 22 (Promise.withResolvers); the polyfill lets it run on 20.
const harness = `'use strict';
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}
const fs = require('fs');
const [modulePath, definitionPath, scenarioPath] = process.argv.slice(2);
const { StateMachine } = require(modulePath);
const definition = JSON.parse(fs.readFileSync(definitionPath, 'utf8'));
const scenario = JSON.parse(fs.readFileSync(scenarioPath, 'utf8'));
const calls = [];
const served = {};
function answer(state, input) {
  calls.push({ state, input });
  const script = scenario.tasks[state] || [];
  const i = served[state] = (served[state] || 0) + 1;
  const r = script[Math.min(i, script.length) - 1] || {};
  if (r.throw) {
    // What Step Functions sees from a Go Lambda error: errorType as the
    // error name, the whole error as JSON in the cause.
    const e = new Error(JSON.stringify({ errorMessage: r.throw.message, errorType: r.throw.type }));
    e.name = r.throw.type;
    throw e;
  }
  const ex = state === 'Poll' ? input.Payload : input.Payload.execution;
  if (state === 'Poll') {
    return { Payload: Object.assign({ status: 'running', progress: 0, attempt: ex.poll.attempt + 1, wait: 1 }, r.payload) };
  }
  const manifest = state === 'Store' ? 'clips/' + ex.name + '/manifest.json' : 'failed/' + ex.name + '.json';
  return { Payload: Object.assign({ manifest }, r.payload) };
}
const sm = new StateMachine(definition, { validationOptions: { checkArn: false } });
const run = sm.run(scenario.input, {
  overrides: {
    taskResourceLocalHandlers: {
      Poll: (input) => answer('Poll', input),
      Store: (input) => answer('Store', input),
      StoreFailure: (input) => answer('StoreFailure', input),
    },
    waitTimeOverrides: { Wait: 0 },
    retryIntervalOverrides: { Poll: 0, Store: 0, StoreFailure: 0 },
  },
});
run.result.then(
  (output) => { console.log(JSON.stringify({ status: 'SUCCEEDED', output, calls })); },
  (err) => {
    const cause = err.cause || err;
    console.log(JSON.stringify({ status: 'FAILED', error: { name: cause.name, message: cause.message }, calls }));
  },
);
`

type taskAnswer struct {
	Payload map[string]any `json:"payload,omitempty"`
	Throw   *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"throw,omitempty"`
}

type runResult struct {
	Status string          `json:"status"`
	Output json.RawMessage `json:"output"`
	Error  *struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	} `json:"error"`
	Calls []struct {
		State string          `json:"state"`
		Input json.RawMessage `json:"input"`
	} `json:"calls"`
}

func throws(typ, msg string) taskAnswer {
	var a taskAnswer
	a.Throw = &struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}{typ, msg}
	return a
}

func status(s string, progress int) taskAnswer {
	return taskAnswer{Payload: map[string]any{"status": s, "progress": progress}}
}

// The definition, executed: the loop ends on each status the Choice knows,
// the caps hold, errors are retried or caught as the Retry and Catch
// fields say, and every payload a function receives decodes into the Go
// type that function takes.
func TestASLRunsLocally(t *testing.T) {
	if testing.Short() {
		t.Skip("an external tool (cfn-lint, asl-validator, aws-local-stepfunctions, the AWS CLI): the full run has it")
	}
	sfntest.NodeTool(t, "local-sfn")
	root := repoRoot(t)
	module := filepath.Join(root, "node_modules", "aws-local-stepfunctions")
	dir := t.TempDir()
	script := filepath.Join(dir, "harness.cjs")
	if err := os.WriteFile(script, []byte(harness), 0o644); err != nil {
		t.Fatal(err)
	}
	definition := filepath.Join(root, "statemachine", "pipeline.asl.json")

	// The first state: what submit starts the execution with.
	var start pipeline.Execution
	decodeStrict(t, "poll-input.json", &start)
	start.Poll = pipeline.Poll{Status: "pending", Wait: 10}

	cases := []struct {
		name      string
		limit     int // MaxAttempts, when not the default
		tasks     map[string][]taskAnswer
		succeeded bool
		calls     map[string]int
		check     func(t *testing.T, r runResult, last map[string]pipeline.StoreInput)
	}{
		{
			name:      "completes",
			tasks:     map[string][]taskAnswer{"Poll": {status("running", 20), status("running", 60), status("completed", 100)}},
			succeeded: true,
			calls:     map[string]int{"Poll": 3, "Store": 1},
			check: func(t *testing.T, r runResult, last map[string]pipeline.StoreInput) {
				var out pipeline.Execution
				if err := json.Unmarshal(r.Output, &out); err != nil {
					t.Fatal(err)
				}
				if out.Stored == nil || out.Stored.Manifest != pipeline.ManifestKey("talk") || out.Poll.Attempt != 3 {
					t.Errorf("output %s", r.Output)
				}
				if in := last["Store"]; in.Failure || in.Execution.Poll.Status != "completed" {
					t.Errorf("Store got %+v", in)
				}
			},
		},
		{
			name:  "job fails",
			tasks: map[string][]taskAnswer{"Poll": {status("running", 20), status("failed", 20)}},
			calls: map[string]int{"Poll": 2, "StoreFailure": 1},
			check: func(t *testing.T, r runResult, last map[string]pipeline.StoreInput) {
				if in := last["StoreFailure"]; !in.Failure || in.Execution.Error != nil || in.Execution.Poll.Status != "failed" {
					t.Errorf("StoreFailure got %+v", in)
				}
			},
		},
		{
			name:  "job cancelled",
			tasks: map[string][]taskAnswer{"Poll": {status("cancelled", 0)}},
			calls: map[string]int{"Poll": 1, "StoreFailure": 1},
		},
		{
			name:  "job timed out",
			tasks: map[string][]taskAnswer{"Poll": {status("running", 10), status(pipeline.StatusTimedOut, 10)}},
			calls: map[string]int{"Poll": 2, "StoreFailure": 1},
		},
		{
			name:  "polls run out",
			limit: 4,
			tasks: map[string][]taskAnswer{"Poll": {status("running", 10)}},
			calls: map[string]int{"Poll": 4, "StoreFailure": 1},
			check: func(t *testing.T, r runResult, last map[string]pipeline.StoreInput) {
				if p := last["StoreFailure"].Execution.Poll; p.Attempt != 4 || p.Status != "running" {
					t.Errorf("StoreFailure got poll %+v", p)
				}
			},
		},
		{
			name:      "poll retries a RetryableError",
			tasks:     map[string][]taskAnswer{"Poll": {throws("RetryableError", "poll job: HTTP 502"), status("completed", 100)}},
			succeeded: true,
			calls:     map[string]int{"Poll": 2, "Store": 1},
		},
		{
			name:  "poll gives up on a TerminalError",
			tasks: map[string][]taskAnswer{"Poll": {throws("TerminalError", "poll job: HTTP 404 not_found")}},
			calls: map[string]int{"Poll": 1, "StoreFailure": 1},
			check: func(t *testing.T, r runResult, last map[string]pipeline.StoreInput) {
				e := last["StoreFailure"].Execution.Error
				if e == nil || e.Error != "TerminalError" || !strings.Contains(e.Cause, `"errorType":"TerminalError"`) {
					t.Errorf("StoreFailure got error %+v", e)
				}
			},
		},
		{
			name: "store fails",
			tasks: map[string][]taskAnswer{"Poll": {status("completed", 100)},
				"Store": {throws("TerminalError", "clip file URL is invalid")}},
			calls: map[string]int{"Poll": 1, "Store": 1, "StoreFailure": 1},
			check: func(t *testing.T, r runResult, last map[string]pipeline.StoreInput) {
				if in := last["StoreFailure"]; !in.Failure || in.Execution.Error == nil || in.Execution.Error.Error != "TerminalError" {
					t.Errorf("StoreFailure got %+v", in)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			input := start
			if c.limit > 0 {
				input.Limits.MaxAttempts = c.limit
			}
			scenario, err := json.Marshal(map[string]any{"input": input, "tasks": c.tasks})
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "scenario.json")
			if err := os.WriteFile(file, scenario, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := runTool(t, root, "node", script, module, definition, file)
			if err != nil {
				t.Fatalf("node harness: %v\n%s", err, out)
			}
			var r runResult
			if err := json.Unmarshal([]byte(lastLine(out)), &r); err != nil {
				t.Fatalf("harness output: %v\n%s", err, out)
			}
			if (r.Status == "SUCCEEDED") != c.succeeded {
				t.Errorf("status %s (error %+v), want succeeded = %v", r.Status, r.Error, c.succeeded)
			}
			if !c.succeeded && (r.Error == nil || r.Error.Name != "ClippingFailed") {
				t.Errorf("error %+v, want ClippingFailed", r.Error)
			}
			calls := map[string]int{}
			last := map[string]pipeline.StoreInput{}
			for _, call := range r.Calls {
				calls[call.State]++
				var task struct {
					FunctionName string          `json:"FunctionName"`
					Payload      json.RawMessage `json:"Payload"`
				}
				strictJSON(t, call.Input, &task)
				want := map[string]string{"Poll": "${PollFunctionArn}", "Store": "${StoreFunctionArn}", "StoreFailure": "${StoreFunctionArn}"}[call.State]
				if task.FunctionName != want {
					t.Errorf("%s invoked %q, want %q", call.State, task.FunctionName, want)
				}
				if call.State == "Poll" {
					var ex pipeline.Execution
					strictJSON(t, task.Payload, &ex)
					continue
				}
				var in pipeline.StoreInput
				strictJSON(t, task.Payload, &in)
				last[call.State] = in
			}
			for _, s := range []string{"Poll", "Store", "StoreFailure"} {
				if calls[s] != c.calls[s] {
					t.Errorf("%s ran %d times, want %d (all calls: %v)", s, calls[s], c.calls[s], calls)
				}
			}
			if c.check != nil {
				c.check(t, r, last)
			}
		})
	}
}

func strictJSON(t *testing.T, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Errorf("payload %s does not decode into %T: %v", data, v, err)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
