package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine"
	"github.com/clipmill/clipmill/internal/store"
	"github.com/clipmill/clipmill/internal/store/sqlite"
)

// The tests run the pool on a real SQLite store with a fake engine, inside
// a synctest bubble: synctest.Wait returns once the workers are idle or
// the engine waits on the test, and deadlines pass in fake time. Every
// fake engine also returns when its context ends, and the test waits on
// nothing without a deadline (in fake time, so a missed one costs no real
// time): a broken pool fails the test instead of hanging it.

// engineFunc is an Engine made of a function.
type engineFunc func(ctx context.Context, j engine.Job, ev engine.Events) (*engine.Result, error)

func (f engineFunc) Run(ctx context.Context, j engine.Job, ev engine.Events) (*engine.Result, error) {
	return f(ctx, j, ev)
}

// waker counts the pool's wake-ups of the webhook outbox.
type waker struct{ n atomic.Int32 }

func (w *waker) Notify() { w.n.Add(1) }

type harness struct {
	t     *testing.T
	store *sqlite.Store
	dir   string
	hooks *waker
	ran   []string // the jobs the engine was started on, in order
	mu    sync.Mutex
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "clipmill.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &harness{t: t, store: st, dir: t.TempDir(), hooks: &waker{}}
}

// start starts a pool on eng; its workers stop, and are waited for, when
// the test ends. edit changes the pool before it starts.
func (h *harness) start(eng engineFunc, edit func(*Pool)) *Pool {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := h.pool(eng)
	if edit != nil {
		edit(p)
	}
	if err := p.Start(ctx); err != nil {
		cancel()
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() {
		cancel()
		stop(h.t, p)
	})
	return p
}

// stop waits for the workers of a pool whose context ended.
func stop(t *testing.T, p *Pool) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		p.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Error("the workers did not stop")
	}
}

// send hands a waiting fake engine the go-ahead.
func send(t *testing.T, ch chan<- struct{}) {
	t.Helper()
	select {
	case ch <- struct{}{}:
	case <-time.After(time.Minute):
		t.Fatal("no engine is waiting")
	}
}

func (h *harness) pool(eng engineFunc) *Pool {
	record := func(ctx context.Context, j engine.Job, ev engine.Events) (*engine.Result, error) {
		h.mu.Lock()
		h.ran = append(h.ran, filepath.Base(j.OutDir))
		h.mu.Unlock()
		return eng(ctx, j, ev)
	}
	return &Pool{
		Store: h.store, Engine: engineFunc(record), DataDir: h.dir, Webhooks: h.hooks,
		// The server signs file names into URLs; marking them is enough here.
		Present: func(j clipping.Job) clipping.Job {
			j.Clips = slices.Clone(j.Clips)
			for i, c := range j.Clips {
				if c.VideoURL != nil {
					j.Clips[i].VideoURL = clipping.Ptr("signed/" + *c.VideoURL)
				}
			}
			return j
		},
	}
}

func (h *harness) runs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.ran...)
}

// create stores a job with a URL source and a webhook, in status with
// attempts already made.
func (h *harness) create(id string, status clipping.JobStatus, attempts int) *store.Job {
	h.t.Helper()
	j := &store.Job{
		ID: id,
		Request: clipping.CreateRequest{
			Video:          clipping.Video{Type: clipping.VideoURL, URL: "https://example.com/" + id + ".mp4"},
			Title:          clipping.Ptr("Asked title"),
			InputLanguage:  clipping.Ptr("en"),
			OutputSettings: clipping.OutputSettings{DurationTypes: []clipping.DurationType{clipping.Duration30}, AspectRatio: clipping.AspectSquare},
			CallbackURL:    clipping.Ptr("https://hooks.example.com/" + id),
		},
		Resource: clipping.Job{ID: id, Status: status, Clips: []clipping.Clip{}},
		Attempts: attempts, CreatedAt: time.Now(), UpdatedAt: time.Now(),
	}
	if err := h.store.CreateJob(context.Background(), j); err != nil {
		h.t.Fatal(err)
	}
	return j
}

func (h *harness) job(id string) *store.Job {
	h.t.Helper()
	j, err := h.store.GetJob(context.Background(), "", id)
	if err != nil {
		h.t.Fatal(err)
	}
	return j
}

