package sqlstore

import (
	"context"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

// ClaimIdempotencyKey implements commerce.IdempotencyStore.
func (db *DB) ClaimIdempotencyKey(ctx context.Context, rec commerce.IdempotencyRecord) (commerce.IdempotencyRecord, bool, error) {
	res, err := db.exec(ctx, `INSERT INTO idempotency_keys (account_id, idem_key, scope, request_hash, locked_until, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, idem_key) DO NOTHING`,
		rec.AccountID, rec.Key, rec.Scope, rec.RequestHash, micros(rec.LockedUntil), micros(rec.CreatedAt))
	if err != nil {
		return commerce.IdempotencyRecord{}, false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return rec, err == nil, err
	}
	got := commerce.IdempotencyRecord{AccountID: rec.AccountID, Key: rec.Key}
	var locked, created int64
	err = db.get(ctx, `SELECT scope, request_hash, done, response_status, response_body, resource_id, locked_until, created_at
		FROM idempotency_keys WHERE account_id = ? AND idem_key = ?`, []any{rec.AccountID, rec.Key},
		&got.Scope, &got.RequestHash, &got.Done, &got.Status, &got.Body, &got.ResourceID, &locked, &created)
	got.LockedUntil, got.CreatedAt = fromMicros(locked), fromMicros(created)
	return got, false, err
}

// TakeOverIdempotencyKey implements commerce.IdempotencyStore.
func (db *DB) TakeOverIdempotencyKey(ctx context.Context, accountID int64, key string, expired, until time.Time) (bool, error) {
	res, err := db.exec(ctx, `UPDATE idempotency_keys SET locked_until = ?
		WHERE account_id = ? AND idem_key = ? AND NOT done AND locked_until = ?`, micros(until), accountID, key, micros(expired))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// FinishIdempotencyKey implements commerce.IdempotencyStore.
func (db *DB) FinishIdempotencyKey(ctx context.Context, accountID int64, key string, status int, body []byte) error {
	return db.expectOne(db.exec(ctx, `UPDATE idempotency_keys SET done = TRUE, response_status = ?, response_body = ?
		WHERE account_id = ? AND idem_key = ?`, status, body, accountID, key))
}

// ReleaseIdempotencyKey implements commerce.IdempotencyStore. A key that
// records a resource is never deleted, whatever the caller believed: the
// resource was committed, so the key's lease ends instead and a retry
// resumes the work on it.
func (db *DB) ReleaseIdempotencyKey(ctx context.Context, accountID int64, key string, at time.Time) error {
	_, err := db.exec(ctx, "DELETE FROM idempotency_keys WHERE account_id = ? AND idem_key = ? AND NOT done AND resource_id = 0", accountID, key)
	if err != nil {
		return err
	}
	return db.UnlockIdempotencyKey(ctx, accountID, key, at)
}

// UnlockIdempotencyKey implements commerce.IdempotencyStore.
func (db *DB) UnlockIdempotencyKey(ctx context.Context, accountID int64, key string, at time.Time) error {
	_, err := db.exec(ctx, "UPDATE idempotency_keys SET locked_until = ? WHERE account_id = ? AND idem_key = ? AND NOT done",
		micros(at), accountID, key)
	return err
}

// AbandonedIdempotencyKeys implements commerce.IdempotencyStore.
func (db *DB) AbandonedIdempotencyKeys(ctx context.Context, scope string, lockedBefore time.Time, limit int) ([]commerce.IdempotencyRecord, error) {
	return db.abandonedKeys(ctx, "scope = ?", []any{scope}, lockedBefore, limit)
}

// abandonedKeys lists unfinished keys whose work started (a resource was
// recorded) and whose lease lapsed before lockedBefore, oldest lease first,
// among the scopes that scopeCond (with its args) selects.
func (db *DB) abandonedKeys(ctx context.Context, scopeCond string, scopeArgs []any, lockedBefore time.Time, limit int) ([]commerce.IdempotencyRecord, error) {
	rows, err := db.query(ctx, `SELECT account_id, idem_key, scope, request_hash, resource_id, locked_until, created_at
		FROM idempotency_keys WHERE `+scopeCond+` AND NOT done AND resource_id <> 0 AND locked_until < ?
		ORDER BY locked_until LIMIT ?`, append(scopeArgs, micros(lockedBefore), limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commerce.IdempotencyRecord
	for rows.Next() {
		var r commerce.IdempotencyRecord
		var locked, created int64
		if err := rows.Scan(&r.AccountID, &r.Key, &r.Scope, &r.RequestHash, &r.ResourceID, &locked, &created); err != nil {
			return nil, err
		}
		r.LockedUntil, r.CreatedAt = fromMicros(locked), fromMicros(created)
		out = append(out, r)
	}
	return out, rows.Err()
}

// PurgeIdempotencyKeys implements commerce.IdempotencyStore. The inner
// select walks the created_at index.
func (db *DB) PurgeIdempotencyKeys(ctx context.Context, createdBefore time.Time, limit int) (int, error) {
	res, err := db.exec(ctx, `DELETE FROM idempotency_keys WHERE (account_id, idem_key) IN (
		SELECT account_id, idem_key FROM idempotency_keys WHERE created_at < ? AND done LIMIT ?)`, micros(createdBefore), limit)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
