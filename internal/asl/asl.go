// Package asl runs a state machine definition written in the Amazon States
// Language on one machine: the subset the pipeline's definition uses (Task
// states invoking Lambda functions, Wait, Choice, Succeed, Fail; Parameters,
// ResultSelector, ResultPath, Retry with backoff and jitter, Catch,
// TimeoutSeconds). `clipmill local` runs the very definition that Step
// Functions runs on AWS, with the Go handlers as its tasks.
package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"time"

	"github.com/clipmill/clipmill/internal/clock"
)

// Task is a Lambda function's handler: its JSON payload in, its JSON
// result out.
type Task func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error)

// Machine is a parsed definition with its tasks.
type Machine struct {
	def   definition
	Tasks map[string]Task // by FunctionName, after substitution
	// Sleep waits; tests may shorten it. Default: a real, cancellable wait.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnState, when set, is told each state entered (for logs and tests).
	OnState func(name string, input json.RawMessage)
}

type definition struct {
	StartAt        string           `json:"StartAt"`
	TimeoutSeconds int              `json:"TimeoutSeconds"`
	States         map[string]state `json:"States"`
}

type state struct {
	Type           string          `json:"Type"`
	Next           string          `json:"Next"`
	End            bool            `json:"End"`
	Resource       string          `json:"Resource"`
	Parameters     json.RawMessage `json:"Parameters"`
	ResultSelector json.RawMessage `json:"ResultSelector"`
	ResultPath     *string         `json:"ResultPath"`
	ResultPathNull bool            `json:"-"`
	TimeoutSeconds int             `json:"TimeoutSeconds"`
	Retry          []retrier       `json:"Retry"`
	Catch          []catcher       `json:"Catch"`
	Seconds        *int            `json:"Seconds"`
	SecondsPath    string          `json:"SecondsPath"`
	Choices        []rule          `json:"Choices"`
	Default        string          `json:"Default"`
	Error          string          `json:"Error"`
	Cause          string          `json:"Cause"`
}

type retrier struct {
	ErrorEquals     []string `json:"ErrorEquals"`
	IntervalSeconds *float64 `json:"IntervalSeconds"`
	MaxAttempts     *int     `json:"MaxAttempts"`
	BackoffRate     *float64 `json:"BackoffRate"`
	MaxDelaySeconds float64  `json:"MaxDelaySeconds"`
	JitterStrategy  string   `json:"JitterStrategy"`
}

type catcher struct {
	ErrorEquals []string `json:"ErrorEquals"`
	ResultPath  *string  `json:"ResultPath"`
	Next        string   `json:"Next"`
}

type rule struct {
	Variable                     string   `json:"Variable"`
	StringEquals                 *string  `json:"StringEquals"`
	NumericEquals                *float64 `json:"NumericEquals"`
	NumericGreaterThanEquals     *float64 `json:"NumericGreaterThanEquals"`
	NumericGreaterThanEqualsPath string   `json:"NumericGreaterThanEqualsPath"`
	BooleanEquals                *bool    `json:"BooleanEquals"`
	IsPresent                    *bool    `json:"IsPresent"`
	Or                           []rule   `json:"Or"`
	And                          []rule   `json:"And"`
	Not                          *rule    `json:"Not"`
	Next                         string   `json:"Next"`
}

