package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

// Live-room moderation: mutes, bans, blocked words and the audit log.

// RoomRestriction returns the account's mute and ban in the shop (zero
// values when it has none).
func (db *DB) RoomRestriction(ctx context.Context, shopID, accountID int64) (commerce.RoomRestriction, error) {
	r := commerce.RoomRestriction{ShopID: shopID, AccountID: accountID}
	var until int64
	err := db.get(ctx, "SELECT muted_until, banned FROM room_restrictions WHERE shop_id = ? AND account_id = ?",
		[]any{shopID, accountID}, &until, &r.Banned)
	if errors.Is(err, commerce.ErrNotFound) {
		return r, nil
	}
	if until > 0 {
		r.MutedUntil = fromMicros(until)
	}
	return r, err
}

// SetRoomMute mutes the account in the shop until until; a zero time lifts it.
func (db *DB) SetRoomMute(ctx context.Context, shopID, accountID int64, until time.Time) error {
	var us int64
	if !until.IsZero() {
		us = micros(until)
	}
	_, err := db.exec(ctx, `INSERT INTO room_restrictions (shop_id, account_id, muted_until, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (shop_id, account_id) DO UPDATE SET muted_until = excluded.muted_until, updated_at = excluded.updated_at`,
		shopID, accountID, us, micros(time.Now()))
	return err
}

// SetRoomBan bans or unbans the account from the shop's streams.
func (db *DB) SetRoomBan(ctx context.Context, shopID, accountID int64, banned bool) error {
	_, err := db.exec(ctx, `INSERT INTO room_restrictions (shop_id, account_id, banned, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (shop_id, account_id) DO UPDATE SET banned = excluded.banned, updated_at = excluded.updated_at`,
		shopID, accountID, banned, micros(time.Now()))
	return err
}

// RoomRestrictions lists the shop's bans and the mutes still running at now.
func (db *DB) RoomRestrictions(ctx context.Context, shopID int64, now time.Time) ([]commerce.RoomRestriction, error) {
	rows, err := db.query(ctx, `SELECT account_id, muted_until, banned FROM room_restrictions
		WHERE shop_id = ? AND (banned OR muted_until > ?) ORDER BY account_id`, shopID, micros(now))
	if err != nil {
		return nil, fmt.Errorf("list room restrictions: %w", err)
	}
	defer rows.Close()
	var out []commerce.RoomRestriction
	for rows.Next() {
		r := commerce.RoomRestriction{ShopID: shopID}
		var until int64
		if err := rows.Scan(&r.AccountID, &until, &r.Banned); err != nil {
			return nil, err
		}
		if until > 0 {
			r.MutedUntil = fromMicros(until)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RoomBlockedWords lists the shop's blocked words, sorted.
func (db *DB) RoomBlockedWords(ctx context.Context, shopID int64) ([]string, error) {
	rows, err := db.query(ctx, "SELECT word FROM room_blocked_words WHERE shop_id = ? ORDER BY word", shopID)
	if err != nil {
		return nil, fmt.Errorf("list blocked words: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var w string
		if err := rows.Scan(&w); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// AddRoomBlockedWord adds a word; adding an existing one is a no-op.
func (db *DB) AddRoomBlockedWord(ctx context.Context, shopID int64, word string) error {
	_, err := db.exec(ctx, `INSERT INTO room_blocked_words (shop_id, word, created_at) VALUES (?, ?, ?)
		ON CONFLICT (shop_id, word) DO NOTHING`, shopID, word, micros(time.Now()))
	return err
}

// RemoveRoomBlockedWord removes a word; commerce.ErrNotFound when absent.
func (db *DB) RemoveRoomBlockedWord(ctx context.Context, shopID int64, word string) error {
	return db.expectOne(db.exec(ctx, "DELETE FROM room_blocked_words WHERE shop_id = ? AND word = ?", shopID, word))
}

// AppendModeration records one moderation action, assigning its ID.
func (db *DB) AppendModeration(ctx context.Context, e commerce.ModerationEntry) (commerce.ModerationEntry, error) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = e.At.UTC().Truncate(time.Microsecond)
	err := db.get(ctx, `INSERT INTO moderation_log (shop_id, stream_id, actor_id, actor_name, action, target_id, comment_id, detail, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		[]any{e.ShopID, e.StreamID, e.ActorID, e.ActorName, e.Action, e.TargetID, e.CommentID, e.Detail, micros(e.At)}, &e.ID)
	if err != nil {
		return e, fmt.Errorf("append moderation log: %w", err)
	}
	return e, nil
}

// ModerationLog lists the shop's audit log, newest first.
func (db *DB) ModerationLog(ctx context.Context, shopID, beforeID int64, limit int) ([]commerce.ModerationEntry, error) {
	q := `SELECT id, shop_id, stream_id, actor_id, actor_name, action, target_id, comment_id, detail, at
		FROM moderation_log WHERE shop_id = ?`
	args := []any{shopID}
	if beforeID > 0 {
		q += " AND id < ?"
		args = append(args, beforeID)
	}
	q += " ORDER BY id DESC"
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read moderation log: %w", err)
	}
	defer rows.Close()
	var out []commerce.ModerationEntry
	for rows.Next() {
		var e commerce.ModerationEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.ShopID, &e.StreamID, &e.ActorID, &e.ActorName, &e.Action, &e.TargetID, &e.CommentID, &e.Detail, &at); err != nil {
			return nil, err
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
