package sqlstore_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

func TestFailedMigrationChangesNothing(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		err := db.ApplyMigrations(ctx, os.DirFS("testdata"), "badmigrations")
		if err == nil || !strings.Contains(err.Error(), "9002_bad.sql") || !strings.Contains(err.Error(), "nothing of it was applied") {
			t.Fatalf("got %v, want an error naming 9002_bad.sql", err)
		}
		var applied int
		if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE name IN ('9001_good.sql', '9002_bad.sql')").Scan(&applied); err != nil {
			t.Fatal(err)
		}
		if applied != 1 {
			t.Fatalf("%d test migrations recorded, want only the good one", applied)
		}
		if _, err := db.SQL().ExecContext(ctx, "SELECT COUNT(*) FROM half_done"); err == nil {
			t.Fatal("table half_done exists: the failed migration was partly applied")
		}
		if _, err := db.SQL().ExecContext(ctx, "SELECT COUNT(*) FROM good_one"); err != nil {
			t.Fatalf("the good migration is missing: %v", err)
		}
	})
}
