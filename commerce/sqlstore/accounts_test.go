package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

func TestAccounts(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		a := commerce.Account{Email: "ann@example.com", Name: "Ann"}
		if err := db.CreateAccount(ctx, &a, "hash-1"); err != nil {
			t.Fatalf("create: %v", err)
		}
		if a.ID == 0 || a.CreatedAt.IsZero() {
			t.Fatalf("create did not set id and time: %+v", a)
		}

		t.Run("refuses a second account with the same email", func(t *testing.T) {
			dup := commerce.Account{Email: "ann@example.com", Name: "Other"}
			if err := db.CreateAccount(ctx, &dup, "hash-2"); !errors.Is(err, commerce.ErrEmailTaken) {
				t.Fatalf("got %v, want ErrEmailTaken", err)
			}
		})

		t.Run("finds the account by email with its hash and by id", func(t *testing.T) {
			got, hash, err := db.AccountByEmail(ctx, "ann@example.com")
			if err != nil || hash != "hash-1" || got.ID != a.ID || got.Name != "Ann" || !got.CreatedAt.Equal(a.CreatedAt) {
				t.Fatalf("by email: %+v %q %v", got, hash, err)
			}
			byID, err := db.AccountByID(ctx, a.ID)
			if err != nil || byID != got {
				t.Fatalf("by id: %+v %v, want %+v", byID, err, got)
			}
			if _, err := db.AccountByID(ctx, a.ID+1000); !errors.Is(err, commerce.ErrNotFound) {
				t.Fatalf("unknown id: %v", err)
			}
		})

		t.Run("grants admin", func(t *testing.T) {
			if err := db.SetAdmin(ctx, a.ID, true); err != nil {
				t.Fatal(err)
			}
			got, _ := db.AccountByID(ctx, a.ID)
			if !got.Admin {
				t.Fatal("admin flag not stored")
			}
			if err := db.SetAdmin(ctx, 999999, true); !errors.Is(err, commerce.ErrNotFound) {
				t.Fatalf("unknown account: %v", err)
			}
		})

		t.Run("keeps sessions until they expire or are deleted", func(t *testing.T) {
			now := time.Now()
			live := commerce.Session{TokenHash: []byte("live-token-hash"), AccountID: a.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			old := commerce.Session{TokenHash: []byte("old-token-hash"), AccountID: a.ID, CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}
			for _, s := range []commerce.Session{live, old} {
				if err := db.CreateSession(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			got, err := db.SessionByTokenHash(ctx, live.TokenHash, now)
			if err != nil || got.AccountID != a.ID || !bytes.Equal(got.TokenHash, live.TokenHash) {
				t.Fatalf("live session: %+v %v", got, err)
			}
			if _, err := db.SessionByTokenHash(ctx, old.TokenHash, now); !errors.Is(err, commerce.ErrNotFound) {
				t.Fatalf("expired session: %v", err)
			}
			if err := db.DeleteSession(ctx, live.TokenHash); err != nil {
				t.Fatal(err)
			}
			if _, err := db.SessionByTokenHash(ctx, live.TokenHash, now); !errors.Is(err, commerce.ErrNotFound) {
				t.Fatalf("deleted session: %v", err)
			}
			if err := db.DeleteSession(ctx, live.TokenHash); !errors.Is(err, commerce.ErrNotFound) {
				t.Fatalf("second delete: %v", err)
			}
		})

		t.Run("deletes every session of an account", func(t *testing.T) {
			now := time.Now()
			for _, h := range []string{"s1", "s2"} {
				if err := db.CreateSession(ctx, commerce.Session{TokenHash: []byte(h), AccountID: a.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.DeleteAccountSessions(ctx, a.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := db.SessionByTokenHash(ctx, []byte("s2"), now); !errors.Is(err, commerce.ErrNotFound) {
				t.Fatalf("session survived: %v", err)
			}
		})
	})
}
