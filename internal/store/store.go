// Package store keeps the server's state: jobs, idempotency keys,
// uploaded assets and the webhook outbox. Store is the interface the API and the workers use;
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

// ErrBadCursor means a ListJobs or ListAssets cursor that no such call
// returned.
var ErrBadCursor = errors.New("bad cursor")

// ErrInUse means an asset that a pending or running job reads.
var ErrInUse = errors.New("in use")

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
	Size      int64 // a direct upload: the declared size until its bytes are in
	CreatedAt time.Time
	Name      string      // the file name it was uploaded with
	Status    AssetStatus // "" is stored as AssetReady
	// SHA256 is a direct upload's checksum in hex: the declared one (or
	// "") until its bytes are in, then theirs.
	SHA256 string
	// ExpiresAt is when a direct upload's URL stops working; zero for
	// other assets.
	ExpiresAt time.Time
	// BatchID and BatchIndex place an asset in an upload batch.
	BatchID    string
	BatchIndex int
}

// AssetStatus is where an asset is in its upload.
type AssetStatus string

const (
	// AssetReady: uploaded (and, for a direct upload, completed); only
	// ready assets are listed, served and used as sources.
	AssetReady AssetStatus = "ready"
	// AssetPending: a direct upload's URL was handed out; no bytes yet.
	AssetPending AssetStatus = "pending_upload"
	// AssetUploaded: a direct upload's bytes are in, not yet completed.
	AssetUploaded AssetStatus = "uploaded"
)

// Batch is a group of direct uploads made and completed together.
type Batch struct {
	ID        string
	Owner     string
	Title     string
	Total     int // assets made with it
	CreatedAt time.Time
	// CompletedAt is when its completion was first asked; zero before.
	CompletedAt time.Time
}

// Delivery is a webhook waiting in the outbox.
type Delivery struct {
	// ID is the event id: the same on every attempt, across restarts, so
	// receivers can drop duplicates.
	ID        string
	JobID     string
	URL       string
	EventType string
	Body      []byte
	Attempts  int       // attempts started; ClaimDeliveries counts one
	NextAt    time.Time // when the next attempt is due
	CreatedAt time.Time
	LastError string
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
// use. One server uses a store at a time (package server locks its data
// folder): the workers take a job found running at start-up to be the
// orphan of a process that died.
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
	// UpdateJobNotify is UpdateJob whose fn may also return a webhook
	// delivery: it joins the outbox in the same transaction, so a job
	// never ends without its webhook queued.
	UpdateJobNotify(ctx context.Context, id string, fn func(*Job) (*Delivery, error)) (*Job, error)
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
	// TouchRequest tells that a started key's request is still alive, so
	// BeginRequest does not take it for abandoned; stale counts from the
	// last touch.
	TouchRequest(ctx context.Context, scope string, now time.Time) error

	// CreateAsset stores an uploaded file's record.
	CreateAsset(ctx context.Context, a *Asset) error
	// GetAsset returns a (not deleted) asset of an owner ("" matches any),
	// in any status.
	GetAsset(ctx context.Context, owner, id string) (*Asset, error)
	// ListAssets returns an owner's ready assets newest first, paged as
	// ListJobs pages jobs.
	ListAssets(ctx context.Context, owner string, limit int, cursor string) ([]*Asset, string, error)
	// UpdateAsset applies fn to a (not deleted) asset in one transaction
	// and stores the result; ID, Owner, CreatedAt and the batch never
	// change.
	UpdateAsset(ctx context.Context, id string, fn func(*Asset) error) (*Asset, error)
	// DeleteAsset hides an owner's asset (owner "" matches any) from
	// every later call and returns it; ErrInUse, and nothing changes, if
	// a pending or running job reads it.
	DeleteAsset(ctx context.Context, owner, id string) (*Asset, error)

	// CreateBatch stores a batch and its assets in one transaction.
	CreateBatch(ctx context.Context, b *Batch, assets []*Asset) error
	// GetBatch returns a batch of an owner ("" matches any).
	GetBatch(ctx context.Context, owner, id string) (*Batch, error)
	// BatchAssets lists a batch's (not deleted) assets by BatchIndex.
	BatchAssets(ctx context.Context, id string) ([]*Asset, error)
	// CompleteBatch records that the batch's completion was asked at at;
	// a later call keeps the first time.
	CompleteBatch(ctx context.Context, id string, at time.Time) error

	// Purge removes for good the jobs and assets deleted at or before
	// before, and the direct uploads never completed whose URL expired by
	// then, and returns their IDs, so their files can go too.
	Purge(ctx context.Context, before time.Time) (jobs, assets []string, err error)

	// ClaimDeliveries takes up to limit deliveries due at now, oldest due
	// first: each counts an attempt and is not due again until now+lease
	// (so a process that dies mid-attempt leaves it to be retried).
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Delivery, error)
	// RetryDelivery makes a delivery due again at at.
	RetryDelivery(ctx context.Context, id string, at time.Time, lastErr string) error
	// DeleteDelivery takes a delivery out of the outbox: delivered, or
	// given up.
	DeleteDelivery(ctx context.Context, id string) error

	Close() error
}
