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
		if ex.Backend == BackendEngine {
			st, err := p.storeRendered(ctx, ex)
			if err == nil {
				p.dropAudio(ctx, ex)
			}
			return st, err
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
	if err == nil {
		p.dropAudio(ctx, ex)
	}
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
		if msg, ok := userCause(*ex.Error); ok && ex.Backend == BackendEngine {
			return msg
		}
		return "the pipeline failed: " + taskCause(*ex.Error)
	}
	if ex.Backend == BackendEngine {
		switch t := ex.Transcription; {
		case t != nil && t.Status == "failed":
			return "Speech recognition failed: " + t.Reason
		case t != nil && t.Status != "completed":
			return fmt.Sprintf("Speech recognition did not finish after %d checks", t.Attempt)
		}
		return "the engine stopped without a result"
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

// userCause is the message of an error that speaks to the user (a file
// that is not a video, no clip rendered), without the error's type.
func userCause(e TaskError) (string, bool) {
	var c struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if json.Unmarshal([]byte(e.Cause), &c) != nil || c.Message == "" {
		return "", false
	}
	return c.Message, c.Type == "TerminalError" || c.Type == "NoClipsError"
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
	return p.writeManifest(ctx, ex, job, func(c clipping.Clip, url, ext, ctype string) (string, error) {
		key := dir + safeFile(c.ID) + ext
		return key, p.copyURL(ctx, url, key, ctype)
	})
}

// writeManifest writes the manifest of a finished job. place puts one of a
// clip's files in the bucket, given the URL the job gives for it, and
// returns its key; the manifest gets a presigned URL for the key.
func (p *Pipeline) writeManifest(ctx context.Context, ex Execution, job clipping.Job, place func(c clipping.Clip, url, ext, ctype string) (string, error)) (Stored, error) {
	expiry := p.URLExpiryOrDefault()
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
				key, err := place(c, **f.url, f.ext, f.ctype)
				if err != nil {
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
	return p.WriteManifest(ctx, ex.Name, m)
}

// WriteManifest writes clips/<name>/manifest.json, unless one is there: a
// replay never replaces it.
func (p *Pipeline) WriteManifest(ctx context.Context, name string, m Manifest) (Stored, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Stored{}, &TerminalError{Msg: "encode manifest: " + err.Error()}
	}
	key := ManifestKey(name)
	created, err := p.Bucket.PutIfAbsent(ctx, key, append(b, '\n'), "application/json")
	if err != nil {
		return Stored{}, &RetryableError{Msg: err.Error()}
	}
	if created {
		p.log().Info("stored", "key", m.Source.Key, "manifest", key, "clips", len(m.Clips))
	}
	return Stored{Manifest: key}, nil
}

// URLExpiryOrDefault is how long a manifest's presigned URLs live.
func (p *Pipeline) URLExpiryOrDefault() time.Duration {
	if p.URLExpiry <= 0 {
		return 7 * 24 * time.Hour
	}
	return p.URLExpiry
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
