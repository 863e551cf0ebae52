package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clipmill/clipmill/internal/sample/sampletest"
)

// What the issue asks make invoke to show: polling a job that the scratch
// backend does not know prints a TerminalError and exits 1; a response
// exits 0. (It builds the function: slow on a cold build cache.)
func TestInvoke(t *testing.T) {
	sampletest.EndToEnd(t)
	bin := filepath.Join(t.TempDir(), "build")
	code, stdout, stderr := clipmill("invoke", "-quiet", "-build", bin, "PollFunction", "../../events/poll-input.json")
	var e struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}
	if err := json.Unmarshal([]byte(stdout), &e); err != nil || code != 1 || e.Type != "TerminalError" || !strings.Contains(e.Message, "not_found") {
		t.Errorf("exit %d, stdout %q (%v), stderr %q", code, stdout, err, stderr)
	}
	code, stdout, stderr = clipmill("invoke", "-quiet", "-build", bin, "StoreFunction", "../../events/store-failure-input.json")
	if code != 0 || strings.TrimSpace(stdout) != `{"manifest":"failed/talk.json"}` {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, _, stderr := clipmill("invoke", "NoSuchFunction", "../../events/poll-input.json"); code != 2 || !strings.Contains(stderr, "NoSuchFunction is not a function") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