// deliveries takes the webhooks waiting in the outbox, by job.
func (h *harness) deliveries() map[string]clipping.WebhookEvent {
	h.t.Helper()
	ds, err := h.store.ClaimDeliveries(context.Background(), time.Now(), time.Hour, 100)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]clipping.WebhookEvent{}
	for _, d := range ds {
		var ev clipping.WebhookEvent
		if err := json.Unmarshal(d.Body, &ev); err != nil {
			h.t.Fatal(err)
		}
		if !strings.HasPrefix(d.ID, "evt_") || d.EventType != ev.EventType || d.URL != "https://hooks.example.com/"+d.JobID {
			h.t.Errorf("delivery %+v", d)
		}
		out[d.JobID] = ev
	}
	return out
}

// jobFile is a file in a job's folder, and whether it exists.
func (h *harness) jobFile(id, name string) (string, bool) {
	p := filepath.Join(h.dir, "jobs", id, name)
	_, err := os.Stat(p)
	return p, err == nil
}

func failure(j *store.Job) string {
	if j.Resource.FailureMessage == nil {
		return ""
	}
	return *j.Resource.FailureMessage
}

// writeClip makes a clip's file in the engine's output folder.
func writeClip(t *testing.T, j engine.Job, name string) {
	if err := os.MkdirAll(j.OutDir, 0o755); err != nil {
		t.Error(err)
	}
	if err := os.WriteFile(filepath.Join(j.OutDir, name), []byte("video"), 0o644); err != nil {
		t.Error(err)
	}
}

// A job's progress moves and its clips appear in the store while it runs;
// at the end it is completed with every clip, failed ones included, and its
// webhook is queued with its URLs signed.
func TestClipsAppearAsTheyAreDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.create("j1", clipping.JobPending, 0)
		step := make(chan struct{})
		ok := engine.Clip{ID: "c1", DurationType: clipping.Duration30, Title: "Hook", Video: "c1.mp4", Start: 1, End: 31}
		bad := engine.Clip{ID: "c2", DurationType: clipping.Duration30, Err: errors.New("render failed")}
		h.start(func(ctx context.Context, j engine.Job, ev engine.Events) (*engine.Result, error) {
			if j.Input != "https://example.com/j1.mp4" || j.Title != "Asked title" || j.Language != "en" ||
				j.OutDir != filepath.Join(h.dir, "jobs", "j1") || j.Settings.AspectRatio != clipping.AspectSquare {
				t.Errorf("engine job %+v", j)
			}
			wait := func() error {
				select {
				case <-step:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			ev.Progress(engine.StageSource, 10)
			ev.Progress(engine.StageSource, 20) // within a second of the last write: not written
			if err := wait(); err != nil {
				return nil, err
			}
			ev.Progress(engine.StageRender, 50)
			writeClip(t, j, "c1.mp4")
			ev.ClipDone(ok)
			ev.ClipDone(bad) // listed with the result, not before
			if err := wait(); err != nil {
				return nil, err
			}
			ev.Progress(engine.StageRender, 100) // 100 only when the job is done
			if err := wait(); err != nil {
				return nil, err
			}
			return &engine.Result{Title: "Found title", Language: "en", SourceDuration: 90, Clips: []engine.Clip{ok, bad}}, nil
		}, nil)
		running := func(progress, clips int) {
			t.Helper()
			synctest.Wait()
			j := h.job("j1")
			if r := j.Resource; r.Status != clipping.JobRunning || r.Progress != progress || j.Attempts != 1 || len(r.Clips) != clips {
				t.Fatalf("while running: %s at %d%% with %d clips, attempt %d; want %d%% with %d clips",
					r.Status, r.Progress, len(r.Clips), j.Attempts, progress, clips)
			}
			if len(h.deliveries()) != 0 || h.hooks.n.Load() != 0 {
				t.Fatal("a webhook before the job ended")
			}
		}
		running(10, 0)
		time.Sleep(time.Second)
		send(t, step)
		running(50, 1)
		if c := h.job("j1").Resource.Clips[0]; c.ID != "c1" || *c.VideoURL != "c1.mp4" || *c.AspectRatio != clipping.AspectSquare {
			t.Errorf("clip %+v", c)
		}
		send(t, step)
		running(99, 1)

		send(t, step)
		synctest.Wait()
		r := h.job("j1").Resource
		if r.Status != clipping.JobCompleted || r.Progress != 100 || *r.Title != "Found title" || *r.SourceDuration != 90 ||
			len(r.Clips) != 2 || r.Clips[0].Status != clipping.ClipCompleted || *r.Clips[0].VideoURL != "c1.mp4" || r.Clips[1].Status != clipping.ClipFailed ||
			*r.Clips[1].FailureMessage != "Processing failed." {
			t.Errorf("completed: %+v", r)
		}
		if _, there := h.jobFile("j1", "c1.mp4"); !there {
			t.Error("the clip's file is gone")
		}
		ev, queued := h.deliveries()["j1"]
		if !queued || ev.EventType != clipping.EventSuccess || *ev.EventData.Clips[0].VideoURL != "signed/c1.mp4" {
			t.Errorf("webhook %+v", ev)
		}
		if h.hooks.n.Load() != 1 {
			t.Errorf("the outbox was woken %d times", h.hooks.n.Load())
		}
	})
}

