// Package pipeline is the S3 drop-folder pipeline's logic: submit a video
// that lands in inbox/, poll its job, and store the clips and a manifest
// back in the bucket. It is free of Lambda types: functions/<name>/main.go
// wires each step to Lambda, and `clipmill local` runs the same steps
// through the same state machine definition on one machine.
package pipeline

import "time"

// Source identifies one uploaded version of a video.
type Source struct {
	Bucket  string `json:"bucket"`
	Key     string `json:"key"`
	Version string `json:"version,omitempty"` // S3 version id, when the bucket is versioned
	ETag    string `json:"etag,omitempty"`
	// LastModified tells one upload of the same bytes from the next (to
	// the second, as S3 keeps it).
	LastModified time.Time `json:"last_modified,omitzero"`
}

// Execution is the state machine's state: S3 keys and ids, never clip
// lists, so it stays far below Step Functions' 256 KB.
type Execution struct {
	Source      Source `json:"source"`
	Name        string `json:"name"`    // the video name: the key without inbox/ and its extension
	JobID       string `json:"job_id"`  // the backend's ai_clipping_id
	Backend     string `json:"backend"` // the backend's base URL
	SubmittedAt int64  `json:"submitted_at"`
	// Upload names the bytes and settings (see deriveID); Attempt counts
	// the attempts at them, 1 + the failed ones. Store needs both to mark
	// a failed attempt.
	Upload  string `json:"upload,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
	Limits  Limits `json:"limits"`
	Poll    Poll   `json:"poll"`
	// Error is where a Catch puts the error it caught.
	Error *TaskError `json:"error,omitempty"`
	// Stored is where the store step puts what it wrote.
	Stored *Stored `json:"stored,omitempty"`
}

// Limits bound the wait/poll loop; the state machine's Choice reads
// MaxAttempts, the poll step JobTimeout.
type Limits struct {
	MaxAttempts int `json:"max_attempts"`
	JobTimeout  int `json:"job_timeout"` // seconds from submission
}

// Poll is what the poll step returns and the Wait and Choice states read.
type Poll struct {
	Status   string `json:"status"` // the job's status as last seen, or "timed_out"
	Progress int    `json:"progress"`
	Attempt  int    `json:"attempt"` // polls so far
	Wait     int    `json:"wait"`    // seconds before the next poll
}

// TaskError is what a Catch puts at $.error: the error's type name and
// message.
type TaskError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// StoreInput is the store step's input. With Failure set (the
// StoreFailure state), it records a failure whatever the job's status.
type StoreInput struct {
	Execution Execution `json:"execution"`
	Failure   bool      `json:"failure,omitempty"`
}

// Stored is what the store steps return: where they wrote.
type Stored struct {
	Manifest string `json:"manifest"` // the S3 key of the manifest or failure record
}
