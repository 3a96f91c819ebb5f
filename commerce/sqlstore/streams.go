package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

const streamColumns = `st.id, st.shop_id, s.handle, s.name, st.title, st.description, st.status, st.scheduled_at,
	st.started_at, st.ended_at, st.hashtags, st.created_at, st.updated_at`

const streamFrom = " FROM streams st JOIN shops s ON s.id = st.shop_id"

func scanStream(scan func(...any) error) (commerce.Stream, error) {
	var st commerce.Stream
	var tags string
	var scheduled, created, updated int64
	var started, ended sql.NullInt64
	err := scan(&st.ID, &st.ShopID, &st.ShopHandle, &st.ShopName, &st.Title, &st.Description, &st.Status, &scheduled,
		&started, &ended, &tags, &created, &updated)
	st.ScheduledAt, st.CreatedAt, st.UpdatedAt = fromMicros(scheduled), fromMicros(created), fromMicros(updated)
	if started.Valid {
		t := fromMicros(started.Int64)
		st.StartedAt = &t
	}
	if ended.Valid {
		t := fromMicros(ended.Int64)
		st.EndedAt = &t
	}
	st.Hashtags = splitTags(tags)
	st.ProductIDs = []int64{}
	st.PublishURL = commerce.PublishPath(st.ID)
	return st, err
}

func (c conn) replaceStreamLineup(ctx context.Context, st commerce.Stream) error {
	for _, q := range []string{"DELETE FROM stream_products WHERE stream_id = ?", "DELETE FROM stream_hashtags WHERE stream_id = ?"} {
		if _, err := c.exec(ctx, q, st.ID); err != nil {
			return err
		}
	}
	for i, id := range st.ProductIDs {
		if _, err := c.exec(ctx, "INSERT INTO stream_products (stream_id, product_id, position) VALUES (?, ?, ?)", st.ID, id, i); err != nil {
			return err
		}
	}
	for _, t := range st.Hashtags {
		if _, err := c.exec(ctx, "INSERT INTO stream_hashtags (tag, stream_id) VALUES (?, ?)", t, st.ID); err != nil {
			return err
		}
	}
	return nil
}

// CreateStream implements commerce.StreamStore.
func (db *DB) CreateStream(ctx context.Context, st *commerce.Stream, keyHash []byte) error {
	return db.inTx(ctx, func(tx conn) error {
		err := tx.get(ctx, `INSERT INTO streams (shop_id, title, description, status, scheduled_at, key_hash, hashtags, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			[]any{st.ShopID, st.Title, st.Description, st.Status, micros(st.ScheduledAt), keyHash,
				strings.Join(st.Hashtags, " "), micros(st.CreatedAt), micros(st.UpdatedAt)}, &st.ID)
		if err != nil {
			return fmt.Errorf("insert stream: %w", err)
		}
		return tx.replaceStreamLineup(ctx, *st)
	})
}

// StreamByID implements commerce.StreamStore.
func (db *DB) StreamByID(ctx context.Context, id int64) (commerce.Stream, error) {
	st, err := scanStream(func(dest ...any) error {
		return db.get(ctx, "SELECT "+streamColumns+streamFrom+" WHERE st.id = ?", []any{id}, dest...)
	})
	if err != nil {
		return commerce.Stream{}, err
	}
	sts := []commerce.Stream{st}
	if err := db.attachLineups(ctx, sts); err != nil {
		return commerce.Stream{}, err
	}
	return sts[0], nil
}

func (c conn) attachLineups(ctx context.Context, sts []commerce.Stream) error {
	if len(sts) == 0 {
		return nil
	}
	ids := make([]any, len(sts))
	at := make(map[int64]int, len(sts))
	for i, st := range sts {
		ids[i] = st.ID
		at[st.ID] = i
	}
	rows, err := c.query(ctx, "SELECT stream_id, product_id FROM stream_products WHERE stream_id IN ("+
		placeholders(len(ids))+") ORDER BY stream_id, position", ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var sid, pid int64
		if err := rows.Scan(&sid, &pid); err != nil {
			return err
		}
		sts[at[sid]].ProductIDs = append(sts[at[sid]].ProductIDs, pid)
	}
	return rows.Err()
}

// UpdateStream implements commerce.StreamStore.
func (db *DB) UpdateStream(ctx context.Context, st commerce.Stream) error {
	return db.inTx(ctx, func(tx conn) error {
		err := tx.expectOne(tx.exec(ctx, `UPDATE streams SET title = ?, description = ?, scheduled_at = ?, hashtags = ?, updated_at = ?
			WHERE id = ?`, st.Title, st.Description, micros(st.ScheduledAt), strings.Join(st.Hashtags, " "), micros(st.UpdatedAt), st.ID))
		if err != nil {
			return err
		}
		return tx.replaceStreamLineup(ctx, st)
	})
}

// SetStreamKeyHash implements commerce.StreamStore.
func (db *DB) SetStreamKeyHash(ctx context.Context, id int64, keyHash []byte) error {
	return db.expectOne(db.exec(ctx, "UPDATE streams SET key_hash = ? WHERE id = ?", keyHash, id))
}

// StreamKeyHash implements commerce.StreamStore.
func (db *DB) StreamKeyHash(ctx context.Context, id int64) ([]byte, error) {
	var h []byte
	err := db.get(ctx, "SELECT key_hash FROM streams WHERE id = ?", []any{id}, &h)
	return h, err
}

// SetStreamStatus implements commerce.StreamStore.
func (db *DB) SetStreamStatus(ctx context.Context, id int64, from []string, to string, at time.Time) (bool, error) {
	set := "status = ?, updated_at = ?"
	args := []any{to, micros(at)}
	switch to {
	case commerce.StreamLive:
		set += ", started_at = COALESCE(started_at, ?)"
		args = append(args, micros(at))
	case commerce.StreamEnded:
		set += ", ended_at = ?"
		args = append(args, micros(at))
	}
	args = append(args, id)
	for _, f := range from {
		args = append(args, f)
	}
	res, err := db.exec(ctx, "UPDATE streams SET "+set+" WHERE id = ? AND status IN ("+placeholders(len(from))+")", args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ListStreams implements commerce.StreamStore.
func (db *DB) ListStreams(ctx context.Context, q commerce.StreamQuery) ([]commerce.Stream, error) {
	before := q.BeforeID
	if before <= 0 {
		before = maxID
	}
	where := " WHERE st.id < ?"
	args := []any{before}
	if q.ShopID != 0 {
		where += " AND st.shop_id = ?"
		args = append(args, q.ShopID)
	}
	if len(q.Statuses) > 0 {
		where += " AND st.status IN (" + placeholders(len(q.Statuses)) + ")"
		for _, s := range q.Statuses {
			args = append(args, s)
		}
	}
	rows, err := db.query(ctx, "SELECT "+streamColumns+streamFrom+where+" ORDER BY st.id DESC LIMIT ?", append(args, q.Limit)...)
	if err != nil {
		return nil, err
	}
	var out []commerce.Stream
	for rows.Next() {
		st, err := scanStream(rows.Scan)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, db.attachLineups(ctx, out)
}
