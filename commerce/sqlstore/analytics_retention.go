package sqlstore

import (
	"context"
	"time"

	"github.com/liveshop/liveshop/commerce/discovery"
)

// RolledWatch implements commerce.RetentionStore.
func (db *DB) RolledWatch(ctx context.Context, f discovery.AnalyticsFilter, group int) ([]discovery.WatchRollup, error) {
	f.Kinds, f.ProductID = []discovery.InteractionKind{discovery.InteractionWatch}, 0
	key := "0"
	switch group {
	case discovery.GroupDay:
		key = "day"
	case discovery.GroupStream:
		key = "stream_id"
	}
	where, args := analyticsWhere(f, true)
	q := "SELECT CAST(" + key + ` AS BIGINT), CAST(COALESCE(SUM(viewers), 0) AS BIGINT), COALESCE(MAX(peak), 0),
		CAST(COALESCE(SUM(watch_micros), 0) AS BIGINT) FROM interaction_days` + where
	if group != discovery.GroupNone {
		q += " GROUP BY " + key
	}
	return queryAll(ctx, db.conn, func(scan func(...any) error) (discovery.WatchRollup, error) {
		var r discovery.WatchRollup
		err := scan(&r.Key, &r.Viewers, &r.Peak, &r.WatchMicros)
		return r, err
	}, q, args...)
}

// RolledUntil implements commerce.RetentionStore.
func (db *DB) RolledUntil(ctx context.Context) (time.Time, time.Time, bool, error) {
	var until int64
	if err := db.get(ctx, "SELECT rolled_until FROM interaction_rollup WHERE id = 1", nil, &until); err != nil {
		return time.Time{}, time.Time{}, false, err
	}
	var first *int64
	if err := db.get(ctx, "SELECT MIN(at) FROM interactions WHERE at >= ?", []any{until}, &first); err != nil {
		return time.Time{}, time.Time{}, false, err
	}
	if first == nil {
		return timeOrZero(until), time.Time{}, false, nil
	}
	return timeOrZero(until), fromMicros(*first), true, nil
}

// RollUpDay implements commerce.RetentionStore. Moving the watermark
// first makes a second node's attempt wait for this one and then change
// nothing.
func (db *DB) RollUpDay(ctx context.Context, until, day time.Time, peaks map[int64]int64) (bool, error) {
	start := micros(day)
	end := start + dayMicros
	done := false
	err := db.inTx(ctx, func(tx conn) error {
		done = false
		res, err := tx.exec(ctx, "UPDATE interaction_rollup SET rolled_until = ? WHERE id = 1 AND rolled_until = ?",
			end, microsOrZero(until))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO interaction_days (day, shop_id, stream_id, product_id, kind, events, viewers,
			orders, quantity, amount_minor, watch_micros)
			SELECT ?, shop_id, stream_id, product_id, kind, COUNT(*),
				COUNT(DISTINCT CASE WHEN account_id <> 0 THEN account_id END) + SUM(CASE WHEN account_id = 0 THEN 1 ELSE 0 END),
				COUNT(DISTINCT CASE WHEN order_id <> 0 THEN order_id END), SUM(quantity), SUM(amount_minor),
				SUM(CASE WHEN kind = 'watch' AND started_at > 0 AND at > started_at THEN at - started_at ELSE 0 END)
			FROM interactions WHERE at >= ? AND at < ? GROUP BY shop_id, stream_id, product_id, kind`,
			start/dayMicros, start, end)
		if err != nil {
			return err
		}
		for stream, peak := range peaks {
			if _, err := tx.exec(ctx, `UPDATE interaction_days SET peak = ? WHERE day = ? AND kind = 'watch'
				AND stream_id = ? AND stream_id <> 0`, peak, start/dayMicros, stream); err != nil {
				return err
			}
		}
		done = true
		return nil
	})
	return done, err
}

// PurgeInteractions implements commerce.RetentionStore; the inner select
// walks interactions_at.
func (db *DB) PurgeInteractions(ctx context.Context, before time.Time, limit int) (int, error) {
	return db.purge(ctx, `DELETE FROM interactions WHERE id IN (
		SELECT id FROM interactions WHERE at < ? ORDER BY at LIMIT ?)`, micros(before), limit)
}

// PurgeOpenWatches implements commerce.RetentionStore.
func (db *DB) PurgeOpenWatches(ctx context.Context, before time.Time, limit int) (int, error) {
	return db.purge(ctx, `DELETE FROM watch_open WHERE session IN (
		SELECT session FROM watch_open WHERE seen_at < ? LIMIT ?)`, micros(before), limit)
}

// PurgeRecentItems implements commerce.RetentionStore.
func (db *DB) PurgeRecentItems(ctx context.Context, before time.Time, limit int) (int, error) {
	return db.purge(ctx, `DELETE FROM discovery_recent WHERE (account_id, kind, item_id) IN (
		SELECT account_id, kind, item_id FROM discovery_recent WHERE at < ? LIMIT ?)`, micros(before), limit)
}

// PurgeFadedScores implements commerce.RetentionStore.
func (db *DB) PurgeFadedScores(ctx context.Context, pairs, affinity float64, limit int) (int, error) {
	n, err := db.purge(ctx, `DELETE FROM discovery_pairs WHERE (a_kind, a_id, b_kind, b_id) IN (
		SELECT a_kind, a_id, b_kind, b_id FROM discovery_pairs WHERE heat < ? LIMIT ?)`, pairs, limit)
	if err != nil || n >= limit {
		return n, err
	}
	m, err := db.purge(ctx, `DELETE FROM discovery_affinity WHERE (account_id, tag) IN (
		SELECT account_id, tag FROM discovery_affinity WHERE heat < ? LIMIT ?)`, affinity, limit-n)
	return n + m, err
}

func (db *DB) purge(ctx context.Context, q string, cutoff any, limit int) (int, error) {
	res, err := db.exec(ctx, q, cutoff, limit)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
