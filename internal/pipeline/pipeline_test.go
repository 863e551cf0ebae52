package pipeline

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/heygen"
)

const (
	bucket  = "drop-bucket"
	testKey = "hg-test-key"
)

// fakeS3 is gofakes3 on a loopback listener, used through the real SDK.
func fakeS3(t *testing.T) (*S3Bucket, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")})
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return &S3Bucket{Client: c, Bucket: bucket}, srv
}

func put(t *testing.T, b *S3Bucket, key, body string) {
	t.Helper()
	if err := b.Put(context.Background(), key, strings.NewReader(body), "application/octet-stream"); err != nil {
		t.Fatal(err)
	}
}

// versioned turns versioning on, as S3 event records then carry versions.
func versioned(t *testing.T, b *S3Bucket) {
	t.Helper()
	_, err := b.Client.PutBucketVersioning(context.Background(), &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	if err != nil {
		t.Fatal(err)
	}
}

// putVersion uploads to a versioned bucket and returns the version id.
func putVersion(t *testing.T, b *S3Bucket, key, body string) string {
	t.Helper()
	out, err := b.Client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil || aws.ToString(out.VersionId) == "" {
		t.Fatalf("put %s: %v, version %q", key, err, aws.ToString(out.VersionId))
	}
	return aws.ToString(out.VersionId)
}

// etag is S3's ETag of a small object: its MD5.
func etag(body string) string {
	sum := md5.Sum([]byte(body))
	return hex.EncodeToString(sum[:])
}

func read(t *testing.T, b *S3Bucket, key string) string {
	t.Helper()
	data, found, err := b.Read(context.Background(), key, 10<<20)
	if err != nil || !found {
		t.Fatalf("read %s: found %v, %v", key, found, err)
	}
	return string(data)
}

// backend is a fake HeyGen-compatible API that checks the exact requests
// and keeps jobs by Idempotency-Key, as the real one does.
type backend struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	creates  []createCall
	jobs     map[string]*clipping.Job // by id
	byKey    map[string]string        // Idempotency-Key -> id
	script   []int                    // statuses to answer the next creates/gets with, then 2xx
	retryHdr string
	assets   map[string][]byte
	calls    int                 // API calls answered (file downloads aside)
	onGet    func(*clipping.Job) // called on each GET of a job, under mu
}

type createCall struct {
	header http.Header
	body   clipping.CreateRequest
	raw    string
}

