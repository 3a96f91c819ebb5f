package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

const invitationColumns = "i.id, i.shop_id, i.email, i.status, i.invited_by, i.account_id, i.created_at, i.expires_at, i.answered_at"

func scanInvitation(scan func(...any) error, now time.Time) (commerce.ModeratorInvitation, error) {
	var inv commerce.ModeratorInvitation
	var account, answered sql.NullInt64
	var created, expires int64
	if err := scan(&inv.ID, &inv.ShopID, &inv.Email, &inv.Status, &inv.InvitedBy, &account, &created, &expires, &answered); err != nil {
		return inv, err
	}
	inv.AccountID = account.Int64
	inv.CreatedAt, inv.ExpiresAt = fromMicros(created), fromMicros(expires)
	if answered.Valid {
		at := fromMicros(answered.Int64)
		inv.AnsweredAt = &at
	}
	inv.Settle(now)
	return inv, nil
}

// invitationWhere reads one invitation as stored (not settled: callers
// compare its expiry themselves).
func (c conn) invitationWhere(ctx context.Context, where string, args ...any) (commerce.ModeratorInvitation, error) {
	return scanInvitation(func(dest ...any) error {
		return c.get(ctx, "SELECT "+invitationColumns+" FROM moderator_invitations i WHERE "+where, args, dest...)
	}, time.Time{})
}

// forNoKeyUpdate locks a row on PostgreSQL against other writers without
// blocking inserts that reference it (FOR UPDATE would hold up every new
// product or stream of a locked shop); SQLite transactions hold the
// database's one write lock already.
func (c conn) forNoKeyUpdate() string {
	if c.dialect != Postgres {
		return ""
	}
	return " FOR NO KEY UPDATE"
}

// InviteModerator implements commerce.InvitationStore. The shop's row is
// locked first, so concurrent invitations of one shop take turns: the bound
// on pending invitations holds and a duplicate finds the first.
func (db *DB) InviteModerator(ctx context.Context, inv commerce.ModeratorInvitation, maxPending int) (commerce.ModeratorInvitation, error) {
	var out commerce.ModeratorInvitation
	err := db.inTx(ctx, func(tx conn) error {
		var one int
		if err := tx.get(ctx, "SELECT 1 FROM shops WHERE id = ?"+tx.forNoKeyUpdate(), []any{inv.ShopID}, &one); err != nil {
			return err
		}
		have, err := tx.invitationWhere(ctx, "i.shop_id = ? AND i.email = ? AND i.status = 'pending'", inv.ShopID, inv.Email)
		switch {
		case err == nil && have.ExpiresAt.After(inv.CreatedAt):
			out = have
			return nil
		case err == nil:
			if _, err := tx.exec(ctx, "UPDATE moderator_invitations SET status = 'expired' WHERE id = ?", have.ID); err != nil {
				return fmt.Errorf("expire invitation %d: %w", have.ID, err)
			}
		case !errors.Is(err, commerce.ErrNotFound):
			return err
		}
		var pending int
		if err := tx.get(ctx, "SELECT COUNT(*) FROM moderator_invitations WHERE shop_id = ? AND status = 'pending' AND expires_at > ?",
			[]any{inv.ShopID, micros(inv.CreatedAt)}, &pending); err != nil {
			return err
		}
		if pending >= maxPending {
			return commerce.ErrTooManyInvitations
		}
		out = inv
		out.Status = commerce.InvitationPending
		return tx.get(ctx, `INSERT INTO moderator_invitations (shop_id, email, status, invited_by, created_at, expires_at)
			VALUES (?, ?, 'pending', ?, ?, ?) RETURNING id`,
			[]any{inv.ShopID, inv.Email, inv.InvitedBy, micros(inv.CreatedAt), micros(inv.ExpiresAt)}, &out.ID)
	})
	return out, err
}

