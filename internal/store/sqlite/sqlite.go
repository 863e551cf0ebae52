// Package sqlite is a store.Store in one SQLite file, through the pure-Go
// driver modernc.org/sqlite: the store of a server, or of a few server
// processes sharing one disk.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/store"
)

// Store is a store.Store in an SQLite database in WAL mode.
//
// SQLite has one writer at a time, so writes go through a pool of one
// connection: they queue in Go instead of spinning on the file lock, and
// each read-modify-write is a BEGIN IMMEDIATE transaction, which takes the
// write lock before it reads. Reads have a pool of their own and, thanks to
// WAL, never wait behind a writer. Other processes with the same file are
// kept in line by SQLite's own locks (with a busy timeout), not by Go's.
type Store struct {
	write  *sql.DB
	read   *sql.DB
	getJob *sql.Stmt // on read

	mu        sync.Mutex
	nextPurge time.Time // when BeginRequest next deletes expired keys
}

var _ store.Store = (*Store)(nil)

// busyTimeout is how long a statement waits for another process's lock.
const busyTimeout = 10 * time.Second

// migrations[i] takes the schema from user_version i to i+1. Append only.
var migrations = []string{
	`
CREATE TABLE jobs (
	id         TEXT PRIMARY KEY,
	owner      TEXT NOT NULL,
	status     TEXT NOT NULL,    -- resource's status, for ClaimJob and JobsWithStatus
	request    TEXT NOT NULL,    -- JSON of clipping.CreateRequest
	resource   TEXT NOT NULL,    -- JSON of clipping.Job
	attempts   INTEGER NOT NULL,
	created_at INTEGER NOT NULL, -- Unix microseconds, as are all times here
	updated_at INTEGER NOT NULL,
	deleted_at INTEGER           -- NULL while the job is visible
) STRICT;
CREATE INDEX jobs_by_owner ON jobs (owner, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX jobs_by_time ON jobs (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX jobs_by_status ON jobs (status, created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE requests (
	scope      TEXT PRIMARY KEY,
	state      TEXT NOT NULL,    -- 'in_flight' or 'done'
	body_hash  TEXT NOT NULL,
	status     INTEGER NOT NULL, -- done: the response
	body       BLOB,
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX requests_by_time ON requests (created_at);

CREATE TABLE assets (
	id         TEXT PRIMARY KEY,
	owner      TEXT NOT NULL,
	path       TEXT NOT NULL,
	mime_type  TEXT NOT NULL,
	size       INTEGER NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
`,
	// 2: deleted assets, direct uploads and their batches, the webhook
	// outbox, and in-flight idempotency keys kept alive by their request.
	`
ALTER TABLE assets ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN status TEXT NOT NULL DEFAULT 'ready';
ALTER TABLE assets ADD COLUMN sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assets ADD COLUMN batch_id TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN batch_index INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assets ADD COLUMN deleted_at INTEGER;
-- An asset uploaded before names had a column is named by its file.
UPDATE assets SET name = replace(path, rtrim(path, replace(path, '/', '')), '');
CREATE INDEX assets_by_owner ON assets (owner, created_at, id) WHERE deleted_at IS NULL AND status = 'ready';
CREATE INDEX assets_by_batch ON assets (batch_id, batch_index) WHERE batch_id != '';
CREATE INDEX assets_to_purge ON assets (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX assets_expiring ON assets (expires_at) WHERE status != 'ready';
CREATE INDEX jobs_to_purge ON jobs (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE batches (
	id           TEXT PRIMARY KEY,
	owner        TEXT NOT NULL,
	title        TEXT NOT NULL,
	total        INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	completed_at INTEGER NOT NULL -- 0 until completion was asked
) STRICT;

CREATE TABLE outbox (
	id         TEXT PRIMARY KEY, -- the event id receivers drop duplicates by
	job_id     TEXT NOT NULL,
	url        TEXT NOT NULL,
	event_type TEXT NOT NULL,
	body       BLOB NOT NULL,
	attempts   INTEGER NOT NULL,
	next_at    INTEGER NOT NULL, -- due time; a claim pushes it out by the lease
	created_at INTEGER NOT NULL,
	last_error TEXT NOT NULL
) STRICT;
CREATE INDEX outbox_due ON outbox (next_at, id);

ALTER TABLE requests ADD COLUMN alive_at INTEGER NOT NULL DEFAULT 0;
UPDATE requests SET alive_at = created_at;
`,
}

