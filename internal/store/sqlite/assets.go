package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/store"
)

const assetColumns = "id, owner, path, mime_type, size, created_at, name, status, sha256, expires_at, batch_id, batch_index"

// scanAsset reads a row of assetColumns.
func scanAsset(row interface{ Scan(...any) error }) (*store.Asset, error) {
	var (
		a                store.Asset
		created, expires int64
		status           string
	)
	err := row.Scan(&a.ID, &a.Owner, &a.Path, &a.MimeType, &a.Size, &created, &a.Name, &status, &a.SHA256,
		&expires, &a.BatchID, &a.BatchIndex)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	a.Status = store.AssetStatus(status)
	a.CreatedAt = fromMicros(created)
	if expires != 0 {
		a.ExpiresAt = fromMicros(expires)
	}
	return &a, nil
}

// assetArgs are the values of assetColumns.
func assetArgs(a *store.Asset) []any {
	status := a.Status
	if status == "" {
		status = store.AssetReady
	}
	var expires int64
	if !a.ExpiresAt.IsZero() {
		expires = micros(a.ExpiresAt)
	}
	return []any{a.ID, a.Owner, a.Path, a.MimeType, a.Size, micros(a.CreatedAt), a.Name, string(status), a.SHA256,
		expires, a.BatchID, a.BatchIndex}
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func insertAsset(ctx context.Context, db execer, a *store.Asset) error {
	_, err := db.ExecContext(ctx, `INSERT INTO assets (`+assetColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, assetArgs(a)...)
	return err
}

func (s *Store) CreateAsset(ctx context.Context, a *store.Asset) error {
	if err := insertAsset(ctx, s.write, a); err != nil {
		return fmt.Errorf("sqlite: create asset %s: %w", a.ID, err)
	}
	return nil
}

func (s *Store) GetAsset(ctx context.Context, owner, id string) (*store.Asset, error) {
	a, err := scanAsset(s.read.QueryRowContext(ctx, getAssetSQL, id, owner))
	if err != nil {
		return nil, fmt.Errorf("sqlite: get asset %s: %w", id, err)
	}
	return a, nil
}

func (s *Store) ListAssets(ctx context.Context, owner string, limit int, cursor string) ([]*store.Asset, string, error) {
	if limit < 1 {
		return nil, "", fmt.Errorf("sqlite: list assets: limit %d", limit)
	}
	args := []any{owner}
	if cursor != "" {
		created, id, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: list assets: %w", err)
		}
		args = append(args, created, id)
	}
	args = append(args, limit+1)
	assets, err := s.queryAssets(ctx, listAssetsSQL(cursor != ""), args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: list assets: %w", err)
	}
	if len(assets) <= limit {
		return assets, "", nil
	}
	assets = assets[:limit]
	return assets, encodeCursor(assets[limit-1].CreatedAt, assets[limit-1].ID), nil
}

func (s *Store) queryAssets(ctx context.Context, q string, args ...any) ([]*store.Asset, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Asset
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *Store) UpdateAsset(ctx context.Context, id string, fn func(*store.Asset) error) (*store.Asset, error) {
	a, err := s.updateAsset(ctx, id, fn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: update asset %s: %w", id, err)
	}
	return a, nil
}

func (s *Store) updateAsset(ctx context.Context, id string, fn func(*store.Asset) error) (*store.Asset, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	a, err := scanAsset(tx.QueryRowContext(ctx, `SELECT `+assetColumns+` FROM assets WHERE id = ? AND deleted_at IS NULL`, id))
	if err != nil {
		return nil, err
	}
	keep := *a
	if err := fn(a); err != nil {
		return nil, err
	}
	a.ID, a.Owner, a.CreatedAt, a.BatchID, a.BatchIndex = keep.ID, keep.Owner, keep.CreatedAt, keep.BatchID, keep.BatchIndex
	args := assetArgs(a)
	_, err = tx.ExecContext(ctx, `UPDATE assets SET path = ?, mime_type = ?, size = ?, name = ?, status = ?,
		sha256 = ?, expires_at = ? WHERE id = ?`, args[2], args[3], args[4], args[6], args[7], args[8], args[9], a.ID)
	if err != nil {
		return nil, err
	}
	return a, tx.Commit()
}