// Parse reads a definition, replacing ${Name} placeholders the way SAM's
// DefinitionSubstitutions do. Every placeholder must have a value, and every
// state must be of a kind this package runs, so a definition that would
// behave differently here fails loudly instead.
func Parse(def []byte, subst map[string]string) (*Machine, error) {
	s := string(def)
	for k, v := range subst {
		s = strings.ReplaceAll(s, "${"+k+"}", v)
	}
	if i := strings.Index(s, "${"); i >= 0 {
		end := strings.IndexByte(s[i:], '}')
		return nil, fmt.Errorf("asl: no substitution for %s", s[i:i+max(end+1, 2)])
	}
	var raw struct {
		definition
		States map[string]json.RawMessage `json:"States"`
	}
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("asl: %w", err)
	}
	m := &Machine{def: raw.definition, Tasks: map[string]Task{}}
	m.def.States = map[string]state{}
	for name, b := range raw.States {
		var st state
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("asl: state %s: %w", name, err)
		}
		// "ResultPath": null discards the result; tell it from absent.
		var probe map[string]json.RawMessage
		json.Unmarshal(b, &probe)
		if rp, ok := probe["ResultPath"]; ok && string(rp) == "null" {
			st.ResultPathNull = true
		}
		switch st.Type {
		case "Task":
			if st.Resource != "arn:aws:states:::lambda:invoke" {
				return nil, fmt.Errorf("asl: state %s: resource %q is not run here", name, st.Resource)
			}
		case "Wait", "Choice", "Succeed", "Fail", "Pass":
		default:
			return nil, fmt.Errorf("asl: state %s: type %q is not run here", name, st.Type)
		}
		m.def.States[name] = st
	}
	if _, ok := m.def.States[m.def.StartAt]; !ok {
		return nil, fmt.Errorf("asl: StartAt %q is not a state", m.def.StartAt)
	}
	return m, nil
}

// FailedError is the end of an execution in a Fail state, or with an error
// nothing caught.
type FailedError struct {
	State string
	Name  string // the error's name, as ErrorEquals matches it
	Cause string
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("execution failed in %s: %s: %s", e.State, e.Name, e.Cause)
}

// Run executes the machine on input and returns its output.
func (m *Machine) Run(ctx context.Context, input json.RawMessage) (json.RawMessage, error) {
	if m.def.TimeoutSeconds > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(m.def.TimeoutSeconds)*time.Second)
		defer cancel()
	}
	var data any
	if err := json.Unmarshal(input, &data); err != nil {
		return nil, fmt.Errorf("asl: input: %w", err)
	}
	name := m.def.StartAt
	for {
		if err := ctx.Err(); err != nil {
			return nil, &FailedError{State: name, Name: "States.Timeout", Cause: "the execution timed out"}
		}
		st := m.def.States[name]
		if m.OnState != nil {
			b, _ := json.Marshal(data)
			m.OnState(name, b)
		}
		var next string
		var err error
		switch st.Type {
		case "Pass":
			next = st.Next
		case "Succeed":
			return json.Marshal(data)
		case "Fail":
			return nil, &FailedError{State: name, Name: st.Error, Cause: st.Cause}
		case "Wait":
			next, err = m.wait(ctx, st, data)
		case "Choice":
			next, err = choose(st, data)
		case "Task":
			data, next, err = m.task(ctx, name, st, data)
		}
		if err != nil {
			return nil, err
		}
		if st.End || next == "" {
			return json.Marshal(data)
		}
		if _, ok := m.def.States[next]; !ok {
			return nil, fmt.Errorf("asl: state %s goes to unknown state %q", name, next)
		}
		name = next
	}
}

func (m *Machine) sleep(ctx context.Context, d time.Duration) error {
	if m.Sleep != nil {
		return m.Sleep(ctx, d)
	}
	return clock.Sleep(ctx, d)
}

func (m *Machine) wait(ctx context.Context, st state, data any) (string, error) {
	secs := 0.0
	switch {
	case st.Seconds != nil:
		secs = float64(*st.Seconds)
	case st.SecondsPath != "":
		v, ok := lookup(data, st.SecondsPath)
		f, isNum := v.(float64)
		if !ok || !isNum {
			return "", &FailedError{State: "Wait", Name: "States.Runtime", Cause: "SecondsPath " + st.SecondsPath + " is not a number"}
		}
		secs = f
	}
	if err := m.sleep(ctx, time.Duration(secs*float64(time.Second))); err != nil {
		return "", &FailedError{State: "Wait", Name: "States.Timeout", Cause: err.Error()}
	}
	return st.Next, nil
}

