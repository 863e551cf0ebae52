// Package llm asks an optional language model, behind any OpenAI-compatible
// chat-completions endpoint (Ollama, llama.cpp server, vLLM, OpenAI), to
// choose among the clips the offline scorer proposes and to write their
// titles, hooks, reasons and hashtags.
//
// The model is never trusted: every answer is checked (see Choose), and any
// failure is an error, so that the caller keeps the offline result.
package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/clipmill/clipmill/internal/clock"
	"github.com/clipmill/clipmill/internal/httpx"
	"github.com/clipmill/clipmill/internal/openaicompat"
)

// Candidate is a clip the offline scorer proposes.
type Candidate struct {
	// ID names one clip within the request: slots of the same length may
	// list the same candidate, with the same ID. The model copies it back,
	// and small models copy short ids ("c1", "c2") more reliably.
	ID            string
	DurationType  string  // "30", "60", "180", "long"
	Start, End    float64 // seconds in the source
	Transcript    string  // the clip's words
	Title, Reason string  // the offline scorer's
	Score         int     // 0-100, the offline virality score
}

// Slot is one clip the job asks for, with the candidates that may fill it
// (about 8).
type Slot struct {
	DurationType string
	Candidates   []Candidate
}

// Choice is the model's pick for a slot, and what it wrote.
type Choice struct {
	ID       string   // a candidate of the slot
	Title    string   // <= 60 characters
	Hook     string   // the opening line to show or say
	Reason   string   // one line: why this moment
	Hashtags []string // 3-5, each "#word" without spaces
}

// Client talks to one model.
type Client struct {
	// BaseURL is e.g. "https://api.openai.com" (the default),
	// "http://127.0.0.1:11434" (Ollama) or one ending in "/v1";
	// "/v1/chat/completions" is appended without doubling "/v1".
	BaseURL string
	// Model defaults to DefaultModel.
	Model string
	// APIKey is sent as "Authorization: Bearer KEY" when non-empty; it is
	// never logged or put in errors.
	APIKey string
	// HTTPClient defaults to a plain client; Timeout bounds each call.
	HTTPClient *http.Client
	// Timeout bounds one Choose call, its retry included; 0 means 60 s.
	Timeout time.Duration

	retryWait time.Duration // wait before the retry when the server names none; tests shorten it
}

// DefaultModel is the model asked for when Client.Model is empty.
const DefaultModel = "gpt-4o-mini"

const (
	defaultTimeout = 60 * time.Second
	// maxRetryAfter caps how long a 429 or 503 may make us wait. A server
	// that wants longer is given up on: the offline result is ready.
	maxRetryAfter = 10 * time.Second
	maxResponse   = 1 << 20 // an answer for four slots is about 2 kB
	maxErrorBody  = 64 << 10
)

var defaultClient = &http.Client{}

// ValidBaseURL reports whether s can be a BaseURL: an absolute http or
// https URL. The error does not repeat s, which may hold credentials.
func ValidBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return errors.New("must be an http:// or https:// URL")
	}
	return nil
}

// Choose asks the model to fill every slot with a distinct candidate. It
// returns an error (never a partial guess) when the answer cannot be used;
// the caller then keeps the offline result. The choices are in the order of
// the slots.
//
// An answer is refused when: it is not a JSON object of the requested
// shape; it fills a different number of slots; it picks an id that is not
// a candidate of that slot, or one candidate twice; a title is empty, over
// 60 characters, or uses a content word or number that the clip never
// says; a hook or reason is empty or too long for one line; hashtags are
// not 3-5 well-formed "#word"s once duplicates are dropped.
func (c *Client) Choose(ctx context.Context, title, prompt string, slots []Slot) ([]Choice, error) {
	if err := checkSlots(slots); err != nil {
		return nil, fmt.Errorf("choose clips: %w", err)
	}
	// The cause tells our deadline from the caller's.
	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout(),
		fmt.Errorf("no answer within %v: %w", c.timeout(), context.DeadlineExceeded))
	defer cancel()

	body, err := json.Marshal(c.request(title, prompt, slots))
	if err != nil {
		return nil, fmt.Errorf("choose clips: build request: %w", err)
	}
	content, err := c.complete(ctx, body)
	if err != nil {
		return nil, fmt.Errorf("choose clips: %w", err)
	}
	choices, err := parseAnswer(content, slots)
	if err != nil {
		return nil, fmt.Errorf("choose clips: unusable answer: %w", err)
	}
	return choices, nil
}

