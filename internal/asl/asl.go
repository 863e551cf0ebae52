// Package asl runs a state machine definition written in the Amazon States
// Language on one machine: the subset clipmill's definitions use (Task
// states invoking Lambda functions, Wait, Choice, Pass, Succeed, Fail, and
// inline Map; Parameters, ItemSelector with $$.Map.Item, ResultSelector,
// ResultPath, Retry with backoff and jitter, Catch, TimeoutSeconds,
// MaxConcurrency). `clipmill local` runs the very definition that Step
// Functions runs on AWS, with the Go handlers as its tasks. Parse refuses
// any field or operator it does not run, so that a definition cannot mean
// one thing on AWS and another here.
package asl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
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
	// Rand gives FULL jitter's factor, in [0, 1); tests may fix it.
	// Default: math/rand/v2's Float64.
	Rand func() float64
	// OnState, when set, is told each state entered (for logs and tests).
	OnState func(name string, input json.RawMessage)
}

type definition struct {
	Comment        string           `json:"Comment"`
	StartAt        string           `json:"StartAt"`
	TimeoutSeconds int              `json:"TimeoutSeconds"`
	States         map[string]state `json:"States"`
}

type state struct {
	Type           string          `json:"Type"`
	Comment        string          `json:"Comment"`
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
	// Map
	ItemsPath          string          `json:"ItemsPath"`
	ItemSelector       json.RawMessage `json:"ItemSelector"`
	MaxConcurrency     int             `json:"MaxConcurrency"`
	MaxConcurrencyPath string          `json:"MaxConcurrencyPath"`
	ItemProcessor      *processor      `json:"ItemProcessor"`
}

// UnmarshalJSON decodes a state strictly (a field this package does not
// know is an error) and tells "ResultPath": null, which discards the
// result, from a ResultPath left out.
func (st *state) UnmarshalJSON(b []byte) error {
	type plain state
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p plain
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*st = state(p)
	var probe map[string]json.RawMessage
	json.Unmarshal(b, &probe)
	if rp, ok := probe["ResultPath"]; ok && string(rp) == "null" {
		st.ResultPathNull = true
	}
	return nil
}

