package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/netguard"
	"github.com/clipmill/clipmill/internal/sample"
	"github.com/clipmill/clipmill/internal/sample/sampletest"
	"github.com/clipmill/clipmill/internal/webhook"
)

const testKey = "cm_test_key_1"

// testServer is a server on a real loopback listener.
type testServer struct {
	*Server
	URL    string
	http   *httptest.Server
	cancel context.CancelFunc
	dir    string
}

func start(t *testing.T, dir string, mod func(*Config)) *testServer {
	t.Helper()
	cfg := Config{
		DataDir: dir, Keys: []string{testKey, "cm_test_key_2"}, RateLimit: 1000, MaxUpload: 50 << 20,
		Workers: 1, JobTimeout: 5 * time.Minute, Encoder: render.Encoder{Preset: "ultrafast"},
		WebhookBackoff: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond},
	}
	if mod != nil {
		mod(&cfg)
	}
	// The public URL is known once the listener is up; the handler reads it
	// at Open, so open behind a late-bound handler.
	var h http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	cfg.PublicURL = ts.URL
	s, err := Open(cfg)
	if err != nil {
		ts.Close()
		t.Fatal(err)
	}
	h = s.Handler()
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := &testServer{Server: s, URL: ts.URL, http: ts, cancel: cancel, dir: dir}
	t.Cleanup(srv.stop)
	return srv
}

func (s *testServer) stop() {
	if s.cancel == nil {
		return
	}
	s.http.Close()
	s.cancel()
	s.Close()
	s.cancel = nil
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) err() clipping.Error {
	var e clipping.ErrorBody
	json.Unmarshal(r.body, &e)
	if e.Error == nil {
		return clipping.Error{}
	}
	return *e.Error
}

// client bounds every request of these tests: none may wait forever.
var client = &http.Client{Timeout: 2 * time.Minute}

func (s *testServer) do(t *testing.T, method, path string, body io.Reader, headers ...string) resp {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-api-key", testKey)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, b}
}

func (s *testServer) create(t *testing.T, body string, headers ...string) resp {
	t.Helper()
	return s.do(t, "POST", "/v3/ai-clipping", strings.NewReader(body), append([]string{"Content-Type", "application/json"}, headers...)...)
}

func (s *testServer) job(t *testing.T, id string) clipping.Job {
	t.Helper()
	r := s.do(t, "GET", "/v3/ai-clipping/"+id, nil)
	if r.status != 200 {
		t.Fatalf("GET job %s: %d %s", id, r.status, r.body)
	}
	var env clipping.Data[clipping.Job]
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatal(err)
	}
	return env.Data
}

// wait polls a job until cond holds.
func (s *testServer) wait(t *testing.T, id string, d time.Duration, cond func(clipping.Job) bool) clipping.Job {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		j := s.job(t, id)
		if cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s did not get there in %v: %+v", id, d, j)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func createdID(t *testing.T, r resp) string {
	t.Helper()
	if r.status != http.StatusAccepted {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var env clipping.Data[clipping.Created]
	if err := json.Unmarshal(r.body, &env); err != nil || env.Data.AIClippingID == "" {
		t.Fatalf("create body %s", r.body)
	}
	return env.Data.AIClippingID
}

// --- authentication, errors, validation -----------------------------------

func TestAuthentication(t *testing.T) {
	s := start(t, t.TempDir(), nil)
	body := `{"video":{"type":"url","url":"https://example.com/a.mp4"}}`
	for _, c := range []struct {
		name    string
		headers []string
		want    int
	}{
		{"x-api-key", nil, 202},
		{"bearer", []string{"x-api-key", "", "Authorization", "Bearer " + testKey}, 202},
		{"bearer lower case", []string{"x-api-key", "", "Authorization", "bearer cm_test_key_2"}, 202},
		{"no key", []string{"x-api-key", ""}, 401},
		{"wrong key", []string{"x-api-key", "cm_test_key_3"}, 401},
		{"key prefix", []string{"x-api-key", "cm_test_key"}, 401},
		{"basic auth", []string{"x-api-key", "", "Authorization", "Basic " + testKey}, 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.create(t, body, c.headers...)
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r.body)
			}
			if c.want == 401 {
				// The seed's example, to the letter.
				want := `{"error":{"code":"authentication_failed","message":"Invalid or expired API key. Verify your x-api-key header.","param":null,"doc_url":null}}`
				if string(r.body) != want {
					t.Fatalf("body %s\nwant %s", r.body, want)
				}
			}
		})
	}
	for _, path := range []string{"/v3/ai-clipping", "/v3/ai-clipping/x", "/v1/asset", "/v3/assets"} {
		method := "GET"
		if strings.Contains(path, "asset") {
			method = "POST"
		}
		if r := s.do(t, method, path, nil, "x-api-key", ""); r.status != 401 {
			t.Errorf("%s %s without a key: %d", method, path, r.status)
		}
	}
	if r := s.do(t, "GET", "/healthz", nil, "x-api-key", ""); r.status != 200 {
		t.Errorf("healthz needs no key: %d", r.status)
	}
}