// A run that fails is stored failed with the engine's reason and its fail
// webhook; the clips done before the failure stay listed.
func TestRunFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.create("j1", clipping.JobPending, 0)
		h.start(func(ctx context.Context, j engine.Job, ev engine.Events) (*engine.Result, error) {
			ev.ClipDone(engine.Clip{ID: "c1", Video: "c1.mp4"})
			return nil, &engine.StageError{Stage: engine.StageRender, Err: errors.New("exit status 1")}
		}, nil)
		synctest.Wait()
		r := h.job("j1").Resource
		if r.Status != clipping.JobFailed || *r.FailureMessage != "Processing failed at the render stage." ||
			len(r.Clips) != 1 || r.Clips[0].ID != "c1" {
			t.Errorf("failed: %+v", r)
		}
		if ev := h.deliveries()["j1"]; ev.EventType != clipping.EventFail {
			t.Errorf("webhook %+v", ev)
		}
	})
}

// A job that runs past JobTimeout is stopped and fails naming the
// deadline, with its fail webhook.
func TestDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.create("j1", clipping.JobPending, 0)
		h.start(func(ctx context.Context, j engine.Job, ev engine.Events) (*engine.Result, error) {
			<-ctx.Done()
			return nil, fmt.Errorf("render: %w", ctx.Err())
		}, func(p *Pool) { p.JobTimeout = 10 * time.Minute })
		time.Sleep(10*time.Minute - time.Second)
		synctest.Wait()
		if r := h.job("j1").Resource; r.Status != clipping.JobRunning {
			t.Fatalf("before its deadline: %s", r.Status)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		j := h.job("j1")
		if want := "The job took longer than its deadline of 10m0s and was stopped."; j.Resource.Status != clipping.JobFailed || failure(j) != want {
			t.Errorf("after its deadline: %s %q, want failed %q", j.Resource.Status, failure(j), want)
		}
		if ev := h.deliveries()["j1"]; ev.EventType != clipping.EventFail {
			t.Errorf("webhook %+v", ev)
		}
	})
}

// A job deleted and cancelled while it runs stops at once and leaves no
// files and no webhook; Cancel of a job the pool is not running does
// nothing.
func TestCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.create("j1", clipping.JobPending, 0)
		stopped := make(chan error, 1)
		p := h.start(func(ctx context.Context, j engine.Job, ev engine.Events) (*engine.Result, error) {
			writeClip(t, j, "c1.mp4")
			<-ctx.Done()
			stopped <- ctx.Err()
			// A step stopped mid-way may say anything: the context decides.
			return nil, &engine.StageError{Stage: engine.StageRender, Err: errors.New("signal: killed")}
		}, nil)
		synctest.Wait()
		p.Cancel("nosuchjob")
		if _, there := h.jobFile("j1", "c1.mp4"); !there {
			t.Fatal("the engine wrote no file")
		}
		if _, err := h.store.DeleteJob(context.Background(), "", "j1"); err != nil {
			t.Fatal(err)
		}
		p.Cancel("j1")
		synctest.Wait()
		select {
		case err := <-stopped:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("the engine's context ended with %v", err)
			}
		default:
			t.Fatal("the engine is still running")
		}
		if f, there := h.jobFile("j1", ""); there {
			t.Errorf("%s is left", f)
		}
		if len(h.deliveries()) != 0 || h.hooks.n.Load() != 0 {
			t.Error("a cancelled job sent a webhook")
		}
	})
}