func (s *Store) DeleteAsset(ctx context.Context, owner, id string) (*store.Asset, error) {
	a, err := s.deleteAsset(ctx, owner, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: delete asset %s: %w", id, err)
	}
	return a, nil
}

// deleteAsset checks that no unfinished job reads the asset and hides it,
// in one transaction: a worker cannot claim a job on it in between.
func (s *Store) deleteAsset(ctx context.Context, owner, id string) (*store.Asset, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	a, err := scanAsset(tx.QueryRowContext(ctx, getAssetSQL, id, owner))
	if err != nil {
		return nil, err
	}
	var job string
	err = tx.QueryRowContext(ctx, jobReadingAssetSQL, string(clipping.JobPending), string(clipping.JobRunning), id).Scan(&job)
	switch {
	case err == nil:
		return nil, fmt.Errorf("job %s reads it: %w", job, store.ErrInUse)
	case !errors.Is(err, sql.ErrNoRows):
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE assets SET deleted_at = ? WHERE id = ?`, micros(time.Now()), id); err != nil {
		return nil, err
	}
	return a, tx.Commit()
}

func (s *Store) CreateBatch(ctx context.Context, b *store.Batch, assets []*store.Asset) error {
	if err := s.createBatch(ctx, b, assets); err != nil {
		return fmt.Errorf("sqlite: create batch %s: %w", b.ID, err)
	}
	return nil
}

func (s *Store) createBatch(ctx context.Context, b *store.Batch, assets []*store.Asset) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var completed int64
	if !b.CompletedAt.IsZero() {
		completed = micros(b.CompletedAt)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO batches (id, owner, title, total, created_at, completed_at)
		VALUES (?, ?, ?, ?, ?, ?)`, b.ID, b.Owner, b.Title, b.Total, micros(b.CreatedAt), completed)
	if err != nil {
		return err
	}
	for _, a := range assets {
		if err := insertAsset(ctx, tx, a); err != nil {
			return fmt.Errorf("asset %s: %w", a.ID, err)
		}
	}
	return tx.Commit()
}

func (s *Store) GetBatch(ctx context.Context, owner, id string) (*store.Batch, error) {
	var (
		b                  store.Batch
		created, completed int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT id, owner, title, total, created_at, completed_at FROM batches
		WHERE id = ?1 AND (?2 = '' OR owner = ?2)`, id, owner).
		Scan(&b.ID, &b.Owner, &b.Title, &b.Total, &created, &completed)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get batch %s: %w", id, err)
	}
	b.CreatedAt = fromMicros(created)
	if completed != 0 {
		b.CompletedAt = fromMicros(completed)
	}
	return &b, nil
}

func (s *Store) BatchAssets(ctx context.Context, id string) ([]*store.Asset, error) {
	assets, err := s.queryAssets(ctx, batchAssetsSQL, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: batch %s assets: %w", id, err)
	}
	return assets, nil
}

func (s *Store) CompleteBatch(ctx context.Context, id string, at time.Time) error {
	res, err := s.write.ExecContext(ctx, `UPDATE batches SET completed_at = ? WHERE id = ? AND completed_at = 0`, micros(at), id)
	if err != nil {
		return fmt.Errorf("sqlite: complete batch %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: complete batch %s: %w", id, err)
	} else if n == 0 {
		var one int
		if err := s.write.QueryRowContext(ctx, `SELECT 1 FROM batches WHERE id = ?`, id).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				err = store.ErrNotFound
			}
			return fmt.Errorf("sqlite: complete batch %s: %w", id, err)
		}
	}
	return nil
}

func (s *Store) Purge(ctx context.Context, before time.Time) (jobs, assets []string, err error) {
	jobs, assets, err = s.purgeDeleted(ctx, micros(before))
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: purge: %w", err)
	}
	return jobs, assets, nil
}

func (s *Store) purgeDeleted(ctx context.Context, before int64) (jobs, assets []string, err error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback()
	if jobs, err = deleteReturning(ctx, tx, purgeJobsSQL, before); err != nil {
		return nil, nil, err
	}
	assets, err = deleteReturning(ctx, tx, purgeAssetsSQL, before)
	if err != nil {
		return nil, nil, err
	}
	return jobs, assets, tx.Commit()
}

func deleteReturning(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
