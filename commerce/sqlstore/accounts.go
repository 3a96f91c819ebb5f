package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

// CreateAccount implements commerce.AccountStore.
func (db *DB) CreateAccount(ctx context.Context, a *commerce.Account, passwordHash string) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	err := db.get(ctx, `INSERT INTO accounts (email, name, password_hash, admin, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`,
		[]any{a.Email, a.Name, passwordHash, a.Admin, micros(now)}, &a.ID)
	if isUniqueViolation(err) {
		return commerce.ErrEmailTaken
	}
	if err != nil {
		return fmt.Errorf("insert account: %w", err)
	}
	a.CreatedAt = now
	return nil
}

const accountColumns = "id, email, name, admin, created_at"

func scanAccount(scan func(...any) error, extra ...any) (commerce.Account, error) {
	var a commerce.Account
	var created int64
	err := scan(append([]any{&a.ID, &a.Email, &a.Name, &a.Admin, &created}, extra...)...)
	a.CreatedAt = fromMicros(created)
	return a, err
}

// AccountByEmail implements commerce.AccountStore.
func (db *DB) AccountByEmail(ctx context.Context, email string) (commerce.Account, string, error) {
	var hash string
	a, err := scanAccount(func(dest ...any) error {
		return db.get(ctx, "SELECT "+accountColumns+", password_hash FROM accounts WHERE email = ?", []any{email}, dest...)
	}, &hash)
	return a, hash, err
}

// AccountByID implements commerce.AccountStore.
func (db *DB) AccountByID(ctx context.Context, id int64) (commerce.Account, error) {
	return scanAccount(func(dest ...any) error {
		return db.get(ctx, "SELECT "+accountColumns+" FROM accounts WHERE id = ?", []any{id}, dest...)
	})
}

// SetAdmin implements commerce.AccountStore.
func (db *DB) SetAdmin(ctx context.Context, accountID int64, admin bool) error {
	return db.expectOne(db.exec(ctx, "UPDATE accounts SET admin = ? WHERE id = ?", admin, accountID))
}

// RenameAccount implements commerce.AccountStore.
func (db *DB) RenameAccount(ctx context.Context, accountID int64, name string) (commerce.Account, error) {
	if err := db.expectOne(db.exec(ctx, "UPDATE accounts SET name = ? WHERE id = ?", name, accountID)); err != nil {
		return commerce.Account{}, err
	}
	return db.AccountByID(ctx, accountID)
}

// CreateSession implements commerce.AccountStore.
func (db *DB) CreateSession(ctx context.Context, s commerce.Session) error {
	_, err := db.exec(ctx, `INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		s.TokenHash, s.AccountID, micros(s.CreatedAt), micros(s.ExpiresAt))
	return err
}

// SessionByTokenHash implements commerce.AccountStore.
func (db *DB) SessionByTokenHash(ctx context.Context, hash []byte, now time.Time) (commerce.Session, error) {
	s := commerce.Session{TokenHash: hash}
	var created, expires int64
	err := db.get(ctx, `SELECT account_id, created_at, expires_at FROM sessions WHERE token_hash = ? AND expires_at > ?`,
		[]any{hash, micros(now)}, &s.AccountID, &created, &expires)
	s.CreatedAt, s.ExpiresAt = fromMicros(created), fromMicros(expires)
	return s, err
}

// DeleteSession implements commerce.AccountStore.
func (db *DB) DeleteSession(ctx context.Context, hash []byte) error {
	return db.expectOne(db.exec(ctx, "DELETE FROM sessions WHERE token_hash = ?", hash))
}

// DeleteAccountSessions implements commerce.AccountStore.
func (db *DB) DeleteAccountSessions(ctx context.Context, accountID int64) error {
	_, err := db.exec(ctx, "DELETE FROM sessions WHERE account_id = ?", accountID)
	return err
}