// A job deleted while it runs, found so when its progress is written,
// stops too; and one deleted just as it ends leaves no files.
func TestDeletedWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.create("j1", clipping.JobPending, 0)
		h.create("j2", clipping.JobPending, 0)
		deleted := make(chan struct{})
		stopped := make(chan error, 1)
		h.start(func(ctx context.Context, j engine.Job, ev engine.Events) (*engine.Result, error) {
			writeClip(t, j, "c1.mp4")
			select {
			case <-deleted:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if filepath.Base(j.OutDir) == "j2" {
				return &engine.Result{Clips: []engine.Clip{{ID: "c1", Video: "c1.mp4"}}}, nil
			}
			ev.Progress(engine.StageRender, 50)
			<-ctx.Done()
			stopped <- ctx.Err()
			return nil, ctx.Err()
		}, nil)
		for _, id := range []string{"j1", "j2"} {
			synctest.Wait()
			if _, err := h.store.DeleteJob(context.Background(), "", id); err != nil {
				t.Fatal(err)
			}
			send(t, deleted)
			synctest.Wait()
			if f, there := h.jobFile(id, ""); there {
				t.Errorf("%s is left", f)
			}
		}
		select {
		case err := <-stopped:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("j1's engine context ended with %v", err)
			}
		default:
			t.Error("j1's engine was not stopped")
		}
		if got := h.runs(); len(got) != 2 {
			t.Errorf("ran %v", got)
		}
		if len(h.deliveries()) != 0 || h.hooks.n.Load() != 0 {
			t.Error("a deleted job sent a webhook")
		}
	})
}

// A job whose source asset is gone fails without running the engine; one
// whose asset is ready runs on the asset's file.
func TestAssetSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		ctx := context.Background()
		path := filepath.Join(h.dir, "assets", "a1")
		if err := h.store.CreateAsset(ctx, &store.Asset{ID: "a1", Path: path, MimeType: "video/mp4", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		for id, asset := range map[string]string{"gone": "a0", "ready": "a1"} {
			j := h.create(id, clipping.JobPending, 0)
			if _, err := h.store.UpdateJob(ctx, j.ID, func(j *store.Job) error {
				j.Request.Video = clipping.Video{Type: clipping.VideoAssetID, AssetID: asset}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		h.start(func(ctx context.Context, j engine.Job, ev engine.Events) (*engine.Result, error) {
			if j.Input != path {
				t.Errorf("input %q, want %q", j.Input, path)
			}
			return &engine.Result{}, nil
		}, nil)
		synctest.Wait()
		if j := h.job("gone"); j.Resource.Status != clipping.JobFailed || failure(j) != "The source video was deleted before the job ran." {
			t.Errorf("gone: %s %q", j.Resource.Status, failure(j))
		}
		if s := h.job("ready").Resource.Status; s != clipping.JobCompleted {
			t.Errorf("ready: %s", s)
		}
		if got := h.runs(); len(got) != 1 || got[0] != "ready" {
			t.Errorf("ran %v", got)
		}
	})
}

// A server that stops mid-job leaves it running; the next start runs it
// again from a clean folder, as its second attempt, and completes it.
func TestRestartReruns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.create("j1", clipping.JobPending, 0)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		p := h.pool(func(ctx context.Context, j engine.Job, ev engine.Events) (*engine.Result, error) {
			writeClip(t, j, "c1.mp4")
			ev.ClipDone(engine.Clip{ID: "c1", Video: "c1.mp4"})
			<-ctx.Done()
			return nil, ctx.Err()
		})
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		cancel()
		stop(t, p)
		if j := h.job("j1"); j.Resource.Status != clipping.JobRunning || j.Attempts != 1 || len(j.Resource.Clips) != 1 {
			t.Fatalf("after the stop: %s, attempt %d, %d clips", j.Resource.Status, j.Attempts, len(j.Resource.Clips))
		}

		h.start(func(ctx context.Context, j engine.Job, ev engine.Events) (*engine.Result, error) {
			if _, there := h.jobFile("j1", "c1.mp4"); there {
				t.Error("the first attempt's clip is still there")
			}
			if r := h.job("j1").Resource; len(r.Clips) != 0 || r.Progress != 0 {
				t.Errorf("the second attempt starts with %d clips at %d%%", len(r.Clips), r.Progress)
			}
			return &engine.Result{Clips: []engine.Clip{{ID: "c2", Video: "c2.mp4"}}}, nil
		}, nil)
		synctest.Wait()
		j := h.job("j1")
		if j.Resource.Status != clipping.JobCompleted || j.Attempts != 2 || len(j.Resource.Clips) != 1 || j.Resource.Clips[0].ID != "c2" {
			t.Errorf("after the restart: %s, attempt %d, clips %+v", j.Resource.Status, j.Attempts, j.Resource.Clips)
		}
		if got := h.runs(); len(got) != 2 {
			t.Errorf("ran %v", got)
		}
	})
}

