// Package store keeps the server's state: jobs, idempotency keys and
// uploaded assets. Store is the interface the API and the workers use;
// every implementation (SQLite here, DynamoDB later) passes the one
// conformance suite in package storetest.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
)

// ErrNotFound means no such record, or one that was deleted.
var ErrNotFound = errors.New("not found")

// ErrBadCursor means a ListJobs cursor that no ListJobs call returned.
var ErrBadCursor = errors.New("bad cursor")

// Job is a stored clipping job.
type Job struct {
	ID    string
	Owner string // who created it: a hash of the API key; "" in tests
	// Request is the create request as accepted (validated, defaults filled).
	Request clipping.CreateRequest
	// Resource is what GET /v3/ai-clipping/{id} shows, before URLs are
	// signed: clip URLs hold bare file names.
	Resource  clipping.Job
	Attempts  int // how many times a worker has started it
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Asset is an uploaded file.
type Asset struct {
	ID        string
	Owner     string
	Path      string // where the bytes are, on the server's disk
	MimeType  string
	Size      int64
	CreatedAt time.Time
}

// ReplayState says what an idempotency key already knows.
type ReplayState int

const (
	// Started: the key is new (or its old record expired); the caller now
	// holds it in flight and must Finish or Abandon it.
	Started ReplayState = iota
	// InFlight: another request with the key is being handled.
	InFlight
	// Done: the key's first response is stored; replay it.
	Done
)

// Replay is the answer to BeginRequest.
type Replay struct {
	State    ReplayState
	Status   int    // Done: the HTTP status to replay
	Body     []byte // Done: the body to replay
	BodyHash string // Done: the hash of the first request's body
}

// Store is the state behind the API. All methods are safe for concurrent
// use, also from several processes sharing one store.
type Store interface {
	// CreateJob stores a new job; its ID must be unique.
	CreateJob(ctx context.Context, j *Job) error
	// GetJob returns a job. owner "" matches any owner (the workers);
	// otherwise a job of another owner is ErrNotFound.
	GetJob(ctx context.Context, owner, id string) (*Job, error)
	// ListJobs returns an owner's jobs newest first, at most limit, after
	// the position that cursor (from an earlier call; "" for the start)
	// names, and the cursor of the next page ("" when there is none). A
	// cursor it cannot read is ErrBadCursor.
	ListJobs(ctx context.Context, owner string, limit int, cursor string) ([]*Job, string, error)
	// UpdateJob applies fn to the job in one transaction and stores the
	// result (fn's error aborts it). It returns the job as stored.
	UpdateJob(ctx context.Context, id string, fn func(*Job) error) (*Job, error)
	// DeleteJob hides a job from every later call and returns it as it was.
	DeleteJob(ctx context.Context, owner, id string) (*Job, error)
	// ClaimJob marks the oldest pending job running, counts the attempt and
	// returns it; ErrNotFound when none is pending. Two claimers never get
	// the same job.
	ClaimJob(ctx context.Context) (*Job, error)
	// JobsWithStatus lists the (not deleted) jobs in a status, oldest
	// first: at start-up, the server looks for jobs left running.
	JobsWithStatus(ctx context.Context, status clipping.JobStatus) ([]*Job, error)

	// BeginRequest looks up an idempotency key's scope (owner, endpoint,
	// path parameter and key, already joined by the caller). A key seen in
	// the last ttl answers Done or InFlight; an in-flight record older than
	// stale is taken to be abandoned (its process died) and starts again.
	// Among concurrent callers with one scope exactly one gets Started.
	BeginRequest(ctx context.Context, scope, bodyHash string, now time.Time, ttl, stale time.Duration) (Replay, error)
	// FinishRequest stores the response of a started key.
	FinishRequest(ctx context.Context, scope string, status int, body []byte) error
	// AbandonRequest forgets a started key, so it can be retried.
	AbandonRequest(ctx context.Context, scope string) error

	// CreateAsset stores an uploaded file's record.
	CreateAsset(ctx context.Context, a *Asset) error
	// GetAsset returns an asset of an owner ("" matches any).
	GetAsset(ctx context.Context, owner, id string) (*Asset, error)

	Close() error
}
