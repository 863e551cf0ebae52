package local

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/clipmill/clipmill/internal/pipeline"
)

// watch turns new files in inbox/ into what S3 would send: an ObjectCreated
// event per video, once the file has stopped changing. Files copied in and
// objects uploaded through the S3 endpoint land in the same folder.
func (l *Local) watch(ctx context.Context) {
	t := time.NewTicker(l.cfg.Scan)
	defer t.Stop()
	var swept time.Time
	for {
		l.scan(ctx)
		// Once the first scans have submitted what is there, and then now
		// and then; before the count goes up, so that Idle waits for it.
		if l.scanned() >= 1 && time.Since(swept) >= l.cfg.Sweep {
			l.sweep(ctx)
			swept = time.Now()
		}
		l.mu.Lock()
		l.scans++
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (l *Local) scan(ctx context.Context) {
	root := filepath.Join(l.cfg.DataDir, "inbox")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || ctx.Err() != nil {
			return nil
		}
		rel, _ := filepath.Rel(l.cfg.DataDir, p)
		key := filepath.ToSlash(rel)
		if _, ok := pipeline.VideoName(key); !ok {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		stamp := fileStamp(info)
		l.mu.Lock()
		done := l.seen[key] == stamp
		settled := l.pending[key] == stamp
		if !done && !settled {
			l.pending[key] = stamp // look again next scan: still being written?
		}
		l.mu.Unlock()
		if done || !settled {
			return nil
		}
		l.submit(ctx, key, stamp)
		return nil
	})
}

func (l *Local) scanned() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.scans
}

// submit is what S3's event would do. Submit reads the ETag and
// Last-Modified time from the endpoint, as it does on AWS.
func (l *Local) submit(ctx context.Context, key, stamp string) (pipeline.Submitted, bool) {
	res, err := l.pipe.Submit(ctx, pipeline.Source{Bucket: Bucket, Key: key})
	if err != nil {
		// A transient failure: like a Lambda retry, the next scan tries again.
		l.cfg.Log.Warn("submit failed, will retry", "key", key, "err", err)
		l.mu.Lock()
		delete(l.pending, key)
		delete(l.seen, key)
		l.mu.Unlock()
		return res, false
	}
	l.mu.Lock()
	l.seen[key] = stamp
	delete(l.pending, key)
	l.mu.Unlock()
	switch {
	case res.Failure != "":
		l.cfg.Log.Warn("not submitted", "key", key, "record", filepath.Join(l.cfg.DataDir, res.Failure))
	case res.Skipped != "":
		l.cfg.Log.Info("not submitted", "key", key, "why", res.Skipped)
	}
	return res, true
}

// sweep runs the inbox videos that have no outcome and no running
// execution, so that every upload ends in a manifest or a failure record
// even when one was deleted, or a crash or a full disk kept it from being
// written. Each is submitted again: with its failure record gone it gets
// its next attempt, and an execution that ended without an outcome runs
// again.
func (l *Local) sweep(ctx context.Context) {
	for key, stamp := range l.orphans() {
		if ctx.Err() != nil {
			return
		}
		l.cfg.Log.Info("an inbox video has no outcome and nothing running: running it", "key", key)
		res, ok := l.submit(ctx, key, stamp)
		if !ok || res.Execution == "" {
			continue
		}
		if err := l.redrive(res.Execution); err != nil {
			l.cfg.Log.Error("re-run", "name", res.Execution, "err", err)
		}
	}
}

// orphans are the inbox videos submitted as they are now (the watcher
// handles new and changing files) with no outcome and nothing running.
func (l *Local) orphans() map[string]string {
	l.mu.Lock()
	seen := maps.Clone(l.seen)
	l.mu.Unlock()
	out := map[string]string{}
	for key, stamp := range seen {
		name, _ := pipeline.VideoName(key)
		info, err := os.Stat(l.path(key))
		if err != nil || fileStamp(info) != stamp || l.exists(pipeline.ManifestKey(name)) ||
			l.exists(pipeline.FailureKey(name)) || l.runningFor(key) {
			continue
		}
		out[key] = stamp
	}
	return out
}

func (l *Local) path(key string) string { return filepath.Join(l.cfg.DataDir, filepath.FromSlash(key)) }

func (l *Local) exists(key string) bool {
	_, err := os.Stat(l.path(key))
	return err == nil
}

// fileStamp tells a file's versions apart: size and modification time.
func fileStamp(info fs.FileInfo) string {
	return fmt.Sprintf("%d/%d", info.Size(), info.ModTime().UnixNano())
}

// Idle waits until no execution runs and every inbox file has been seen,
// or ctx ends. `clipmill local --once` exits then.
func (l *Local) Idle(ctx context.Context) error {
	for {
		l.mu.Lock()
		// Two scans at least: a file must be seen unchanged twice.
		busy := l.active > 0 || len(l.pending) > 0 || l.scans < 2
		l.mu.Unlock()
		if !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.idle:
		case <-time.After(l.cfg.Scan):
		}
	}
}
