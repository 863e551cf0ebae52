package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/clipmill/clipmill/internal/store"
)

const deliveryColumns = "id, job_id, url, event_type, body, attempts, next_at, created_at, last_error"

func addDelivery(ctx context.Context, db execer, d *store.Delivery) error {
	_, err := db.ExecContext(ctx, `INSERT INTO outbox (`+deliveryColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.JobID, d.URL, d.EventType, d.Body, d.Attempts, micros(d.NextAt), micros(d.CreatedAt), d.LastError)
	if err != nil {
		return fmt.Errorf("queue delivery %s: %w", d.ID, err)
	}
	return nil
}

func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Delivery, error) {
	ds, err := s.claimDeliveries(ctx, now, lease, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim deliveries: %w", err)
	}
	return ds, nil
}

func (s *Store) claimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Delivery, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, claimDeliveriesSQL, micros(now.Add(lease)), micros(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ds []*store.Delivery
	for rows.Next() {
		var (
			d               store.Delivery
			next, createdAt int64
		)
		if err := rows.Scan(&d.ID, &d.JobID, &d.URL, &d.EventType, &d.Body, &d.Attempts, &next, &createdAt, &d.LastError); err != nil {
			return nil, err
		}
		d.NextAt, d.CreatedAt = fromMicros(next), fromMicros(createdAt)
		ds = append(ds, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	return ds, tx.Commit()
}

func (s *Store) RetryDelivery(ctx context.Context, id string, at time.Time, lastErr string) error {
	res, err := s.write.ExecContext(ctx, `UPDATE outbox SET next_at = ?, last_error = ? WHERE id = ?`, micros(at), lastErr, id)
	if err != nil {
		return fmt.Errorf("sqlite: retry delivery %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: retry delivery %s: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("sqlite: retry delivery %s: %w", id, store.ErrNotFound)
	}
	return nil
}

func (s *Store) DeleteDelivery(ctx context.Context, id string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM outbox WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: delete delivery %s: %w", id, err)
	}
	return nil
}
