package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/room"
)

// Rooms is the live rooms' system of record (room.Store): comments,
// settings and moderation, in tables room_* and moderation_log. Missing
// comments and words are room.ErrNotFound.
type Rooms struct{ db *DB }

var (
	_ room.Store          = Rooms{}
	_ room.CommentBatcher = Rooms{}
)

// Rooms returns the rooms' store on db.
func (db *DB) Rooms() Rooms { return Rooms{db} }

// roomNotFound turns the store's not-found into the room package's.
func roomNotFound(err error) error {
	if errors.Is(err, commerce.ErrNotFound) {
		return room.ErrNotFound
	}
	return err
}

const roomCommentColumns = "id, stream_id, shop_id, author_id, author_name, COALESCE(client_id, ''), body, status, created_at"

func scanRoomComment(scan func(...any) error) (room.Comment, error) {
	var c room.Comment
	var at int64
	err := scan(&c.ID, &c.StreamID, &c.ShopID, &c.AuthorID, &c.AuthorName, &c.ClientID, &c.Text, &c.Status, &at)
	c.CreatedAt = fromMicros(at)
	return c, err
}

// CreateComment stores c, assigning its ID, unless its author already
// sent a comment with the same ClientID to the stream: then it returns that
// one and created=false.
func (r Rooms) CreateComment(ctx context.Context, c room.Comment) (room.Comment, bool, error) {
	return r.db.conn.createRoomComment(ctx, c)
}

// CreateComments stores several comments in one transaction, each as
// CreateComment would: a busy room's comments cost one commit per batch.
func (r Rooms) CreateComments(ctx context.Context, cs []room.Comment) ([]room.Comment, []bool, error) {
	stored, created := make([]room.Comment, len(cs)), make([]bool, len(cs))
	err := r.db.inTx(ctx, func(tx conn) error {
		for i, c := range cs {
			var err error
			if stored[i], created[i], err = tx.createRoomComment(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	return stored, created, err
}

func (db conn) createRoomComment(ctx context.Context, c room.Comment) (room.Comment, bool, error) {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now()
	}
	c.CreatedAt = c.CreatedAt.UTC().Truncate(time.Microsecond)
	var clientID any
	if c.ClientID != "" {
		clientID = c.ClientID
	}
	err := db.get(ctx, `INSERT INTO room_comments (stream_id, shop_id, author_id, author_name, client_id, body, status, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (stream_id, author_id, client_id) DO NOTHING RETURNING id`,
		[]any{c.StreamID, c.ShopID, c.AuthorID, c.AuthorName, clientID, c.Text, c.Status, micros(c.CreatedAt)}, &c.ID)
	if err == nil {
		return c, true, nil
	}
	if !errors.Is(err, commerce.ErrNotFound) || c.ClientID == "" {
		return c, false, fmt.Errorf("insert room comment: %w", err)
	}
	prev, err := scanRoomComment(func(dest ...any) error {
		return db.get(ctx, "SELECT "+roomCommentColumns+" FROM room_comments WHERE stream_id = ? AND author_id = ? AND client_id = ?",
			[]any{c.StreamID, c.AuthorID, c.ClientID}, dest...)
	})
	if err != nil {
		return c, false, fmt.Errorf("find resent room comment: %w", err)
	}
	return prev, false, nil
}

// Comment returns one comment of a stream.
func (r Rooms) Comment(ctx context.Context, streamID, id int64) (room.Comment, error) {
	c, err := scanRoomComment(func(dest ...any) error {
		return r.db.get(ctx, "SELECT "+roomCommentColumns+" FROM room_comments WHERE stream_id = ? AND id = ?", []any{streamID, id}, dest...)
	})
	return c, roomNotFound(err)
}

// SetCommentStatus changes a comment's status and returns it.
func (r Rooms) SetCommentStatus(ctx context.Context, streamID, id int64, status string) (room.Comment, error) {
	c, err := scanRoomComment(func(dest ...any) error {
		return r.db.get(ctx, "UPDATE room_comments SET status = ? WHERE stream_id = ? AND id = ? RETURNING "+roomCommentColumns,
			[]any{status, streamID, id}, dest...)
	})
	return c, roomNotFound(err)
}

// Comments lists a stream's comments, newest first.
func (r Rooms) Comments(ctx context.Context, streamID int64, f room.CommentFilter) ([]room.Comment, error) {
	q := "SELECT " + roomCommentColumns + " FROM room_comments WHERE stream_id = ?"
	args := []any{streamID}
	if f.Status == "" {
		q += " AND status IN ('visible', 'held')"
	} else {
		q += " AND status = ?"
		args = append(args, f.Status)
	}
	if f.BeforeID > 0 {
		q += " AND id < ?"
		args = append(args, f.BeforeID)
	}
	if f.AfterID > 0 {
		q += " AND id > ?"
		args = append(args, f.AfterID)
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	out, err := queryAll(ctx, r.db.conn, scanRoomComment, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list room comments: %w", err)
	}
	return out, nil
}

// RoomSettings returns a stream's room settings (zero values if never set).
func (r Rooms) RoomSettings(ctx context.Context, streamID int64) (room.RoomSettings, error) {
	s := room.RoomSettings{StreamID: streamID}
	err := r.db.get(ctx, "SELECT slow_mode_seconds, pinned_product_id, likes FROM room_settings WHERE stream_id = ?",
		[]any{streamID}, &s.SlowModeSeconds, &s.PinnedProductID, &s.Likes)
	if errors.Is(err, commerce.ErrNotFound) {
		return s, nil
	}
	return s, err
}

// SetSlowMode sets the stream's slow mode in seconds (0 = off).
func (r Rooms) SetSlowMode(ctx context.Context, streamID int64, seconds int) error {
	_, err := r.db.exec(ctx, `INSERT INTO room_settings (stream_id, slow_mode_seconds) VALUES (?, ?)
		ON CONFLICT (stream_id) DO UPDATE SET slow_mode_seconds = excluded.slow_mode_seconds`, streamID, seconds)
	return err
}

// SetPinned pins a product in the stream's room (0 unpins).
func (r Rooms) SetPinned(ctx context.Context, streamID, productID int64) error {
	_, err := r.db.exec(ctx, `INSERT INTO room_settings (stream_id, pinned_product_id) VALUES (?, ?)
		ON CONFLICT (stream_id) DO UPDATE SET pinned_product_id = excluded.pinned_product_id`, streamID, productID)
	return err
}

// AddLikes adds n likes to the stream and returns its new total.
func (r Rooms) AddLikes(ctx context.Context, streamID, n int64) (int64, error) {
	var total int64
	err := r.db.get(ctx, `INSERT INTO room_settings (stream_id, likes) VALUES (?, ?)
		ON CONFLICT (stream_id) DO UPDATE SET likes = room_settings.likes + excluded.likes RETURNING likes`,
		[]any{streamID, n}, &total)
	return total, err
}