// Open opens the database at path, creating the file and the schema if
// they are missing.
func Open(path string) (*Store, error) {
	// A "file:" URI, so that SQLite reads no parameters out of the path.
	name := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path) +
		fmt.Sprintf("?_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", busyTimeout.Milliseconds())
	write, err := sql.Open("sqlite", name+"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	s := &Store{write: write}
	if err := s.migrate(); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.read, err = sql.Open("sqlite", name+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Idle connections are kept: opening one costs more than a query.
	n := max(4, runtime.GOMAXPROCS(0))
	s.read.SetMaxOpenConns(n)
	s.read.SetMaxIdleConns(n)
	// GetJob, the API's most frequent query, is parsed once per connection.
	s.getJob, err = s.read.Prepare(getJobSQL)
	if err != nil {
		s.read.Close()
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return s, nil
}

// migrate brings the schema up to date. Its transaction is IMMEDIATE, so
// two processes opening a new file migrate one after the other.
func (s *Store) migrate() error {
	ctx := context.Background()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this program's %d", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return tx.Commit()
}

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.getJob.Close(), s.read.Close(), s.write.Close())
}

// micros and fromMicros convert times to and from the database, which
// keeps them to the microsecond (and, unlike nanoseconds, can hold the
// zero time).
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// resource is clipping.Job without its MarshalJSON, which writes a nil
// clip list as []: the store gives back what it was given.
type resource clipping.Job

const jobColumns = "id, owner, request, resource, attempts, created_at, updated_at"

// scanJob reads a row of jobColumns.
func scanJob(row interface{ Scan(...any) error }) (*store.Job, error) {
	var (
		j                store.Job
		req, res         []byte
		created, updated int64
	)
	if err := row.Scan(&j.ID, &j.Owner, &req, &res, &j.Attempts, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, store.ErrNotFound
		}
		return nil, err
	}
	if err := json.Unmarshal(req, &j.Request); err != nil {
		return nil, fmt.Errorf("job %s: request: %w", j.ID, err)
	}
	if err := json.Unmarshal(res, (*resource)(&j.Resource)); err != nil {
		return nil, fmt.Errorf("job %s: resource: %w", j.ID, err)
	}
	j.CreatedAt, j.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &j, nil
}

// encodeJob returns the JSON columns of a job.
func encodeJob(j *store.Job) (req, res string, err error) {
	b, err := json.Marshal(&j.Request)
	if err != nil {
		return "", "", fmt.Errorf("request: %w", err)
	}
	c, err := json.Marshal((*resource)(&j.Resource))
	if err != nil {
		return "", "", fmt.Errorf("resource: %w", err)
	}
	return string(b), string(c), nil
}

func (s *Store) CreateJob(ctx context.Context, j *store.Job) error {
	req, res, err := encodeJob(j)
	if err != nil {
		return fmt.Errorf("sqlite: create job %s: %w", j.ID, err)
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO jobs
		(id, owner, status, request, resource, attempts, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		j.ID, j.Owner, string(j.Resource.Status), req, res, j.Attempts, micros(j.CreatedAt), micros(j.UpdatedAt))
	if err != nil {
		return fmt.Errorf("sqlite: create job %s: %w", j.ID, err)
	}
	return nil
}

func (s *Store) GetJob(ctx context.Context, owner, id string) (*store.Job, error) {
	j, err := scanJob(s.getJob.QueryRowContext(ctx, id, owner))
	if err != nil {
		return nil, fmt.Errorf("sqlite: get job %s: %w", id, err)
	}
	return j, nil
}

// A cursor is the position of the last record of a page: its created_at
// and ID, so a page starts right after it however many records come and
// go.
func encodeCursor(created time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(micros(created), 10) + ":" + id))
}

func decodeCursor(c string) (created int64, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", store.ErrBadCursor
	}
	at, id, ok := strings.Cut(string(b), ":")
	if !ok || id == "" {
		return 0, "", store.ErrBadCursor
	}
	created, err = strconv.ParseInt(at, 10, 64)
	if err != nil {
		return 0, "", store.ErrBadCursor
	}
	return created, id, nil
}

