package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/room"
)

// Live-room moderation (Rooms): mutes, bans, blocked words and the audit log.

// Restriction returns the account's mute and ban in the shop (zero
// values when it has none).
func (r Rooms) Restriction(ctx context.Context, shopID, accountID int64) (room.Restriction, error) {
	res := room.Restriction{ShopID: shopID, AccountID: accountID}
	var until int64
	err := r.db.get(ctx, "SELECT muted_until, banned FROM room_restrictions WHERE shop_id = ? AND account_id = ?",
		[]any{shopID, accountID}, &until, &res.Banned)
	if errors.Is(err, commerce.ErrNotFound) {
		return res, nil
	}
	if until > 0 {
		res.MutedUntil = fromMicros(until)
	}
	return res, err
}

// SetMute mutes the account in the shop until until; a zero time lifts it.
func (r Rooms) SetMute(ctx context.Context, shopID, accountID int64, until time.Time) error {
	var us int64
	if !until.IsZero() {
		us = micros(until)
	}
	_, err := r.db.exec(ctx, `INSERT INTO room_restrictions (shop_id, account_id, muted_until, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (shop_id, account_id) DO UPDATE SET muted_until = excluded.muted_until, updated_at = excluded.updated_at`,
		shopID, accountID, us, micros(time.Now()))
	return err
}

// SetBan bans or unbans the account from the shop's streams.
func (r Rooms) SetBan(ctx context.Context, shopID, accountID int64, banned bool) error {
	_, err := r.db.exec(ctx, `INSERT INTO room_restrictions (shop_id, account_id, banned, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (shop_id, account_id) DO UPDATE SET banned = excluded.banned, updated_at = excluded.updated_at`,
		shopID, accountID, banned, micros(time.Now()))
	return err
}

// Restrictions lists the shop's bans and the mutes still running at now.
func (r Rooms) Restrictions(ctx context.Context, shopID int64, now time.Time) ([]room.Restriction, error) {
	rows, err := r.db.query(ctx, `SELECT account_id, muted_until, banned FROM room_restrictions
		WHERE shop_id = ? AND (banned OR muted_until > ?) ORDER BY account_id`, shopID, micros(now))
	if err != nil {
		return nil, fmt.Errorf("list room restrictions: %w", err)
	}
	defer rows.Close()
	var out []room.Restriction
	for rows.Next() {
		res := room.Restriction{ShopID: shopID}
		var until int64
		if err := rows.Scan(&res.AccountID, &until, &res.Banned); err != nil {
			return nil, err
		}
		if until > 0 {
			res.MutedUntil = fromMicros(until)
		}
		out = append(out, res)
	}
	return out, rows.Err()
}

// BlockedWords lists the shop's blocked words, sorted.
func (r Rooms) BlockedWords(ctx context.Context, shopID int64) ([]string, error) {
	out, err := queryAll(ctx, r.db.conn, func(scan func(...any) error) (string, error) {
		var w string
		err := scan(&w)
		return w, err
	}, "SELECT word FROM room_blocked_words WHERE shop_id = ? ORDER BY word", shopID)
	if err != nil {
		return nil, fmt.Errorf("list blocked words: %w", err)
	}
	return out, nil
}

// AddBlockedWord adds a word; adding an existing one is a no-op.
func (r Rooms) AddBlockedWord(ctx context.Context, shopID int64, word string) error {
	_, err := r.db.exec(ctx, `INSERT INTO room_blocked_words (shop_id, word, created_at) VALUES (?, ?, ?)
		ON CONFLICT (shop_id, word) DO NOTHING`, shopID, word, micros(time.Now()))
	return err
}

// RemoveBlockedWord removes a word; room.ErrNotFound when absent.
func (r Rooms) RemoveBlockedWord(ctx context.Context, shopID int64, word string) error {
	return roomNotFound(r.db.expectOne(r.db.exec(ctx, "DELETE FROM room_blocked_words WHERE shop_id = ? AND word = ?", shopID, word)))
}

// AppendAudit records one moderation action, assigning its ID.
func (r Rooms) AppendAudit(ctx context.Context, e room.AuditEntry) (room.AuditEntry, error) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = e.At.UTC().Truncate(time.Microsecond)
	err := r.db.get(ctx, `INSERT INTO moderation_log (shop_id, stream_id, actor_id, actor_name, action, target_id, comment_id, detail, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		[]any{e.ShopID, e.StreamID, e.ActorID, e.ActorName, e.Action, e.TargetID, e.CommentID, e.Detail, micros(e.At)}, &e.ID)
	if err != nil {
		return e, fmt.Errorf("append moderation log: %w", err)
	}
	return e, nil
}

// Audit lists the shop's audit log, newest first.
func (r Rooms) Audit(ctx context.Context, shopID, beforeID int64, limit int) ([]room.AuditEntry, error) {
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
	rows, err := r.db.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read moderation log: %w", err)
	}
	defer rows.Close()
	var out []room.AuditEntry
	for rows.Next() {
		var e room.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.ShopID, &e.StreamID, &e.ActorID, &e.ActorName, &e.Action, &e.TargetID, &e.CommentID, &e.Detail, &at); err != nil {
			return nil, err
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