// Every validation rule, through HTTP: status, code and the exact param.
func TestValidationOverHTTP(t *testing.T) {
	s := start(t, t.TempDir(), nil)
	u := `"video":{"type":"url","url":"https://example.com/a.mp4"}`
	long := strings.Repeat("é", 256)
	for _, c := range []struct{ body, param string }{
		{`{}`, "video"},
		{`{"video":null}`, "video"},
		{`{"video":"https://x"}`, "video"},
		{`{"video":{"url":"https://x/a.mp4"}}`, "video.type"},
		{`{"video":{"type":"file","url":"https://x/a.mp4"}}`, "video.type"},
		{`{"video":{"type":"url"}}`, "video.url"},
		{`{"video":{"type":"url","url":"ftp://x/a.mp4"}}`, "video.url"},
		{`{"video":{"type":"url","url":"http://x/a.mp4"}}`, "video.url"},
		{`{"video":{"type":"url","url":"not a url"}}`, "video.url"},
		{`{"video":{"type":"url","url":"https://x/a.mp4","asset_id":"a"}}`, "video.asset_id"},
		{`{"video":{"type":"asset_id"}}`, "video.asset_id"},
		{`{"video":{"type":"asset_id","asset_id":"../../etc/passwd"}}`, "video.asset_id"},
		{`{"video":{"type":"asset_id","asset_id":"nosuchasset"}}`, "video.asset_id"},
		{`{` + u + `,"title":"` + long + `"}`, "title"},
		{`{` + u + `,"title":5}`, "title"},
		{`{` + u + `,"input_language":"english"}`, "input_language"},
		{`{` + u + `,"output_settings":null}`, "output_settings"},
		{`{` + u + `,"output_settings":{"duration_types":[]}}`, "output_settings.duration_types"},
		{`{` + u + `,"output_settings":{"duration_types":["30","60","180","long","30"]}}`, "output_settings.duration_types"},
		{`{` + u + `,"output_settings":{"duration_types":["45"]}}`, "output_settings.duration_types"},
		{`{` + u + `,"output_settings":{"duration_types":[60]}}`, "output_settings.duration_types"},
		{`{` + u + `,"output_settings":{"aspect_ratio":"wide"}}`, "output_settings.aspect_ratio"},
		{`{` + u + `,"output_settings":{"captions":"yes"}}`, "output_settings.captions"},
		{`{` + u + `,"output_settings":{"caption_style":"neon"}}`, "output_settings.caption_style"},
		{`{` + u + `,"output_settings":{"prompt":"` + strings.Repeat("p", 501) + `"}}`, "output_settings.prompt"},
		{`{` + u + `,"output_settings":{"colour":"red"}}`, "output_settings.colour"},
		{`{` + u + `,"extra":1}`, "extra"},
		{`{` + u + `,"callback_url":"http://hook.example.com/x"}`, "callback_url"},
		{`{` + u + `,"callback_id":` + fmt.Sprintf("%q", strings.Repeat("c", 256)) + `}`, "callback_id"},
	} {
		r := s.create(t, c.body)
		e := r.err()
		if r.status != 400 || e.Code != "invalid_parameter" || e.Param == nil || *e.Param != c.param || e.Message == "" {
			t.Errorf("%s\n  got %d %s, want 400 invalid_parameter param %q", c.body, r.status, r.body, c.param)
		}
	}
	for _, body := range []string{``, `[]`, `null`, `{"video":`, `{} {}`} {
		r := s.create(t, body)
		if e := r.err(); r.status != 400 || e.Code != "invalid_parameter" || e.Param != nil {
			t.Errorf("body %q: got %d %s, want 400 with a null param", body, r.status, r.body)
		}
	}
	// Over 1 MB of JSON is a 413; a non-JSON content type a 415.
	big := `{` + u + `,"title":"` + strings.Repeat("x", 1<<20) + `"}`
	if r := s.create(t, big); r.status != 413 || r.err().Code != "payload_too_large" {
		t.Errorf("big body: %d %s", r.status, r.body)
	}
	if r := s.create(t, `{`+u+`}`, "Content-Type", "text/plain"); r.status != 415 || r.err().Code != "unsupported_media_type" {
		t.Errorf("text/plain: %d %s", r.status, r.body)
	}
	// Idempotency-Key syntax.
	for _, k := range []string{strings.Repeat("k", 256), "has space", "semi;colon", "ключ"} {
		r := s.create(t, `{`+u+`}`, "Idempotency-Key", k)
		if e := r.err(); r.status != 400 || e.Param == nil || *e.Param != "Idempotency-Key" {
			t.Errorf("key %q: %d %s", k, r.status, r.body)
		}
	}
	// Unknown routes and methods answer JSON too.
	if r := s.do(t, "GET", "/v3/nothing", nil); r.status != 404 || r.err().Code != "not_found" {
		t.Errorf("unknown route: %d %s", r.status, r.body)
	}
	if r := s.do(t, "PUT", "/v3/ai-clipping", nil); r.status != 405 || r.header.Get("Allow") != "GET, POST" {
		t.Errorf("PUT: %d %s allow %q", r.status, r.body, r.header.Get("Allow"))
	}
	if r := s.do(t, "GET", "/v3/ai-clipping/nosuchjob", nil); r.status != 404 || r.err().Code != "not_found" {
		t.Errorf("unknown job: %d %s", r.status, r.body)
	}
}

// The server limits each key by its RateLimit.
func TestRateLimit(t *testing.T) {
	s := start(t, t.TempDir(), func(c *Config) { c.RateLimit = 2 })
	var limited resp
	for i := 0; i < 10; i++ {
		if r := s.do(t, "GET", "/v3/ai-clipping", nil); r.status == 429 {
			limited = r
			break
		}
	}
	if limited.status != 429 {
		t.Fatal("10 quick requests at 2/s (burst 4) were never limited")
	}
	want := `{"error":{"code":"rate_limit_exceeded","message":"Too many requests. Retry after the duration specified in the Retry-After header.","param":null,"doc_url":null}}`
	if string(limited.body) != want || limited.header.Get("Retry-After") != "1" {
		t.Fatalf("429: %s, Retry-After %q", limited.body, limited.header.Get("Retry-After"))
	}
	// Another key has its own budget.
	if r := s.do(t, "GET", "/v3/ai-clipping", nil, "x-api-key", "cm_test_key_2"); r.status != 200 {
		t.Fatalf("second key limited too: %d", r.status)
	}
	// That the budget refills after Retry-After is package api's test,
	// on a fake clock.
}

