// Package storetest is the conformance suite of store.Store: every
// implementation runs it from its own tests, so they all keep the same
// promises.
//
// Besides the promises in store.Store's comments, the suite fixes a few
// details the interface leaves open:
//   - times are kept to the millisecond at least;
//   - ListJobs orders jobs with equal CreatedAt by ID, descending (the
//     reverse of creation order for IDs that sort by time); owner "" lists
//     every owner's jobs, as it gets them;
//   - ClaimJob and JobsWithStatus order jobs with equal CreatedAt by ID,
//     ascending;
//   - UpdateJob and ClaimJob set UpdatedAt; ID, Owner and CreatedAt never
//     change after CreateJob;
//   - AbandonRequest only forgets an in-flight key, never a stored answer;
//   - ListAssets orders as ListJobs does.
package storetest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/store"
)

// Run runs the suite. open must return a new, empty store each time it is
// called; the suite closes it when the test ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"CreateGetRoundTrip", testCreateGetRoundTrip},
		{"CreateDuplicate", testCreateDuplicate},
		{"GetUnknown", testGetUnknown},
		{"OwnerIsolation", testOwnerIsolation},
		{"Delete", testDelete},
		{"ListEmpty", testListEmpty},
		{"ListOrder", testListOrder},
		{"ListPaging", testListPaging},
		{"ListCreateWhilePaging", testListCreateWhilePaging},
		{"ListBadCursor", testListBadCursor},
		{"Update", testUpdate},
		{"UpdateAbort", testUpdateAbort},
		{"UpdateUnknown", testUpdateUnknown},
		{"UpdateConcurrent", testUpdateConcurrent},
		{"Claim", testClaim},
		{"ClaimConcurrent", testClaimConcurrent},
		{"JobsWithStatus", testJobsWithStatus},
		{"RequestLifecycle", testRequestLifecycle},
		{"RequestTTL", testRequestTTL},
		{"RequestStale", testRequestStale},
		{"RequestAbandon", testRequestAbandon},
		{"RequestScopes", testRequestScopes},
		{"RequestConcurrent", testRequestConcurrent},
		{"RequestTouch", testRequestTouch},
		{"Assets", testAssets},
		{"AssetList", testAssetList},
		{"AssetUpdate", testAssetUpdate},
		{"AssetDelete", testAssetDelete},
		{"Batches", testBatches},
		{"Purge", testPurge},
		{"Outbox", testOutbox},
		{"OutboxWithJob", testOutboxWithJob},
		{"OutboxConcurrent", testOutboxConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// t0 has nanoseconds, which a store may drop below the millisecond.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

const ms = time.Millisecond

// newJob returns a pending job as the API creates it.
func newJob(id, owner string, created time.Time) *store.Job {
	return &store.Job{
		ID:    id,
		Owner: owner,
		Request: clipping.CreateRequest{
			Video:          clipping.Video{Type: clipping.VideoURL, URL: "https://example.com/" + id + ".mp4"},
			OutputSettings: clipping.DefaultOutputSettings(),
		},
		Resource: clipping.Job{
			ID: id, Status: clipping.JobPending, CreatedAt: clipping.Ptr(created.Unix()), Clips: []clipping.Clip{},
		},
		CreatedAt: created,
		UpdatedAt: created,
	}
}

// fullJob returns a job with every field, nullable or not, set.
func fullJob(id, owner string) *store.Job {
	p := clipping.Ptr[string]
	clip := func(n int) clipping.Clip {
		return clipping.Clip{
			ID:              fmt.Sprintf("%s-clip-%d", id, n),
			Status:          clipping.ClipCompleted,
			Title:           p(fmt.Sprintf("Clip %d", n)),
			DurationSeconds: clipping.Ptr(58.25 + float64(n)),
			AspectRatio:     clipping.Ptr(clipping.AspectSquare),
			ViralityScore:   clipping.Ptr(80 + n),
			ThumbnailURL:    p(fmt.Sprintf("clip-%d.jpg", n)),
			VideoURL:        p(fmt.Sprintf("clip-%d.mp4", n)),
			FailureMessage:  p("partly failed"),
			DurationType:    clipping.Duration60,
			StartSeconds:    clipping.Ptr(12.5),
			EndSeconds:      clipping.Ptr(70.75),
			Transcript:      p("Hello, \"world\" — ünïcode ✓\nline two"),
			CaptionsSRTURL:  p(fmt.Sprintf("clip-%d.srt", n)),
			CaptionsVTTURL:  p(fmt.Sprintf("clip-%d.vtt", n)),
			Reason:          p("a strong hook"),
			ExpiresAt:       clipping.Ptr(int64(1740830400 + n)),
		}
	}
	return &store.Job{
		ID:    id,
		Owner: owner,
		Request: clipping.CreateRequest{
			Video:         clipping.Video{Type: clipping.VideoAssetID, AssetID: "asset-1"},
			Title:         p("A talk"),
			InputLanguage: p("de"),
			OutputSettings: clipping.OutputSettings{
				DurationTypes: []clipping.DurationType{clipping.Duration30, clipping.Duration60, clipping.Duration180, clipping.DurationLong},
				AspectRatio:   clipping.AspectSquare,
				Captions:      false,
				CaptionStyle:  p("karaoke"),
				Prompt:        p("the funny bits"),
			},
			CallbackURL: p("https://example.com/hook"),
			CallbackID:  p("cb-1"),
		},
		Resource: clipping.Job{
			ID:             id,
			Status:         clipping.JobFailed,
			Title:          p("A talk"),
			InputLanguage:  p("de"),
			CallbackID:     p("cb-1"),
			SourceDuration: clipping.Ptr(601.5),
			CreatedAt:      clipping.Ptr(t0.Unix()),
			Progress:       42,
			FailureMessage: p("it broke"),
			Clips:          []clipping.Clip{clip(1), clip(2)},
		},
		Attempts:  3,
		CreatedAt: t0,
		UpdatedAt: t0.Add(90*time.Second + 456*time.Microsecond),
	}
}

func create(t *testing.T, s store.Store, jobs ...*store.Job) {
	t.Helper()
	for _, j := range jobs {
		if err := s.CreateJob(t.Context(), j); err != nil {
			t.Fatalf("CreateJob(%s): %v", j.ID, err)
		}
	}
}

func get(t *testing.T, s store.Store, owner, id string) *store.Job {
	t.Helper()
	j, err := s.GetJob(t.Context(), owner, id)
	if err != nil {
		t.Fatalf("GetJob(%q, %s): %v", owner, id, err)
	}
	return j
}

func sameTime(a, b time.Time) bool { return a.Truncate(ms).Equal(b.Truncate(ms)) }

// checkJob compares two jobs: times to the millisecond, a nil and an
// empty clip list alike, everything else exactly.
func checkJob(t *testing.T, got, want *store.Job) {
	t.Helper()
	if got == nil {
		t.Fatalf("job %s: got nil", want.ID)
	}
	if !sameTime(got.CreatedAt, want.CreatedAt) {
		t.Errorf("job %s: CreatedAt = %v, want %v", want.ID, got.CreatedAt, want.CreatedAt)
	}
	if !sameTime(got.UpdatedAt, want.UpdatedAt) {
		t.Errorf("job %s: UpdatedAt = %v, want %v", want.ID, got.UpdatedAt, want.UpdatedAt)
	}
	g, w := *got, *want
	g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if g.Resource.Clips == nil {
		g.Resource.Clips = []clipping.Clip{}
	}
	if w.Resource.Clips == nil {
		w.Resource.Clips = []clipping.Clip{}
	}
	// Resource is encoded as its own type, not clipping.Job, so that its
	// JSON method does not hide a nil list.
	type plain clipping.Job
	enc := func(j store.Job) string {
		b, err := json.MarshalIndent(struct {
			store.Job
			Resource plain
		}{j, plain(j.Resource)}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if gs, ws := enc(g), enc(w); gs != ws {
		t.Errorf("job %s:\ngot  %s\nwant %s", want.ID, gs, ws)
	}
}

func ids(jobs []*store.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

func isNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: err = %v, want ErrNotFound", what, err)
	}
}

func testCreateGetRoundTrip(t *testing.T, s store.Store) {
	full := fullJob("full", "owner-a")
	// A job in another time zone, and one as the API creates it: nothing
	// nullable set.
	zoned := newJob("zoned", "owner-a", t0.In(time.FixedZone("X", 5*3600+1800)))
	bare := newJob("bare", "", t0.Add(time.Hour))
	bare.Request.OutputSettings.DurationTypes = nil
	bare.Resource.Clips = nil
	create(t, s, full, zoned, bare)
	for _, want := range []*store.Job{full, zoned, bare} {
		checkJob(t, get(t, s, want.Owner, want.ID), want)
	}

	// The store keeps its own copy.
	full.Resource.Clips[0].Title = clipping.Ptr("changed")
	full.Request.Title = clipping.Ptr("changed")
	if got := get(t, s, "", "full"); *got.Resource.Clips[0].Title != "Clip 1" || *got.Request.Title != "A talk" {
		t.Errorf("changing the created job changed the stored one")
	}
}

func testCreateDuplicate(t *testing.T, s store.Store) {
	create(t, s, fullJob("dup", "owner-a"))
	again := newJob("dup", "owner-b", t0.Add(time.Hour))
	if err := s.CreateJob(t.Context(), again); err == nil {
		t.Fatal("CreateJob with a used ID: no error")
	}
	checkJob(t, get(t, s, "", "dup"), fullJob("dup", "owner-a"))
}

func testGetUnknown(t *testing.T, s store.Store) {
	create(t, s, newJob("known", "owner-a", t0))
	_, err := s.GetJob(t.Context(), "", "unknown")
	isNotFound(t, "GetJob(unknown)", err)
	_, err = s.GetJob(t.Context(), "owner-a", "unknown")
	isNotFound(t, "GetJob(owner-a, unknown)", err)
}

func testOwnerIsolation(t *testing.T, s store.Store) {
	a := newJob("a", "owner-a", t0)
	b := newJob("b", "owner-b", t0.Add(time.Second))
	create(t, s, a, b)

	checkJob(t, get(t, s, "owner-a", "a"), a)
	checkJob(t, get(t, s, "", "a"), a)
	_, err := s.GetJob(t.Context(), "owner-b", "a")
	isNotFound(t, "GetJob of another owner", err)

	list := func(owner string) []string {
		jobs, _, err := s.ListJobs(t.Context(), owner, 10, "")
		if err != nil {
			t.Fatalf("ListJobs(%q): %v", owner, err)
		}
		return ids(jobs)
	}
	if got := list("owner-a"); !slices.Equal(got, []string{"a"}) {
		t.Errorf("ListJobs(owner-a) = %v, want [a]", got)
	}
	if got := list("owner-c"); len(got) != 0 {
		t.Errorf("ListJobs(owner-c) = %v, want none", got)
	}
	if got := list(""); !slices.Equal(got, []string{"b", "a"}) {
		t.Errorf(`ListJobs("") = %v, want [b a]`, got)
	}

	_, err = s.DeleteJob(t.Context(), "owner-b", "a")
	isNotFound(t, "DeleteJob of another owner", err)
	checkJob(t, get(t, s, "owner-a", "a"), a)
	if j, err := s.DeleteJob(t.Context(), "", "b"); err != nil || j.ID != "b" {
		t.Errorf(`DeleteJob("", b) = %v, %v`, j, err)
	}
}

func testDelete(t *testing.T, s store.Store) {
	gone := fullJob("gone", "owner-a")
	gone.Resource.Status = clipping.JobPending
	kept := newJob("kept", "owner-a", t0.Add(time.Second))
	create(t, s, gone, kept)

	j, err := s.DeleteJob(t.Context(), "owner-a", "gone")
	if err != nil {
		t.Fatalf("DeleteJob: %v", err)
	}
	checkJob(t, j, gone)

	_, err = s.GetJob(t.Context(), "owner-a", "gone")
	isNotFound(t, "GetJob after delete", err)
	_, err = s.GetJob(t.Context(), "", "gone")
	isNotFound(t, `GetJob("") after delete`, err)
	called := false
	_, err = s.UpdateJob(t.Context(), "gone", func(*store.Job) error { called = true; return nil })
	isNotFound(t, "UpdateJob after delete", err)
	if called {
		t.Error("UpdateJob called fn on a deleted job")
	}
	_, err = s.DeleteJob(t.Context(), "owner-a", "gone")
	isNotFound(t, "DeleteJob after delete", err)

	for _, owner := range []string{"owner-a", ""} {
		jobs, _, err := s.ListJobs(t.Context(), owner, 10, "")
		if err != nil {
			t.Fatalf("ListJobs: %v", err)
		}
		if got := ids(jobs); !slices.Equal(got, []string{"kept"}) {
			t.Errorf("ListJobs(%q) after delete = %v, want [kept]", owner, got)
		}
	}
	jobs, err := s.JobsWithStatus(t.Context(), clipping.JobPending)
	if err != nil {
		t.Fatalf("JobsWithStatus: %v", err)
	}
	if got := ids(jobs); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("JobsWithStatus(pending) after delete = %v, want [kept]", got)
	}
	// The deleted job was the oldest pending one: it must not be claimed.
	if c, err := s.ClaimJob(t.Context()); err != nil || c.ID != "kept" {
		t.Errorf("ClaimJob = %v, %v; want kept", c, err)
	}
	_, err = s.ClaimJob(t.Context())
	isNotFound(t, "ClaimJob with only a deleted job pending", err)
}

func testListEmpty(t *testing.T, s store.Store) {
	jobs, next, err := s.ListJobs(t.Context(), "owner-a", 10, "")
	if err != nil || len(jobs) != 0 || next != "" {
		t.Errorf("ListJobs on an empty store = %v, %q, %v", ids(jobs), next, err)
	}
}

// listAll pages through an owner's jobs, limit at a time, and checks the
// size of every page.
func listAll(t *testing.T, s store.Store, owner string, limit int) []string {
	t.Helper()
	var out []string
	cursor := ""
	for range 1000 {
		jobs, next, err := s.ListJobs(t.Context(), owner, limit, cursor)
		if err != nil {
			t.Fatalf("ListJobs(%q, %d, %q): %v", owner, limit, cursor, err)
		}
		if len(jobs) > limit {
			t.Fatalf("ListJobs(limit %d) returned %d jobs", limit, len(jobs))
		}
		if len(jobs) == 0 && cursor != "" {
			t.Errorf("ListJobs(limit %d) gave a next cursor on the last page", limit)
		}
		out = append(out, ids(jobs)...)
		if next == "" {
			return out
		}
		if len(jobs) < limit {
			t.Errorf("ListJobs returned a short page of %d (limit %d) and a next cursor", len(jobs), limit)
		}
		cursor = next
	}
	t.Fatal("ListJobs: paging does not end")
	return nil
}

func testListOrder(t *testing.T, s store.Store) {
	// Created out of order; three share one CreatedAt.
	create(t, s,
		newJob("m", "o", t0.Add(2*ms)),
		newJob("tie-b", "o", t0),
		newJob("z", "o", t0.Add(-time.Hour)),
		newJob("tie-c", "o", t0),
		newJob("a", "o", t0.Add(time.Hour)),
		newJob("tie-a", "o", t0),
		newJob("other", "p", t0.Add(time.Minute)),
	)
	want := []string{"a", "m", "tie-c", "tie-b", "tie-a", "z"}
	for _, limit := range []int{100, 6, 4, 1} {
		if got := listAll(t, s, "o", limit); !slices.Equal(got, want) {
			t.Errorf("ListJobs(limit %d) = %v, want %v", limit, got, want)
		}
	}
	if got := listAll(t, s, "", 2); !slices.Equal(got, []string{"a", "other", "m", "tie-c", "tie-b", "tie-a", "z"}) {
		t.Errorf(`ListJobs("") = %v`, got)
	}
	jobs, _, err := s.ListJobs(t.Context(), "o", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	checkJob(t, jobs[0], newJob("a", "o", t0.Add(time.Hour)))
}

func testListPaging(t *testing.T, s store.Store) {
	var want []string
	for i := range 25 {
		id := fmt.Sprintf("job-%02d", i)
		create(t, s, newJob(id, "o", t0.Add(time.Duration(i)*time.Second)))
		want = append(want, id)
	}
	create(t, s, newJob("other", "p", t0.Add(10500*ms)))
	slices.Reverse(want)

	// 7 leaves a short last page; 5 ends on a full page, which must
	// still have no next cursor.
	for _, limit := range []int{7, 5, 25, 26} {
		if got := listAll(t, s, "o", limit); !slices.Equal(got, want) {
			t.Errorf("paging by %d = %v, want %v", limit, got, want)
		}
	}
	jobs, next, err := s.ListJobs(t.Context(), "o", 5, "")
	if err != nil || len(jobs) != 5 || next == "" {
		t.Fatalf("first page of 5 = %d jobs, next %q, %v", len(jobs), next, err)
	}
	// A cursor may be used again.
	p1, _, err1 := s.ListJobs(t.Context(), "o", 5, next)
	p2, _, err2 := s.ListJobs(t.Context(), "o", 5, next)
	if err1 != nil || err2 != nil || !slices.Equal(ids(p1), ids(p2)) || !slices.Equal(ids(p1), want[5:10]) {
		t.Errorf("second page twice = %v (%v), %v (%v), want %v", ids(p1), err1, ids(p2), err2, want[5:10])
	}
}

func testListCreateWhilePaging(t *testing.T, s store.Store) {
	for i := range 12 {
		create(t, s, newJob(fmt.Sprintf("job-%02d", i), "o", t0.Add(time.Duration(i)*time.Second)))
	}
	jobs, cursor, err := s.ListJobs(t.Context(), "o", 4, "")
	if err != nil {
		t.Fatal(err)
	}
	got := ids(jobs)
	// While paging, a new job (the newest of all) comes, one lands among
	// the pages not yet read, and one of those goes.
	create(t, s, newJob("new", "o", t0.Add(time.Hour)), newJob("mid", "o", t0.Add(1500*ms)))
	if _, err := s.DeleteJob(t.Context(), "o", "job-02"); err != nil {
		t.Fatal(err)
	}
	for cursor != "" {
		jobs, cursor, err = s.ListJobs(t.Context(), "o", 4, cursor)
		if err != nil {
			t.Fatalf("ListJobs after a create: %v", err)
		}
		got = append(got, ids(jobs)...)
	}
	want := []string{"job-11", "job-10", "job-09", "job-08", "job-07", "job-06", "job-05", "job-04", "job-03", "mid", "job-01", "job-00"}
	if !slices.Equal(got, want) {
		t.Errorf("paging while creating = %v, want %v", got, want)
	}
}

func testListBadCursor(t *testing.T, s store.Store) {
	create(t, s, newJob("a", "o", t0), newJob("b", "o", t0.Add(time.Second)))
	for _, c := range []string{
		"garbage",
		"!!!",
		"%%%%",
		base64.StdEncoding.EncodeToString([]byte("garbage")),
		base64.RawURLEncoding.EncodeToString([]byte{0, 1, 2, 255}),
		"\x00",
	} {
		jobs, _, err := s.ListJobs(t.Context(), "o", 1, c)
		if !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("ListJobs(cursor %q) = %v, %v; want ErrBadCursor", c, ids(jobs), err)
		}
	}
}

func testUpdate(t *testing.T, s store.Store) {
	j := newJob("u", "owner-a", t0)
	create(t, s, j)
	start := time.Now()

	want := fullJob("u", "owner-a")
	want.Attempts = 7
	got, err := s.UpdateJob(t.Context(), "u", func(cur *store.Job) error {
		checkJob(t, cur, j)
		// Everything but the fixed fields changes.
		cur.Request, cur.Resource, cur.Attempts = want.Request, want.Resource, want.Attempts
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateJob: %v", err)
	}
	if got.UpdatedAt.Before(start.Truncate(ms)) || got.UpdatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("UpdatedAt = %v, want about %v", got.UpdatedAt, start)
	}
	want.CreatedAt, want.UpdatedAt = j.CreatedAt, got.UpdatedAt
	checkJob(t, got, want)
	checkJob(t, get(t, s, "owner-a", "u"), want)

	// ID, Owner and CreatedAt stay as created.
	got, err = s.UpdateJob(t.Context(), "u", func(cur *store.Job) error {
		cur.ID, cur.Owner, cur.CreatedAt = "other", "owner-b", t0.Add(time.Hour)
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateJob: %v", err)
	}
	want.UpdatedAt = got.UpdatedAt
	checkJob(t, got, want)
	checkJob(t, get(t, s, "owner-a", "u"), want)
	_, err = s.GetJob(t.Context(), "", "other")
	isNotFound(t, "GetJob of a changed ID", err)
}

func testUpdateAbort(t *testing.T, s store.Store) {
	j := fullJob("u", "owner-a")
	create(t, s, j)
	boom := errors.New("boom")
	got, err := s.UpdateJob(t.Context(), "u", func(cur *store.Job) error {
		cur.Resource.Status = clipping.JobCompleted
		cur.Resource.Clips = nil
		cur.Attempts = 99
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("UpdateJob = %v, %v; want fn's error", got, err)
	}
	checkJob(t, get(t, s, "", "u"), j)
}

func testUpdateUnknown(t *testing.T, s store.Store) {
	called := false
	_, err := s.UpdateJob(t.Context(), "unknown", func(*store.Job) error { called = true; return nil })
	isNotFound(t, "UpdateJob(unknown)", err)
	if called {
		t.Error("UpdateJob called fn for an unknown job")
	}
}

func testUpdateConcurrent(t *testing.T, s store.Store) {
	create(t, s, newJob("u", "o", t0))
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := s.UpdateJob(t.Context(), "u", func(j *store.Job) error {
				j.Resource.Clips = append(j.Resource.Clips, clipping.Clip{ID: fmt.Sprintf("c%02d", i), Status: clipping.ClipPending})
				j.Attempts++
				return nil
			})
			if err != nil {
				t.Errorf("UpdateJob %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	j := get(t, s, "", "u")
	var got []string
	for _, c := range j.Resource.Clips {
		got = append(got, c.ID)
	}
	slices.Sort(got)
	got = slices.Compact(got)
	if len(got) != n || j.Attempts != n {
		t.Errorf("after %d concurrent updates: %d distinct clips, %d attempts", n, len(got), j.Attempts)
	}
}

func testClaim(t *testing.T, s store.Store) {
	_, err := s.ClaimJob(t.Context())
	isNotFound(t, "ClaimJob on an empty store", err)

	newer := newJob("newer", "o", t0.Add(time.Second))
	older := fullJob("older", "p")
	older.Resource.Status, older.Attempts = clipping.JobPending, 1
	running := newJob("running", "o", t0.Add(-time.Second))
	running.Resource.Status = clipping.JobRunning
	done := newJob("done", "o", t0.Add(-2*time.Second))
	done.Resource.Status = clipping.JobCompleted
	tieB := newJob("tie-b", "o", t0.Add(2*time.Second))
	tieA := newJob("tie-a", "o", t0.Add(2*time.Second))
	create(t, s, newer, older, running, done, tieB, tieA)

	start := time.Now()
	for _, want := range []*store.Job{older, newer, tieA, tieB} {
		got, err := s.ClaimJob(t.Context())
		if err != nil {
			t.Fatalf("ClaimJob: %v; want %s", err, want.ID)
		}
		want.Resource.Status = clipping.JobRunning
		want.Attempts++
		if got.UpdatedAt.Before(start.Truncate(ms)) {
			t.Errorf("claimed job's UpdatedAt = %v, before the claim (%v)", got.UpdatedAt, start)
		}
		want.UpdatedAt = got.UpdatedAt
		checkJob(t, got, want)
		checkJob(t, get(t, s, "", want.ID), want)
	}
	_, err = s.ClaimJob(t.Context())
	isNotFound(t, "ClaimJob with nothing pending", err)

	jobs, err := s.JobsWithStatus(t.Context(), clipping.JobRunning)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(jobs), []string{"running", "older", "newer", "tie-a", "tie-b"}; !slices.Equal(got, want) {
		t.Errorf("JobsWithStatus(running) = %v, want %v", got, want)
	}
}

func testClaimConcurrent(t *testing.T, s store.Store) {
	const jobs, claimers = 10, 20
	for i := range jobs {
		create(t, s, newJob(fmt.Sprintf("job-%02d", i), "o", t0.Add(time.Duration(i)*time.Second)))
	}
	ClaimEachOnce(t, jobs, claimers, func(int) store.Store { return s })
}

func testJobsWithStatus(t *testing.T, s store.Store) {
	mk := func(id string, status clipping.JobStatus, at time.Duration) *store.Job {
		j := newJob(id, "o", t0.Add(at))
		j.Owner = "owner-" + id // every owner's jobs count
		j.Resource.Status = status
		return j
	}
	create(t, s,
		mk("r2", clipping.JobRunning, 2*time.Second),
		mk("p1", clipping.JobPending, time.Second),
		mk("r1", clipping.JobRunning, -time.Second),
		mk("r3", clipping.JobRunning, 3*time.Second),
		mk("c1", clipping.JobCompleted, 0),
		mk("gone", clipping.JobRunning, 0),
	)
	if _, err := s.DeleteJob(t.Context(), "", "gone"); err != nil {
		t.Fatal(err)
	}
	for status, want := range map[clipping.JobStatus][]string{
		clipping.JobRunning:   {"r1", "r2", "r3"},
		clipping.JobPending:   {"p1"},
		clipping.JobCompleted: {"c1"},
		clipping.JobFailed:    nil,
	} {
		jobs, err := s.JobsWithStatus(t.Context(), status)
		if err != nil {
			t.Fatalf("JobsWithStatus(%s): %v", status, err)
		}
		if got := ids(jobs); !slices.Equal(got, want) {
			t.Errorf("JobsWithStatus(%s) = %v, want %v", status, got, want)
		}
	}
	// The status follows updates.
	if _, err := s.UpdateJob(t.Context(), "r2", func(j *store.Job) error {
		j.Resource.Status = clipping.JobFailed
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.JobsWithStatus(t.Context(), clipping.JobRunning)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(jobs); !slices.Equal(got, []string{"r1", "r3"}) {
		t.Errorf("JobsWithStatus(running) after an update = %v, want [r1 r3]", got)
	}
	checkJob(t, jobs[0], mk("r1", clipping.JobRunning, -time.Second))
}

const (
	ttl   = 24 * time.Hour
	stale = 5 * time.Minute
)

// begin calls BeginRequest and checks the state it answers.
func begin(t *testing.T, s store.Store, scope, hash string, now time.Time, want store.ReplayState) store.Replay {
	t.Helper()
	r, err := s.BeginRequest(t.Context(), scope, hash, now, ttl, stale)
	if err != nil {
		t.Fatalf("BeginRequest(%s at %v): %v", scope, now.Sub(t0), err)
	}
	if r.State != want {
		t.Fatalf("BeginRequest(%s at %v) = %v, want state %v", scope, now.Sub(t0), r, want)
	}
	return r
}

func finish(t *testing.T, s store.Store, scope string, status int, body []byte) {
	t.Helper()
	if err := s.FinishRequest(t.Context(), scope, status, body); err != nil {
		t.Fatalf("FinishRequest(%s): %v", scope, err)
	}
}

func checkDone(t *testing.T, r store.Replay, status int, body, hash string) {
	t.Helper()
	if r.Status != status || string(r.Body) != body || r.BodyHash != hash {
		t.Errorf("replay = %d %q (hash %q), want %d %q (hash %q)", r.Status, r.Body, r.BodyHash, status, body, hash)
	}
}

func testRequestLifecycle(t *testing.T, s store.Store) {
	const scope = "owner|POST /v3/ai-clipping||key-1"
	begin(t, s, scope, "hash-1", t0, store.Started)
	begin(t, s, scope, "hash-2", t0.Add(time.Second), store.InFlight)
	body := `{"data":{"ai_clipping_id":"abc"}}`
	finish(t, s, scope, 202, []byte(body))
	// The hash is the first request's, whatever the later one sends.
	r := begin(t, s, scope, "hash-2", t0.Add(2*time.Second), store.Done)
	checkDone(t, r, 202, body, "hash-1")
	// A stored answer is older than stale soon, and stays.
	r = begin(t, s, scope, "hash-1", t0.Add(stale+time.Hour), store.Done)
	checkDone(t, r, 202, body, "hash-1")

	// A binary body and an error status are kept as they are.
	bin := string([]byte{0, 1, 2, 0xff, '\n'})
	begin(t, s, "bin", "h", t0, store.Started)
	finish(t, s, "bin", 400, []byte(bin))
	checkDone(t, begin(t, s, "bin", "h", t0, store.Done), 400, bin, "h")
}

func testRequestTTL(t *testing.T, s store.Store) {
	begin(t, s, "k", "hash-1", t0, store.Started)
	finish(t, s, "k", 202, []byte("first"))
	checkDone(t, begin(t, s, "k", "hash-2", t0.Add(ttl-time.Second), store.Done), 202, "first", "hash-1")
	// Expired: the key starts over, and the new record counts from now.
	later := t0.Add(ttl + time.Second)
	begin(t, s, "k", "hash-2", later, store.Started)
	begin(t, s, "k", "hash-2", later.Add(time.Second), store.InFlight)
	finish(t, s, "k", 201, []byte("second"))
	checkDone(t, begin(t, s, "k", "hash-3", later.Add(ttl-time.Second), store.Done), 201, "second", "hash-2")

	// An expired record of another key is not touched by this one.
	begin(t, s, "other", "h", t0, store.Started)
	finish(t, s, "other", 200, []byte("x"))
	checkDone(t, begin(t, s, "other", "h", t0.Add(ttl-time.Second), store.Done), 200, "x", "h")
}

func testRequestStale(t *testing.T, s store.Store) {
	begin(t, s, "k", "hash-1", t0, store.Started)
	begin(t, s, "k", "hash-1", t0.Add(stale-time.Second), store.InFlight)
	// Its handler seems to have died: the next caller takes over...
	begin(t, s, "k", "hash-2", t0.Add(stale+time.Second), store.Started)
	// ...and holds the key for stale from then on.
	begin(t, s, "k", "hash-3", t0.Add(2*stale), store.InFlight)
	finish(t, s, "k", 202, []byte("body"))
	checkDone(t, begin(t, s, "k", "hash-3", t0.Add(3*stale), store.Done), 202, "body", "hash-2")
}

func testRequestAbandon(t *testing.T, s store.Store) {
	begin(t, s, "k", "hash-1", t0, store.Started)
	if err := s.AbandonRequest(t.Context(), "k"); err != nil {
		t.Fatalf("AbandonRequest: %v", err)
	}
	begin(t, s, "k", "hash-2", t0.Add(time.Second), store.Started)
	begin(t, s, "k", "hash-2", t0.Add(2*time.Second), store.InFlight)
	finish(t, s, "k", 202, []byte("body"))
	// Abandoning a key with a stored answer does not lose the answer.
	if err := s.AbandonRequest(t.Context(), "k"); err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AbandonRequest of a finished key: %v", err)
	}
	checkDone(t, begin(t, s, "k", "hash-3", t0.Add(3*time.Second), store.Done), 202, "body", "hash-2")
}

func testRequestScopes(t *testing.T, s store.Store) {
	scopes := []string{"a|POST /v3/ai-clipping||k", "b|POST /v3/ai-clipping||k", "a|DELETE /v3/ai-clipping/{id}|j1|k", "a|DELETE /v3/ai-clipping/{id}|j2|k"}
	for _, sc := range scopes {
		begin(t, s, sc, "h", t0, store.Started)
	}
	finish(t, s, scopes[0], 202, []byte("zero"))
	begin(t, s, scopes[1], "h", t0, store.InFlight)
	checkDone(t, begin(t, s, scopes[0], "h", t0, store.Done), 202, "zero", "h")
}

func testRequestConcurrent(t *testing.T, s store.Store) {
	const n = 20
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		states = map[store.ReplayState]int{}
	)
	for range n {
		wg.Go(func() {
			r, err := s.BeginRequest(t.Context(), "k", "h", t0, ttl, stale)
			if err != nil {
				t.Errorf("BeginRequest: %v", err)
				return
			}
			mu.Lock()
			states[r.State]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if states[store.Started] != 1 || states[store.InFlight] != n-1 {
		t.Errorf("%d concurrent BeginRequest: %d Started, %d InFlight, %d Done; want 1, %d, 0",
			n, states[store.Started], states[store.InFlight], states[store.Done], n-1)
	}
}

func testAssets(t *testing.T, s store.Store) {
	a := &store.Asset{ID: "asset-1", Owner: "owner-a", Path: "/data/assets/asset-1.mp4", MimeType: "video/mp4", Size: 5 << 30, CreatedAt: t0,
		Name: "talk ünï.mp4", Status: store.AssetReady}
	b := &store.Asset{ID: "asset-2", Owner: "", Path: "/data/assets/asset-2.mov", MimeType: "video/quicktime", Size: 0, CreatedAt: t0.Add(time.Hour),
		Name: "b.mov", Status: store.AssetPending, SHA256: strings.Repeat("ab", 32), ExpiresAt: t0.Add(2 * time.Hour),
		BatchID: "batch-1", BatchIndex: 7}
	for _, x := range []*store.Asset{a, b} {
		if err := s.CreateAsset(t.Context(), x); err != nil {
			t.Fatalf("CreateAsset(%s): %v", x.ID, err)
		}
	}
	check := func(owner string, want *store.Asset) {
		t.Helper()
		got, err := s.GetAsset(t.Context(), owner, want.ID)
		if err != nil {
			t.Fatalf("GetAsset(%q, %s): %v", owner, want.ID, err)
		}
		checkAsset(t, got, want)
	}
	check("owner-a", a)
	check("", a)
	check("", b)
	_, err := s.GetAsset(t.Context(), "owner-b", "asset-1")
	isNotFound(t, "GetAsset of another owner", err)
	_, err = s.GetAsset(t.Context(), "owner-a", "asset-2")
	isNotFound(t, "GetAsset of another owner", err)
	_, err = s.GetAsset(t.Context(), "", "unknown")
	isNotFound(t, "GetAsset(unknown)", err)

	dup := *b
	dup.Owner = "owner-b"
	if err := s.CreateAsset(t.Context(), &dup); err == nil {
		t.Error("CreateAsset with a used ID: no error")
	}
	check("", b)

	// No status is a ready asset.
	c := &store.Asset{ID: "asset-3", Owner: "owner-a", Path: "/c", MimeType: "video/mp4", Size: 1, CreatedAt: t0}
	if err := s.CreateAsset(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetAsset(t.Context(), "", "asset-3"); err != nil || got.Status != store.AssetReady {
		t.Errorf("an asset made with no status: %+v, %v; want ready", got, err)
	}
}

// checkAsset compares two assets, times to the millisecond.
func checkAsset(t *testing.T, got, want *store.Asset) {
	t.Helper()
	if !sameTime(got.CreatedAt, want.CreatedAt) || !sameTime(got.ExpiresAt, want.ExpiresAt) {
		t.Errorf("asset %s: times %v, %v; want %v, %v", want.ID, got.CreatedAt, got.ExpiresAt, want.CreatedAt, want.ExpiresAt)
	}
	g, w := *got, *want
	g.CreatedAt, w.CreatedAt, g.ExpiresAt, w.ExpiresAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if g != w {
		t.Errorf("asset = %+v, want %+v", g, w)
	}
}

func newAsset(id, owner string, created time.Time, status store.AssetStatus) *store.Asset {
	return &store.Asset{ID: id, Owner: owner, Path: "/data/assets/" + id + "/v.mp4", MimeType: "video/mp4", Size: 10,
		CreatedAt: created, Name: "v.mp4", Status: status}
}

func createAssets(t *testing.T, s store.Store, assets ...*store.Asset) {
	t.Helper()
	for _, a := range assets {
		if err := s.CreateAsset(t.Context(), a); err != nil {
			t.Fatalf("CreateAsset(%s): %v", a.ID, err)
		}
	}
}

func assetIDs(assets []*store.Asset) []string {
	out := make([]string, len(assets))
	for i, a := range assets {
		out[i] = a.ID
	}
	return out
}

func testAssetList(t *testing.T, s store.Store) {
	var want []string
	for i := range 5 {
		id := fmt.Sprintf("a%d", i)
		createAssets(t, s, newAsset(id, "owner-a", t0.Add(time.Duration(i)*time.Second), store.AssetReady))
		want = append([]string{id}, want...)
	}
	// Equal times order by ID; pending uploads and other owners are not listed.
	createAssets(t, s, newAsset("a5", "owner-a", t0.Add(4*time.Second), store.AssetReady),
		newAsset("p1", "owner-a", t0.Add(time.Hour), store.AssetPending),
		newAsset("u1", "owner-a", t0.Add(time.Hour), store.AssetUploaded),
		newAsset("b1", "owner-b", t0.Add(time.Hour), store.AssetReady))
	want = append([]string{"a5"}, want...)
	var got []string
	cursor := ""
	for {
		page, next, err := s.ListAssets(t.Context(), "owner-a", 2, cursor)
		if err != nil {
			t.Fatalf("ListAssets: %v", err)
		}
		if len(page) > 2 || (next != "" && len(page) != 2) {
			t.Fatalf("page of %d with next %q", len(page), next)
		}
		got = append(got, assetIDs(page)...)
		if next == "" {
			break
		}
		cursor = next
	}
	if !slices.Equal(got, want) {
		t.Errorf("ListAssets pages = %v, want %v", got, want)
	}
	if page, next, err := s.ListAssets(t.Context(), "owner-c", 10, ""); err != nil || len(page) != 0 || next != "" {
		t.Errorf("ListAssets of an owner with none = %v, %q, %v", assetIDs(page), next, err)
	}
	for _, c := range []string{"garbage!", base64.RawURLEncoding.EncodeToString([]byte("no colon"))} {
		if _, _, err := s.ListAssets(t.Context(), "owner-a", 2, c); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("ListAssets(cursor %q) = %v, want ErrBadCursor", c, err)
		}
	}
}

func testAssetUpdate(t *testing.T, s store.Store) {
	a := newAsset("up", "owner-a", t0, store.AssetPending)
	a.BatchID, a.BatchIndex, a.ExpiresAt = "batch-1", 3, t0.Add(time.Hour)
	createAssets(t, s, a)
	got, err := s.UpdateAsset(t.Context(), "up", func(x *store.Asset) error {
		x.Status, x.SHA256, x.Size, x.Path, x.MimeType, x.Name = store.AssetUploaded, "beef", 99, "/new", "video/webm", "n.webm"
		x.ID, x.Owner, x.CreatedAt, x.BatchID, x.BatchIndex = "other", "owner-b", t0.Add(time.Hour), "b2", 9
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateAsset: %v", err)
	}
	want := *a
	want.Status, want.SHA256, want.Size, want.Path, want.MimeType, want.Name = store.AssetUploaded, "beef", 99, "/new", "video/webm", "n.webm"
	checkAsset(t, got, &want)
	stored, err := s.GetAsset(t.Context(), "owner-a", "up")
	if err != nil {
		t.Fatal(err)
	}
	checkAsset(t, stored, &want)
	_, err = s.UpdateAsset(t.Context(), "up", func(*store.Asset) error { return errors.New("abort") })
	if err == nil {
		t.Error("UpdateAsset: fn's error was not returned")
	}
	_, err = s.UpdateAsset(t.Context(), "nope", func(*store.Asset) error { return nil })
	isNotFound(t, "UpdateAsset(unknown)", err)
}

func testAssetDelete(t *testing.T, s store.Store) {
	createAssets(t, s, newAsset("src", "owner-a", t0, store.AssetReady), newAsset("other", "owner-a", t0, store.AssetReady))
	job := newJob("j1", "owner-a", t0)
	job.Request.Video = clipping.Video{Type: clipping.VideoAssetID, AssetID: "src"}
	create(t, s, job)
	for _, st := range []clipping.JobStatus{clipping.JobPending, clipping.JobRunning} {
		if _, err := s.UpdateJob(t.Context(), "j1", func(j *store.Job) error { j.Resource.Status = st; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteAsset(t.Context(), "owner-a", "src"); !errors.Is(err, store.ErrInUse) {
			t.Fatalf("DeleteAsset of the source of a %s job = %v, want ErrInUse", st, err)
		}
		if _, err := s.GetAsset(t.Context(), "owner-a", "src"); err != nil {
			t.Fatalf("the refused delete hid the asset: %v", err)
		}
	}
	_, err := s.DeleteAsset(t.Context(), "owner-b", "other")
	isNotFound(t, "DeleteAsset of another owner's asset", err)

	// A finished job does not hold its source; nor does a deleted one.
	if _, err := s.UpdateJob(t.Context(), "j1", func(j *store.Job) error { j.Resource.Status = clipping.JobFailed; return nil }); err != nil {
		t.Fatal(err)
	}
	j2 := newJob("j2", "owner-a", t0)
	j2.Request.Video = clipping.Video{Type: clipping.VideoAssetID, AssetID: "src"}
	create(t, s, j2)
	if _, err := s.DeleteJob(t.Context(), "", "j2"); err != nil {
		t.Fatal(err)
	}
	a, err := s.DeleteAsset(t.Context(), "owner-a", "src")
	if err != nil || a.ID != "src" || a.Path != "/data/assets/src/v.mp4" {
		t.Fatalf("DeleteAsset = %+v, %v", a, err)
	}
	_, err = s.GetAsset(t.Context(), "", "src")
	isNotFound(t, "GetAsset after delete", err)
	_, err = s.DeleteAsset(t.Context(), "", "src")
	isNotFound(t, "DeleteAsset after delete", err)
	_, err = s.UpdateAsset(t.Context(), "src", func(*store.Asset) error { return nil })
	isNotFound(t, "UpdateAsset after delete", err)
	if page, _, _ := s.ListAssets(t.Context(), "owner-a", 10, ""); !slices.Equal(assetIDs(page), []string{"other"}) {
		t.Errorf("ListAssets after delete = %v", assetIDs(page))
	}
}

func testBatches(t *testing.T, s store.Store) {
	b := &store.Batch{ID: "batch-1", Owner: "owner-a", Title: "Launch", Total: 3, CreatedAt: t0}
	var assets []*store.Asset
	for i := range 3 {
		a := newAsset(fmt.Sprintf("ba%d", i), "owner-a", t0, store.AssetPending)
		a.BatchID, a.BatchIndex, a.ExpiresAt = "batch-1", 2-i, t0.Add(time.Hour)
		assets = append(assets, a)
	}
	if err := s.CreateBatch(t.Context(), b, assets); err != nil {
		t.Fatalf("CreateBatch: %v", err)
	}
	got, err := s.GetBatch(t.Context(), "owner-a", "batch-1")
	if err != nil || got.Title != "Launch" || got.Total != 3 || !sameTime(got.CreatedAt, t0) || !got.CompletedAt.IsZero() {
		t.Fatalf("GetBatch = %+v, %v", got, err)
	}
	_, err = s.GetBatch(t.Context(), "owner-b", "batch-1")
	isNotFound(t, "GetBatch of another owner", err)
	_, err = s.GetBatch(t.Context(), "", "nope")
	isNotFound(t, "GetBatch(unknown)", err)
	list, err := s.BatchAssets(t.Context(), "batch-1")
	if err != nil || !slices.Equal(assetIDs(list), []string{"ba2", "ba1", "ba0"}) {
		t.Fatalf("BatchAssets = %v, %v; want them by index", assetIDs(list), err)
	}
	if err := s.CompleteBatch(t.Context(), "batch-1", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteBatch(t.Context(), "batch-1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBatch(t.Context(), "", "batch-1"); !sameTime(got.CompletedAt, t0.Add(time.Minute)) {
		t.Errorf("CompletedAt = %v, want the first completion", got.CompletedAt)
	}
	isNotFound(t, "CompleteBatch(unknown)", s.CompleteBatch(t.Context(), "nope", t0))
	if _, err := s.DeleteAsset(t.Context(), "", "ba1"); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.BatchAssets(t.Context(), "batch-1"); !slices.Equal(assetIDs(list), []string{"ba2", "ba0"}) {
		t.Errorf("BatchAssets after a delete = %v", assetIDs(list))
	}
	// A batch fails whole: a used asset ID leaves no batch behind.
	bad := &store.Batch{ID: "batch-2", Owner: "owner-a", Total: 1, CreatedAt: t0}
	if err := s.CreateBatch(t.Context(), bad, []*store.Asset{newAsset("ba0", "owner-a", t0, store.AssetPending)}); err == nil {
		t.Fatal("CreateBatch with a used asset ID: no error")
	}
	_, err = s.GetBatch(t.Context(), "", "batch-2")
	isNotFound(t, "GetBatch of a failed CreateBatch", err)
}

func testPurge(t *testing.T, s store.Store) {
	create(t, s, newJob("old", "o", t0), newJob("new", "o", t0), newJob("live", "o", t0))
	createAssets(t, s, newAsset("a-old", "o", t0, store.AssetReady), newAsset("a-live", "o", t0, store.AssetReady))
	expired := newAsset("up-expired", "o", t0, store.AssetUploaded)
	expired.ExpiresAt = time.Now().Add(-2 * time.Hour)
	fresh := newAsset("up-fresh", "o", t0, store.AssetPending)
	fresh.ExpiresAt = time.Now().Add(48 * time.Hour)
	done := newAsset("up-done", "o", t0, store.AssetReady)
	done.ExpiresAt = t0.Add(time.Minute) // completed: its URL's expiry no longer matters
	createAssets(t, s, expired, fresh, done)
	for _, id := range []string{"old", "new"} {
		if _, err := s.DeleteJob(t.Context(), "", id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DeleteAsset(t.Context(), "", "a-old"); err != nil {
		t.Fatal(err)
	}
	// Deletions are stamped with the store's clock: a cutoff in the past
	// purges none of them.
	jobs, assets, err := s.Purge(t.Context(), time.Now().Add(-time.Hour))
	if err != nil || len(jobs) != 0 || !slices.Equal(assets, []string{"up-expired"}) {
		t.Fatalf("Purge(an hour ago) = %v, %v, %v; want only the expired upload", jobs, assets, err)
	}
	jobs, assets, err = s.Purge(t.Context(), time.Now().Add(time.Second))
	slices.Sort(jobs)
	if err != nil || !slices.Equal(jobs, []string{"new", "old"}) || !slices.Equal(assets, []string{"a-old"}) {
		t.Fatalf("Purge(now) = %v, %v, %v; want the deleted job and asset", jobs, assets, err)
	}
	for _, id := range []string{"live"} {
		get(t, s, "", id)
	}
	for _, id := range []string{"a-live", "up-fresh", "up-done"} {
		if _, err := s.GetAsset(t.Context(), "", id); err != nil {
			t.Errorf("Purge took %s: %v", id, err)
		}
	}
	// A purged ID is free again.
	create(t, s, newJob("old", "o", t0))
}

func testRequestTouch(t *testing.T, s store.Store) {
	begin(t, s, "k", "h", t0, store.Started)
	for i := 1; i <= 4; i++ { // the request lives for 4 stale periods, touching its key
		at := t0.Add(time.Duration(i) * stale * 9 / 10)
		if err := s.TouchRequest(t.Context(), "k", at); err != nil {
			t.Fatalf("TouchRequest: %v", err)
		}
		begin(t, s, "k", "h", at.Add(stale/2), store.InFlight)
	}
	// Then it dies: stale after its last touch, the key is free.
	last := t0.Add(4 * stale * 9 / 10)
	begin(t, s, "k", "h", last.Add(stale+time.Second), store.Started)
	// Touching a stored answer changes nothing.
	finish(t, s, "k", 200, []byte("x"))
	if err := s.TouchRequest(t.Context(), "k", t0.Add(ttl+time.Hour)); err != nil {
		t.Fatalf("TouchRequest of a finished key: %v", err)
	}
	checkDone(t, begin(t, s, "k", "h", last.Add(stale+2*time.Second), store.Done), 200, "x", "h")
	if err := s.TouchRequest(t.Context(), "unknown", t0); err != nil {
		t.Errorf("TouchRequest of an unknown key: %v", err)
	}
}

func delivery(id, job string, due time.Time) *store.Delivery {
	return &store.Delivery{ID: id, JobID: job, URL: "https://example.com/hook", EventType: clipping.EventSuccess,
		Body: []byte(`{"event_type":"ai_clipping.success"}`), NextAt: due, CreatedAt: due}
}

// notify queues d through UpdateJobNotify on job.
func notify(t *testing.T, s store.Store, job string, d *store.Delivery) {
	t.Helper()
	_, err := s.UpdateJobNotify(t.Context(), job, func(j *store.Job) (*store.Delivery, error) {
		j.Resource.Status = clipping.JobCompleted
		return d, nil
	})
	if err != nil {
		t.Fatalf("UpdateJobNotify(%s): %v", job, err)
	}
}

func testOutbox(t *testing.T, s store.Store) {
	create(t, s, newJob("j1", "o", t0), newJob("j2", "o", t0), newJob("j3", "o", t0))
	notify(t, s, "j1", delivery("e1", "j1", t0))
	notify(t, s, "j2", delivery("e2", "j2", t0.Add(time.Second)))
	notify(t, s, "j3", delivery("e3", "j3", t0.Add(time.Hour)))
	claim := func(now time.Time, limit int, want ...string) []*store.Delivery {
		t.Helper()
		ds, err := s.ClaimDeliveries(t.Context(), now, time.Minute, limit)
		if err != nil {
			t.Fatalf("ClaimDeliveries: %v", err)
		}
		got := make([]string, len(ds))
		for i, d := range ds {
			got[i] = d.ID
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("ClaimDeliveries at %v = %v, want %v", now.Sub(t0), got, want)
		}
		return ds
	}
	ds := claim(t0.Add(2*time.Second), 1, "e1") // the oldest due first
	d := ds[0]
	if d.Attempts != 1 || d.JobID != "j1" || d.URL != "https://example.com/hook" || d.EventType != clipping.EventSuccess ||
		string(d.Body) != `{"event_type":"ai_clipping.success"}` || !sameTime(d.CreatedAt, t0) {
		t.Errorf("claimed %+v", d)
	}
	claim(t0.Add(2*time.Second), 10, "e2") // e1 is leased, e3 not due
	claim(t0.Add(30*time.Second), 10)
	// The lease ran out (its process died): e1 and e2 are due again.
	ds = claim(t0.Add(2*time.Minute), 10, "e1", "e2")
	if ds[0].Attempts != 2 || ds[1].Attempts != 2 {
		t.Errorf("attempts after a second claim: %d, %d", ds[0].Attempts, ds[1].Attempts)
	}
	if err := s.RetryDelivery(t.Context(), "e1", t0.Add(10*time.Minute), "receiver answered 503"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDelivery(t.Context(), "e2"); err != nil {
		t.Fatal(err)
	}
	claim(t0.Add(9*time.Minute), 10)
	ds = claim(t0.Add(10*time.Minute), 10, "e1")
	if ds[0].LastError != "receiver answered 503" || ds[0].Attempts != 3 {
		t.Errorf("after a retry: %+v", ds[0])
	}
	claim(t0.Add(2*time.Hour), 10, "e1", "e3")
	isNotFound(t, "RetryDelivery(deleted)", s.RetryDelivery(t.Context(), "e2", t0, ""))
	if err := s.DeleteDelivery(t.Context(), "e2"); err != nil {
		t.Errorf("DeleteDelivery twice: %v", err)
	}
}

// testOutboxWithJob: the delivery and the job's update are one.
func testOutboxWithJob(t *testing.T, s store.Store) {
	create(t, s, newJob("j1", "o", t0))
	_, err := s.UpdateJobNotify(t.Context(), "j1", func(j *store.Job) (*store.Delivery, error) {
		j.Resource.Status = clipping.JobCompleted
		return delivery("e1", "j1", t0), errors.New("abort")
	})
	if err == nil {
		t.Fatal("UpdateJobNotify: fn's error was not returned")
	}
	if ds, _ := s.ClaimDeliveries(t.Context(), t0.Add(time.Hour), time.Minute, 10); len(ds) != 0 {
		t.Fatalf("an aborted update queued %d deliveries", len(ds))
	}
	if j := get(t, s, "", "j1"); j.Resource.Status != clipping.JobPending {
		t.Fatalf("an aborted update changed the job: %s", j.Resource.Status)
	}
	// A delivery whose ID is taken aborts the update with it.
	notify(t, s, "j1", delivery("e1", "j1", t0))
	create(t, s, newJob("j2", "o", t0))
	_, err = s.UpdateJobNotify(t.Context(), "j2", func(j *store.Job) (*store.Delivery, error) {
		j.Resource.Status = clipping.JobCompleted
		return delivery("e1", "j2", t0), nil
	})
	if err == nil {
		t.Fatal("UpdateJobNotify with a used delivery ID: no error")
	}
	if j := get(t, s, "", "j2"); j.Resource.Status != clipping.JobPending {
		t.Errorf("a failed delivery insert still updated the job: %s", j.Resource.Status)
	}
	// No delivery: a plain update.
	j, err := s.UpdateJobNotify(t.Context(), "j2", func(j *store.Job) (*store.Delivery, error) {
		j.Resource.Progress = 50
		return nil, nil
	})
	if err != nil || j.Resource.Progress != 50 {
		t.Fatalf("UpdateJobNotify without a delivery = %v, %v", j, err)
	}
	_, err = s.UpdateJobNotify(t.Context(), "nope", func(*store.Job) (*store.Delivery, error) { return nil, nil })
	isNotFound(t, "UpdateJobNotify(unknown)", err)
}

// testOutboxConcurrent: claimers racing never get one delivery twice
// within a lease.
func testOutboxConcurrent(t *testing.T, s store.Store) {
	const n = 30
	for i := range n {
		id := fmt.Sprintf("j%02d", i)
		create(t, s, newJob(id, "o", t0))
		notify(t, s, id, delivery("e"+id, id, t0))
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for range 6 {
		wg.Go(func() {
			for range n { // bounded: a claim that leases nothing would loop forever
				ds, err := s.ClaimDeliveries(t.Context(), t0, time.Hour, 4)
				if err != nil {
					t.Errorf("ClaimDeliveries: %v", err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d deliveries claimed, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s claimed %d times", id, c)
		}
	}
}

// ClaimEachOnce races claimers goroutines calling ClaimJob on the store
// that storeFor gives each (one store, or several sharing a file) until
// none is pending, and checks that each of the jobs was claimed exactly
// once.
func ClaimEachOnce(t *testing.T, jobs, claimers int, storeFor func(claimer int) store.Store) {
	t.Helper()
	var (
		mu      sync.Mutex
		claimed = map[string]int{}
		wg      sync.WaitGroup
	)
	for i := range claimers {
		wg.Go(func() {
			for {
				j, err := storeFor(i).ClaimJob(t.Context())
				if errors.Is(err, store.ErrNotFound) {
					return
				}
				if err != nil {
					t.Errorf("ClaimJob: %v", err)
					return
				}
				mu.Lock()
				claimed[j.ID]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != jobs {
		t.Errorf("%d jobs claimed, want %d: %v", len(claimed), jobs, claimed)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("job %s claimed %d times", id, n)
		}
	}
}