// processor is a Map state's ItemProcessor: an inline state machine.
type processor struct {
	ProcessorConfig struct {
		Mode string `json:"Mode"`
	} `json:"ProcessorConfig"`
	StartAt string           `json:"StartAt"`
	States  map[string]state `json:"States"`
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
// state, field and choice operator must be one this package runs, so a
// definition that would behave differently here fails loudly instead.
func Parse(definitionJSON []byte, subst map[string]string) (*Machine, error) {
	s := string(definitionJSON)
	for k, v := range subst {
		s = strings.ReplaceAll(s, "${"+k+"}", v)
	}
	if i := strings.Index(s, "${"); i >= 0 {
		end := strings.IndexByte(s[i:], '}')
		return nil, fmt.Errorf("asl: no substitution for %s", s[i:i+max(end+1, 2)])
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var def definition
	if err := dec.Decode(&def); err != nil {
		return nil, fmt.Errorf("asl: %w", err)
	}
	if err := check(def.StartAt, def.States, ""); err != nil {
		return nil, err
	}
	return &Machine{def: def, Tasks: map[string]Task{}}, nil
}

// allowed are the fields each kind of state may have here, beyond Type,
// Comment, Next and End.
var allowed = map[string][]string{
	"Task":    {"Resource", "Parameters", "ResultSelector", "ResultPath", "TimeoutSeconds", "Retry", "Catch"},
	"Wait":    {"Seconds", "SecondsPath"},
	"Choice":  {"Choices", "Default"},
	"Pass":    {"Parameters", "ResultPath"},
	"Succeed": {},
	"Fail":    {"Error", "Cause"},
	"Map":     {"ItemsPath", "ItemSelector", "MaxConcurrency", "MaxConcurrencyPath", "ItemProcessor", "ResultPath", "Catch"},
}

// check refuses what this package would run differently from Step
// Functions: unknown state types, fields that a state of its type may have
// on AWS but that are not run here, and transitions to nowhere.
func check(startAt string, states map[string]state, where string) error {
	if _, ok := states[startAt]; !ok {
		return fmt.Errorf("asl: %sStartAt %q is not a state", where, startAt)
	}
	for name, st := range states {
		fields, ok := allowed[st.Type]
		if !ok {
			return fmt.Errorf("asl: state %s%s: type %q is not run here", where, name, st.Type)
		}
		set := st.setFields()
		for _, f := range set {
			if f != "Type" && f != "Comment" && f != "Next" && f != "End" && !slices.Contains(fields, f) {
				return fmt.Errorf("asl: state %s%s: a %s state's %s is not run here", where, name, st.Type, f)
			}
		}
		if st.Type == "Task" && st.Resource != "arn:aws:states:::lambda:invoke" {
			return fmt.Errorf("asl: state %s%s: resource %q is not run here", where, name, st.Resource)
		}
		for _, r := range st.Choices {
			if err := r.check(); err != nil {
				return fmt.Errorf("asl: state %s%s: %w", where, name, err)
			}
		}
		for _, next := range st.transitions() {
			if _, ok := states[next]; !ok {
				return fmt.Errorf("asl: state %s%s goes to unknown state %q", where, name, next)
			}
		}
		if st.Type == "Map" {
			p := st.ItemProcessor
			if p == nil {
				return fmt.Errorf("asl: state %s%s: a Map state needs an ItemProcessor", where, name)
			}
			if p.ProcessorConfig.Mode != "" && p.ProcessorConfig.Mode != "INLINE" {
				return fmt.Errorf("asl: state %s%s: Map mode %q is not run here", where, name, p.ProcessorConfig.Mode)
			}
			if err := check(p.StartAt, p.States, where+name+"/"); err != nil {
				return err
			}
		}
	}
	return nil
}

// setFields names the fields a state sets.
func (st state) setFields() []string {
	var out []string
	v := reflect.ValueOf(st)
	t := v.Type()
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("json")
		if tag == "" || tag == "-" || v.Field(i).IsZero() {
			continue
		}
		out = append(out, tag)
	}
	if st.ResultPathNull {
		out = append(out, "ResultPath")
	}
	return out
}

func (st state) transitions() []string {
	var out []string
	if st.Next != "" {
		out = append(out, st.Next)
	}
	if st.Default != "" {
		out = append(out, st.Default)
	}
	for _, r := range st.Choices {
		out = append(out, r.Next)
	}
	for _, c := range st.Catch {
		out = append(out, c.Next)
	}
	return out
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
	out, err := m.run(ctx, m.def.StartAt, m.def.States, data)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// run executes states from start until one ends the (sub-)machine.
func (m *Machine) run(ctx context.Context, start string, states map[string]state, data any) (any, error) {
	name := start
	for {
		if err := ctx.Err(); err != nil {
			return nil, &FailedError{State: name, Name: "States.Timeout", Cause: "the execution timed out"}
		}
		st := states[name]
		if m.OnState != nil {
			b, _ := json.Marshal(data)
			m.OnState(name, b)
		}
		var next string
		var err error
		switch st.Type {
		case "Pass":
			data, next, err = m.pass(name, st, data)
		case "Succeed":
			return data, nil
		case "Fail":
			return nil, &FailedError{State: name, Name: st.Error, Cause: st.Cause}
		case "Wait":
			next, err = m.wait(ctx, st, data)
		case "Choice":
			next, err = choose(st, data)
		case "Task":
			data, next, err = m.task(ctx, name, st, data)
		case "Map":
			data, next, err = m.mapState(ctx, name, st, data)
		}
		if err != nil {
			return nil, err
		}
		// A state with End has no Next; a Catch still has somewhere to go.
		if next == "" {
			return data, nil
		}
		name = next
	}
}

// pass fills its Parameters from the input and puts them at ResultPath.
func (m *Machine) pass(name string, st state, data any) (any, string, error) {
	res, err := render(st.Parameters, data, nil)
	if err == nil {
		data, err = applyResultPath(data, st.ResultPath, st.ResultPathNull, res)
	}
	if err != nil {
		return nil, "", &FailedError{State: name, Name: "States.Runtime", Cause: err.Error()}
	}
	return data, st.Next, nil
}

// mapState runs the ItemProcessor on each item of ItemsPath, at most
// MaxConcurrency at once (0: all), and puts the results, in the items'
// order, at ResultPath. An iteration's uncaught error fails the state,
// which its Catch may catch; the other iterations are stopped.
func (m *Machine) mapState(ctx context.Context, name string, st state, data any) (any, string, error) {
	fail := func(e error) (any, string, error) {
		fe, ok := e.(*FailedError)
		if !ok {
			return nil, "", e
		}
		for _, c := range st.Catch {
			if matches(c.ErrorEquals, fe.Name) {
				out, err := applyResultPath(data, c.ResultPath, false, map[string]any{"Error": fe.Name, "Cause": fe.Cause})
				if err != nil {
					return nil, "", &FailedError{State: name, Name: "States.Runtime", Cause: err.Error()}
				}
				return out, c.Next, nil
			}
		}
		return nil, "", fe
	}
	itemsPath := st.ItemsPath
	if itemsPath == "" {
		itemsPath = "$"
	}
	v, _ := lookup(data, itemsPath, nil)
	items, ok := v.([]any)
	if !ok {
		return fail(&FailedError{State: name, Name: "States.Runtime", Cause: "ItemsPath " + itemsPath + " is not an array"})
	}
	limit := st.MaxConcurrency
	if st.MaxConcurrencyPath != "" {
		v, _ := lookup(data, st.MaxConcurrencyPath, nil)
		f, ok := v.(float64)
		if !ok || f < 0 || f != math.Trunc(f) {
			return fail(&FailedError{State: name, Name: "States.Runtime", Cause: "MaxConcurrencyPath " + st.MaxConcurrencyPath + " is not a count"})
		}
		limit = int(f)
	}
	if limit <= 0 || limit > len(items) {
		limit = len(items)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]any, len(items))
	var once sync.Once
	var first error // the iteration that failed first, not those it stopped
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i, item := range items {
		input := item
		if len(st.ItemSelector) > 0 {
			c := map[string]any{"Map": map[string]any{"Item": map[string]any{"Index": float64(i), "Value": item}}}
			var err error
			if input, err = render(st.ItemSelector, data, c); err != nil {
				return fail(&FailedError{State: name, Name: "States.Runtime", Cause: err.Error()})
			}
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if ctx.Err() != nil {
				return
			}
			p := st.ItemProcessor
			var err error
			if results[i], err = m.run(ctx, p.StartAt, p.States, copyJSON(input)); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return fail(first)
	}
	out, err := applyResultPath(data, st.ResultPath, st.ResultPathNull, results)
	if err != nil {
		return nil, "", &FailedError{State: name, Name: "States.Runtime", Cause: err.Error()}
	}
	return out, st.Next, nil
}

// copyJSON gives an iteration its own copy of its input, as each Step
// Functions iteration has.
func copyJSON(v any) any {
	b, _ := json.Marshal(v)
	var out any
	json.Unmarshal(b, &out)
	return out
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
		v, ok := lookup(data, st.SecondsPath, nil)
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
	params, err := render(st.Parameters, data, nil)
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
				if result, err = render(st.ResultSelector, result, nil); err != nil {
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
			if err := m.sleep(ctx, m.backoff(st.Retry[i], attempts[i])); err != nil {
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

// taskError names an error the way Lambda and Step Functions do (see
// ErrorType), with Lambda's JSON error document as the cause.
func taskError(err error, timedOut bool) caught {
	if timedOut || errors.Is(err, context.DeadlineExceeded) {
		return caught{"States.Timeout", "the task timed out"}
	}
	name := ErrorType(err)
	cause, _ := json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": name})
	return caught{name, string(cause)}
}

// ErrorType is the name Step Functions matches for a task's error. A Go
// handler's error is named as aws-lambda-go names it: its type's name,
// without pointer or package. An ErrorType method is this package's
// convention, not aws-lambda-go's: it stands for what Lambda itself
// raises (Lambda.TooManyRequestsException, Sandbox.Timedout) or a
// runtime reports by name, in tests and in the local runtime.
func ErrorType(err error) string {
	if n, ok := err.(interface{ ErrorType() string }); ok {
		return n.ErrorType()
	}
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() == "" {
		return "errorString"
	}
	return t.Name()
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
func (m *Machine) backoff(r retrier, n int) time.Duration {
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
		random := rand.Float64
		if m.Rand != nil {
			random = m.Rand
		}
		d *= random()
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

// check refuses a rule that is not one comparison, one combination, or
// IsPresent.
func (r rule) check() error {
	n := 0
	for _, set := range []bool{len(r.Or) > 0, len(r.And) > 0, r.Not != nil, r.StringEquals != nil, r.NumericEquals != nil,
		r.NumericGreaterThanEquals != nil, r.NumericGreaterThanEqualsPath != "", r.BooleanEquals != nil, r.IsPresent != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("a choice rule on %q has %d operators; one is run here", r.Variable, n)
	}
	for _, x := range append(append([]rule{}, r.Or...), r.And...) {
		if err := x.check(); err != nil {
			return err
		}
	}
	if r.Not != nil {
		return r.Not.check()
	}
	return nil
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
	v, present := lookup(data, r.Variable, nil)
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
		w, present := lookup(data, r.NumericGreaterThanEqualsPath, nil)
		g, isNum := w.(float64)
		if !present || !isNum {
			return false, &FailedError{State: "Choice", Name: "States.Runtime", Cause: r.NumericGreaterThanEqualsPath + " is not a number"}
		}
		return ok && f >= g, nil
	}
	return false, fmt.Errorf("asl: a choice rule on %s uses an operator not run here", r.Variable)
}

// lookup reads a reference path such as $.poll.wait, or, with $$., a path
// in the context object (here only a Map item's $$.Map.Item).
func lookup(data any, path string, context map[string]any) (any, bool) {
	if rest, ok := strings.CutPrefix(path, "$$."); ok {
		if context == nil {
			return nil, false
		}
		return lookup(context, "$."+rest, nil)
	}
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

// render fills a Parameters, ItemSelector or ResultSelector template: keys
// ending in ".$" take the value at their path.
func render(tmpl json.RawMessage, data any, context map[string]any) (any, error) {
	if len(tmpl) == 0 {
		return data, nil
	}
	var t any
	if err := json.Unmarshal(tmpl, &t); err != nil {
		return nil, err
	}
	return fill(t, data, context)
}

func fill(t, data any, context map[string]any) (any, error) {
	m, ok := t.(map[string]any)
	if !ok {
		return t, nil
	}
	out := map[string]any{}
	for k, v := range m {
		if strings.HasSuffix(k, ".$") {
			p, _ := v.(string)
			val, ok := lookup(data, p, context)
			if !ok {
				return nil, fmt.Errorf("the path %s in %s was not found", p, k)
			}
			out[strings.TrimSuffix(k, ".$")] = val
			continue
		}
		fv, err := fill(v, data, context)
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
