package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/heygen"
)

// Manifest is clips/<video name>/manifest.json.
type Manifest struct {
	Source         Source         `json:"source"`
	JobID          string         `json:"job_id"`
	Backend        string         `json:"backend"`
	Status         string         `json:"status"`
	Title          *string        `json:"title"`
	InputLanguage  *string        `json:"input_language"`
	SourceDuration *float64       `json:"source_duration"`
	SubmittedAt    int64          `json:"submitted_at"`
	JobCreatedAt   *int64         `json:"job_created_at"`
	StoredAt       int64          `json:"stored_at"`
	Clips          []ManifestClip `json:"clips"`
}

// ManifestClip is a clip with every field of the job's resource. Its URLs
// are presigned S3 URLs that expire (at URLsExpireAt); Files holds the
// durable s3:// keys to presign again later.
type ManifestClip struct {
	clipping.Clip
	Files        map[string]string `json:"files"`
	URLsExpireAt int64             `json:"urls_expire_at"`
}

// Failure is failed/<video name>.json.
type Failure struct {
	Source   Source `json:"source"`
	Name     string `json:"name"`
	Attempt  int    `json:"attempt,omitempty"`
	JobID    string `json:"job_id,omitempty"`
	Backend  string `json:"backend,omitempty"`
	Status   string `json:"status"`
	Reason   string `json:"reason"`
	Param    string `json:"param,omitempty"`
	FailedAt int64  `json:"failed_at"`
	Retry    string `json:"retry"` // how to try again
}

// ManifestKey and FailureKey are where a video's outcome is written.
func ManifestKey(name string) string { return "clips/" + name + "/manifest.json" }
func FailureKey(name string) string  { return "failed/" + name + ".json" }

// Store writes a finished job's clips and manifest, or, when the job did
// not complete (or in.Failure says so), a failure record. A replay never
// replaces a manifest already written.
func (p *Pipeline) Store(ctx context.Context, in StoreInput) (Stored, error) {
	ex := in.Execution
	if !in.Failure && ex.Error == nil {
		key := ManifestKey(ex.Name)
		if _, done, err := p.Bucket.Head(ctx, key, ""); err != nil {
			return Stored{}, &RetryableError{Msg: err.Error()}
		} else if done {
			return Stored{Manifest: key}, nil
		}
		job, err := p.Backend.Get(ctx, ex.JobID)
		if err != nil {
			return Stored{}, classify(err, "get job "+ex.JobID)
		}
		if job.Status == clipping.JobCompleted {
			return p.storeClips(ctx, ex, job)
		}
	}
	f := Failure{Source: ex.Source, Name: ex.Name, Attempt: ex.Attempt, JobID: ex.JobID, Reason: p.reason(ctx, in)}
	key, err := p.recordFailure(ctx, f, ex.Upload)
	return Stored{Manifest: key}, err
}

// classify turns a backend error into the error types the state machine
// tells apart.
func classify(err error, what string) error {
	var he *heygen.Error
	if errors.As(err, &he) && !he.Transient() {
		return &TerminalError{Msg: what + ": " + err.Error()}
	}
	return &RetryableError{Msg: what + ": " + err.Error()}
}

// reason says in one line why a job did not end in clips.
func (p *Pipeline) reason(ctx context.Context, in StoreInput) string {
	ex := in.Execution
	if ex.Error != nil {
		return "the pipeline failed: " + taskCause(*ex.Error)
	}
	switch {
	case ex.Poll.Status == StatusTimedOut:
		return fmt.Sprintf("the job did not finish within %d s", ex.Limits.JobTimeout)
	case ex.Poll.Status != string(clipping.JobFailed) && ex.Poll.Status != string(clipping.JobCancelled) &&
		ex.Limits.MaxAttempts > 0 && ex.Poll.Attempt >= ex.Limits.MaxAttempts:
		return fmt.Sprintf("the job was still %s after %d polls", ex.Poll.Status, ex.Poll.Attempt)
	}
	if job, err := p.Backend.Get(ctx, ex.JobID); err == nil {
		if job.FailureMessage != nil {
			return *job.FailureMessage
		}
		return "the job ended " + string(job.Status)
	}
	return "the job ended " + ex.Poll.Status
}

// taskCause reads the message out of a caught Lambda error, whose Cause is
// itself JSON: {"errorMessage": ..., "errorType": ...}.
func taskCause(e TaskError) string {
	var c struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if json.Unmarshal([]byte(e.Cause), &c) == nil && c.Message != "" {
		return c.Type + ": " + c.Message
	}
	if e.Cause != "" {
		return e.Error + ": " + e.Cause
	}
	return e.Error
}

