// Package openaicompat holds what clipmill's clients of OpenAI-compatible
// servers (speech recognition in engine/speech, the language model in
// engine/llm) share: where an endpoint is, and how a server's error is told
// to the user, short and without the API key.
package openaicompat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Endpoint is the URL of path (such as "/chat/completions") on a server
// whose base URL may be bare, end in /v1, or already be the endpoint.
func Endpoint(base, path string) string {
	base = strings.TrimRight(base, "/")
	if base == "" {
		base = "https://api.openai.com"
	}
	switch {
	case strings.HasSuffix(base, path):
		return base
	case strings.HasSuffix(base, "/v1"):
		return base + path
	}
	return base + "/v1" + path
}

// ErrorText is the status and the server's message: OpenAI's
// {"error":{"message"}}, the {"error":"..."} of Ollama and llama.cpp, the
// {"detail":...} or {"message":...} of other servers, or the start of the
// body.
func ErrorText(status string, body []byte, key string) string {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Detail  any             `json:"detail"`
		Message string          `json:"message"`
	}
	msg := ""
	if json.Unmarshal(body, &e) == nil {
		var inner struct {
			Message string `json:"message"`
		}
		var s string
		switch {
		case len(e.Error) > 0 && json.Unmarshal(e.Error, &inner) == nil && inner.Message != "":
			msg = inner.Message
		case len(e.Error) > 0 && json.Unmarshal(e.Error, &s) == nil && s != "":
			msg = s
		case e.Detail != nil:
			if s, ok := e.Detail.(string); ok {
				msg = s
			} else if b, err := json.Marshal(e.Detail); err == nil {
				msg = string(b)
			}
		case e.Message != "":
			msg = e.Message
		}
	}
	if msg == "" {
		msg = string(body)
	}
	if msg = Snippet([]byte(msg), key); msg == "" {
		return status
	}
	return status + ": " + msg
}

// Snippet is text fit for an error: one line, short, and without the key,
// which some servers echo back.
func Snippet(b []byte, key string) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if key != "" {
		s = strings.ReplaceAll(s, key, "[api key]")
	}
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

// BaseURLError reports a base URL that does not parse without quoting it,
// since it may hold credentials.
func BaseURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("bad base URL: %w", ue.Err)
	}
	return fmt.Errorf("build request: %w", err)
}

// NewRequest is a POST of body to endpoint that asks for JSON back, with
// the API key as a bearer token when there is one. An endpoint that does
// not parse is told without quoting it.
func NewRequest(ctx context.Context, endpoint, apiKey, contentType string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, body)
	if err != nil {
		return nil, BaseURLError(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	return req, nil
}