// task runs a Lambda invoke with its retries, and on failure its catchers.
func (m *Machine) task(ctx context.Context, name string, st state, data any) (any, string, error) {
	params, err := render(st.Parameters, data)
	if err != nil {
		return nil, "", &FailedError{State: name, Name: "States.Runtime", Cause: err.Error()}
	}
	p, _ := params.(map[string]any)
	fn, _ := p["FunctionName"].(string)
	handler, ok := m.Tasks[fn]
	if !ok {
		return nil, "", fmt.Errorf("asl: state %s: no task for function %q", name, fn)
	}
	payload, _ := json.Marshal(p["Payload"])
	attempts := map[int]int{} // retrier index -> retries used
	for {
		tctx, cancel := ctx, context.CancelFunc(func() {})
		if st.TimeoutSeconds > 0 {
			tctx, cancel = context.WithTimeout(ctx, time.Duration(st.TimeoutSeconds)*time.Second)
		}
		out, err := handler(tctx, payload)
		timedOut := tctx.Err() != nil && ctx.Err() == nil
		cancel()
		if err == nil && !timedOut {
			var res any
			if err := json.Unmarshal(out, &res); err != nil {
				return nil, "", &FailedError{State: name, Name: "States.Runtime", Cause: "task output: " + err.Error()}
			}
			// What lambda:invoke returns: the function's result under Payload.
			result := any(map[string]any{"Payload": res, "StatusCode": 200.0})
			if len(st.ResultSelector) > 0 {
				if result, err = render(st.ResultSelector, result); err != nil {
					return nil, "", &FailedError{State: name, Name: "States.Runtime", Cause: err.Error()}
				}
			}
			data, err := applyResultPath(data, st.ResultPath, st.ResultPathNull, result)
			if err != nil {
				return nil, "", &FailedError{State: name, Name: "States.Runtime", Cause: err.Error()}
			}
			return data, st.Next, nil
		}
		if ctx.Err() != nil {
			return nil, "", &FailedError{State: name, Name: "States.Timeout", Cause: "the execution timed out"}
		}
		te := taskError(err, timedOut)
		if i, ok := matchRetry(st.Retry, te.Error, attempts); ok {
			attempts[i]++
			if err := m.sleep(ctx, backoff(st.Retry[i], attempts[i])); err != nil {
				return nil, "", &FailedError{State: name, Name: "States.Timeout", Cause: err.Error()}
			}
			continue
		}
		for _, c := range st.Catch {
			if matches(c.ErrorEquals, te.Error) {
				data, err := applyResultPath(data, c.ResultPath, false, map[string]any{"Error": te.Error, "Cause": te.Cause})
				if err != nil {
					return nil, "", &FailedError{State: name, Name: "States.Runtime", Cause: err.Error()}
				}
				return data, c.Next, nil
			}
		}
		return nil, "", &FailedError{State: name, Name: te.Error, Cause: te.Cause}
	}
}

type caught struct{ Error, Cause string }

// taskError names an error the way Lambda and Step Functions do: the Go
// type's name (without pointer or package) as the error, and Lambda's JSON
// error document as the cause.
func taskError(err error, timedOut bool) caught {
	if timedOut || errors.Is(err, context.DeadlineExceeded) {
		return caught{"States.Timeout", "the task timed out"}
	}
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := t.Name()
	if name == "" {
		name = "errorString"
	}
	cause, _ := json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": name})
	return caught{name, string(cause)}
}

func matches(list []string, name string) bool {
	for _, e := range list {
		if e == name || e == "States.ALL" || (e == "States.TaskFailed" && name != "States.Timeout") {
			return true
		}
	}
	return false
}

func matchRetry(rs []retrier, name string, used map[int]int) (int, bool) {
	for i, r := range rs {
		if !matches(r.ErrorEquals, name) {
			continue
		}
		max := 3
		if r.MaxAttempts != nil {
			max = *r.MaxAttempts
		}
		// The first retrier that matches decides, even when it is used up.
		return i, used[i] < max
	}
	return 0, false
}

// backoff is IntervalSeconds * BackoffRate^(n-1), capped by MaxDelaySeconds,
// and with FULL jitter a random wait up to that.
func backoff(r retrier, n int) time.Duration {
	interval, rate := 1.0, 2.0
	if r.IntervalSeconds != nil {
		interval = *r.IntervalSeconds
	}
	if r.BackoffRate != nil {
		rate = *r.BackoffRate
	}
	d := interval * math.Pow(rate, float64(n-1))
	if r.MaxDelaySeconds > 0 {
		d = math.Min(d, r.MaxDelaySeconds)
	}
	if r.JitterStrategy == "FULL" {
		d *= rand.Float64()
	}
	return time.Duration(d * float64(time.Second))
}