// recordFailure writes failed/<name>.json and then, for an attempt at an
// upload, its marker: in that order, so that while the marker is missing
// a repeated event still finds the attempt that is failing (attempts.go).
func (p *Pipeline) recordFailure(ctx context.Context, f Failure, upload string) (string, error) {
	f.Backend, f.Status, f.FailedAt = p.BackendURL, "failed", p.now().Unix()
	if f.Retry == "" {
		f.Retry = "upload " + f.Source.Key + " again"
	}
	b, _ := json.MarshalIndent(f, "", "  ")
	b = append(b, '\n')
	key := FailureKey(f.Name)
	if err := p.Bucket.Put(ctx, key, bytes.NewReader(b), "application/json"); err != nil {
		return "", &RetryableError{Msg: err.Error()}
	}
	if upload != "" && f.Attempt > 0 {
		marker := markerKey(f.Name, upload, f.Attempt, f.Source.LastModified)
		if err := p.Bucket.Put(ctx, marker, bytes.NewReader(b), "application/json"); err != nil {
			return "", &RetryableError{Msg: err.Error()}
		}
	}
	p.log().Warn("job failed", "key", f.Source.Key, "attempt", f.Attempt, "job", f.JobID, "reason", f.Reason)
	return key, nil
}

// storeClips copies each clip's files from the backend's expiring URLs into
// the bucket, streaming, then writes the manifest if none is there yet.
func (p *Pipeline) storeClips(ctx context.Context, ex Execution, job clipping.Job) (Stored, error) {
	dir := "clips/" + ex.Name + "/"
	expiry := p.URLExpiry
	if expiry <= 0 {
		expiry = 7 * 24 * time.Hour
	}
	m := Manifest{
		Source: ex.Source, JobID: ex.JobID, Backend: ex.Backend, Status: string(job.Status),
		Title: job.Title, InputLanguage: job.InputLanguage, SourceDuration: job.SourceDuration,
		SubmittedAt: ex.SubmittedAt, JobCreatedAt: job.CreatedAt, StoredAt: p.now().Unix(),
		Clips: []ManifestClip{},
	}
	for _, c := range job.Clips {
		mc := ManifestClip{Clip: c, Files: map[string]string{}}
		if c.Status == clipping.ClipCompleted {
			mc.URLsExpireAt = p.now().Add(expiry).Unix()
			mc.ExpiresAt = &mc.URLsExpireAt
			for _, f := range []struct {
				name, ext, ctype string
				url              **string
			}{
				{"video", ".mp4", "video/mp4", &mc.VideoURL},
				{"thumbnail", ".jpg", "image/jpeg", &mc.ThumbnailURL},
				{"captions_srt", ".srt", "application/x-subrip", &mc.CaptionsSRTURL},
				{"captions_vtt", ".vtt", "text/vtt", &mc.CaptionsVTTURL},
			} {
				if *f.url == nil || **f.url == "" {
					continue
				}
				key := dir + safeFile(c.ID) + f.ext
				if err := p.copyURL(ctx, **f.url, key, f.ctype); err != nil {
					return Stored{}, err
				}
				u, err := p.Bucket.PresignGet(ctx, key, "", expiry)
				if err != nil {
					return Stored{}, &RetryableError{Msg: err.Error()}
				}
				mc.Files[f.name] = "s3://" + p.Bucket.Name() + "/" + key
				*f.url = &u
			}
		}
		m.Clips = append(m.Clips, mc)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Stored{}, &TerminalError{Msg: "encode manifest: " + err.Error()}
	}
	key := ManifestKey(ex.Name)
	created, err := p.Bucket.PutIfAbsent(ctx, key, append(b, '\n'), "application/json")
	if err != nil {
		return Stored{}, &RetryableError{Msg: err.Error()}
	}
	if created {
		p.log().Info("stored", "key", ex.Source.Key, "manifest", key, "clips", len(m.Clips))
	}
	return Stored{Manifest: key}, nil
}

// safeFile keeps a clip id usable as a file name.
func safeFile(id string) string {
	s := unsafeName.ReplaceAllString(id, "_")
	if s == "" {
		return "clip"
	}
	return path.Base(s)
}

var downloads = &http.Client{Timeout: 30 * time.Minute}

// copyURL streams one file from the backend into the bucket.
func (p *Pipeline) copyURL(ctx context.Context, url, key, contentType string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return &TerminalError{Msg: fmt.Sprintf("clip file URL for %s is invalid", key)}
	}
	res, err := downloads.Do(req)
	if err != nil {
		return &RetryableError{Msg: fmt.Sprintf("download %s: %v", key, errors.Unwrap(err))}
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
		msg := fmt.Sprintf("download %s: HTTP %d", key, res.StatusCode)
		if res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests {
			return &RetryableError{Msg: msg}
		}
		return &TerminalError{Msg: msg}
	}
	if err := p.Bucket.Put(ctx, key, res.Body, contentType); err != nil {
		return &RetryableError{Msg: err.Error()}
	}
	return nil
}