// checkSlots refuses a request that no answer could satisfy.
func checkSlots(slots []Slot) error {
	if len(slots) == 0 {
		return errors.New("no slot to fill")
	}
	// Slots of the same length may offer the same candidates; an id names
	// one clip throughout the request.
	seen := map[string]Candidate{}
	for i, s := range slots {
		if len(s.Candidates) == 0 {
			return fmt.Errorf("slot %d has no candidate", i+1)
		}
		inSlot := map[string]bool{}
		for _, cand := range s.Candidates {
			if cand.ID == "" {
				return fmt.Errorf("slot %d has a candidate without an id", i+1)
			}
			if inSlot[cand.ID] {
				return fmt.Errorf("slot %d lists candidate %q twice", i+1, cand.ID)
			}
			inSlot[cand.ID] = true
			if prev, ok := seen[cand.ID]; ok && prev != cand {
				return fmt.Errorf("candidate id %q names two different clips", cand.ID)
			}
			seen[cand.ID] = cand
		}
	}
	if len(seen) < len(slots) {
		return fmt.Errorf("%d candidates cannot fill %d slots with distinct clips", len(seen), len(slots))
	}
	return nil
}

// complete sends the request, retrying once on 429, 5xx and network
// errors, and returns the message content of the first choice.
func (c *Client) complete(ctx context.Context, body []byte) (string, error) {
	endpoint := openaicompat.Endpoint(c.BaseURL, "/chat/completions")
	for attempt := 1; ; attempt++ {
		content, retry, after, err := c.attempt(ctx, endpoint, body)
		if err == nil {
			return content, nil
		}
		if ctx.Err() != nil {
			return "", context.Cause(ctx)
		}
		if !retry {
			return "", err
		}
		if attempt == 2 {
			return "", fmt.Errorf("giving up after 2 attempts: %w", err)
		}
		wait := c.retryWait
		if wait <= 0 {
			wait = time.Second
		}
		// Jitter keeps parallel jobs that were throttled together from
		// coming back together.
		wait += rand.N(wait/2 + 1)
		if after >= 0 {
			if after > maxRetryAfter {
				return "", fmt.Errorf("server asks to retry after %v, more than the %v we wait: %w", after, maxRetryAfter, err)
			}
			wait = after
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return "", fmt.Errorf("no time left to retry within the %v deadline: %w", c.timeout(), err)
		}
		if clock.Sleep(ctx, wait) != nil {
			return "", context.Cause(ctx)
		}
	}
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return defaultTimeout
}

// attempt makes one request. retry says whether another attempt may
// succeed; after is the server's Retry-After, or -1.
func (c *Client) attempt(ctx context.Context, endpoint string, body []byte) (content string, retry bool, after time.Duration, err error) {
	after = -1
	req, err := openaicompat.NewRequest(ctx, endpoint, c.APIKey, "application/json", bytes.NewReader(body))
	if err != nil {
		return "", false, after, err
	}
	client := c.HTTPClient
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", true, after, fmt.Errorf("send request: %w", c.redact(err))
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		retry = resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		if retry {
			after = retryAfterOr(resp.Header.Get("Retry-After"), -1)
		}
		return "", retry, after, fmt.Errorf("%s %s: %s", req.Method, req.URL.Redacted(), openaicompat.ErrorText(resp.Status, msg, c.APIKey))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return "", true, after, fmt.Errorf("read response: %w", c.redact(err))
	}
	if len(data) > maxResponse {
		return "", false, after, fmt.Errorf("response is larger than %d bytes", maxResponse)
	}
	content, err = c.messageContent(data)
	return content, false, after, err
}

// chatResponse is the part of a chat-completions answer that is read.
type chatResponse struct {
	Choices []struct {
		Message struct {
			Content *string `json:"content"`
			Refusal *string `json:"refusal"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
}

// messageContent returns the first choice's text.
func (c *Client) messageContent(data []byte) (string, error) {
	var r chatResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return "", fmt.Errorf("bad response (%s): %w", openaicompat.Snippet(data, c.APIKey), err)
	}
	if len(r.Choices) == 0 {
		return "", fmt.Errorf("response has no choices (%s)", openaicompat.Snippet(data, c.APIKey))
	}
	ch := r.Choices[0]
	if ch.Message.Refusal != nil && *ch.Message.Refusal != "" {
		return "", fmt.Errorf("the model refused: %s", openaicompat.Snippet([]byte(*ch.Message.Refusal), c.APIKey))
	}
	if ch.FinishReason == "length" {
		return "", errors.New("the answer was cut off at the model's token limit")
	}
	if ch.Message.Content == nil || strings.TrimSpace(*ch.Message.Content) == "" {
		return "", errors.New("the answer is empty")
	}
	return *ch.Message.Content, nil
}

// redact keeps the key out of a transport error's text.
func (c *Client) redact(err error) error {
	if c.APIKey == "" || !strings.Contains(err.Error(), c.APIKey) {
		return err
	}
	return errors.New(openaicompat.Snippet([]byte(err.Error()), c.APIKey))
}

// retryAfterOr is the server's Retry-After, or def when it sent none.
func retryAfterOr(v string, def time.Duration) time.Duration {
	if d, ok := httpx.RetryAfter(v, time.Now()); ok {
		return d
	}
	return def
}
