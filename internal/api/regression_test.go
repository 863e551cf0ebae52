package api_test

// Handler bugs found while checking the handlers against the contract and
// openapi.json, kept as tests so they stay fixed.

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/api"
	"github.com/clipmill/clipmill/internal/clipping"
)

// A rate below 0.5 a second (clipmill serve -rate-limit 0.2, say) makes a
// burst of 2*rate < 1 token: the bucket never holds a whole token, so
// every request of every key is a 429 forever, and Retry-After promises a
// wait after which the request is refused again.
func TestRateLimitBelowHalfPerSecond(t *testing.T) {
	c := newChecker(t)
	ts := newServer(t, func(cfg *api.Config) { cfg.RateLimit = 0.25 })
	ts.Clock.Advance(time.Hour) // a long idle: the bucket is as full as it gets
	resp, body := c.call(t, ts, "GET", "/v3/ai-clipping", "", "x-api-key", key1)
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = c.call(t, ts, "GET", "/v3/ai-clipping", "", "x-api-key", key1)
	wantError(t, resp, body, http.StatusTooManyRequests, clipping.CodeRateLimitExceeded, "")
	wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || wait < 1 {
		t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	ts.Clock.Advance(time.Duration(wait) * time.Second)
	resp, body = c.call(t, ts, "GET", "/v3/ai-clipping", "", "x-api-key", key1)
	wantStatus(t, resp, body, http.StatusOK)
}

// POST /v3/assets caps the whole form at MaxUpload + 1 MiB with an
// http.MaxBytesReader, but installs it after r.MultipartReader() has
// taken the original body, so the cap never applies: parts before "file"
// are read (and discarded) without limit, and a body far over the limit
// is a 200, where the contract wants a 413.
func TestMultipartUploadLimitCoversWholeBody(t *testing.T) {
	c := newChecker(t)
	const maxUpload = 1024
	ts := newServer(t, func(cfg *api.Config) { cfg.MaxUpload = maxUpload })
	junk := strings.Repeat("j", maxUpload+2<<20) // over MaxUpload + 1 MiB
	body, ct := multipartBody(t, [4]string{"notes", "", "", junk}, [4]string{"file", "talk.mp4", "video/mp4", "0123456789"})
	resp, b := c.call(t, ts, "POST", "/v3/assets", body, "x-api-key", key1, "Content-Type", ct)
	wantError(t, resp, b, http.StatusRequestEntityTooLarge, clipping.CodePayloadTooLarge, "")
}

// A Range no byte of the file satisfies is answered by http.ServeContent
// with a text/plain 416 ("invalid range: failed to overlap"): neither a
// documented status nor the JSON error envelope every error must use. Any
// documented answer would do: the whole file (a server may ignore Range),
// or a JSON error that openapi.json lists.
func TestUnsatisfiableRange(t *testing.T) {
	c := newChecker(t)
	ts := newServer(t, nil)
	resp, body := c.call(t, ts, "POST", "/v1/asset", "0123456789", "x-api-key", key1, "Content-Type", "video/mp4")
	wantStatus(t, resp, body, http.StatusOK)
	link := decodeAs[clipping.Data[clipping.Asset]](t, body).Data.URL
	resp, body = c.do(t, ts.Client(), ts.request(t, "GET", link, nil, "Range", "bytes=100-200"))
	if resp.StatusCode >= 400 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%d with Content-Type %q: %q", resp.StatusCode, ct, body)
		}
		inst, err := parseJSON(body)
		if err != nil || errorCode(inst) == "" {
			t.Errorf("%d: not the error envelope: %q", resp.StatusCode, body)
		}
	}
}

// An upload that breaks off is not an answer to remember: a retry with the
// same Idempotency-Key must be able to finish the upload.
func TestCutShortUploadDoesNotPoisonItsKey(t *testing.T) {
	ts := newServer(t, nil)
	h := api.New(ts.Config)
	broken := httptest.NewRequest("POST", "/v1/asset", io.MultiReader(strings.NewReader(strings.Repeat("x", 1000)), errReader{}))
	broken.Header.Set("x-api-key", key1)
	broken.Header.Set("Content-Type", "video/mp4")
	broken.Header.Set("Idempotency-Key", "upload-7")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, broken)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "cut short after 1000 bytes") || rec.Header().Get("X-Clipmill-No-Replay") != "" {
		t.Fatalf("broken upload: %d %s %v", rec.Code, rec.Body, rec.Header())
	}
	retry := httptest.NewRequest("POST", "/v1/asset", strings.NewReader("the whole file"))
	retry.Header = broken.Header.Clone()
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, retry)
	if rec.Code != http.StatusOK || rec.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry: %d %s", rec.Code, rec.Body)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// API keys are never logged, not even at debug level where every request
// is: the README promises it.
func TestKeysAreNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	const good, other, wrong = "cm_live_7f3a9c2e", "cm_live_b81d44f0", "cm_wrong_5e6a"
	ts := newServer(t, func(c *api.Config) {
		c.Keys = []string{good, other}
		c.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	for _, h := range [][]string{{"x-api-key", good}, {"Authorization", "Bearer " + other}, {"x-api-key", wrong}} {
		for _, path := range []string{"/v3/ai-clipping", "/v3/ai-clipping/nope", "/openapi.json"} {
			req, _ := http.NewRequest("GET", ts.URL+path, nil)
			req.Header.Set(h[0], h[1])
			res, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
		}
		req, _ := http.NewRequest("POST", ts.URL+"/v3/ai-clipping", strings.NewReader(`{"video":{"type":"url","url":"https://x.test/a.mp4"}}`))
		req.Header.Set(h[0], h[1])
		req.Header.Set("Content-Type", "application/json")
		if res, err := ts.Client().Do(req); err == nil {
			res.Body.Close()
		}
	}
	if logs.Len() == 0 {
		t.Fatal("nothing was logged: the test would prove nothing")
	}
	for _, k := range []string{good, other, wrong} {
		if strings.Contains(logs.String(), k) {
			t.Errorf("the log holds the key %q", k)
		}
	}
}

// Uploads stream to disk: a 64 MB upload costs the server a few buffers,
// not 64 MB of memory (the README promises it).
func TestUploadsStreamToDisk(t *testing.T) {
	ts := newServer(t, func(c *api.Config) { c.MaxUpload = 1 << 30 })
	const size = 64 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	req, _ := http.NewRequest("POST", ts.URL+"/v1/asset", io.LimitReader(zeros{}, size))
	req.ContentLength = size
	req.Header.Set("x-api-key", key1)
	req.Header.Set("Content-Type", "video/mp4")
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	runtime.ReadMemStats(&after)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"size_bytes":67108864`) {
		t.Fatalf("upload: %d %s", res.StatusCode, body)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Fatalf("a 64 MB upload allocated %d MB: it is being held in memory", alloc>>20)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