// At start-up, a job left running with attempts to spare is queued again;
// one out of attempts fails saying why, with its webhook if it asked for
// one, and is not run.
func TestResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.create("again", clipping.JobRunning, 2)
		h.create("spent", clipping.JobRunning, 3)
		quiet := h.create("quiet", clipping.JobRunning, 3)
		if _, err := h.store.UpdateJob(context.Background(), quiet.ID, func(j *store.Job) error {
			j.Request.CallbackURL = nil
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		h.create("done", clipping.JobCompleted, 1)
		h.start(func(ctx context.Context, j engine.Job, ev engine.Events) (*engine.Result, error) {
			return &engine.Result{}, nil
		}, func(p *Pool) { p.MaxAttempts = 3 })
		synctest.Wait()
		if got := h.runs(); len(got) != 1 || got[0] != "again" {
			t.Errorf("ran %v, want only the job with attempts left", got)
		}
		if j := h.job("again"); j.Resource.Status != clipping.JobCompleted || j.Attempts != 3 {
			t.Errorf("again: %s, attempt %d", j.Resource.Status, j.Attempts)
		}
		want := "The server stopped while the job was running, 3 times; it was not started again."
		for _, id := range []string{"spent", "quiet"} {
			if j := h.job(id); j.Resource.Status != clipping.JobFailed || failure(j) != want {
				t.Errorf("%s: %s %q", id, j.Resource.Status, failure(j))
			}
		}
		evs := h.deliveries()
		if len(evs) != 2 || evs["spent"].EventType != clipping.EventFail || evs["again"].EventType != clipping.EventSuccess {
			t.Errorf("webhooks %+v", evs)
		}
		if s := h.job("done").Resource.Status; s != clipping.JobCompleted {
			t.Errorf("done: %s", s)
		}
	})
}

// Start fails when the store cannot say which jobs were left running.
func TestStartStoreError(t *testing.T) {
	h := newHarness(t)
	h.store.Close()
	p := h.pool(func(ctx context.Context, j engine.Job, ev engine.Events) (*engine.Result, error) {
		return nil, errors.New("not run")
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := p.Start(ctx); err == nil || !strings.Contains(err.Error(), "resume jobs") {
		t.Errorf("Start: %v", err)
	}
}

// A job queued while the workers are idle runs when the pool is told of
// it, and without that at the next poll.
func TestNotify(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		p := h.start(func(ctx context.Context, j engine.Job, ev engine.Events) (*engine.Result, error) {
			return &engine.Result{}, nil
		}, nil)
		synctest.Wait()
		h.create("told", clipping.JobPending, 0)
		p.Notify()
		p.Notify() // a wake-up already waiting is enough
		synctest.Wait()
		if s := h.job("told").Resource.Status; s != clipping.JobCompleted {
			t.Errorf("after Notify: %s", s)
		}
		h.create("untold", clipping.JobPending, 0)
		synctest.Wait()
		if s := h.job("untold").Resource.Status; s != clipping.JobPending {
			t.Errorf("before the poll: %s", s)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if s := h.job("untold").Resource.Status; s != clipping.JobCompleted {
			t.Errorf("after the poll: %s", s)
		}
	})
}
