// Package worker runs the server's queued clipping jobs on a bounded pool:
// it claims pending jobs from the store, runs the engine with a deadline,
// writes progress and each clip as it renders, and queues the job's
// webhook in the store's outbox when it ends. At start-up it resumes jobs
// that a stopped process left running, so no job stays running forever.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine"
	"github.com/clipmill/clipmill/internal/engine/source"
	"github.com/clipmill/clipmill/internal/ids"
	"github.com/clipmill/clipmill/internal/store"
)

// Waker is told when a webhook was queued, so it goes out at once.
type Waker interface{ Notify() }

// Engine runs one job, telling ev of its progress and of each clip as it
// is done: *engine.Engine, or a fake in tests.
type Engine interface {
	Run(ctx context.Context, job engine.Job, ev engine.Events) (*engine.Result, error)
}

// Pool runs jobs.
type Pool struct {
	Store   store.Store
	Engine  Engine
	DataDir string // jobs/<id>/ holds each job's clips; assets/ the uploads
	Workers int    // jobs at once; default 1 (each job already uses every core)
	// JobTimeout fails a job that runs longer; default 2 hours.
	JobTimeout time.Duration
	// MaxAttempts bounds how often a job interrupted by a restart is run
	// again; default 2.
	MaxAttempts int
	// Webhooks is woken when a job's webhook joins the outbox; nil: the
	// outbox finds it at its next poll. Present signs the job's file URLs
	// for the webhook body.
	Webhooks Waker
	Present  func(clipping.Job) clipping.Job
	Log      *slog.Logger

	wake    chan struct{}
	mu      sync.Mutex
	running map[string]context.CancelFunc
	wg      sync.WaitGroup
}

func (p *Pool) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

// Start resumes interrupted jobs and starts the workers; they stop when
// ctx ends. Wait waits for them.
func (p *Pool) Start(ctx context.Context) error {
	p.wake = make(chan struct{}, 1)
	p.running = map[string]context.CancelFunc{}
	if err := p.resume(ctx); err != nil {
		return err
	}
	n := max(1, p.Workers)
	for range n {
		p.wg.Go(func() { p.loop(ctx) })
	}
	return nil
}

// Wait blocks until every worker has stopped.
func (p *Pool) Wait() { p.wg.Wait() }

// Notify wakes an idle worker: a job was queued.
func (p *Pool) Notify() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Cancel stops a job if this pool is running it.
func (p *Pool) Cancel(id string) {
	p.mu.Lock()
	cancel := p.running[id]
	p.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// resume handles jobs found running at start-up: the process that ran them
// is gone. Each is queued again while it has attempts left, else failed
// with a message that says why.
func (p *Pool) resume(ctx context.Context) error {
	jobs, err := p.Store.JobsWithStatus(ctx, clipping.JobRunning)
	if err != nil {
		return fmt.Errorf("resume jobs: %w", err)
	}
	maxAttempts := p.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 2
	}
	for _, j := range jobs {
		retry := j.Attempts < maxAttempts
		_, err := p.Store.UpdateJobNotify(ctx, j.ID, func(j *store.Job) (*store.Delivery, error) {
			if retry {
				j.Resource.Status = clipping.JobPending
				j.Resource.Progress = 0
				j.Resource.Clips = []clipping.Clip{}
				return nil, nil
			}
			j.Resource.Status = clipping.JobFailed
			j.Resource.FailureMessage = clipping.Ptr(fmt.Sprintf(
				"The server stopped while the job was running, %d times; it was not started again.", j.Attempts))
			return p.delivery(j)
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("resume job %s: %w", j.ID, err)
		}
		if retry {
			p.removeFiles(j.ID)
			p.log().Warn("re-running a job interrupted by a restart", "job", j.ID, "attempt", j.Attempts+1)
		} else {
			p.log().Error("failing a job interrupted by restarts", "job", j.ID, "attempts", j.Attempts)
			p.wakeWebhooks()
		}
	}
	return nil
}

// removeFiles deletes a job's folder: its clips, thumbnails and captions.
func (p *Pool) removeFiles(id string) {
	if err := os.RemoveAll(filepath.Join(p.DataDir, "jobs", id)); err != nil {
		p.log().Error("remove job files", "job", id, "err", err)
	}
}

func (p *Pool) loop(ctx context.Context) {
	// Polling now and then retries a claim that failed; a queued job
	// otherwise wakes a worker through Notify.
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		j, err := p.Store.ClaimJob(ctx)
		switch {
		case err == nil:
			p.run(ctx, j)
			continue // there may be more
		case errors.Is(err, store.ErrNotFound):
		case ctx.Err() != nil:
			return
		default:
			p.log().Error("claim job", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-tick.C:
		}
	}
}

func (p *Pool) run(parent context.Context, j *store.Job) {
	timeout := p.JobTimeout
	if timeout <= 0 {
		timeout = 2 * time.Hour
	}
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	p.mu.Lock()
	p.running[j.ID] = cancel
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.running, j.ID)
		p.mu.Unlock()
	}()
	log := p.log().With("job", j.ID)
	log.Info("job started", "attempt", j.Attempts)

	res, err := p.runEngine(ctx, cancel, j)
	if parent.Err() != nil {
		// The server is stopping: the job stays running in the store and
		// is picked up again at the next start.
		log.Warn("job interrupted by shutdown")
		return
	}
	// Whether the job was cancelled is the job context's to say, not the
	// error's: a failing step can report "canceled" for steps it stopped.
	if errors.Is(ctx.Err(), context.Canceled) {
		log.Info("job cancelled") // deleted by its owner
		p.removeFiles(j.ID)
		return
	}
	_, uerr := p.Store.UpdateJobNotify(context.WithoutCancel(ctx), j.ID, func(s *store.Job) (*store.Delivery, error) {
		engine.Record(ctx, timeout, &s.Resource, s.Request.OutputSettings.AspectRatio, res, err)
		return p.delivery(s)
	})
	switch {
	case errors.Is(uerr, store.ErrNotFound):
		log.Info("job deleted while it ran")
		p.removeFiles(j.ID)
		return
	case uerr != nil:
		log.Error("store job result", "err", uerr)
		return
	}
	if err != nil {
		log.Warn("job failed", "err", err)
	} else {
		log.Info("job completed", "clips", len(res.Clips))
	}
	p.wakeWebhooks()
}

