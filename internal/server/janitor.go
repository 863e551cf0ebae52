package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/clipmill/clipmill/internal/store"
)

// keepDeleted is how long a deleted job's or asset's record stays,
// hidden: as long as an Idempotency-Key replay may need it.
const keepDeleted = 24 * time.Hour

// sweep removes, before the server takes requests, the files that no
// visible record owns: those of jobs and assets deleted just before a
// crash, and parts of uploads the crash cut off.
func (s *Server) sweep(ctx context.Context) error {
	jobs, err := folders(filepath.Join(s.cfg.DataDir, "jobs"))
	if err != nil {
		return err
	}
	for _, id := range jobs {
		if _, err := s.store.GetJob(ctx, "", id); errors.Is(err, store.ErrNotFound) {
			s.remove("jobs", id)
		} else if err != nil {
			return fmt.Errorf("sweep job %s: %w", id, err)
		}
	}
	assets, err := folders(filepath.Join(s.cfg.DataDir, "assets"))
	if err != nil {
		return err
	}
	for _, id := range assets {
		if _, err := s.store.GetAsset(ctx, "", id); errors.Is(err, store.ErrNotFound) {
			s.remove("assets", id)
			continue
		} else if err != nil {
			return fmt.Errorf("sweep asset %s: %w", id, err)
		}
		parts, _ := filepath.Glob(filepath.Join(s.cfg.DataDir, "assets", id, "*.part-*"))
		for _, p := range parts {
			os.Remove(p)
		}
	}
	return nil
}

// folders lists the folder names in dir; none if dir is missing.
func folders(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func (s *Server) remove(kind, id string) {
	if err := os.RemoveAll(filepath.Join(s.cfg.DataDir, kind, id)); err != nil {
		s.cfg.Log.Error("remove files", "kind", kind, "id", id, "err", err)
	}
}

// purgeEvery purges now and then every period until ctx ends.
func (s *Server) purgeEvery(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if err := s.purge(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.cfg.Log.Error("purge deleted records", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// purge forgets the records deleted more than keepDeleted before now, and
// the direct uploads that expired as long ago, and removes their files
// (again: a delete removed them already, unless it failed).
func (s *Server) purge(ctx context.Context, now time.Time) error {
	jobs, assets, err := s.store.Purge(ctx, now.Add(-keepDeleted))
	if err != nil {
		return err
	}
	for _, id := range jobs {
		s.remove("jobs", id)
	}
	for _, id := range assets {
		s.remove("assets", id)
	}
	if len(jobs)+len(assets) > 0 {
		s.cfg.Log.Info("purged deleted records", "jobs", len(jobs), "assets", len(assets))
	}
	return nil
}