// --- idempotency ---------------------------------------------------------------

func TestIdempotency(t *testing.T) {
	s := start(t, t.TempDir(), func(c *Config) { c.Workers = 0 })
	s.cancel() // no workers: jobs stay pending, which is all this test needs
	body := `{"video":{"type":"url","url":"https://example.com/a.mp4"}}`
	first := s.create(t, body, "Idempotency-Key", "order-1")
	id := createdID(t, first)
	again := s.create(t, body, "Idempotency-Key", "order-1")
	if again.status != first.status || !bytes.Equal(again.body, first.body) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", again.status, again.body)
	}
	// A slightly different body still replays the original (and logs).
	diff := s.create(t, `{"video":{"type":"url","url":"https://example.com/b.mp4"}}`, "Idempotency-Key", "order-1")
	if createdID(t, diff) != id {
		t.Fatal("a different body under the same key made a new job")
	}
	// Keys are per API key and per endpoint.
	other := s.create(t, body, "Idempotency-Key", "order-1", "x-api-key", "cm_test_key_2")
	if createdID(t, other) == id {
		t.Fatal("another API key shared the idempotency key")
	}
	// A validation failure is remembered too.
	bad := s.create(t, `{}`, "Idempotency-Key", "order-2")
	if again := s.create(t, body, "Idempotency-Key", "order-2"); again.status != 400 || !bytes.Equal(again.body, bad.body) {
		t.Fatalf("replayed 400: %d %s", again.status, again.body)
	}

	// 20 identical requests at once make exactly one job.
	var wg sync.WaitGroup
	ids := make(chan string, 20)
	codes := make(chan int, 20)
	for i := 0; i < 20; i++ {
		wg.Go(func() {
			r := s.create(t, body, "Idempotency-Key", "race-1")
			codes <- r.status
			if r.status == 202 {
				var env clipping.Data[clipping.Created]
				json.Unmarshal(r.body, &env)
				ids <- env.Data.AIClippingID
			}
		})
	}
	wg.Wait()
	close(ids)
	close(codes)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	for c := range codes {
		if c != 202 && c != 409 {
			t.Errorf("racing request got %d", c)
		}
	}
	if len(seen) != 1 {
		t.Fatalf("20 racing requests made %d jobs", len(seen))
	}
	r := s.do(t, "GET", "/v3/ai-clipping?limit=100", nil)
	var list clipping.List
	json.Unmarshal(r.body, &list)
	if len(list.Data) != 2 { // order-1 and race-1
		t.Fatalf("the key's jobs: %d, want 2", len(list.Data))
	}
}

// A request that arrives while the first with its key is still being
// handled gets 409: here the first is a slow upload.
func TestIdempotencyInFlight(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, nil)
	pr, pw := io.Pipe()
	// Whatever happens below, the upload ends before the server's cleanup
	// waits for its handler (cleanups run last first).
	t.Cleanup(func() { pw.CloseWithError(errors.New("the test ended")) })
	type result struct {
		r   resp
		err error
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("POST", s.URL+"/v1/asset", pr)
		req.Header.Set("x-api-key", testKey)
		req.Header.Set("Content-Type", "video/mp4")
		req.Header.Set("Idempotency-Key", "upload-1")
		res, err := client.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		done <- result{resp{res.StatusCode, res.Header, b}, err}
	}()
	pw.Write(bytes.Repeat([]byte("x"), 1000))
	// The first request holds the key once its upload is being written: a
	// request sent before then would take the key itself.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		parts, _ := filepath.Glob(filepath.Join(dir, "assets", "*", "*.part-*"))
		more, _ := filepath.Glob(filepath.Join(dir, "assets", "*.part-*"))
		if len(parts)+len(more) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow upload never started")
		}
	}
	r := s.do(t, "POST", "/v1/asset", strings.NewReader("y"), "Content-Type", "video/mp4", "Idempotency-Key", "upload-1")
	want := `{"error":{"code":"request_in_progress","message":"A request with this Idempotency-Key is already in progress. Retry shortly.","param":null,"doc_url":null}}`
	if r.status != 409 || string(r.body) != want {
		t.Fatalf("in flight: %d %s", r.status, r.body)
	}
	pw.Close()
	var first result
	select {
	case first = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the slow upload did not end a minute after its body did")
	}
	if first.err != nil || first.r.status != 200 {
		t.Fatalf("slow upload: %v %d %s", first.err, first.r.status, first.r.body)
	}
	if again := s.do(t, "POST", "/v1/asset", strings.NewReader("z"), "Content-Type", "video/mp4", "Idempotency-Key", "upload-1"); !bytes.Equal(again.body, first.r.body) {
		t.Fatalf("replay after the upload: %s", again.body)
	}
}

// --- listing and deleting -----------------------------------------------------

