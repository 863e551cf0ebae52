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

	// The stack's own engine (statemachine/engine.asl.json) runs with these
	// instead of a backend's job.
	// Work is the key prefix of the steps' files; the settings, resolved
	// at submit, are its request.json (RequestFile).
	Work          string         `json:"work,omitempty"`
	Prepared      *Prepared      `json:"prepared,omitempty"`
	Transcription *Transcription `json:"transcription,omitempty"`
	Planned       *Planned       `json:"planned,omitempty"`
	Rendered      []Rendered     `json:"rendered,omitempty"`
}

// BackendEngine is an execution's Backend when the stack's own engine
// clips it.
const BackendEngine = "engine"

// RequestFile is, under an engine execution's Work prefix, the settings
// submit resolved (a clipping.CreateRequest without its video).
const RequestFile = "request.json"

// Prepared is what the prepare step found and wrote under Work.
type Prepared struct {
	Duration float64 `json:"duration"`
	HasAudio bool    `json:"has_audio"`
	// Transcript is the key of the words to use: a sidecar beside the
	// video, or, once transcribed, Transcribe's result. NeedsTranscription
	// says whether Transcribe must run first.
	Transcript         string `json:"transcript"`
	NeedsTranscription bool   `json:"needs_transcription"`
}

// Transcription is the wait/poll loop's state.
type Transcription struct {
	Job     string `json:"job"`
	Status  string `json:"status"` // running, completed or failed
	Reason  string `json:"reason"` // why it failed
	Attempt int    `json:"attempt"`
	Wait    int    `json:"wait"` // seconds before the next check
}

// Planned is what the select step chose: the plan's key and its clips'
// ids, which the Map state renders one by one.
type Planned struct {
	Plan  string   `json:"plan"`
	Clips []string `json:"clips"`
}

// RenderInput is one iteration of the Map state.
type RenderInput struct {
	Plan   string `json:"plan"`
	Clip   string `json:"clip"`
	Name   string `json:"name"`
	Work   string `json:"work"`
	Source Source `json:"source"`
}

// Rendered is one clip's outcome: Clip is the key of its resource (the
// API's clip, failed or with the keys of its files), which the store step
// reads. A clip that fails alone does not fail the others. Error is set
// when the render step itself failed (a crash or a timeout) and wrote
// nothing.
type Rendered struct {
	ID     string     `json:"id"`
	Status string     `json:"status"` // completed or failed
	Clip   string     `json:"clip"`
	Error  *TaskError `json:"error,omitempty"`
	// SourceBytes is how much of the source the render read: its part,
	// not the whole file.
	SourceBytes int64 `json:"source_bytes"`
}

// Limits bound the wait/poll loop; the state machine's Choice reads
// MaxAttempts, the poll step JobTimeout. The engine's Map state renders
// RenderConcurrency clips at once.
type Limits struct {
	MaxAttempts       int `json:"max_attempts"`
	JobTimeout        int `json:"job_timeout"` // seconds from submission
	RenderConcurrency int `json:"render_concurrency,omitempty"`
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
