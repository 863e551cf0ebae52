// Package lambdafn is what clipmill's Lambda functions share around
// aws-lambda-go: reporting a failed init. aws-lambda-go has no call for
// that, and a function that only exits leaves its caller with Lambda's
// bare Runtime.ExitError ("exit status 1"); through the runtime API's
// init/error endpoint the caller (sam local invoke, Step Functions'
// Cause, clipmill invoke) reads the reason, such as the variable that the
// template does not set.
package lambdafn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"
)

// InitErrorType is the errorType of a failed init, in Lambda's
// Category.Reason form.
const InitErrorType = "Runtime.InitError"

// InitFailed reports err as the function's init error, logs it (on AWS
// the log lands in CloudWatch Logs) and exits.
func InitFailed(err error) {
	slog.Error("init failed", "err", err)
	if rerr := ReportInitError(os.Getenv("AWS_LAMBDA_RUNTIME_API"), err); rerr != nil {
		slog.Error("report the init error", "err", rerr)
	}
	os.Exit(1)
}

// ReportInitError posts err to the runtime API at api (HOST:PORT, as
// AWS_LAMBDA_RUNTIME_API gives it). Outside Lambda (api empty) there is
// no one to tell.
func ReportInitError(api string, err error) error {
	if api == "" {
		return nil
	}
	body, _ := json.Marshal(map[string]string{"errorType": InitErrorType, "errorMessage": err.Error()})
	req, rerr := http.NewRequest(http.MethodPost, "http://"+api+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if rerr != nil {
		return fmt.Errorf("init error: %w", rerr)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Runtime-Function-Error-Type", InitErrorType)
	// No proxy, as aws-lambda-go's client: the runtime API is local.
	resp, rerr := (&http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}).Do(req)
	if rerr != nil {
		return fmt.Errorf("init error: %w", rerr)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("init error: the runtime API answered %s", resp.Status)
	}
	return nil
}
