// Package sfntest runs a definition of package statemachine in
// aws-local-stepfunctions (npm), an independent implementation of Step
// Functions, with Go handlers as its Lambda tasks: the tests of the
// packages whose handlers the definitions call use it.
package sfntest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/asl"
)

// Root is the repository's root folder.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// NodeTool is node_modules/.bin/<name>, installed by `npm ci` from
// package-lock.json (make setup runs it). Without it, or without node, the
// test fails, except under -short, where it is skipped.
func NodeTool(t testing.TB, name string) string {
	t.Helper()
	bin := filepath.Join(Root(), "node_modules", ".bin", name)
	_, statErr := os.Stat(bin)
	_, nodeErr := exec.LookPath("node")
	if statErr == nil && nodeErr == nil {
		return bin
	}
	msg := fmt.Sprintf("node_modules/.bin/%s is missing: run `npm ci` in %s (package.json, package-lock.json)", name, Root())
	if nodeErr != nil {
		msg = "node is not on PATH: install Node.js 20 or newer, then run `npm ci` in " + Root()
	}
	if testing.Short() {
		t.Skip(msg)
	}
	t.Fatal(msg)
	return ""
}

// Result is how an execution ended, and the states it entered, in order
// (those of Map iterations included).
type Result struct {
	Status string          `json:"status"` // SUCCEEDED or FAILED
	Output json.RawMessage `json:"output"`
	Error  string          `json:"error"`
	Cause  string          `json:"cause"`
	States []string        `json:"states"`
}

// Path is the states entered, joined by commas.
func (r Result) Path() string { return strings.Join(r.States, ",") }

// Handler answers the Lambda function named fn (FunctionArn placeholders
// become functions named in lower case: ${PollFunctionArn} is "poll").
type Handler func(ctx context.Context, fn string, payload json.RawMessage) (any, error)

// Run executes statemachine/<definition> on input, each task answered by h
// the way the lambda:invoke integration returns it: the handler's result
// under Payload, or an error named as Lambda names a Go error, by its
// type, with {"errorMessage","errorType"} as the cause.
func Run(t testing.TB, definition string, h Handler, input any) Result {
	t.Helper()
	if testing.Short() {
		// A node process per run, most of it starting up; package asl's
		// tests run the same scenarios in Go.
		t.Skip("aws-local-stepfunctions: the full run has it")
	}
	NodeTool(t, "local-sfn")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var payload json.RawMessage
		json.NewDecoder(r.Body).Decode(&payload)
		out, err := h(r.Context(), strings.TrimPrefix(r.URL.Path, "/"), payload)
		if err != nil {
			out = map[string]string{"errorType": asl.ErrorType(err), "errorMessage": err.Error()}
		}
		json.NewEncoder(w).Encode(out)
	}))
	defer srv.Close()
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(Root(), "statemachine", "testdata", "sfn-run.mjs"),
		filepath.Join(Root(), "statemachine", definition), srv.URL)
	cmd.Stdin = strings.NewReader(string(in))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var res Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	return res
}
