package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/clock"
	"github.com/clipmill/clipmill/internal/heygen"
)

// Backend is the clipping API the pipeline submits to.
type Backend interface {
	Create(ctx context.Context, req clipping.CreateRequest, idempotencyKey string) (string, error)
	Get(ctx context.Context, id string) (clipping.Job, error)
}

// Starter starts a state machine execution. Starting a name that already
// ran is success: S3 delivers events at least once.
type Starter interface {
	Start(ctx context.Context, name string, input Execution) error
}

// Pipeline holds what the three steps share.
type Pipeline struct {
	Bucket  Bucket
	Backend Backend
	// BackendURL is the backend's base URL, recorded in each execution.
	BackendURL string
	// Uploader, when set, sends sources as uploaded assets instead of
	// presigned URLs, for backends that cannot fetch from S3.
	Uploader AssetUploader
	Starter  Starter
	// Defaults are the stack's settings, used when no settings file exists.
	Defaults clipping.CreateRequest
	// Decode relaxes the contract as the backend allows (http for local use).
	Decode      clipping.Options
	MaxAttempts int           // polls before giving up
	JobTimeout  time.Duration // from submission to the end of the job
	PollMin     time.Duration // first wait, doubled to PollMax
	PollMax     time.Duration
	// LateAsk bounds a poll's question to the backend once the job is past
	// its timeout: a backend that does not answer then makes the job
	// timed_out, not a Lambda timeout retried. Default 10 s.
	LateAsk   time.Duration
	URLExpiry time.Duration // presigned URLs in manifests
	// Retries bound how long submit waits out 409 and 429 answers.
	Retries int
	// Engine, when set, has the stack's own engine clip the videos: submit
	// starts statemachine/engine.asl.json with the settings, and no backend
	// is asked. RenderConcurrency is how many clips it renders at once.
	Engine            bool
	RenderConcurrency int
	Log               *slog.Logger
	Now               func() time.Time
	Sleep             func(context.Context, time.Duration) error
}

// AssetUploader uploads a source to the backend.
type AssetUploader interface {
	UploadAsset(ctx context.Context, body io.Reader, size int64, contentType, idempotencyKey string) (clipping.Asset, error)
}

func (p *Pipeline) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Pipeline) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

func (p *Pipeline) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	return clock.Sleep(ctx, d)
}

// Inbox is where uploads start jobs.
const Inbox = "inbox/"

// VideoName is the name a video's results go under: its key without inbox/
// and its extension. ok is false for keys that are not videos in the inbox.
func VideoName(key string) (string, bool) {
	if !strings.HasPrefix(key, Inbox) {
		return "", false
	}
	// The uploads that start a job are the videos the API takes, in any case.
	if _, ok := clipping.VideoType(key); ok {
		name := strings.TrimSuffix(strings.TrimPrefix(key, Inbox), path.Ext(key))
		return name, name != "" && !strings.HasSuffix(name, "/")
	}
	return "", false
}

// Submitted says what Submit did with one upload.
type Submitted struct {
	Key       string `json:"key"`
	Skipped   string `json:"skipped,omitempty"` // why nothing was done
	Attempt   int    `json:"attempt,omitempty"`
	Execution string `json:"execution,omitempty"`
	JobID     string `json:"job_id,omitempty"`
	Failure   string `json:"failure,omitempty"` // the failure record written
}