func newBackend(t *testing.T) *backend {
	b := &backend{t: t, jobs: map[string]*clipping.Job{}, byKey: map[string]string{}, assets: map[string][]byte{}}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) fail(w http.ResponseWriter, status int, code string) {
	if b.retryHdr != "" {
		w.Header().Set("Retry-After", b.retryHdr)
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":"scripted","param":null,"doc_url":null}}`, code)
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/files/") {
		fmt.Fprintf(w, "bytes of %s", r.URL.Path)
		return
	}
	if r.Header.Get("x-api-key") != testKey {
		b.fail(w, 401, "authentication_failed")
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if len(b.script) > 0 {
		s := b.script[0]
		b.script = b.script[1:]
		b.fail(w, s, map[int]string{409: "request_in_progress", 429: "rate_limit_exceeded", 404: "not_found", 500: "internal_error"}[s])
		return
	}
	switch {
	case r.Method == "POST" && r.URL.Path == "/v3/ai-clipping":
		raw, _ := io.ReadAll(r.Body)
		req, err := clipping.DecodeCreateRequest(raw, clipping.Options{AllowHTTP: true})
		if err != nil || r.Header.Get("Content-Type") != "application/json" {
			b.t.Errorf("create: %v %q", err, raw)
			b.fail(w, 400, "invalid_parameter")
			return
		}
		b.creates = append(b.creates, createCall{r.Header.Clone(), req, string(raw)})
		key := r.Header.Get("Idempotency-Key")
		id, ok := b.byKey[key]
		if !ok {
			id = fmt.Sprintf("job%d", len(b.jobs)+1)
			b.byKey[key] = id
			b.jobs[id] = &clipping.Job{ID: id, Status: clipping.JobPending, Title: req.Title, Clips: []clipping.Clip{}}
		}
		w.WriteHeader(202)
		fmt.Fprintf(w, `{"data":{"ai_clipping_id":%q}}`, id)
	case r.Method == "POST" && r.URL.Path == "/v1/asset":
		data, _ := io.ReadAll(r.Body)
		id := fmt.Sprintf("asset%d", len(b.assets)+1)
		b.assets[id] = data
		fmt.Fprintf(w, `{"data":{"asset_id":%q,"url":"x","mime_type":%q,"size_bytes":%d}}`, id, r.Header.Get("Content-Type"), len(data))
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v3/ai-clipping/"):
		j, ok := b.jobs[strings.TrimPrefix(r.URL.Path, "/v3/ai-clipping/")]
		if !ok {
			b.fail(w, 404, "not_found")
			return
		}
		if b.onGet != nil {
			b.onGet(j)
		}
		json.NewEncoder(w).Encode(clipping.Data[clipping.Job]{Data: *j})
	default:
		b.fail(w, 404, "not_found")
	}
}

// complete finishes a job with one clip whose files the backend serves.
func (b *backend) complete(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.completeLocked(id)
}

func (b *backend) completeLocked(id string) {
	u := func(name string) *string { s := b.srv.URL + "/files/" + id + "/" + name + "?sig=x"; return &s }
	j := b.jobs[id]
	j.Status, j.Progress = clipping.JobCompleted, 100
	j.Clips = []clipping.Clip{{ID: "clip1", Status: clipping.ClipCompleted, Title: clipping.Ptr("Best bit"),
		DurationSeconds: clipping.Ptr(31.5), AspectRatio: clipping.Ptr(clipping.AspectPortrait), ViralityScore: clipping.Ptr(88),
		VideoURL: u("c.mp4"), ThumbnailURL: u("c.jpg"), CaptionsSRTURL: u("c.srt"), CaptionsVTTURL: u("c.vtt"),
		DurationType: clipping.Duration30, StartSeconds: clipping.Ptr(12.0), EndSeconds: clipping.Ptr(43.5),
		Transcript: clipping.Ptr("words"), Reason: clipping.Ptr("a question")}}
}

// starter records executions like Step Functions: a name runs once.
type starter struct {
	mu    sync.Mutex
	names map[string]Execution
	calls int
}

func (s *starter) Start(_ context.Context, name string, in Execution) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.names == nil {
		s.names = map[string]Execution{}
	}
	if _, ok := s.names[name]; !ok {
		s.names[name] = in
	}
	return nil
}

func newPipeline(t *testing.T) (*Pipeline, *S3Bucket, *backend, *starter) {
	s3b, _ := fakeS3(t)
	be := newBackend(t)
	st := &starter{}
	now := time.Unix(1_800_000_000, 0)
	p := &Pipeline{
		Bucket: s3b, Backend: &heygen.Client{BaseURL: be.srv.URL, APIKey: testKey}, BackendURL: be.srv.URL,
		Starter: st, Defaults: clipping.CreateRequest{OutputSettings: clipping.DefaultOutputSettings()},
		Decode:      clipping.Options{AllowHTTP: true},
		MaxAttempts: 50, JobTimeout: time.Hour, PollMin: 10 * time.Second, PollMax: 120 * time.Second,
		Retries: 3, Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Sleep: func(context.Context, time.Duration) error { return nil },
	}
	return p, s3b, be, st
}