func TestPaginationAndDelete(t *testing.T) {
	s := start(t, t.TempDir(), nil)
	s.cancel() // keep the jobs pending
	var ids []string
	for i := 0; i < 7; i++ {
		ids = append(ids, createdID(t, s.create(t, fmt.Sprintf(`{"video":{"type":"url","url":"https://example.com/%d.mp4"},"title":"t%d"}`, i, i))))
		time.Sleep(2 * time.Millisecond)
	}
	var got []string
	token := ""
	pages := 0
	for {
		path := "/v3/ai-clipping?limit=3"
		if token != "" {
			path += "&token=" + url.QueryEscape(token)
		}
		r := s.do(t, "GET", path, nil)
		var list clipping.List
		if err := json.Unmarshal(r.body, &list); err != nil || r.status != 200 {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		pages++
		for _, j := range list.Data {
			got = append(got, j.ID)
		}
		if !list.HasMore {
			if list.NextToken != nil {
				t.Fatal("last page has a next_token")
			}
			break
		}
		token = *list.NextToken
	}
	if pages != 3 || len(got) != 7 {
		t.Fatalf("%d pages, %d jobs", pages, len(got))
	}
	for i := range got { // newest first
		if got[i] != ids[len(ids)-1-i] {
			t.Fatalf("order %v, want newest first of %v", got, ids)
		}
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "token=garbage"} {
		if r := s.do(t, "GET", "/v3/ai-clipping?"+q, nil); r.status != 400 {
			t.Errorf("%s: %d", q, r.status)
		}
	}
	// Another key sees none of them.
	r := s.do(t, "GET", "/v3/ai-clipping", nil, "x-api-key", "cm_test_key_2")
	if !bytes.Contains(r.body, []byte(`"data":[]`)) {
		t.Errorf("other key's list: %s", r.body)
	}
	if r := s.do(t, "GET", "/v3/ai-clipping/"+ids[0], nil, "x-api-key", "cm_test_key_2"); r.status != 404 {
		t.Errorf("other key's GET: %d", r.status)
	}
	// Delete: 200 with the id, then 404 everywhere.
	r = s.do(t, "DELETE", "/v3/ai-clipping/"+ids[0], nil)
	if r.status != 200 || string(r.body) != `{"data":{"id":"`+ids[0]+`"}}` {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if r := s.do(t, m, "/v3/ai-clipping/"+ids[0], nil); r.status != 404 {
			t.Errorf("%s after delete: %d", m, r.status)
		}
	}
}

// --- a whole job ------------------------------------------------------------------

var (
	talkOnce sync.Once
	talkRes  *sample.Result
	talkErr  error
)

func talk(t *testing.T) *sample.Result {
	t.Helper()
	sampletest.EndToEnd(t)
	talkOnce.Do(func() {
		dir, err := os.MkdirTemp("", "clipmill-server-test-")
		if err != nil {
			talkErr = err
			return
		}
		talkRes, talkErr = sample.Generate(context.Background(), ffmpeg.Binaries{}, sample.Options{
			Seconds: 40, Width: 320, Height: 180, Out: filepath.Join(dir, "talk.mp4")})
	})
	if talkErr != nil {
		t.Fatal(talkErr)
	}
	return talkRes
}

func TestMain(m *testing.M) {
	code := m.Run()
	if talkRes != nil {
		os.RemoveAll(filepath.Dir(talkRes.Video))
	}
	os.Exit(code)
}

func uploadMultipart(t *testing.T, s *testServer, path string) clipping.Asset {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("note", "ignored")
	fw, _ := mw.CreateFormFile("file", filepath.Base(path))
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(fw, f)
	f.Close()
	mw.Close()
	r := s.do(t, "POST", "/v3/assets", &buf, "Content-Type", mw.FormDataContentType())
	if r.status != 200 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	var env clipping.Data[clipping.Asset]
	json.Unmarshal(r.body, &env)
	return env.Data
}

// From an uploaded asset to downloadable clips, with a webhook whose
// signature the receiver verifies.
func TestFullJobFromAsset(t *testing.T) {
	tk := talk(t)
	secret := []byte("whsec_test")
	hooks := make(chan *http.Request, 4)
	bodies := make(chan []byte, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hooks <- r
		bodies <- b
	}))
	defer recv.Close()
	host := strings.TrimPrefix(recv.URL, "http://")
	s := start(t, t.TempDir(), func(c *Config) {
		c.WebhookSecret = secret
		c.Guard = netguard.Policy{AllowHosts: []string{host}, AllowHTTP: true}
	})

	asset := uploadMultipart(t, s, tk.Video)
	st, _ := os.Stat(tk.Video)
	if asset.AssetID == "" || asset.SizeBytes != st.Size() || asset.MimeType != "video/mp4" {
		t.Fatalf("asset %+v", asset)
	}
	// The raw upload endpoint takes the same file.
	raw, _ := os.ReadFile(tk.Video)
	if r := s.do(t, "POST", "/v1/asset", bytes.NewReader(raw), "Content-Type", "video/mp4"); r.status != 200 {
		t.Fatalf("raw upload: %d %s", r.status, r.body)
	}
	// The asset's URL serves the bytes back.
	if res, err := client.Get(asset.URL); err != nil || res.StatusCode != 200 {
		t.Fatalf("asset url: %v %v", err, res)
	}

	id := createdID(t, s.create(t, fmt.Sprintf(`{"video":{"type":"asset_id","asset_id":%q},"title":"Talk",
		"output_settings":{"duration_types":["30"],"aspect_ratio":"square","caption_style":"boxed"},
		"callback_url":%q,"callback_id":"cb-42"}`, asset.AssetID, recv.URL+"/hook")))
	var progress []int
	j := s.wait(t, id, 3*time.Minute, func(j clipping.Job) bool {
		progress = append(progress, j.Progress)
		return j.Status.Terminal()
	})
	if j.Status != clipping.JobCompleted || j.Progress != 100 || len(j.Clips) != 1 || *j.Title != "Talk" || *j.CallbackID != "cb-42" {
		t.Fatalf("job %+v", j)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] < progress[i-1] {
			t.Fatalf("progress went back: %v", progress)
		}
	}
	c := j.Clips[0]
	if c.ExpiresAt == nil || *c.ExpiresAt < time.Now().Add(6*24*time.Hour).Unix() {
		t.Fatalf("expires_at %v", c.ExpiresAt)
	}
	for _, u := range []*string{c.VideoURL, c.ThumbnailURL, c.CaptionsSRTURL, c.CaptionsVTTURL} {
		res, err := client.Get(*u)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", *u, err, res)
		}
		res.Body.Close()
	}
	res, _ := client.Get(*c.VideoURL)
	mp4, _ := io.ReadAll(res.Body)
	if res.Header.Get("Content-Type") != "video/mp4" || len(mp4) < 10000 {
		t.Fatalf("clip download: %s, %d bytes", res.Header.Get("Content-Type"), len(mp4))
	}
	// Altered, unsigned and expired links are refused.
	u, _ := url.Parse(*c.VideoURL)
	q := u.Query()
	for name, mod := range map[string]func(url.Values){
		"altered signature": func(v url.Values) { v.Set("signature", strings.Repeat("0", 64)) },
		"later expiry":      func(v url.Values) { v.Set("expires", fmt.Sprint(time.Now().Add(100*24*time.Hour).Unix())) },
		"no signature":      func(v url.Values) { v.Del("signature") },
	} {
		v := url.Values{}
		for k, x := range q {
			v[k] = append([]string(nil), x...)
		}
		mod(v)
		u2 := *u
		u2.RawQuery = v.Encode()
		if res, _ := client.Get(u2.String()); res.StatusCode != 401 {
			t.Errorf("%s: %d", name, res.StatusCode)
		}
	}
	past := *s.signer
	exp := time.Now().Add(-time.Minute).Unix()
	if res, _ := client.Get(past.URL(s.URL, u.Path, exp)); res.StatusCode != 401 {
		t.Errorf("expired link: %d", res.StatusCode)
	}
	other := *u
	other.Path = strings.Replace(u.Path, ".mp4", ".jpg", 1)
	if res, _ := client.Get(other.String()); res.StatusCode != 401 {
		t.Errorf("a signature moved to another file: %d", res.StatusCode)
	}

	// The webhook: signed, with the job inside.
	select {
	case r := <-hooks:
		body := <-bodies
		if err := webhook.Verify(secret, body, r.Header.Get("X-Clipmill-Signature"), time.Now(), 5*time.Minute); err != nil {
			t.Fatalf("webhook signature: %v", err)
		}
		var ev clipping.WebhookEvent
		if err := json.Unmarshal(body, &ev); err != nil || ev.EventType != "ai_clipping.success" || ev.EventData.ID != id ||
			*ev.EventData.CallbackID != "cb-42" || ev.EventData.Clips[0].VideoURL == nil {
			t.Fatalf("webhook body %s", body)
		}
		if err := webhook.Verify([]byte("wrong"), body, r.Header.Get("X-Clipmill-Signature"), time.Now(), 5*time.Minute); err == nil {
			t.Fatal("a wrong secret verified")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook")
	}

	// Deleting the job takes its files away, from the links and the disk.
	if _, err := os.Stat(filepath.Join(s.dir, "jobs", id)); err != nil {
		t.Fatalf("the job's folder before the delete: %v", err)
	}
	s.do(t, "DELETE", "/v3/ai-clipping/"+id, nil)
	if res, _ := client.Get(*c.VideoURL); res.StatusCode != 404 {
		t.Errorf("clip of a deleted job: %d", res.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(s.dir, "jobs", id)); !os.IsNotExist(err) {
		t.Errorf("the deleted job's folder: %v", err)
	}
}

// A job whose source a guard refuses, or that is not a video, fails with a
// message that says so; a malformed URL never becomes a job.
func TestSourceFailures(t *testing.T) {
	hooks := make(chan []byte, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			// From an allowed host to one that is not: refused at the hop.
			http.Redirect(w, r, "http://127.0.0.1:1/metadata", http.StatusFound)
			return
		}
		b, _ := io.ReadAll(r.Body)
		hooks <- b
	}))
	defer recv.Close()
	s := start(t, t.TempDir(), func(c *Config) {
		c.Guard = netguard.Policy{AllowHosts: []string{strings.TrimPrefix(recv.URL, "http://")}, AllowHTTP: true}
	})
	textAsset := s.do(t, "POST", "/v1/asset", strings.NewReader("this is not a video"), "Content-Type", "video/mp4")
	var asset clipping.Data[clipping.Asset]
	json.Unmarshal(textAsset.body, &asset)

	for _, c := range []struct{ body, want string }{
		{`{"video":{"type":"url","url":"https://127.0.0.1/a.mp4"}}`, "does not fetch from"},
		{`{"video":{"type":"url","url":"https://169.254.169.254/latest/meta-data"}}`, ""},
		{`{"video":{"type":"url","url":"https://localhost:1/a.mp4"}}`, "does not fetch from"},
		{`{"video":{"type":"url","url":"https://10.0.0.1/a.mp4"}}`, "does not fetch from"},
		{`{"video":{"type":"url","url":"https://[::1]/a.mp4"}}`, "does not fetch from"},
		{`{"video":{"type":"url","url":"https://0.0.0.0/a.mp4"}}`, "does not fetch from"},
		{`{"video":{"type":"url","url":"` + recv.URL + `/redirect"}}`, "does not fetch from"},
		{`{"video":{"type":"url","url":"https://no-such-host.invalid/a.mp4"}}`, "could not be resolved"},
		{`{"video":{"type":"asset_id","asset_id":"` + asset.Data.AssetID + `"},"callback_url":"` + recv.URL + `/hook"}`, "is not a media file"},
	} {
		id := createdID(t, s.create(t, c.body))
		j := s.wait(t, id, time.Minute, func(j clipping.Job) bool { return j.Status.Terminal() })
		if j.Status != clipping.JobFailed || j.FailureMessage == nil || !strings.HasPrefix(*j.FailureMessage, "The source video") ||
			!strings.Contains(*j.FailureMessage, c.want) || strings.Contains(*j.FailureMessage, s.dir) ||
			strings.Contains(*j.FailureMessage, "127.0.0.1") || strings.Contains(*j.FailureMessage, "10.0.0.1") {
			t.Errorf("%s: %s %v", c.body, j.Status, deref(j.FailureMessage))
		}
	}
	select {
	case b := <-hooks:
		if !bytes.Contains(b, []byte(`"event_type":"ai_clipping.fail"`)) {
			t.Errorf("fail webhook %s", b)
		}
	case <-time.After(10 * time.Second):
		t.Error("no fail webhook")
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// A restart with a job in flight re-runs it to completion; a job that has
// used up its attempts is failed with a clear message.
func TestRestartWithJobInFlight(t *testing.T) {
	tk := talk(t)
	dir := t.TempDir()
	s := start(t, dir, func(c *Config) { c.Encoder = render.Encoder{Preset: "veryfast"} })
	raw, _ := os.ReadFile(tk.Video)
	r := s.do(t, "POST", "/v1/asset", bytes.NewReader(raw), "Content-Type", "video/mp4")
	var asset clipping.Data[clipping.Asset]
	json.Unmarshal(r.body, &asset)
	id := createdID(t, s.create(t, `{"video":{"type":"asset_id","asset_id":"`+asset.Data.AssetID+`"},"output_settings":{"duration_types":["30"]}}`))
	s.wait(t, id, time.Minute, func(j clipping.Job) bool { return j.Status == clipping.JobRunning && j.Progress >= 10 })
	s.stop() // as if the process were killed mid-job

	s2 := start(t, dir, nil)
	j := s2.wait(t, id, 3*time.Minute, func(j clipping.Job) bool { return j.Status.Terminal() })
	if j.Status != clipping.JobCompleted || len(j.Clips) != 1 {
		t.Fatalf("after restart: %+v", j)
	}

	// Used-up attempts: stop mid-job twice more.
	id2 := createdID(t, s2.create(t, `{"video":{"type":"asset_id","asset_id":"`+asset.Data.AssetID+`"}}`))
	s2.wait(t, id2, time.Minute, func(j clipping.Job) bool { return j.Status == clipping.JobRunning })
	s2.stop()
	s3 := start(t, dir, nil)
	s3.wait(t, id2, time.Minute, func(j clipping.Job) bool { return j.Status == clipping.JobRunning })
	s3.stop()
	s4 := start(t, dir, nil)
	j = s4.job(t, id2)
	if j.Status != clipping.JobFailed || j.FailureMessage == nil || !strings.Contains(*j.FailureMessage, "server stopped") {
		t.Fatalf("after two interrupted attempts: %s %v", j.Status, deref(j.FailureMessage))
	}
}

// Deleting a running job cancels it.
func TestDeleteCancelsRunningJob(t *testing.T) {
	tk := talk(t)
	s := start(t, t.TempDir(), func(c *Config) { c.Encoder = render.Encoder{Preset: "veryfast"} })
	raw, _ := os.ReadFile(tk.Video)
	r := s.do(t, "POST", "/v1/asset", bytes.NewReader(raw), "Content-Type", "video/mp4")
	var asset clipping.Data[clipping.Asset]
	json.Unmarshal(r.body, &asset)
	id := createdID(t, s.create(t, `{"video":{"type":"asset_id","asset_id":"`+asset.Data.AssetID+`"}}`))
	s.wait(t, id, time.Minute, func(j clipping.Job) bool { return j.Status == clipping.JobRunning })
	if r := s.do(t, "DELETE", "/v3/ai-clipping/"+id, nil); r.status != 200 {
		t.Fatalf("delete: %d", r.status)
	}
	// The worker is free again soon: a new job starts.
	id2 := createdID(t, s.create(t, `{"video":{"type":"url","url":"https://127.0.0.1/a.mp4"}}`))
	s.wait(t, id2, 30*time.Second, func(j clipping.Job) bool { return j.Status.Terminal() })
	if _, err := os.Stat(filepath.Join(s.dir, "jobs", id, "manifest.json")); err == nil {
		t.Error("the cancelled job wrote a result")
	}
}

// Keys: none configured makes one, kept in the data folder.
func TestGeneratedKey(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	key := s.GeneratedKey
	s.Close()
	b, _ := os.ReadFile(filepath.Join(dir, "api-key"))
	if key == "" || strings.TrimSpace(string(b)) != key {
		t.Fatalf("generated %q, file %q", key, b)
	}
	st, _ := os.Stat(filepath.Join(dir, "api-key"))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", st.Mode())
	}
	s, err = Open(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.GeneratedKey != "" {
		t.Fatal("a second start generated another key")
	}
}

// TestHeyGenCLIRequests replays the requests HeyGen's own CLI
// (github.com/heygen-com/heygen-cli) sends, as its source builds them:
// x-api-key or Bearer, its User-Agent and X-HeyGen-Source headers, a
// multipart upload whose part is application/octet-stream, a create body
// re-marshalled with sorted keys and HeyGen's caption preset names, bare
// GETs and DELETEs without a Content-Type, and a create with no body.
func TestHeyGenCLIRequests(t *testing.T) {
	s := start(t, t.TempDir(), nil)
	cli := func(method, path string, body io.Reader, ct string, extra ...string) resp {
		h := []string{"User-Agent", "heygen-cli/1.4.0", "X-HeyGen-Source", "cli", "Content-Type", ct}
		return s.do(t, method, path, body, append(h, extra...)...)
	}
	// heygen asset create --file clip.mp4
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	part, _ := mw.CreateFormFile("file", "clip.mp4") // Content-Type: application/octet-stream
	part.Write([]byte("not really a video, but the upload does not look"))
	mw.Close()
	up := cli("POST", "/v3/assets", &buf, mw.FormDataContentType())
	var asset clipping.Data[clipping.Asset]
	if json.Unmarshal(up.body, &asset); up.status != 200 || asset.Data.MimeType != "video/mp4" || asset.Data.URL == "" || asset.Data.SizeBytes == 0 {
		t.Fatalf("asset create: %d %s", up.status, up.body)
	}
	if up.header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
	// heygen ai-clipping create -d request.json --title t --idempotency-key k1
	body := `{"output_settings":{"aspect_ratio":"portrait","caption_style":"outline_classic","duration_types":["30"]},"title":"t","video":{"asset_id":"` + asset.Data.AssetID + `","type":"asset_id"}}`
	c1 := cli("POST", "/v3/ai-clipping", strings.NewReader(body), "application/json", "Idempotency-Key", "k1")
	id := createdID(t, c1)
	if c2 := cli("POST", "/v3/ai-clipping", strings.NewReader(body), "application/json", "Idempotency-Key", "k1"); !bytes.Equal(c1.body, c2.body) {
		t.Fatalf("replay: %s", c2.body)
	}
	// heygen ai-clipping get / list / list --limit 1 --token T / delete, with Bearer
	bearer := []string{"x-api-key", "", "Authorization", "Bearer " + testKey}
	if r := cli("GET", "/v3/ai-clipping/"+url.PathEscape(id), nil, "", bearer...); r.status != 200 {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	cli("POST", "/v3/ai-clipping", strings.NewReader(strings.Replace(body, `"t"`, `"t2"`, 1)), "application/json")
	r := cli("GET", "/v3/ai-clipping?limit=1", nil, "")
	var list clipping.List
	if json.Unmarshal(r.body, &list); r.status != 200 || !list.HasMore || list.NextToken == nil {
		t.Fatalf("list: %s", r.body)
	}
	if r := cli("GET", "/v3/ai-clipping?limit=1&token="+url.QueryEscape(*list.NextToken), nil, ""); r.status != 200 {
		t.Fatalf("page 2: %d", r.status)
	}
	if r := cli("DELETE", "/v3/ai-clipping/"+id, nil, ""); r.status != 200 || !bytes.Contains(r.body, []byte(id)) {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := cli("GET", "/v3/ai-clipping/"+id, nil, ""); r.status != 404 || r.err().Code != "not_found" || r.err().Message == "" {
		t.Fatalf("after delete: %d %s", r.status, r.body)
	}
	// heygen ai-clipping create with neither -d nor flags: no body, no type.
	if r := cli("POST", "/v3/ai-clipping", nil, ""); r.status != 400 || r.err().Code != "invalid_parameter" {
		t.Fatalf("bare create: %d %s", r.status, r.body)
	}

	// The asset and user commands, built from the CLI's own specs (see
	// testdata/heygen-cli), their answers held to its response schemas.
	// heygen auth status
	me := loadCLISpec(t, "UserMeGet")
	r = s.cli(t, me, cliCall{})
	var user clipping.Data[struct{ Username string }]
	if json.Unmarshal(r.body, &user); r.status != 200 || user.Data.Username == "" {
		t.Fatalf("auth status: %d %s", r.status, r.body)
	}
	if r := s.cli(t, me, cliCall{key: "cm_wrong_key"}); r.status != 401 || r.err().Code != "authentication_failed" {
		t.Fatalf("auth status with a wrong key: %d %s", r.status, r.body)
	}
	// heygen asset create --file ./talk.mp4
	file := filepath.Join(t.TempDir(), "talk.mp4")
	os.WriteFile(file, []byte("the bytes of a talk"), 0o644)
	r = s.cli(t, loadCLISpec(t, "AssetCreate"), cliCall{file: file})
	var created clipping.Data[clipping.Asset]
	if json.Unmarshal(r.body, &created); r.status != 200 || created.Data.AssetID == "" {
		t.Fatalf("asset create: %d %s", r.status, r.body)
	}
	// heygen asset list --username U --limit 20, then --limit 1 --token T
	listCmd := loadCLISpec(t, "AssetList")
	r = s.cli(t, listCmd, cliCall{query: url.Values{"username": {user.Data.Username}, "limit": {"20"}}})
	var assets struct {
		Data []struct {
			ID, Name, Owner string
		}
		HasMore   bool    `json:"has_more"`
		NextToken *string `json:"next_token"`
	}
	if json.Unmarshal(r.body, &assets); r.status != 200 || len(assets.Data) != 2 || assets.Data[0].ID != created.Data.AssetID ||
		assets.Data[0].Name != "talk.mp4" || assets.Data[0].Owner != user.Data.Username || assets.Data[1].ID != asset.Data.AssetID {
		t.Fatalf("asset list: %d %s", r.status, r.body)
	}
	r = s.cli(t, listCmd, cliCall{query: url.Values{"username": {user.Data.Username}, "limit": {"1"}}})
	if json.Unmarshal(r.body, &assets); !assets.HasMore || assets.NextToken == nil {
		t.Fatalf("asset list --limit 1: %s", r.body)
	}
	r = s.cli(t, listCmd, cliCall{query: url.Values{"username": {user.Data.Username}, "limit": {"1"}, "token": {*assets.NextToken}}})
	if json.Unmarshal(r.body, &assets); r.status != 200 || len(assets.Data) != 1 || assets.Data[0].ID != asset.Data.AssetID {
		t.Fatalf("asset list page 2: %s", r.body)
	}
	// heygen asset get <asset-id>
	getCmd := loadCLISpec(t, "AssetGet")
	if r := s.cli(t, getCmd, cliCall{path: map[string]string{"asset_id": created.Data.AssetID}}); r.status != 200 {
		t.Fatalf("asset get: %d %s", r.status, r.body)
	}
	// heygen asset direct-uploads create --filename clip.mp4 --content-type video/mp4 --size-bytes N --checksum-sha-256 H
	content := []byte("the bytes of a clip, sent directly")
	sum := sha256.Sum256(content)
	r = s.cli(t, loadCLISpec(t, "AssetDirectUploadsCreate"), cliCall{body: map[string]any{
		"filename": "clip.mp4", "content_type": "video/mp4", "size_bytes": len(content), "checksum_sha256": hex.EncodeToString(sum[:])}})
	var slot clipping.Data[struct {
		AssetID       string            `json:"asset_id"`
		UploadURL     string            `json:"upload_url"`
		UploadHeaders map[string]string `json:"upload_headers"`
		MaxBytes      int64             `json:"max_bytes"`
	}]
	if json.Unmarshal(r.body, &slot); r.status != 200 || slot.Data.MaxBytes != int64(len(content)) || !strings.HasPrefix(slot.Data.UploadURL, s.URL+"/uploads/") {
		t.Fatalf("direct-uploads create: %d %s", r.status, r.body)
	}
	// The PUT to upload_url with upload_headers, as curl -T would send it.
	req, _ := http.NewRequest("PUT", slot.Data.UploadURL, bytes.NewReader(content))
	for k, v := range slot.Data.UploadHeaders {
		req.Header.Set(k, v)
	}
	if res, err := client.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("PUT upload_url: %v %v", err, res)
	} else {
		res.Body.Close()
	}
	// heygen asset complete create <asset-id> --checksum-sha-256 <base64>; then -d '{}' again
	complete := loadCLISpec(t, "AssetCompleteCreate")
	id2 := map[string]string{"asset_id": slot.Data.AssetID}
	r = s.cli(t, complete, cliCall{path: id2, body: map[string]any{"checksum_sha256": base64.StdEncoding.EncodeToString(sum[:])}})
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"status":"completed"`)) {
		t.Fatalf("complete: %d %s", r.status, r.body)
	}
	if again := s.cli(t, complete, cliCall{path: id2, body: map[string]any{}}); again.status != 200 || !bytes.Equal(again.body, r.body) {
		t.Fatalf("complete again: %d %s", again.status, again.body)
	}
	var done clipping.Data[struct{ URL string }]
	json.Unmarshal(r.body, &done)
	if res, err := client.Get(done.Data.URL); err != nil || res.StatusCode != 200 {
		t.Fatalf("the completed asset's url: %v %v", err, res)
	} else if b, _ := io.ReadAll(res.Body); !bytes.Equal(b, content) {
		t.Fatalf("the completed asset's bytes: %q", b)
	}
	// heygen asset delete <asset-id> --force
	del := loadCLISpec(t, "AssetDelete")
	for _, id := range []string{created.Data.AssetID, slot.Data.AssetID} {
		if r := s.cli(t, del, cliCall{path: map[string]string{"asset_id": id}}); r.status != 200 || !bytes.Contains(r.body, []byte(id)) {
			t.Fatalf("asset delete: %d %s", r.status, r.body)
		}
		if r := s.cli(t, getCmd, cliCall{path: map[string]string{"asset_id": id}}); r.status != 404 || r.err().Code != "not_found" {
			t.Fatalf("asset get after delete: %d %s", r.status, r.body)
		}
	}
}

// A job that runs past its deadline is failed, with a message that says so,
// and the worker goes on to the next job.
func TestJobDeadline(t *testing.T) {
	tk := talk(t)
	s := start(t, t.TempDir(), func(c *Config) {
		c.JobTimeout = 2 * time.Second
		c.Encoder = render.Encoder{Preset: "veryslow"}
	})
	raw, _ := os.ReadFile(tk.Video)
	r := s.do(t, "POST", "/v1/asset", bytes.NewReader(raw), "Content-Type", "video/mp4")
	var asset clipping.Data[clipping.Asset]
	json.Unmarshal(r.body, &asset)
	id := createdID(t, s.create(t, `{"video":{"type":"asset_id","asset_id":"`+asset.Data.AssetID+`"}}`))
	start := time.Now()
	j := s.wait(t, id, time.Minute, func(j clipping.Job) bool { return j.Status.Terminal() })
	if j.Status != clipping.JobFailed || j.FailureMessage == nil || !strings.Contains(*j.FailureMessage, "deadline") {
		t.Fatalf("job %s: %v", j.Status, deref(j.FailureMessage))
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("the deadline took %v to act", d)
	}
}

// Two servers on one data folder would take each other's running jobs for
// orphans: the second is refused.
func TestOneServerPerDataFolder(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Config{DataDir: dir}); err == nil || !strings.Contains(err.Error(), "in use by another clipmill server") {
		t.Fatalf("second server: %v", err)
	}
	s.Close()
	s2, err := Open(Config{DataDir: dir})
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	s2.Close()
}
