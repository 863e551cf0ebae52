package local

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clipmill/clipmill/internal/pipeline"
)

// watch turns new files in inbox/ into what S3 would send: an ObjectCreated
// event per video, once the file has stopped changing. Files copied in and
// objects uploaded through the S3 endpoint land in the same folder.
func (l *Local) watch(ctx context.Context) {
	t := time.NewTicker(l.cfg.Scan)
	defer t.Stop()
	for {
		l.scan(ctx)
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
		stamp := fmt.Sprintf("%d/%d", info.Size(), info.ModTime().UnixNano())
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

func (l *Local) submit(ctx context.Context, key, stamp string) {
	// The ETag is S3's, from the endpoint: equal bytes, equal ETag.
	head, err := l.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(Bucket), Key: aws.String(key)})
	if err != nil {
		l.cfg.Log.Warn("inbox file not readable yet", "key", key, "err", err)
		return
	}
	src := pipeline.Source{Bucket: Bucket, Key: key, ETag: strings.Trim(aws.ToString(head.ETag), `"`)}
	res, err := l.pipe.Submit(ctx, src)
	if err != nil {
		// A transient failure: like a Lambda retry, the next scan tries again.
		l.cfg.Log.Warn("submit failed, will retry", "key", key, "err", err)
		l.mu.Lock()
		delete(l.pending, key)
		l.mu.Unlock()
		return
	}
	l.mu.Lock()
	l.seen[key] = stamp
	delete(l.pending, key)
	l.mu.Unlock()
	if res.Failure != "" {
		l.cfg.Log.Warn("not submitted", "key", key, "record", filepath.Join(l.cfg.DataDir, res.Failure))
	}
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
