package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/discovery"
)

// followerCount reads a shop's follower count (0 without a row).
func (c conn) followerCount(ctx context.Context, shopID int64) (int64, error) {
	var n int64
	err := c.get(ctx, "SELECT followers FROM shop_follower_counts WHERE shop_id = ?", []any{shopID}, &n)
	if err == commerce.ErrNotFound {
		return 0, nil
	}
	return n, err
}

// Follow implements commerce.FollowStore.
func (db *DB) Follow(ctx context.Context, accountID, shopID int64, at time.Time) (created bool, followers int64, err error) {
	err = db.inTx(ctx, func(tx conn) error {
		res, err := tx.exec(ctx, `INSERT INTO follows (account_id, shop_id, created_at) VALUES (?, ?, ?)
			ON CONFLICT (account_id, shop_id) DO NOTHING`, accountID, shopID, micros(at))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if created = n == 1; created {
			if _, err := tx.exec(ctx, `INSERT INTO shop_follower_counts (shop_id, followers) VALUES (?, 1)
				ON CONFLICT (shop_id) DO UPDATE SET followers = shop_follower_counts.followers + 1`, shopID); err != nil {
				return err
			}
		}
		followers, err = tx.followerCount(ctx, shopID)
		return err
	})
	return created, followers, err
}

// Unfollow implements commerce.FollowStore.
func (db *DB) Unfollow(ctx context.Context, accountID, shopID int64) (removed bool, followers int64, err error) {
	err = db.inTx(ctx, func(tx conn) error {
		res, err := tx.exec(ctx, "DELETE FROM follows WHERE account_id = ? AND shop_id = ?", accountID, shopID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if removed = n == 1; removed {
			if _, err := tx.exec(ctx, "UPDATE shop_follower_counts SET followers = followers - 1 WHERE shop_id = ?", shopID); err != nil {
				return err
			}
		}
		followers, err = tx.followerCount(ctx, shopID)
		return err
	})
	return removed, followers, err
}

// FollowState implements commerce.FollowStore.
func (db *DB) FollowState(ctx context.Context, accountID, shopID int64) (bool, int64, error) {
	n, err := db.followerCount(ctx, shopID)
	if err != nil || accountID == 0 {
		return false, n, err
	}
	var one int
	err = db.get(ctx, "SELECT 1 FROM follows WHERE account_id = ? AND shop_id = ?", []any{accountID, shopID}, &one)
	if err == commerce.ErrNotFound {
		return false, n, nil
	}
	return err == nil, n, err
}

// FollowedShops implements commerce.FollowStore.
func (db *DB) FollowedShops(ctx context.Context, accountID int64, before time.Time, beforeShop int64, limit int) ([]discovery.FollowedShop, error) {
	q := `SELECT f.shop_id, s.handle, s.name, s.logo_image, COALESCE(c.followers, 0), f.created_at,
		(SELECT MAX(st.id) FROM streams st WHERE st.shop_id = f.shop_id AND st.status = 'live')
		FROM follows f JOIN shops s ON s.id = f.shop_id
		LEFT JOIN shop_follower_counts c ON c.shop_id = f.shop_id
		WHERE f.account_id = ?`
	args := []any{accountID}
	if beforeShop != 0 {
		q += " AND (f.created_at < ? OR (f.created_at = ? AND f.shop_id < ?))"
		args = append(args, micros(before), micros(before), beforeShop)
	}
	q += " ORDER BY f.created_at DESC, f.shop_id DESC LIMIT ?"
	rows, err := db.query(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []discovery.FollowedShop
	for rows.Next() {
		var f discovery.FollowedShop
		var logo string
		var at int64
		var live sql.NullInt64
		if err := rows.Scan(&f.ShopID, &f.Handle, &f.Name, &logo, &f.Followers, &at, &live); err != nil {
			return nil, err
		}
		if logo != "" {
			f.LogoURL = commerce.ImageURL(logo)
		}
		f.FollowedAt, f.LiveStreamID = fromMicros(at), live.Int64
		out = append(out, f)
	}
	return out, rows.Err()
}

// FollowedShopIDs implements commerce.FollowStore.
func (db *DB) FollowedShopIDs(ctx context.Context, accountID int64, limit int) ([]int64, error) {
	return db.ids(ctx, "SELECT shop_id FROM follows WHERE account_id = ? ORDER BY created_at DESC LIMIT ?", accountID, limit)
}

// ids runs a query of one integer column.
func (c conn) ids(ctx context.Context, q string, args ...any) ([]int64, error) {
	return queryAll(ctx, c, func(scan func(...any) error) (int64, error) {
		var id int64
		err := scan(&id)
		return id, err
	}, q, args...)
}

// FollowersAmong implements commerce.FollowStore.
func (db *DB) FollowersAmong(ctx context.Context, shopID int64, accountIDs []int64) ([]int64, error) {
	var out []int64
	err := eachChunk(toAny(accountIDs), inChunk, func(ids []any) error {
		got, err := db.ids(ctx, "SELECT account_id FROM follows WHERE shop_id = ? AND account_id IN ("+
			placeholders(len(ids))+")", append([]any{shopID}, ids...)...)
		out = append(out, got...)
		return err
	})
	return out, err
}

// streamSummaryColumns are what streamSummaries scans; the query joins
// streams st with shops s.
const streamSummaryColumns = `st.id, st.shop_id, s.handle, s.name, st.title, st.status, st.scheduled_at, st.started_at, st.hashtags`

// streamSummaries runs a query selecting streamSummaryColumns.
func (c conn) streamSummaries(ctx context.Context, q string, args ...any) ([]discovery.StreamSummary, error) {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []discovery.StreamSummary
	for rows.Next() {
		var st discovery.StreamSummary
		var scheduled int64
		var started sql.NullInt64
		var tags string
		if err := rows.Scan(&st.ID, &st.ShopID, &st.ShopHandle, &st.ShopName, &st.Title, &st.Status, &scheduled, &started, &tags); err != nil {
			return nil, err
		}
		st.ScheduledAt = fromMicros(scheduled)
		if started.Valid {
			t := fromMicros(started.Int64)
			st.StartedAt = &t
		}
		st.Hashtags = splitTags(tags)
		out = append(out, st)
	}
	return out, rows.Err()
}

// FollowedLive implements commerce.FollowStore.
func (db *DB) FollowedLive(ctx context.Context, accountID int64, limit int) ([]discovery.StreamSummary, error) {
	return db.streamSummaries(ctx, "SELECT "+streamSummaryColumns+` FROM follows f
		JOIN streams st ON st.shop_id = f.shop_id AND st.status = 'live'
		JOIN shops s ON s.id = st.shop_id
		WHERE f.account_id = ? ORDER BY st.started_at DESC, st.id DESC LIMIT ?`, accountID, limit)
}
