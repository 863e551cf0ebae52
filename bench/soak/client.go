package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
)

// client calls the API as a careful customer does: it retries what a
// server restart cuts off (connection errors, 409 request_in_progress for
// a key whose first request died with the server, 429 after Retry-After),
// and counts what it met. A 5xx is counted and never retried silently.
type client struct {
	base string
	key  string
	http *http.Client

	mu          sync.Mutex
	connErrors  int
	rateLimited int
	inProgress  int
	serverErrs  []string
	replayed    int
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request.
func (c *client) do(ctx context.Context, method, path string, body []byte, header map[string]string) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body == nil {
		req.Body = nil
	}
	req.Header.Set("x-api-key", c.key)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// call sends a request until it gets an answer that is not a restart's
// side effect, or ctx ends. Only requests safe to repeat go through it
// (reads, deletes, and creates with an Idempotency-Key).
func (c *client) call(ctx context.Context, method, path string, body []byte, header map[string]string) (*response, error) {
	for {
		r, err := c.do(ctx, method, path, body, header)
		wait := 200 * time.Millisecond
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		case err != nil:
			c.count(&c.connErrors)
		case r.status == http.StatusTooManyRequests:
			c.count(&c.rateLimited)
			if s, err := strconv.Atoi(r.header.Get("Retry-After")); err == nil && s > 0 {
				wait = time.Duration(s) * time.Second
			}
		case r.status == http.StatusConflict && bytes.Contains(r.body, []byte("request_in_progress")):
			c.count(&c.inProgress)
			wait = time.Second
		default:
			if r.status >= 500 {
				c.mu.Lock()
				c.serverErrs = append(c.serverErrs, fmt.Sprintf("%s %s: %d %s", method, path, r.status, bytes.TrimSpace(r.body)))
				c.mu.Unlock()
			}
			if r.header.Get("Idempotent-Replayed") == "true" {
				c.count(&c.replayed)
			}
			return r, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		case <-time.After(wait):
		}
	}
}

func (c *client) count(n *int) {
	c.mu.Lock()
	*n++
	c.mu.Unlock()
}

// uploadRaw posts a file to POST /v1/asset, the raw-body upload.
func (c *client) uploadRaw(ctx context.Context, path, contentType string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	r, err := c.call(ctx, "POST", "/v1/asset", b, map[string]string{"Content-Type": contentType})
	if err != nil {
		return "", err
	}
	return assetID(r)
}

// uploadForm posts a file to POST /v3/assets as HeyGen's CLI does.
func (c *client) uploadForm(ctx context.Context, path, contentType string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="file"; filename=%q`, filepath.Base(path))}
	h["Content-Type"] = []string{contentType}
	part, err := mw.CreatePart(h)
	if err != nil {
		return "", err
	}
	part.Write(b)
	mw.Close()
	r, err := c.call(ctx, "POST", "/v3/assets", buf.Bytes(), map[string]string{"Content-Type": mw.FormDataContentType()})
	if err != nil {
		return "", err
	}
	return assetID(r)
}

func assetID(r *response) (string, error) {
	var out struct {
		Data struct {
			AssetID string `json:"asset_id"`
		} `json:"data"`
	}
	if r.status != http.StatusOK && r.status != http.StatusCreated || json.Unmarshal(r.body, &out) != nil || out.Data.AssetID == "" {
		return "", fmt.Errorf("upload: %d %s", r.status, r.body)
	}
	return out.Data.AssetID, nil
}

// create posts a job with an Idempotency-Key, so that a create cut off by
// a kill and sent again makes one job.
func (c *client) create(ctx context.Context, body []byte, key string) (string, error) {
	r, err := c.call(ctx, "POST", "/v3/ai-clipping", body, map[string]string{"Content-Type": "application/json", "Idempotency-Key": key})
	if err != nil {
		return "", err
	}
	var out struct {
		Data clipping.Created `json:"data"`
	}
	if r.status != http.StatusAccepted || json.Unmarshal(r.body, &out) != nil || out.Data.AIClippingID == "" {
		return "", fmt.Errorf("create: %d %s", r.status, r.body)
	}
	return out.Data.AIClippingID, nil
}

// list reads every job, page by page.
func (c *client) list(ctx context.Context) ([]clipping.Job, error) {
	var all []clipping.Job
	token := ""
	for {
		path := "/v3/ai-clipping?limit=100"
		if token != "" {
			path += "&token=" + url.QueryEscape(token)
		}
		r, err := c.call(ctx, "GET", path, nil, nil)
		if err != nil {
			return nil, err
		}
		var page clipping.List
		if r.status != http.StatusOK {
			return nil, fmt.Errorf("list: %d %s", r.status, r.body)
		}
		if err := json.Unmarshal(r.body, &page); err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
		all = append(all, page.Data...)
		if !page.HasMore || page.NextToken == nil {
			return all, nil
		}
		token = *page.NextToken
	}
}

// get reads one job; found is false on a 404.
func (c *client) get(ctx context.Context, id string) (j clipping.Job, found bool, err error) {
	r, err := c.call(ctx, "GET", "/v3/ai-clipping/"+id, nil, nil)
	if err != nil {
		return j, false, err
	}
	if r.status == http.StatusNotFound {
		return j, false, nil
	}
	var out clipping.Data[clipping.Job]
	if r.status != http.StatusOK || json.Unmarshal(r.body, &out) != nil {
		return j, false, fmt.Errorf("get %s: %d %s", id, r.status, r.body)
	}
	return out.Data, true, nil
}

// del deletes a job; a 404 on a repeat (the first answer was lost to a
// kill) is a delete that happened.
func (c *client) del(ctx context.Context, id string) error {
	r, err := c.call(ctx, "DELETE", "/v3/ai-clipping/"+id, nil, nil)
	if err != nil {
		return err
	}
	if r.status != http.StatusOK && r.status != http.StatusNotFound {
		return fmt.Errorf("delete %s: %d %s", id, r.status, r.body)
	}
	return nil
}
