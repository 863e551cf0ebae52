// Command fn is the lambdaruntime tests' function: what it does is the
// event's "do".
package main

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/clipmill/clipmill/internal/lambdafn"
)

type event struct {
	Do   string `json:"do"`
	Size int    `json:"size"`
}

// The error types the state machines match on, by their names.
type RetryableError struct{ Msg string }

func (e *RetryableError) Error() string { return e.Msg }

type TerminalError struct{ Msg string }

func (e *TerminalError) Error() string { return e.Msg }

type seen struct {
	RequestID  string            `json:"request_id"`
	ARN        string            `json:"arn"`
	DeadlineMS int64             `json:"deadline_ms"`
	NowMS      int64             `json:"now_ms"`
	Env        map[string]string `json:"env"`
	PID        int               `json:"pid"`
}

func handle(ctx context.Context, ev event) (any, error) {
	switch ev.Do {
	case "retryable":
		return nil, &RetryableError{Msg: "the backend answered 503"}
	case "terminal":
		return nil, &TerminalError{Msg: "poll job j: HTTP 404 not_found"}
	case "hang":
		// Ignores its context, as a stuck ffmpeg would: only a kill ends it.
		os.WriteFile(os.Getenv("PID_FILE"), []byte(strconv.Itoa(os.Getpid())), 0o644)
		select {}
	case "wait":
		// Returns when its context ends: at the deadline Lambda gave.
		<-ctx.Done()
		return nil, ctx.Err()
	case "exit":
		os.Exit(3)
	case "big":
		return strings.Repeat("x", ev.Size), nil
	case "panic":
		panic(errors.New("boom"))
	}
	lc, _ := lambdacontext.FromContext(ctx)
	d, _ := ctx.Deadline()
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return seen{RequestID: lc.AwsRequestID, ARN: lc.InvokedFunctionArn, DeadlineMS: d.UnixMilli(),
		NowMS: time.Now().UnixMilli(), Env: env, PID: os.Getpid()}, nil
}

func main() {
	if os.Getenv("BUCKET_NAME") == "" {
		lambdafn.InitFailed(errors.New("BUCKET_NAME is not set: the function's Environment in template.yaml must set it"))
	}
	lambda.Start(handle)
}
