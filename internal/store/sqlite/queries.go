package sqlite

// The queries that read or delete rows by anything but a literal primary
// key are written here, once: the store runs them and TestQueryPlans
// explains the very same text, so a change that loses an index fails a
// test. Simple writes by primary key stay where they are used.

const (
	// getJobSQL reads a visible job; ?2 is its owner, or '' for any.
	getJobSQL = `SELECT ` + jobColumns + ` FROM jobs
		WHERE id = ?1 AND deleted_at IS NULL AND (?2 = '' OR owner = ?2)`

	// jobByIDSQL reads a visible job of any owner, to update it.
	jobByIDSQL = `SELECT ` + jobColumns + ` FROM jobs WHERE id = ? AND deleted_at IS NULL`

	// claimJobSQL reads the oldest job of a status (pending, to claim it).
	claimJobSQL = `SELECT ` + jobColumns + ` FROM jobs
		WHERE status = ? AND deleted_at IS NULL ORDER BY created_at, id LIMIT 1`

	// jobsWithStatusSQL reads the jobs of a status, oldest first.
	jobsWithStatusSQL = `SELECT ` + jobColumns + ` FROM jobs
		WHERE status = ? AND deleted_at IS NULL ORDER BY created_at, id`

	// jobReadingAssetSQL finds a job of one of two statuses whose video is
	// the asset.
	jobReadingAssetSQL = `SELECT id FROM jobs
		WHERE status IN (?, ?) AND deleted_at IS NULL AND json_extract(request, '$.video.asset_id') = ? LIMIT 1`

	// purgeJobsSQL deletes the jobs hidden before a time.
	purgeJobsSQL = `DELETE FROM jobs WHERE deleted_at IS NOT NULL AND deleted_at <= ? RETURNING id`

	// getAssetSQL reads a visible asset; ?2 is its owner, or '' for any.
	getAssetSQL = `SELECT ` + assetColumns + ` FROM assets
		WHERE id = ?1 AND deleted_at IS NULL AND (?2 = '' OR owner = ?2)`

	// batchAssetsSQL reads the visible assets of a batch in their order.
	batchAssetsSQL = `SELECT ` + assetColumns + ` FROM assets
		WHERE batch_id = ? AND batch_id != '' AND deleted_at IS NULL ORDER BY batch_index`

	// purgeAssetsSQL deletes the assets hidden, or left unfinished and
	// expired, before a time.
	purgeAssetsSQL = `DELETE FROM assets
		WHERE (deleted_at IS NOT NULL AND deleted_at <= ?1) OR (status != 'ready' AND expires_at <= ?1) RETURNING id`

	// purgeRequestsSQL deletes the idempotency keys created before a time.
	purgeRequestsSQL = `DELETE FROM requests WHERE created_at <= ?`

	// claimDeliveriesSQL leases up to ?3 deliveries due at ?2 until ?1.
	claimDeliveriesSQL = `UPDATE outbox SET attempts = attempts + 1, next_at = ?1
		WHERE id IN (SELECT id FROM outbox WHERE next_at <= ?2 ORDER BY next_at, id LIMIT ?3)
		RETURNING ` + deliveryColumns
)

// listJobsSQL pages through the visible jobs, newest first: of one owner
// if owner, after a cursor if after. Its arguments are the owner if any,
// the cursor's created_at and id if any, and the limit.
func listJobsSQL(owner, after bool) string {
	q := `SELECT ` + jobColumns + ` FROM jobs WHERE deleted_at IS NULL`
	if owner {
		q += ` AND owner = ?`
	}
	if after {
		q += ` AND (created_at, id) < (?, ?)`
	}
	return q + ` ORDER BY created_at DESC, id DESC LIMIT ?`
}

// listAssetsSQL pages through an owner's ready assets, newest first, after
// a cursor if after. Its arguments are the owner, the cursor's created_at
// and id if any, and the limit.
func listAssetsSQL(after bool) string {
	q := `SELECT ` + assetColumns + ` FROM assets WHERE deleted_at IS NULL AND status = 'ready' AND owner = ?`
	if after {
		q += ` AND (created_at, id) < (?, ?)`
	}
	return q + ` ORDER BY created_at DESC, id DESC LIMIT ?`
}