// runEngine resolves the job's source and runs the engine on it; cancel
// stops it, should the job be found deleted while it runs.
func (p *Pool) runEngine(ctx context.Context, cancel context.CancelFunc, j *store.Job) (*engine.Result, error) {
	input := j.Request.Video.URL
	if j.Request.Video.Type == clipping.VideoAssetID {
		a, err := p.Store.GetAsset(ctx, j.Owner, j.Request.Video.AssetID)
		// Bad input, as a missing file is: the job's failure says so.
		if errors.Is(err, store.ErrNotFound) {
			return nil, &source.Error{Name: j.Request.Video.AssetID, Msg: "was deleted before the job ran"}
		}
		if err == nil && a.Status != store.AssetReady {
			return nil, &source.Error{Name: j.Request.Video.AssetID, Msg: "was not completely uploaded when the job ran (the asset is " + string(a.Status) + ")"}
		}
		if err != nil {
			return nil, fmt.Errorf("asset %s: %w", j.Request.Video.AssetID, err)
		}
		input = a.Path
	}
	dir := filepath.Join(p.DataDir, "jobs", j.ID)
	os.RemoveAll(dir) // a re-run starts clean
	ej := engine.Job{Input: input, Settings: j.Request.OutputSettings, OutDir: dir}
	if j.Request.Title != nil {
		ej.Title = *j.Request.Title
	}
	if j.Request.InputLanguage != nil {
		ej.Language = *j.Request.InputLanguage
	}
	return p.Engine.Run(ctx, ej, &events{pool: p, ctx: ctx, cancel: cancel, id: j.ID, aspect: j.Request.OutputSettings.AspectRatio})
}

// events writes the engine's progress and finished clips to the store, so a
// client polling the job sees progress move and clips appear as they render.
type events struct {
	pool   *Pool
	ctx    context.Context
	cancel context.CancelFunc
	id     string
	aspect clipping.AspectRatio
	mu     sync.Mutex
	last   int
	at     time.Time
}

func (e *events) Progress(stage string, pct int) {
	e.mu.Lock()
	// Each write costs a transaction: write whole-percent steps at most
	// once a second.
	if pct <= e.last || (time.Since(e.at) < time.Second && pct < 100) {
		e.mu.Unlock()
		return
	}
	e.last, e.at = pct, time.Now()
	e.mu.Unlock()
	e.update(func(r *clipping.Job) {
		if r.Status == clipping.JobRunning && pct > r.Progress {
			r.Progress = min(pct, 99) // 100 only when the job is done
		}
	})
}

func (e *events) ClipDone(c engine.Clip) {
	if c.Err != nil {
		return // failed clips are listed with the job's result
	}
	e.update(func(r *clipping.Job) {
		r.Clips = append(r.Clips, c.Resource(e.aspect))
	})
}

func (e *events) update(fn func(*clipping.Job)) {
	_, err := e.pool.Store.UpdateJob(e.ctx, e.id, func(j *store.Job) error {
		fn(&j.Resource)
		return nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		e.cancel() // deleted: the rest of its clips are not wanted
	case err != nil && !errors.Is(err, context.Canceled):
		e.pool.log().Warn("update job progress", "job", e.id, "err", err)
	}
}

// delivery is the webhook of a job that just ended, if it asked for one:
// the event, its file URLs signed, under a new event id.
func (p *Pool) delivery(j *store.Job) (*store.Delivery, error) {
	if j.Request.CallbackURL == nil {
		return nil, nil
	}
	ev := clipping.WebhookEvent{EventType: clipping.EventSuccess, EventData: j.Resource}
	if j.Resource.Status != clipping.JobCompleted {
		ev.EventType = clipping.EventFail
	}
	if p.Present != nil {
		ev.EventData = p.Present(ev.EventData)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("webhook body: %w", err)
	}
	now := time.Now()
	return &store.Delivery{ID: "evt_" + ids.New(), JobID: j.ID, URL: *j.Request.CallbackURL, EventType: ev.EventType,
		Body: body, NextAt: now, CreatedAt: now}, nil
}

func (p *Pool) wakeWebhooks() {
	if p.Webhooks != nil {
		p.Webhooks.Notify()
	}
}
