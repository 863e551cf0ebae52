package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/store"
	"github.com/clipmill/clipmill/internal/store/storetest"
)

func open(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "clipmill.db"))
	})
}

func pendingJob(id string, created time.Time) *store.Job {
	return &store.Job{
		ID: id, CreatedAt: created, UpdatedAt: created,
		Resource: clipping.Job{ID: id, Status: clipping.JobPending},
	}
}

// TestTwoStores races two Stores on one file, as two processes would:
// only SQLite's locks keep them apart.
func TestTwoStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clipmill.db")
	a, b := open(t, path), open(t, path)
	defer a.Close()
	defer b.Close()
	stores := []*Store{a, b}
	ctx := t.Context()
	t0 := time.Now()

	const jobs = 10
	for i := range jobs {
		if err := stores[i%2].CreateJob(ctx, pendingJob(fmt.Sprintf("job-%02d", i), t0.Add(time.Duration(i)*time.Millisecond))); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("ClaimJob", func(t *testing.T) {
		storetest.ClaimEachOnce(t, jobs, 20, func(i int) store.Store { return stores[i%2] })
	})

	t.Run("UpdateJob", func(t *testing.T) {
		const n = 40
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := stores[i%2].UpdateJob(ctx, "job-00", func(j *store.Job) error {
					j.Resource.Clips = append(j.Resource.Clips, clipping.Clip{ID: fmt.Sprint(i)})
					return nil
				})
				if err != nil {
					t.Errorf("UpdateJob: %v", err)
				}
			})
		}
		wg.Wait()
		j, err := b.GetJob(ctx, "", "job-00")
		if err != nil {
			t.Fatal(err)
		}
		if len(j.Resource.Clips) != n {
			t.Errorf("%d clips after %d updates through two stores", len(j.Resource.Clips), n)
		}
	})

	t.Run("BeginRequest", func(t *testing.T) {
		for round := range 5 {
			scope := fmt.Sprintf("key-%d", round)
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				started int
			)
			for i := range 20 {
				wg.Go(func() {
					r, err := stores[i%2].BeginRequest(ctx, scope, "h", t0, time.Hour, time.Minute)
					if err != nil {
						t.Errorf("BeginRequest: %v", err)
						return
					}
					if r.State == store.Started {
						mu.Lock()
						started++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if started != 1 {
				t.Errorf("%s: %d callers Started, want 1", scope, started)
			}
		}
	})
}

// TestReadDuringWrite checks that a read does not wait for a writer, here
// one that holds the write lock and never lets go.
func TestReadDuringWrite(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "clipmill.db"))
	defer s.Close()
	if err := s.CreateJob(t.Context(), pendingJob("job-1", time.Now())); err != nil {
		t.Fatal(err)
	}
	tx, err := s.write.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`UPDATE jobs SET resource = json_set(resource, '$.status', 'running')`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if j, err := s.GetJob(ctx, "", "job-1"); err != nil || j.Resource.Status != clipping.JobPending {
				t.Errorf("GetJob during a write = %v, %v", j, err)
			}
			if _, _, err := s.ListJobs(ctx, "", 10, ""); err != nil {
				t.Errorf("ListJobs during a write: %v", err)
			}
		})
	}
	wg.Wait()
}

