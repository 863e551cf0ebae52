// Package heygen is a client for any HeyGen-compatible AI Clipping API:
// HeyGen's hosted one at https://api.heygen.com, or a clipmill server.
package heygen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/httpx"
)

// DefaultBaseURL is HeyGen's API.
const DefaultBaseURL = "https://api.heygen.com"

// Client talks to one API with one key.
type Client struct {
	BaseURL string // default DefaultBaseURL
	APIKey  string // sent as x-api-key; never logged
	HTTP    *http.Client
}

// Error is an answer other than 2xx, or no answer at all (Status 0).
type Error struct {
	Status     int
	Code       string // the API's error code, e.g. rate_limit_exceeded
	Message    string
	Param      string
	RetryAfter time.Duration // from Retry-After, when the server sent one
	Err        error         // the transport error, when Status is 0
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return "request failed: " + e.Err.Error()
	}
	msg := fmt.Sprintf("HTTP %d", e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Param != "" {
		msg += " (" + e.Param + ")"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Transient reports whether trying again later may succeed: no answer, a
// 5xx, a 429, or a 409 for a request still in progress.
func (e *Error) Transient() bool {
	return e.Status == 0 || e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusConflict
}

func (c *Client) base() string {
	if c.BaseURL == "" {
		return DefaultBaseURL
	}
	return strings.TrimRight(c.BaseURL, "/")
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	// Long enough to upload a large source as an asset; the Lambda's own
	// timeout (and ctx) bound it anyway.
	return &http.Client{Timeout: 15 * time.Minute}
}

// Create submits a job and returns its id. A non-empty idempotencyKey makes
// a repeated submission return the first job.
func (c *Client) Create(ctx context.Context, req clipping.CreateRequest, idempotencyKey string) (string, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("encode request: %w", err)
	}
	var out clipping.Data[clipping.Created]
	h := http.Header{"Content-Type": {"application/json"}}
	if idempotencyKey != "" {
		h.Set("Idempotency-Key", idempotencyKey)
	}
	if err := c.do(ctx, http.MethodPost, "/v3/ai-clipping", h, bytes.NewReader(body), &out); err != nil {
		return "", err
	}
	if out.Data.AIClippingID == "" {
		return "", errors.New("create: the answer has no ai_clipping_id")
	}
	return out.Data.AIClippingID, nil
}

// Get returns a job.
func (c *Client) Get(ctx context.Context, id string) (clipping.Job, error) {
	var out clipping.Data[clipping.Job]
	err := c.do(ctx, http.MethodGet, "/v3/ai-clipping/"+url.PathEscape(id), nil, nil, &out)
	return out.Data, err
}

// UploadAsset sends a file as the raw body of POST /v1/asset.
func (c *Client) UploadAsset(ctx context.Context, body io.Reader, size int64, contentType, idempotencyKey string) (clipping.Asset, error) {
	h := http.Header{"Content-Type": {contentType}}
	if idempotencyKey != "" {
		h.Set("Idempotency-Key", idempotencyKey)
	}
	var out clipping.Data[clipping.Asset]
	err := c.doSized(ctx, http.MethodPost, "/v1/asset", h, body, size, &out)
	return out.Data, err
}

func (c *Client) do(ctx context.Context, method, path string, h http.Header, body io.Reader, out any) error {
	return c.doSized(ctx, method, path, h, body, -1, out)
}

func (c *Client) doSized(ctx context.Context, method, path string, h http.Header, body io.Reader, size int64, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base()+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if size >= 0 {
		req.ContentLength = size
	}
	req.Header.Set("x-api-key", c.APIKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "clipmill-pipeline/1")
	res, err := c.http().Do(req)
	if err != nil {
		return &Error{Err: httpx.RedactError(err, httpx.Origin)}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return &Error{Err: err}
	}
	if res.StatusCode/100 != 2 {
		e := &Error{Status: res.StatusCode}
		var eb struct {
			Error *struct {
				Code    string  `json:"code"`
				Message string  `json:"message"`
				Param   *string `json:"param"`
			} `json:"error"`
		}
		if json.Unmarshal(b, &eb) == nil && eb.Error != nil {
			e.Code, e.Message = eb.Error.Code, eb.Error.Message
			if eb.Error.Param != nil {
				e.Param = *eb.Error.Param
			}
		} else {
			e.Message = strings.TrimSpace(string(b[:min(len(b), 200)]))
		}
		e.RetryAfter, _ = httpx.RetryAfter(res.Header.Get("Retry-After"), time.Now())
		return e
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: unreadable answer: %w", method, path, err)
	}
	return nil
}
