package commerce_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/testenv"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

// TestIdempotencyKeyRetention: finished keys older than the retention are
// purged by the checkout sweeper, in batches; younger keys and unfinished
// ones (a request still running, a checkout the sweeper must settle) stay.
func TestIdempotencyKeyRetention(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		svc := commerce.New(db, nil, nil, commerce.Config{IdempotencyRetention: 24 * time.Hour, DataDir: t.TempDir(),
			Password: commerce.PasswordParams{MemoryKiB: 8 * 1024, Time: 1, Threads: 1}}, nil)
		a, _, err := svc.SignUp(ctx, commerce.SignUp{Email: "keys@example.com", Password: "correct horse battery", Name: "Kim"}, "ip")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		// key stores a key claimed age ago, finished (its answer stored) or not.
		key := func(name string, age time.Duration, done bool) {
			t.Helper()
			at := now.Add(-age).UTC().Truncate(time.Microsecond)
			rec := commerce.IdempotencyRecord{AccountID: a.ID, Key: name, Scope: "checkout", RequestHash: []byte{1},
				LockedUntil: at.Add(time.Minute), CreatedAt: at}
			if _, claimed, err := db.ClaimIdempotencyKey(ctx, rec); err != nil || !claimed {
				t.Fatalf("claim %s: %v %v", name, claimed, err)
			}
			if done {
				if err := db.FinishIdempotencyKey(ctx, a.ID, name, 201, []byte(`{}`)); err != nil {
					t.Fatal(err)
				}
			}
		}
		keys := func() []string {
			t.Helper()
			rows, err := db.SQL().QueryContext(ctx, "SELECT idem_key FROM idempotency_keys")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var k string
				if err := rows.Scan(&k); err != nil {
					t.Fatal(err)
				}
				out = append(out, k)
			}
			slices.Sort(out)
			return out
		}

		t.Run("a purge deletes only finished keys past the retention", func(t *testing.T) {
			key("old-finished", 25*time.Hour, true)
			key("old-unfinished", 25*time.Hour, false)
			key("young-finished", 23*time.Hour, true)
			n, err := svc.PurgeIdempotencyKeys(ctx)
			if err != nil || n != 1 {
				t.Fatalf("purged %d (%v), want 1", n, err)
			}
			if got := keys(); !slices.Equal(got, []string{"old-unfinished", "young-finished"}) {
				t.Fatalf("keys left: %v", got)
			}
		})

		t.Run("a backlog larger than one batch is purged", func(t *testing.T) {
			tx, err := db.SQL().BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback() }()
			q := `INSERT INTO idempotency_keys (account_id, idem_key, scope, request_hash, done, locked_until, created_at)
				VALUES (?, ?, 'checkout', ?, TRUE, ?, ?)`
			if db.Dialect() == sqlstore.Postgres {
				q = `INSERT INTO idempotency_keys (account_id, idem_key, scope, request_hash, done, locked_until, created_at)
				VALUES ($1, $2, 'checkout', $3, TRUE, $4, $5)`
			}
			old := now.Add(-48 * time.Hour).UnixMicro()
			for i := range 1200 {
				if _, err := tx.ExecContext(ctx, q, a.ID, fmt.Sprintf("backlog-%04d", i), []byte{1}, old, old); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			n, err := svc.PurgeIdempotencyKeys(ctx)
			if err != nil || n != 1200 {
				t.Fatalf("purged %d (%v), want 1200", n, err)
			}
			if got := keys(); !slices.Equal(got, []string{"old-unfinished", "young-finished"}) {
				t.Fatalf("%d keys left: %.3v", len(got), got)
			}
		})

		t.Run("the checkout sweeper purges", func(t *testing.T) {
			key("swept", 30*time.Hour, true)
			sweepCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				svc.RunCheckoutSweeper(sweepCtx, 10*time.Millisecond)
			}()
			defer func() {
				stop()
				<-done
			}()
			testenv.Eventually(t, "the sweeper to purge the old key", func() bool { return !slices.Contains(keys(), "swept") })
			if got := keys(); !slices.Equal(got, []string{"old-unfinished", "young-finished"}) {
				t.Fatalf("keys left: %v", got)
			}
		})
	})
}