// ShopInvitations implements commerce.InvitationStore.
func (db *DB) ShopInvitations(ctx context.Context, shopID, beforeID int64, limit int, now time.Time) ([]commerce.ModeratorInvitation, error) {
	if beforeID <= 0 {
		beforeID = maxID
	}
	rows, err := db.query(ctx, "SELECT "+invitationColumns+` FROM moderator_invitations i
		WHERE i.shop_id = ? AND i.id < ? ORDER BY i.id DESC LIMIT ?`, shopID, beforeID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commerce.ModeratorInvitation
	for rows.Next() {
		inv, err := scanInvitation(rows.Scan, now)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}

// ReceivedInvitations implements commerce.InvitationStore.
func (db *DB) ReceivedInvitations(ctx context.Context, email string, now time.Time, limit int) ([]commerce.ReceivedInvitation, error) {
	rows, err := db.query(ctx, "SELECT i.id, i.created_at, i.expires_at, "+shopColumns+` FROM moderator_invitations i
		JOIN shops s ON s.id = i.shop_id
		WHERE i.email = ? AND i.status = 'pending' AND i.expires_at > ? ORDER BY i.id DESC LIMIT ?`, email, micros(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commerce.ReceivedInvitation
	for rows.Next() {
		var inv commerce.ReceivedInvitation
		var created, expires int64
		inv.Shop, err = scanShop(func(dest ...any) error {
			return rows.Scan(append([]any{&inv.ID, &created, &expires}, dest...)...)
		})
		if err != nil {
			return nil, err
		}
		inv.CreatedAt, inv.ExpiresAt = fromMicros(created), fromMicros(expires)
		out = append(out, inv)
	}
	return out, rows.Err()
}

// CountReceivedInvitations implements commerce.InvitationStore.
func (db *DB) CountReceivedInvitations(ctx context.Context, email string, now time.Time) (int, error) {
	var n int
	err := db.get(ctx, "SELECT COUNT(*) FROM moderator_invitations WHERE email = ? AND status = 'pending' AND expires_at > ?",
		[]any{email, micros(now)}, &n)
	return n, err
}

// CloseInvitation implements commerce.InvitationStore. The invitation's row
// is read FOR UPDATE on PostgreSQL, so of two concurrent closes (an accept
// and a revoke, or a double-clicked accept) the second waits for the first
// to commit and then finds it closed: the invitation changes once, and an
// accepted invitation and its appointment are written together.
func (db *DB) CloseInvitation(ctx context.Context, c commerce.InvitationClose) (commerce.ModeratorInvitation, error) {
	where, owner := "i.id = ? AND i.shop_id = ?", any(c.ShopID)
	if c.ShopID == 0 {
		where, owner = "i.id = ? AND i.email = ?", c.Email
	}
	var inv commerce.ModeratorInvitation
	err := db.inTx(ctx, func(tx conn) error {
		var err error
		if inv, err = tx.invitationWhere(ctx, where+tx.forUpdate(), c.ID, owner); err != nil {
			return err
		}
		if inv.Status != commerce.InvitationPending || !inv.ExpiresAt.After(c.At) {
			return nil
		}
		var account any
		if c.AccountID != 0 {
			account = c.AccountID
		}
		if _, err := tx.exec(ctx, "UPDATE moderator_invitations SET status = ?, account_id = ?, answered_at = ? WHERE id = ?",
			string(c.To), account, micros(c.At), inv.ID); err != nil {
			return fmt.Errorf("close invitation %d: %w", inv.ID, err)
		}
		inv.Status, inv.AccountID, inv.AnsweredAt = c.To, c.AccountID, &c.At
		if c.To != commerce.InvitationAccepted {
			return nil
		}
		// Someone who moderates already (appointed before invitations)
		// keeps the appointment and gains the email the seller typed.
		_, err = tx.exec(ctx, `INSERT INTO shop_moderators (shop_id, account_id, appointed_by, created_at, invited_email) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (shop_id, account_id) DO UPDATE SET invited_email = excluded.invited_email`,
			inv.ShopID, c.AccountID, inv.InvitedBy, micros(c.At), inv.Email)
		return err
	})
	inv.Settle(c.At)
	return inv, err
}