func choose(st state, data any) (string, error) {
	for _, r := range st.Choices {
		ok, err := r.eval(data)
		if err != nil {
			return "", err
		}
		if ok {
			return r.Next, nil
		}
	}
	if st.Default == "" {
		return "", &FailedError{State: "Choice", Name: "States.NoChoiceMatched", Cause: "no choice matched"}
	}
	return st.Default, nil
}

func (r rule) eval(data any) (bool, error) {
	switch {
	case len(r.Or) > 0:
		for _, x := range r.Or {
			if ok, err := x.eval(data); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case len(r.And) > 0:
		for _, x := range r.And {
			if ok, err := x.eval(data); err != nil || !ok {
				return ok, err
			}
		}
		return true, nil
	case r.Not != nil:
		ok, err := r.Not.eval(data)
		return !ok, err
	}
	v, present := lookup(data, r.Variable)
	if r.IsPresent != nil {
		return present == *r.IsPresent, nil
	}
	if !present {
		return false, &FailedError{State: "Choice", Name: "States.Runtime", Cause: "Variable " + r.Variable + " is missing"}
	}
	num := func() (float64, bool) { f, ok := v.(float64); return f, ok }
	switch {
	case r.StringEquals != nil:
		s, ok := v.(string)
		return ok && s == *r.StringEquals, nil
	case r.BooleanEquals != nil:
		b, ok := v.(bool)
		return ok && b == *r.BooleanEquals, nil
	case r.NumericEquals != nil:
		f, ok := num()
		return ok && f == *r.NumericEquals, nil
	case r.NumericGreaterThanEquals != nil:
		f, ok := num()
		return ok && f >= *r.NumericGreaterThanEquals, nil
	case r.NumericGreaterThanEqualsPath != "":
		f, ok := num()
		w, present := lookup(data, r.NumericGreaterThanEqualsPath)
		g, isNum := w.(float64)
		if !present || !isNum {
			return false, &FailedError{State: "Choice", Name: "States.Runtime", Cause: r.NumericGreaterThanEqualsPath + " is not a number"}
		}
		return ok && f >= g, nil
	}
	return false, fmt.Errorf("asl: a choice rule on %s uses an operator not run here", r.Variable)
}

// lookup reads a reference path such as $.poll.wait.
func lookup(data any, path string) (any, bool) {
	if path == "$" {
		return data, true
	}
	if !strings.HasPrefix(path, "$.") {
		return nil, false
	}
	cur := data
	for _, k := range strings.Split(path[2:], ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// render fills a Parameters or ResultSelector template: keys ending in
// ".$" take the value at their path.
func render(tmpl json.RawMessage, data any) (any, error) {
	if len(tmpl) == 0 {
		return data, nil
	}
	var t any
	if err := json.Unmarshal(tmpl, &t); err != nil {
		return nil, err
	}
	return fill(t, data)
}

func fill(t, data any) (any, error) {
	m, ok := t.(map[string]any)
	if !ok {
		return t, nil
	}
	out := map[string]any{}
	for k, v := range m {
		if strings.HasSuffix(k, ".$") {
			p, _ := v.(string)
			val, ok := lookup(data, p)
			if !ok {
				return nil, fmt.Errorf("the path %s in %s was not found", p, k)
			}
			out[strings.TrimSuffix(k, ".$")] = val
			continue
		}
		fv, err := fill(v, data)
		if err != nil {
			return nil, err
		}
		out[k] = fv
	}
	return out, nil
}

// applyResultPath puts result into data at path ($ replaces the whole).
func applyResultPath(data any, path *string, discard bool, result any) (any, error) {
	if discard {
		return data, nil
	}
	if path == nil || *path == "$" {
		return result, nil
	}
	if !strings.HasPrefix(*path, "$.") {
		return nil, fmt.Errorf("ResultPath %q is not supported", *path)
	}
	root, ok := data.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("ResultPath %s needs an object input", *path)
	}
	keys := strings.Split((*path)[2:], ".")
	cur := root
	for _, k := range keys[:len(keys)-1] {
		next, ok := cur[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[k] = next
		}
		cur = next
	}
	cur[keys[len(keys)-1]] = result
	return root, nil
}