// TestReopen checks that everything survives closing and opening the file
// again, and that the file is created in WAL mode at the schema version.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub dir?#%", "clipmill.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

	s := open(t, path)
	job := pendingJob("job-1", t0)
	job.Owner = "owner-a"
	job.Resource.Title = clipping.Ptr("title")
	if err := s.CreateJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateJob(ctx, pendingJob("job-2", t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteJob(ctx, "", "job-2"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAsset(ctx, &store.Asset{ID: "asset-1", Owner: "owner-a", Path: "/x", MimeType: "video/mp4", Size: 3, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginRequest(ctx, "key", "hash", t0, time.Hour, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRequest(ctx, "key", 202, []byte("body")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}

	s = open(t, path)
	defer s.Close()
	var mode string
	var version int
	if err := s.read.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if err := s.read.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != len(migrations) {
		t.Errorf("user_version = %d, %v; want %d", version, err, len(migrations))
	}
	j, err := s.GetJob(ctx, "owner-a", "job-1")
	if err != nil || *j.Resource.Title != "title" || !j.CreatedAt.Equal(t0) {
		t.Errorf("job after reopening: %+v, %v", j, err)
	}
	if _, err := s.GetJob(ctx, "", "job-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted job after reopening: %v", err)
	}
	if a, err := s.GetAsset(ctx, "owner-a", "asset-1"); err != nil || a.Size != 3 {
		t.Errorf("asset after reopening: %+v, %v", a, err)
	}
	r, err := s.BeginRequest(ctx, "key", "other", t0.Add(time.Second), time.Hour, time.Minute)
	if err != nil || r.State != store.Done || string(r.Body) != "body" || r.Status != 202 || r.BodyHash != "hash" {
		t.Errorf("idempotency key after reopening: %+v, %v", r, err)
	}
}

// TestMigrateFromVersion1 opens a database made by the first schema, with
// the rows that version wrote, and finds them all working.
func TestMigrateFromVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clipmill.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, q := range []string{
		migrations[0],
		`PRAGMA user_version = 1`,
		fmt.Sprintf(`INSERT INTO assets (id, owner, path, mime_type, size, created_at)
			VALUES ('a1', 'o', '/data/assets/a1/my talk.mp4', 'video/mp4', 7, %d)`, micros(t0)),
		fmt.Sprintf(`INSERT INTO requests (scope, state, body_hash, status, body, created_at)
			VALUES ('flight', 'in_flight', 'h', 0, NULL, %d)`, micros(t0)),
		fmt.Sprintf(`INSERT INTO jobs (id, owner, status, request, resource, attempts, created_at, updated_at)
			VALUES ('j1', 'o', 'pending', '{"video":{"type":"asset_id","asset_id":"a1"}}', '{"id":"j1","status":"pending"}', 0, %d, %d)`,
			micros(t0), micros(t0)),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s := open(t, path)
	defer s.Close()
	ctx := t.Context()
	a, err := s.GetAsset(ctx, "o", "a1")
	if err != nil || a.Name != "my talk.mp4" || a.Status != store.AssetReady || a.Size != 7 {
		t.Fatalf("old asset: %+v, %v", a, err)
	}
	if page, _, err := s.ListAssets(ctx, "o", 10, ""); err != nil || len(page) != 1 {
		t.Fatalf("ListAssets: %d, %v", len(page), err)
	}
	if _, err := s.DeleteAsset(ctx, "o", "a1"); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("DeleteAsset of an old pending job's source: %v", err)
	}
	// The old in-flight key counts as touched when it was made.
	if r, _ := s.BeginRequest(ctx, "flight", "h", t0.Add(time.Minute), time.Hour, 2*time.Minute); r.State != store.InFlight {
		t.Errorf("old in-flight key: %v", r.State)
	}
	if r, _ := s.BeginRequest(ctx, "flight", "h", t0.Add(3*time.Minute), time.Hour, 2*time.Minute); r.State != store.Started {
		t.Errorf("old abandoned key: %v", r.State)
	}
	_, err = s.UpdateJobNotify(ctx, "j1", func(j *store.Job) (*store.Delivery, error) {
		j.Resource.Status = clipping.JobCompleted
		return &store.Delivery{ID: "e1", JobID: "j1", URL: "https://example.com", Body: []byte("{}"), NextAt: t0, CreatedAt: t0}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ds, err := s.ClaimDeliveries(ctx, t0, time.Minute, 5); err != nil || len(ds) != 1 {
		t.Fatalf("outbox after migrating: %d, %v", len(ds), err)
	}
}

func TestNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clipmill.db")
	s := open(t, path)
	if _, err := s.write.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(path); err == nil {
		s.Close()
		t.Fatal("Open of a database from a newer program: no error")
	}
}

func TestPurge(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "clipmill.db"))
	defer s.Close()
	ctx := t.Context()
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, scope := range []string{"a", "b"} {
		if _, err := s.BeginRequest(ctx, scope, "h", t0, time.Hour, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	s.nextPurge = time.Time{}
	if _, err := s.BeginRequest(ctx, "c", "h", t0.Add(2*time.Hour), time.Hour, time.Minute); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.read.QueryRow("SELECT count(*) FROM requests").Scan(&n); err != nil || n != 1 {
		t.Errorf("%d keys after a purge, %v; want 1", n, err)
	}
}

// TestQueryPlans explains the queries of queries.go, the text the store
// runs, and checks that each uses the index it was written for: no table
// scan, no sort in a temporary B-tree.
func TestQueryPlans(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "clipmill.db"))
	defer s.Close()
	for _, c := range []struct {
		name  string
		query string
		args  []any
		index []string // each must appear in the plan
	}{
		{"GetJob", getJobSQL, []any{"j", "o"}, []string{"sqlite_autoindex_jobs_1"}},
		{"UpdateJob", jobByIDSQL, []any{"j"}, []string{"sqlite_autoindex_jobs_1"}},
		{"ListJobs", listJobsSQL(false, false), []any{11}, []string{"jobs_by_time"}},
		{"ListJobs after", listJobsSQL(false, true), []any{1, "x", 11}, []string{"jobs_by_time"}},
		{"ListJobs of owner", listJobsSQL(true, false), []any{"o", 11}, []string{"jobs_by_owner"}},
		{"ListJobs of owner after", listJobsSQL(true, true), []any{"o", 1, "x", 11}, []string{"jobs_by_owner"}},
		{"ClaimJob", claimJobSQL, []any{"pending"}, []string{"jobs_by_status"}},
		{"JobsWithStatus", jobsWithStatusSQL, []any{"running"}, []string{"jobs_by_status"}},
		{"DeleteAsset's job", jobReadingAssetSQL, []any{"pending", "running", "a"}, []string{"jobs_by_status"}},
		{"Purge jobs", purgeJobsSQL, []any{5}, []string{"jobs_to_purge"}},
		{"GetAsset", getAssetSQL, []any{"a", "o"}, []string{"sqlite_autoindex_assets_1"}},
		{"ListAssets", listAssetsSQL(false), []any{"o", 11}, []string{"assets_by_owner"}},
		{"ListAssets after", listAssetsSQL(true), []any{"o", 1, "x", 11}, []string{"assets_by_owner"}},
		{"BatchAssets", batchAssetsSQL, []any{"b"}, []string{"assets_by_batch"}},
		{"Purge assets", purgeAssetsSQL, []any{5}, []string{"assets_to_purge", "assets_expiring"}},
		{"Purge requests", purgeRequestsSQL, []any{5}, []string{"requests_by_time"}},
		{"ClaimDeliveries", claimDeliveriesSQL, []any{9, 5, 4}, []string{"outbox_due", "sqlite_autoindex_outbox_1"}},
	} {
		plan := explain(t, s, c.query, c.args...)
		if err := checkPlan(plan, c.index...); err != nil {
			t.Errorf("%s: %v\n%s\nplan: %s", c.name, err, c.query, plan)
		}
	}
	// The check itself must catch a scan and a sort.
	for _, q := range []string{
		`SELECT id FROM jobs WHERE updated_at = 1`,
		`SELECT id FROM jobs WHERE deleted_at IS NULL ORDER BY updated_at`,
	} {
		if plan := explain(t, s, q); checkPlan(plan, "jobs_by_time") == nil {
			t.Errorf("checkPlan passes %s\nplan: %s", q, plan)
		}
	}
}

// explain returns the query plan of q, one step per line.
func explain(t *testing.T, s *Store, q string, args ...any) string {
	t.Helper()
	rows, err := s.read.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(detail + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan.String()
}

// checkPlan says what is wrong with a plan: a step that scans a table
// rather than an index, a sort, or a wanted index that it does not use.
func checkPlan(plan string, indexes ...string) error {
	for step := range strings.Lines(plan) {
		step = strings.TrimSpace(step)
		if strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, " INDEX ") {
			return fmt.Errorf("a table scan: %s", step)
		}
		if strings.Contains(step, "TEMP B-TREE") {
			return fmt.Errorf("a sort: %s", step)
		}
	}
	for _, ix := range indexes {
		if !strings.Contains(plan, " INDEX "+ix) {
			return fmt.Errorf("index %s unused", ix)
		}
	}
	return nil
}

// BenchmarkGetJob measures the read path: parallel GetJob of one job.
func BenchmarkGetJob(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "clipmill.db"))
	defer s.Close()
	j := pendingJob("job-1", time.Now())
	j.Resource.Clips = make([]clipping.Clip, 3)
	for i := range j.Resource.Clips {
		j.Resource.Clips[i] = clipping.Clip{ID: fmt.Sprint(i), Status: clipping.ClipCompleted, Title: clipping.Ptr("a clip"), VideoURL: clipping.Ptr("clip.mp4")}
	}
	if err := s.CreateJob(b.Context(), j); err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.GetJob(b.Context(), "", "job-1"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