// Submit handles one uploaded object: a video in the inbox is submitted to
// the backend, and the state machine is started to follow its job. Bad
// settings or a refusal by the backend write failed/<name>.json and are not
// errors; an error means "try again".
func (p *Pipeline) Submit(ctx context.Context, src Source) (Submitted, error) {
	out := Submitted{Key: src.Key}
	name, ok := VideoName(src.Key)
	if !ok {
		out.Skipped = "not a video under " + Inbox
		return out, nil
	}
	src, skip, err := p.current(ctx, src)
	if err != nil || skip != "" {
		out.Skipped = skip
		return out, err
	}
	settings, from, err := p.settings(ctx, src.Key)
	if err != nil {
		if ce, ok := clipping.AsError(err); ok {
			f := Failure{Source: src, Name: name, Reason: fmt.Sprintf("%s: %s", from, ce.Message), Param: paramOf(ce),
				Retry: fmt.Sprintf("correct %s, then upload %s again", from, src.Key)}
			out.Failure, err = p.recordFailure(ctx, f, "")
			return out, err
		}
		return out, &RetryableError{Msg: err.Error()}
	}
	upload := deriveID(src, settings)
	attempt, failed, err := p.attempt(ctx, name, upload, src.LastModified)
	if err != nil {
		return out, &RetryableError{Msg: "count attempts: " + err.Error()}
	}
	if failed {
		out.Skipped = fmt.Sprintf("this upload already failed (see %s): upload it again to retry", FailureKey(name))
		return out, nil
	}
	id := attemptID(upload, attempt)
	out.Attempt, out.Execution = attempt, executionName(name, attempt, id)

	if p.Engine {
		ex := Execution{
			Source: src, Name: name, JobID: id, Backend: BackendEngine, SubmittedAt: p.now().Unix(),
			Upload: upload, Attempt: attempt, Work: "work/" + out.Execution + "/",
			Limits: Limits{MaxAttempts: p.MaxAttempts, JobTimeout: int(p.JobTimeout.Seconds()), RenderConcurrency: max(1, p.RenderConcurrency)},
		}
		b, err := json.Marshal(settings)
		if err != nil {
			return out, fmt.Errorf("encode settings: %w", err)
		}
		if err := p.Bucket.Put(ctx, ex.Work+RequestFile, bytes.NewReader(b), "application/json"); err != nil {
			return out, &RetryableError{Msg: "write settings: " + err.Error()}
		}
		if err := p.Starter.Start(ctx, out.Execution, ex); err != nil {
			return out, &RetryableError{Msg: "start execution: " + err.Error()}
		}
		out.JobID = id
		p.log().Info("submitted to the engine", "key", src.Key, "attempt", attempt, "execution", out.Execution)
		return out, nil
	}
	req := settings
	req.Video, err = p.video(ctx, src, id)
	if err != nil {
		return out, err
	}
	jobID, err := p.create(ctx, req, id)
	if err != nil {
		var he *heygen.Error
		if errors.As(err, &he) && !he.Transient() {
			f := Failure{Source: src, Name: name, Attempt: attempt, Reason: "the backend refused the job: " + he.Error(), Param: he.Param}
			out.Failure, err = p.recordFailure(ctx, f, upload)
			return out, err
		}
		return out, &RetryableError{Msg: "submit: " + err.Error()}
	}
	out.JobID = jobID
	ex := Execution{
		Source: src, Name: name, JobID: jobID, Backend: p.BackendURL, SubmittedAt: p.now().Unix(),
		Upload: upload, Attempt: attempt,
		Limits: Limits{MaxAttempts: p.MaxAttempts, JobTimeout: int(p.JobTimeout.Seconds())},
		Poll:   Poll{Status: string(clipping.JobPending), Wait: int(p.PollMin.Seconds())},
	}
	if err := p.Starter.Start(ctx, out.Execution, ex); err != nil {
		return out, &RetryableError{Msg: "start execution: " + err.Error()}
	}
	p.log().Info("submitted", "key", src.Key, "attempt", attempt, "job", jobID, "execution", out.Execution)
	return out, nil
}

// current checks an event against the object as it is now, and adds its
// ETag and Last-Modified time. S3 may deliver an event late: after the key
// was deleted, or replaced by other bytes (whose upload has its own event).
func (p *Pipeline) current(ctx context.Context, src Source) (Source, string, error) {
	obj, found, err := p.Bucket.Head(ctx, src.Key, src.Version)
	if err != nil {
		return src, "", &RetryableError{Msg: err.Error()}
	}
	switch {
	case !found:
		return src, "no longer in the bucket", nil
	case src.Version == "" && src.ETag != "" && strings.Trim(src.ETag, `"`) != obj.ETag:
		return src, "replaced by a newer upload, which has its own event", nil
	}
	src.ETag = obj.ETag
	src.LastModified = obj.LastModified.UTC()
	return src, "", nil
}