func TestSubmitSendsTheExactRequest(t *testing.T) {
	p, s3b, be, st := newPipeline(t)
	put(t, s3b, "inbox/talk.mp4", "the video bytes")
	put(t, s3b, "inbox/talk.json", `{"title":"My talk","output_settings":{"duration_types":["30","60"],"caption_style":"bold"},"callback_id":"cb1"}`)
	res, err := p.Submit(context.Background(), Source{Bucket: bucket, Key: "inbox/talk.mp4", ETag: etag("the video bytes")})
	if err != nil {
		t.Fatal(err)
	}
	if len(be.creates) != 1 {
		t.Fatalf("%d creates", len(be.creates))
	}
	c := be.creates[0]
	if c.header.Get("x-api-key") != testKey || c.header.Get("Idempotency-Key") == "" || len(c.header.Get("Idempotency-Key")) > 255 {
		t.Errorf("headers %v", c.header)
	}
	if err := clipping.ValidateIdempotencyKey(c.header.Get("Idempotency-Key")); err != nil {
		t.Errorf("key: %v", err)
	}
	if *c.body.Title != "My talk" || *c.body.CallbackID != "cb1" || *c.body.OutputSettings.CaptionStyle != "bold" ||
		len(c.body.OutputSettings.DurationTypes) != 2 || c.body.Video.Type != "url" {
		t.Errorf("body %s", c.raw)
	}
	// The presigned URL really fetches the upload.
	resp, err := http.Get(c.body.Video.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	if string(got) != "the video bytes" {
		t.Errorf("presigned URL gives %q", got)
	}
	// One execution, named for the video, within Step Functions' rules.
	ex, ok := st.names[res.Execution]
	if !ok || len(res.Execution) > 80 || !strings.HasPrefix(res.Execution, "talk-") || strings.Trim(res.Execution, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
		t.Fatalf("execution %q", res.Execution)
	}
	if ex.JobID != "job1" || ex.Name != "talk" || ex.Poll.Wait != 10 || ex.Limits.MaxAttempts != 50 || ex.Limits.JobTimeout != 3600 || ex.Source.ETag != etag("the video bytes") ||
		ex.Attempt != 1 || ex.Source.LastModified.IsZero() {
		t.Errorf("execution input %+v", ex)
	}
	b, _ := json.Marshal(ex)
	if len(b) > 2000 {
		t.Errorf("the state is %d bytes; it should hold keys and ids only", len(b))
	}
}

func TestSettingsPrecedence(t *testing.T) {
	p, s3b, be, _ := newPipeline(t)
	put(t, s3b, "inbox/team/a.mov", "a")
	put(t, s3b, "inbox/team/b.MKV", "b")
	put(t, s3b, "inbox/c.webm", "c")
	put(t, s3b, "inbox/team/a.json", `{"output_settings":{"duration_types":["180"]}}`)
	put(t, s3b, "inbox/team/clipmill.json", `{"output_settings":{"duration_types":["long"],"aspect_ratio":"square"}}`)
	for _, k := range []string{"inbox/team/a.mov", "inbox/team/b.MKV", "inbox/c.webm"} {
		if _, err := p.Submit(context.Background(), Source{Bucket: bucket, Key: k}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"180", "long", "60"}
	for i, c := range be.creates {
		if got := string(c.body.OutputSettings.DurationTypes[0]); got != want[i] {
			t.Errorf("create %d: duration %s, want %s", i, got, want[i])
		}
	}
	if be.creates[1].body.OutputSettings.AspectRatio != clipping.AspectSquare {
		t.Error("folder settings not used")
	}
}

func TestSkipsWhatIsNotAVideoInTheInbox(t *testing.T) {
	p, _, be, _ := newPipeline(t)
	for _, k := range []string{"inbox/talk.json", "inbox/notes.txt", "clips/talk/x.mp4", "talk.mp4", "inbox/.mp4", "inbox/dir/"} {
		res, err := p.Submit(context.Background(), Source{Bucket: bucket, Key: k})
		if err != nil || res.Skipped == "" {
			t.Errorf("%s: %+v %v", k, res, err)
		}
	}
	if len(be.creates) != 0 {
		t.Fatal("something was submitted")
	}
}

func TestInvalidSettingsWriteAFailureRecord(t *testing.T) {
	p, s3b, be, st := newPipeline(t)
	put(t, s3b, "inbox/talk.mp4", "v")
	put(t, s3b, "inbox/talk.json", `{"output_settings":{"duration_types":["45"]}}`)
	res, err := p.Submit(context.Background(), Source{Bucket: bucket, Key: "inbox/talk.mp4", ETag: etag("v")})
	if err != nil || res.Failure != "failed/talk.json" {
		t.Fatalf("%+v %v", res, err)
	}
	var f Failure
	json.Unmarshal([]byte(read(t, s3b, "failed/talk.json")), &f)
	if f.Param != "output_settings.duration_types" || !strings.Contains(f.Reason, "inbox/talk.json") || f.Source.Key != "inbox/talk.mp4" {
		t.Fatalf("record %+v", f)
	}
	if len(be.creates) != 0 || st.calls != 0 {
		t.Fatal("an invalid video was submitted")
	}
	// The source stays where it was.
	if read(t, s3b, "inbox/talk.mp4") != "v" {
		t.Fatal("source moved")
	}
}

// S3 delivers at least once: twenty deliveries of one event at once make
// one job, one execution name and one manifest.
func TestConcurrentDeliveries(t *testing.T) {
	p, s3b, be, st := newPipeline(t)
	versioned(t, s3b)
	rec := []S3Record{{Bucket: bucket, Key: "inbox/my+talk.mp4", Version: putVersion(t, s3b, "inbox/my talk.mp4", "v"), ETag: etag("v")}}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Go(func() {
			if _, err := p.SubmitRecords(context.Background(), rec); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(be.jobs) != 1 || len(st.names) != 1 || st.calls != 20 {
		t.Fatalf("%d jobs, %d execution names from %d starts", len(be.jobs), len(st.names), st.calls)
	}
	keys := map[string]bool{}
	for _, c := range be.creates {
		keys[c.header.Get("Idempotency-Key")] = true
	}
	if len(keys) != 1 {
		t.Fatalf("%d different idempotency keys", len(keys))
	}
	var ex Execution
	for _, e := range st.names {
		ex = e
	}
	if ex.Name != "my talk" {
		t.Fatalf("name %q (the key is URL-decoded)", ex.Name)
	}
	be.complete(ex.JobID)
	for i := 0; i < 20; i++ {
		wg.Go(func() {
			if _, err := p.Store(context.Background(), StoreInput{Execution: ex}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	list, err := s3b.Client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("clips/")})
	if err != nil {
		t.Fatal(err)
	}
	var manifests int
	for _, o := range list.Contents {
		if strings.HasSuffix(*o.Key, "manifest.json") {
			manifests++
		}
	}
	if manifests != 1 {
		t.Fatalf("%d manifests", manifests)
	}
	// A different upload of the same key (new bytes) is a new job.
	v2 := putVersion(t, s3b, "inbox/my talk.mp4", "w")
	if _, err := p.SubmitRecords(context.Background(), []S3Record{{Bucket: bucket, Key: "inbox/my+talk.mp4", Version: v2}}); err != nil {
		t.Fatal(err)
	}
	if len(be.jobs) != 2 || len(st.names) != 2 {
		t.Fatalf("a new version made %d jobs, %d executions", len(be.jobs), len(st.names))
	}
}

func TestSubmitWaitsOutConflictsAndRateLimits(t *testing.T) {
	p, s3b, be, st := newPipeline(t)
	put(t, s3b, "inbox/talk.mp4", "v")
	var slept []time.Duration
	p.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	be.script, be.retryHdr = []int{409, 429}, "3"
	if _, err := p.Submit(context.Background(), Source{Bucket: bucket, Key: "inbox/talk.mp4"}); err != nil {
		t.Fatal(err)
	}
	if len(slept) != 2 || slept[0] != 3*time.Second || len(st.names) != 1 {
		t.Fatalf("slept %v, executions %d", slept, len(st.names))
	}
	// A backend that keeps failing with 5xx is a retryable error for Lambda.
	be.script = []int{500, 500, 500, 500}
	put(t, s3b, "inbox/other.mp4", "w")
	_, err := p.Submit(context.Background(), Source{Bucket: bucket, Key: "inbox/other.mp4"})
	var re *RetryableError
	if !errors.As(err, &re) {
		t.Fatalf("err %v", err)
	}
	// A refusal (4xx) is recorded, not retried.
	be.script = []int{404}
	put(t, s3b, "inbox/third.mp4", "x")
	res, err := p.Submit(context.Background(), Source{Bucket: bucket, Key: "inbox/third.mp4"})
	if err != nil || res.Failure == "" || !strings.Contains(read(t, s3b, res.Failure), "refused") {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestSubmitAsAsset(t *testing.T) {
	p, s3b, be, _ := newPipeline(t)
	p.Uploader = p.Backend.(*heygen.Client)
	put(t, s3b, "inbox/talk.MOV", "movie bytes")
	if _, err := p.Submit(context.Background(), Source{Bucket: bucket, Key: "inbox/talk.MOV"}); err != nil {
		t.Fatal(err)
	}
	c := be.creates[0].body
	if c.Video.Type != "asset_id" || string(be.assets[c.Video.AssetID]) != "movie bytes" {
		t.Fatalf("video %+v, assets %v", c.Video, be.assets)
	}
}

func TestPoll(t *testing.T) {
	p, _, be, _ := newPipeline(t)
	be.jobs["j"] = &clipping.Job{ID: "j", Status: clipping.JobRunning, Progress: 40, Clips: []clipping.Clip{}}
	ex := Execution{JobID: "j", SubmittedAt: p.now().Unix() - 60, Limits: Limits{JobTimeout: 3600}, Poll: Poll{Wait: 10}}
	var waits []int
	for i := 0; i < 6; i++ {
		next, err := p.Poll(context.Background(), ex)
		if err != nil {
			t.Fatal(err)
		}
		if next.Status != "running" || next.Progress != 40 || next.Attempt != i+1 {
			t.Fatalf("poll %d: %+v", i, next)
		}
		waits = append(waits, next.Wait)
		ex.Poll = next
	}
	if fmt.Sprint(waits) != "[20 40 80 120 120 120]" {
		t.Fatalf("waits %v: want doubling from the minimum to the cap", waits)
	}
	be.script, be.retryHdr = []int{429}, "30"
	next, err := p.Poll(context.Background(), ex)
	if err != nil || next.Wait != 150 || next.Status != "running" {
		t.Fatalf("429: %+v %v", next, err)
	}
	be.script = []int{500}
	_, err = p.Poll(context.Background(), ex)
	var re *RetryableError
	if !errors.As(err, &re) {
		t.Fatalf("5xx: %v", err)
	}
	_, err = p.Poll(context.Background(), Execution{JobID: "missing", SubmittedAt: p.now().Unix()})
	var te *TerminalError
	if !errors.As(err, &te) {
		t.Fatalf("404: %v", err)
	}
	ex.SubmittedAt = p.now().Unix() - 3601
	if next, err := p.Poll(context.Background(), ex); err != nil || next.Status != StatusTimedOut {
		t.Fatalf("timeout: %+v %v", next, err)
	}
	// Past the timeout the backend still has its say: a job that ended
	// late is stored as it ended, one it does not know is terminal, and
	// one it cannot tell about has timed out.
	be.complete("j")
	if next, err := p.Poll(context.Background(), ex); err != nil || next.Status != "completed" {
		t.Fatalf("completed after the timeout: %+v %v", next, err)
	}
	if _, err := p.Poll(context.Background(), Execution{JobID: "missing", SubmittedAt: 1, Limits: Limits{JobTimeout: 60}}); !errors.As(err, &te) {
		t.Fatalf("404 after the timeout: %v", err)
	}
	be.script = []int{500}
	if next, err := p.Poll(context.Background(), ex); err != nil || next.Status != StatusTimedOut {
		t.Fatalf("5xx after the timeout: %+v %v", next, err)
	}
	// A backend that does not answer a late poll: timed_out within
	// LateAsk, not a hang until the Lambda's own timeout.
	hung := *p
	hung.Backend, hung.LateAsk = hangingBackend{}, 50*time.Millisecond
	if next, err := hung.Poll(context.Background(), ex); err != nil || next.Status != StatusTimedOut {
		t.Fatalf("no answer after the timeout: %+v %v", next, err)
	}
}

// hangingBackend answers nothing until its caller gives up.
type hangingBackend struct{}

func (hangingBackend) Create(ctx context.Context, _ clipping.CreateRequest, _ string) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

func (hangingBackend) Get(ctx context.Context, _ string) (clipping.Job, error) {
	<-ctx.Done()
	return clipping.Job{}, ctx.Err()
}

func TestStoreCopiesClipsAndWritesTheManifestOnce(t *testing.T) {
	p, s3b, be, _ := newPipeline(t)
	be.jobs["j"] = &clipping.Job{ID: "j", Title: clipping.Ptr("Talk")}
	be.complete("j")
	ex := Execution{Source: Source{Bucket: bucket, Key: "inbox/talk.mp4", ETag: "e"}, Name: "talk", JobID: "j", Backend: be.srv.URL, SubmittedAt: 1}
	out, err := p.Store(context.Background(), StoreInput{Execution: ex})
	if err != nil || out.Manifest != "clips/talk/manifest.json" {
		t.Fatalf("%+v %v", out, err)
	}
	for _, ext := range []string{".mp4", ".jpg", ".srt", ".vtt"} {
		if got := read(t, s3b, "clips/talk/clip1"+ext); got != "bytes of /files/j/c"+ext {
			t.Errorf("clips/talk/clip1%s = %q", ext, got)
		}
	}
	raw := read(t, s3b, "clips/talk/manifest.json")
	var m Manifest
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	c := m.Clips[0]
	if m.JobID != "j" || m.Source.Key != "inbox/talk.mp4" || m.Backend != be.srv.URL || m.Status != "completed" ||
		*c.Title != "Best bit" || *c.ViralityScore != 88 || *c.Reason != "a question" || c.Files["video"] != "s3://"+bucket+"/clips/talk/clip1.mp4" {
		t.Fatalf("manifest %s", raw)
	}
	// The manifest's URL is a presigned S3 URL that works.
	resp, err := http.Get(*c.VideoURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "bytes of /files/j/c.mp4" || !strings.Contains(*c.VideoURL, "X-Amz-Signature") {
		t.Fatalf("presigned %s gives %q", *c.VideoURL, body)
	}
	// A replay never replaces a finished manifest, even if the job changed.
	be.jobs["j"].Title = clipping.Ptr("Changed")
	if _, err := p.Store(context.Background(), StoreInput{Execution: ex}); err != nil {
		t.Fatal(err)
	}
	if read(t, s3b, "clips/talk/manifest.json") != raw {
		t.Fatal("a replay replaced the manifest")
	}
	// Even a racing writer that missed the existence check cannot replace it.
	if created, err := s3b.PutIfAbsent(context.Background(), "clips/talk/manifest.json", []byte("{}"), "application/json"); err != nil || created {
		t.Fatalf("conditional write: created %v, %v", created, err)
	}
}

func TestStoreFailures(t *testing.T) {
	p, s3b, be, _ := newPipeline(t)
	be.jobs["j"] = &clipping.Job{ID: "j", Status: clipping.JobFailed, FailureMessage: clipping.Ptr("The source video has no video stream (it is audio only).")}
	ex := Execution{Source: Source{Bucket: bucket, Key: "inbox/a/talk.mp4"}, Name: "a/talk", JobID: "j", Limits: Limits{MaxAttempts: 10, JobTimeout: 60},
		Poll: Poll{Status: "failed", Attempt: 3}}
	for _, c := range []struct {
		name   string
		in     StoreInput
		reason string
	}{
		{"job failed", StoreInput{Execution: ex, Failure: true}, "audio only"},
		{"timed out", StoreInput{Execution: withPoll(ex, Poll{Status: StatusTimedOut}), Failure: true}, "did not finish within 60 s"},
		{"attempts", StoreInput{Execution: withPoll(ex, Poll{Status: "running", Attempt: 10}), Failure: true}, "still running after 10 polls"},
		{"caught", StoreInput{Execution: withError(ex, TaskError{Error: "TerminalError", Cause: `{"errorMessage":"poll job j: HTTP 401","errorType":"TerminalError"}`}), Failure: true}, "TerminalError: poll job j: HTTP 401"},
		{"store of a job that is not complete", StoreInput{Execution: ex}, "audio only"},
	} {
		out, err := p.Store(context.Background(), c.in)
		if err != nil || out.Manifest != "failed/a/talk.json" {
			t.Fatalf("%s: %+v %v", c.name, out, err)
		}
		var f Failure
		json.Unmarshal([]byte(read(t, s3b, out.Manifest)), &f)
		if !strings.Contains(f.Reason, c.reason) || f.JobID != "j" || f.Source.Key != "inbox/a/talk.mp4" {
			t.Errorf("%s: %+v", c.name, f)
		}
	}
}

func withPoll(ex Execution, p Poll) Execution       { ex.Poll = p; return ex }
func withError(ex Execution, e TaskError) Execution { ex.Error = &e; return ex }

func TestExecutionNames(t *testing.T) {
	long := strings.Repeat("very long name ", 10)
	for _, name := range []string{"talk", "team/q3 review", long, "日本語", "---"} {
		for _, attempt := range []int{1, 2, 1000} {
			n := executionName(name, attempt, strings.Repeat("a", 48))
			if len(n) > 80 || strings.Trim(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" ||
				(attempt > 1) != strings.Contains(n, fmt.Sprintf("attempt%d-", attempt)) {
				t.Errorf("%q, attempt %d -> %q", name, attempt, n)
			}
		}
	}
}

// clockedS3 is fakeS3 whose clock the test moves: S3 keeps Last-Modified
// to the second, and it tells one upload of the same bytes from the next.
func clockedS3(t *testing.T) (*S3Bucket, gofakes3.TimeSourceAdvancer) {
	t.Helper()
	clock := gofakes3.FixedTimeSource(time.Now())
	srv := httptest.NewServer(gofakes3.New(s3mem.New(s3mem.WithTimeSource(clock)),
		gofakes3.WithTimeSource(clock), gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")})
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return &S3Bucket{Client: c, Bucket: bucket}, clock
}

func del(t *testing.T, b *S3Bucket, key string) {
	t.Helper()
	if _, err := b.Client.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
}

// A failed upload is retried by uploading the same bytes again, while S3
// repeating an event changes nothing, before or after the failure.
func TestRetryAFailedUpload(t *testing.T) {
	p, _, be, st := newPipeline(t)
	s3b, clock := clockedS3(t)
	p.Bucket = s3b
	ctx := context.Background()
	event := Source{Bucket: bucket, Key: "inbox/talk.mp4", ETag: etag("v")}
	upload := func() {
		clock.Advance(2 * time.Second)
		put(t, s3b, "inbox/talk.mp4", "v")
	}
	submit := func() Submitted {
		t.Helper()
		res, err := p.Submit(ctx, event)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	fail := func(res Submitted) Failure {
		t.Helper()
		ex := st.names[res.Execution]
		be.jobs[ex.JobID].Status = clipping.JobFailed
		if _, err := p.Store(ctx, StoreInput{Execution: ex, Failure: true}); err != nil {
			t.Fatal(err)
		}
		var f Failure
		if err := json.Unmarshal([]byte(read(t, s3b, FailureKey("talk"))), &f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	keys := func() (n int) {
		seen := map[string]bool{}
		for _, c := range be.creates {
			seen[c.header.Get("Idempotency-Key")] = true
		}
		return len(seen)
	}

	upload()
	first := submit()
	if first.Attempt != 1 || strings.Contains(first.Execution, "attempt") {
		t.Fatalf("first: %+v", first)
	}
	if again := submit(); again.Execution != first.Execution || len(be.jobs) != 1 {
		t.Fatalf("a repeated event while the job runs: %+v, %d jobs", again, len(be.jobs))
	}
	f := fail(first)
	if f.Attempt != 1 || !strings.Contains(f.Retry, "upload inbox/talk.mp4 again") {
		t.Fatalf("record %+v", f)
	}
	markers, _ := s3b.List(ctx, AttemptsDir+"talk/")
	if len(markers) != 1 {
		t.Fatalf("markers %v", markers)
	}

	// S3 repeats the event after the failure: nothing happens.
	if res := submit(); !strings.Contains(res.Skipped, "already failed") || len(be.creates) != 2 || len(st.names) != 1 {
		t.Fatalf("a repeated event after the failure: %+v, %d creates, %d executions", res, len(be.creates), len(st.names))
	}

	// The same bytes uploaded again: attempt 2, a new key and execution.
	upload()
	second := submit()
	if second.Attempt != 2 || !strings.Contains(second.Execution, "talk-attempt2-") || keys() != 2 || len(be.jobs) != 2 {
		t.Fatalf("re-upload: %+v, %d keys, %d jobs", second, keys(), len(be.jobs))
	}
	if res := submit(); res.Execution != second.Execution || len(be.jobs) != 2 {
		t.Fatalf("a repeated event of the re-upload: %+v", res)
	}
	if f := fail(second); f.Attempt != 2 {
		t.Fatalf("record %+v", f)
	}

	// The record and the video deleted, the video uploaded again: attempt 3.
	del(t, s3b, FailureKey("talk"))
	del(t, s3b, "inbox/talk.mp4")
	upload()
	third := submit()
	if third.Attempt != 3 || len(be.jobs) != 3 {
		t.Fatalf("after deleting the record and the video: %+v", third)
	}
	fail(third)

	// Only the record deleted: the upload has no outcome, so even a
	// repeated event of it runs the next attempt.
	del(t, s3b, FailureKey("talk"))
	if res := submit(); res.Attempt != 4 || len(be.jobs) != 4 {
		t.Fatalf("after deleting the record: %+v", res)
	}
	if keys() != 4 || len(st.names) != 4 {
		t.Fatalf("%d keys, %d executions for 4 attempts", keys(), len(st.names))
	}
}

// A refusal by the backend counts as a failed attempt too, while invalid
// settings (no job) are retried by correcting them.
func TestRetryAfterARefusalOrBadSettings(t *testing.T) {
	p, _, be, st := newPipeline(t)
	s3b, clock := clockedS3(t)
	p.Bucket = s3b
	ctx := context.Background()
	put(t, s3b, "inbox/talk.mp4", "v")
	be.script = []int{404}
	res, err := p.Submit(ctx, Source{Bucket: bucket, Key: "inbox/talk.mp4"})
	if err != nil || res.Failure == "" || res.Attempt != 1 {
		t.Fatalf("refused: %+v %v", res, err)
	}
	clock.Advance(time.Second)
	put(t, s3b, "inbox/talk.mp4", "v")
	if res, err := p.Submit(ctx, Source{Bucket: bucket, Key: "inbox/talk.mp4"}); err != nil || res.Attempt != 2 || len(st.names) != 1 {
		t.Fatalf("after a refusal: %+v %v", res, err)
	}

	put(t, s3b, "inbox/other.json", `{"output_settings":{"duration_types":["45"]}}`)
	put(t, s3b, "inbox/other.mp4", "w")
	if res, err := p.Submit(ctx, Source{Bucket: bucket, Key: "inbox/other.mp4"}); err != nil || res.Failure == "" {
		t.Fatalf("bad settings: %+v %v", res, err)
	}
	if !strings.Contains(read(t, s3b, "failed/other.json"), `"retry": "correct inbox/other.json, then upload inbox/other.mp4 again"`) {
		t.Error("the record does not say how to retry")
	}
	put(t, s3b, "inbox/other.json", `{"output_settings":{"duration_types":["60"]}}`)
	clock.Advance(time.Second)
	put(t, s3b, "inbox/other.mp4", "w")
	if res, err := p.Submit(ctx, Source{Bucket: bucket, Key: "inbox/other.mp4"}); err != nil || res.Attempt != 1 || res.JobID == "" {
		t.Fatalf("corrected settings: %+v %v", res, err)
	}
	if len(be.jobs) != 2 {
		t.Fatalf("%d jobs", len(be.jobs))
	}
}

// S3 may deliver an event late: after its key was deleted or replaced.
func TestLateEvents(t *testing.T) {
	p, s3b, be, _ := newPipeline(t)
	ctx := context.Background()
	put(t, s3b, "inbox/talk.mp4", "new bytes")
	res, err := p.Submit(ctx, Source{Bucket: bucket, Key: "inbox/talk.mp4", ETag: etag("old bytes")})
	if err != nil || !strings.Contains(res.Skipped, "replaced") {
		t.Fatalf("replaced: %+v %v", res, err)
	}
	res, err = p.Submit(ctx, Source{Bucket: bucket, Key: "inbox/gone.mp4", ETag: etag("x")})
	if err != nil || !strings.Contains(res.Skipped, "no longer") {
		t.Fatalf("deleted: %+v %v", res, err)
	}
	if len(be.creates) != 0 {
		t.Fatal("a late event was submitted")
	}
}
