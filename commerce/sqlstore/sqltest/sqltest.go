// Package sqltest gives tests a fresh, migrated SQL store on each backend:
// a SQLite file in a temporary directory, and a PostgreSQL schema of its own
// on the server named by LIVESHOP_TEST_POSTGRES.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liveshop/liveshop/commerce/sqlstore"
)

// Each runs fn as a subtest against every backend: "sqlite" always, and
// "postgres" when a server is configured (see PostgresURL).
func Each(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Helper()
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, Open(t, d))
		})
	}
}

// Open returns a fresh, migrated store of the given dialect, closed and
// removed when the test ends.
func Open(tb testing.TB, d sqlstore.Dialect) *sqlstore.DB {
	tb.Helper()
	db, err := sqlstore.Open(context.Background(), URL(tb, d), sqlstore.Options{})
	if err != nil {
		tb.Fatalf("open %s store: %v", d, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// URL returns the address of an empty database of dialect d for this test.
func URL(tb testing.TB, d sqlstore.Dialect) string {
	tb.Helper()
	if d == sqlstore.Postgres {
		return PostgresURL(tb)
	}
	return filepath.Join(tb.TempDir(), "liveshop.db")
}

// PostgresURL creates a schema of its own on the LIVESHOP_TEST_POSTGRES server
// and returns a URL whose search_path points at it; the schema is dropped when
// the test ends. Without the variable the test is skipped, or fails under
// CI=true, where every service must be present.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("LIVESHOP_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("LIVESHOP_TEST_POSTGRES is not set; CI must provide a PostgreSQL server")
		}
		tb.Skip("LIVESHOP_TEST_POSTGRES is not set; skipping PostgreSQL (run .ci/run for every backend)")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("open postgres: %v", err)
	}
	defer admin.Close()
	schema := "t_" + randomHex(8)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