func paramOf(e *clipping.Error) string {
	if e.Param == nil {
		return ""
	}
	return *e.Param
}

// settings finds the video's settings: a sidecar <video>.json, else the
// folder's clipmill.json, else the stack's defaults. from names the file.
func (p *Pipeline) settings(ctx context.Context, key string) (clipping.CreateRequest, string, error) {
	base := strings.TrimSuffix(key, path.Ext(key))
	for _, k := range []string{base + ".json", path.Join(path.Dir(key), "clipmill.json")} {
		data, found, err := p.Bucket.Read(ctx, k, 64<<10)
		if err != nil {
			return clipping.CreateRequest{}, k, err
		}
		if !found {
			continue
		}
		req, err := clipping.DecodeSettings(data, p.Decode)
		return req, k, err
	}
	return p.Defaults, "the stack's default settings", nil
}

// deriveID names one upload with one set of settings: the same bytes and
// settings always get the same name, so a repeated event is a no-op and
// new settings make a new job (attempts.go numbers the tries at one
// upload). 48 hex characters fit both the Idempotency-Key and an
// execution name.
func deriveID(src Source, settings clipping.CreateRequest) string {
	s, _ := json.Marshal(settings)
	version := src.Version
	if version == "" {
		version = src.ETag
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{src.Bucket, src.Key, version, string(s)}, "\n")))
	return hex.EncodeToString(sum[:])[:48]
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// executionName is readable (the video's name and, after the first, the
// attempt) and unique (the id), within Step Functions' 80 characters of
// [A-Za-z0-9_-].
func executionName(name string, attempt int, id string) string {
	if attempt > 1 {
		id = fmt.Sprintf("attempt%d-%s", attempt, id)
	}
	n := strings.Trim(unsafeName.ReplaceAllString(name, "-"), "-")
	if len(n) > 80-len(id)-1 {
		n = n[:80-len(id)-1]
	}
	if n == "" {
		return id
	}
	return n + "-" + id
}

// video is how the backend gets the source: a presigned URL that outlives
// the job, or an uploaded asset.
func (p *Pipeline) video(ctx context.Context, src Source, id string) (clipping.Video, error) {
	if p.Uploader != nil {
		body, size, err := p.Bucket.Open(ctx, src.Key, src.Version)
		if err != nil {
			return clipping.Video{}, &RetryableError{Msg: err.Error()}
		}
		defer body.Close()
		ct, _ := clipping.VideoType(src.Key) // VideoName has checked the extension
		a, err := p.Uploader.UploadAsset(ctx, body, size, ct, id+":asset")
		if err != nil {
			return clipping.Video{}, &RetryableError{Msg: "upload source: " + err.Error()}
		}
		return clipping.Video{Type: clipping.VideoAssetID, AssetID: a.AssetID}, nil
	}
	// The backend may fetch late (a queue) and again (a retry): the URL
	// lives as long as the job may, plus an hour, within S3's 7 days.
	ttl := min(p.JobTimeout+time.Hour, 7*24*time.Hour)
	u, err := p.Bucket.PresignGet(ctx, src.Key, src.Version, ttl)
	if err != nil {
		return clipping.Video{}, &RetryableError{Msg: err.Error()}
	}
	return clipping.Video{Type: clipping.VideoURL, URL: u}, nil
}

// create submits, waiting out a 409 (the same key still in flight) and a
// 429 (rate limited) for as long as the server asks, a few times.
func (p *Pipeline) create(ctx context.Context, req clipping.CreateRequest, key string) (string, error) {
	tries := max(1, p.Retries)
	for i := 1; ; i++ {
		id, err := p.Backend.Create(ctx, req, key)
		var he *heygen.Error
		if err == nil || !errors.As(err, &he) || (he.Status != 409 && he.Status != 429) || i >= tries {
			return id, err
		}
		wait := he.RetryAfter
		if wait <= 0 {
			wait = time.Duration(i) * 2 * time.Second
		}
		p.log().Warn("backend asks to wait", "status", he.Status, "wait", wait)
		if err := p.sleep(ctx, min(wait, time.Minute)); err != nil {
			return "", err
		}
	}
}