func (s *Store) ListJobs(ctx context.Context, owner string, limit int, cursor string) ([]*store.Job, string, error) {
	if limit < 1 {
		return nil, "", fmt.Errorf("sqlite: list jobs: limit %d", limit)
	}
	var args []any
	if owner != "" {
		args = append(args, owner)
	}
	if cursor != "" {
		created, id, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: list jobs: %w", err)
		}
		args = append(args, created, id)
	}
	// One more than asked tells whether there is a next page.
	args = append(args, limit+1)

	jobs, err := s.queryJobs(ctx, listJobsSQL(owner != "", cursor != ""), args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: list jobs: %w", err)
	}
	if len(jobs) <= limit {
		return jobs, "", nil
	}
	jobs = jobs[:limit]
	return jobs, encodeCursor(jobs[limit-1].CreatedAt, jobs[limit-1].ID), nil
}

func (s *Store) queryJobs(ctx context.Context, q string, args ...any) ([]*store.Job, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var jobs []*store.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

func (s *Store) UpdateJob(ctx context.Context, id string, fn func(*store.Job) error) (*store.Job, error) {
	j, err := s.update(ctx, jobByIDSQL, []any{id}, func(j *store.Job) (*store.Delivery, error) {
		return nil, fn(j)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: update job %s: %w", id, err)
	}
	return j, nil
}

func (s *Store) UpdateJobNotify(ctx context.Context, id string, fn func(*store.Job) (*store.Delivery, error)) (*store.Job, error) {
	j, err := s.update(ctx, jobByIDSQL, []any{id}, fn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: update job %s: %w", id, err)
	}
	return j, nil
}

func (s *Store) ClaimJob(ctx context.Context) (*store.Job, error) {
	j, err := s.update(ctx, claimJobSQL, []any{string(clipping.JobPending)}, func(j *store.Job) (*store.Delivery, error) {
		j.Resource.Status = clipping.JobRunning
		j.Attempts++
		return nil, nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim job: %w", err)
	}
	return j, nil
}

// update reads the job that query selects, applies fn and writes it back,
// with the delivery fn returns if any, in one transaction that holds the
// write lock from the start: no other connection or process can change
// the job in between.
func (s *Store) update(ctx context.Context, query string, args []any, fn func(*store.Job) (*store.Delivery, error)) (*store.Job, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	j, err := scanJob(tx.QueryRowContext(ctx, query, args...))
	if err != nil {
		return nil, err
	}
	id, owner, created := j.ID, j.Owner, j.CreatedAt
	d, err := fn(j)
	if err != nil {
		return nil, err
	}
	j.ID, j.Owner, j.CreatedAt = id, owner, created
	j.UpdatedAt = fromMicros(micros(time.Now()))
	req, res, err := encodeJob(j)
	if err != nil {
		return nil, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE jobs
		SET status = ?, request = ?, resource = ?, attempts = ?, updated_at = ? WHERE id = ?`,
		string(j.Resource.Status), req, res, j.Attempts, micros(j.UpdatedAt), j.ID)
	if err != nil {
		return nil, err
	}
	if d != nil {
		if err := addDelivery(ctx, tx, d); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return j, nil
}

func (s *Store) DeleteJob(ctx context.Context, owner, id string) (*store.Job, error) {
	// RETURNING gives the row as updated, which differs from the job as
	// it was only in deleted_at.
	j, err := scanJob(s.write.QueryRowContext(ctx, `UPDATE jobs SET deleted_at = ?1
		WHERE id = ?2 AND deleted_at IS NULL AND (?3 = '' OR owner = ?3)
		RETURNING `+jobColumns, micros(time.Now()), id, owner))
	if err != nil {
		return nil, fmt.Errorf("sqlite: delete job %s: %w", id, err)
	}
	return j, nil
}

func (s *Store) JobsWithStatus(ctx context.Context, status clipping.JobStatus) ([]*store.Job, error) {
	jobs, err := s.queryJobs(ctx, jobsWithStatusSQL, string(status))
	if err != nil {
		return nil, fmt.Errorf("sqlite: jobs with status %s: %w", status, err)
	}
	return jobs, nil
}

// Idempotency record states.
const (
	inFlight = "in_flight"
	done     = "done"
)

func (s *Store) BeginRequest(ctx context.Context, scope, bodyHash string, now time.Time, ttl, stale time.Duration) (store.Replay, error) {
	r, err := s.begin(ctx, scope, bodyHash, now, ttl, stale)
	if err != nil {
		return store.Replay{}, fmt.Errorf("sqlite: begin request: %w", err)
	}
	return r, nil
}

func (s *Store) begin(ctx context.Context, scope, bodyHash string, now time.Time, ttl, stale time.Duration) (store.Replay, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return store.Replay{}, err
	}
	defer tx.Rollback()
	expired, abandoned := micros(now.Add(-ttl)), micros(now.Add(-stale))
	// Insert the key, or take over its expired or abandoned record, in one
	// statement: of two callers, only one can do either. An in-flight
	// record is abandoned when its request stopped touching it.
	res, err := tx.ExecContext(ctx, `INSERT INTO requests (scope, state, body_hash, status, body, created_at, alive_at)
		VALUES (?1, ?2, ?3, 0, NULL, ?4, ?4)
		ON CONFLICT (scope) DO UPDATE SET
			state = excluded.state, body_hash = excluded.body_hash, status = 0, body = NULL,
			created_at = excluded.created_at, alive_at = excluded.alive_at
		WHERE requests.created_at <= ?5 OR (requests.state = ?2 AND requests.alive_at <= ?6)`,
		scope, inFlight, bodyHash, micros(now), expired, abandoned)
	if err != nil {
		return store.Replay{}, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return store.Replay{}, err
	}
	r := store.Replay{State: store.Started}
	if n == 0 {
		// The record is live: its answer, or a request still in flight.
		var state string
		err := tx.QueryRowContext(ctx, `SELECT state, status, body, body_hash FROM requests WHERE scope = ?`, scope).
			Scan(&state, &r.Status, &r.Body, &r.BodyHash)
		if err != nil {
			return store.Replay{}, err
		}
		r.State = store.Done
		if state != done {
			r = store.Replay{State: store.InFlight}
		}
	}
	if err := s.purge(ctx, tx, expired); err != nil {
		return store.Replay{}, err
	}
	return r, tx.Commit()
}

// purge deletes expired keys, now and then: they would be replaced anyway,
// but keys that are never used again would pile up.
func (s *Store) purge(ctx context.Context, tx *sql.Tx, expired int64) error {
	s.mu.Lock()
	due := time.Now().After(s.nextPurge)
	if due {
		s.nextPurge = time.Now().Add(time.Minute)
	}
	s.mu.Unlock()
	if !due {
		return nil
	}
	_, err := tx.ExecContext(ctx, purgeRequestsSQL, expired)
	return err
}

func (s *Store) FinishRequest(ctx context.Context, scope string, status int, body []byte) error {
	if body == nil {
		body = []byte{} // NULL is for "no answer yet"
	}
	res, err := s.write.ExecContext(ctx, `UPDATE requests SET state = ?, status = ?, body = ?
		WHERE scope = ? AND state = ?`, done, status, body, scope, inFlight)
	if err != nil {
		return fmt.Errorf("sqlite: finish request: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: finish request: %w", err)
	} else if n == 0 {
		return fmt.Errorf("sqlite: finish request: no key in flight: %w", store.ErrNotFound)
	}
	return nil
}

func (s *Store) TouchRequest(ctx context.Context, scope string, now time.Time) error {
	_, err := s.write.ExecContext(ctx, `UPDATE requests SET alive_at = max(alive_at, ?) WHERE scope = ? AND state = ?`,
		micros(now), scope, inFlight)
	if err != nil {
		return fmt.Errorf("sqlite: touch request: %w", err)
	}
	return nil
}

func (s *Store) AbandonRequest(ctx context.Context, scope string) error {
	// Only a key in flight: a stored answer stays until it expires.
	_, err := s.write.ExecContext(ctx, `DELETE FROM requests WHERE scope = ? AND state = ?`, scope, inFlight)
	if err != nil {
		return fmt.Errorf("sqlite: abandon request: %w", err)
	}
	return nil
}
