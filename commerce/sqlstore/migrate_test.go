package sqlstore_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

// schema lists the database's tables, indexes and triggers and the
// migration versions recorded, so two snapshots compare whole schemas.
func schema(t *testing.T, db *sqlstore.DB) (objects []string, versions []int) {
	t.Helper()
	ctx := context.Background()
	q := `SELECT type || ' ' || name FROM sqlite_master ORDER BY 1`
	if db.Dialect() == sqlstore.Postgres {
		q = `SELECT 'table ' || table_name FROM information_schema.tables WHERE table_schema = current_schema()
			UNION ALL SELECT 'index ' || indexname FROM pg_indexes WHERE schemaname = current_schema()
			UNION ALL SELECT 'trigger ' || trigger_name FROM information_schema.triggers WHERE trigger_schema = current_schema()
			ORDER BY 1`
	}
	rows, err := db.SQL().QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			t.Fatal(err)
		}
		objects = append(objects, o)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	vrows, err := db.SQL().QueryContext(ctx, "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer vrows.Close()
	for vrows.Next() {
		var v int
		if err := vrows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	return objects, versions
}

func TestFailedMigrationBatchChangesNothing(t *testing.T) {
	batch := func(last string) fstest.MapFS {
		return fstest.MapFS{
			"m/9001_first.sql":  {Data: []byte("CREATE TABLE first_one (id INTEGER PRIMARY KEY);\nCREATE INDEX first_one_id ON first_one (id);")},
			"m/9002_second.sql": {Data: []byte("CREATE TABLE second_one (id INTEGER PRIMARY KEY);\nINSERT INTO second_one (id) VALUES (1);")},
			"m/9003_third.sql":  {Data: []byte("CREATE TABLE third_one (id INTEGER PRIMARY KEY);\n" + last)},
		}
	}
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		objects, versions := schema(t, db)
		if len(versions) == 0 || !slices.Contains(objects, "table accounts") {
			t.Fatalf("the store is not migrated: %v %v", objects, versions)
		}

		err := db.ApplyMigrations(ctx, batch("THIS IS NOT SQL;"), "m")
		if err == nil || !strings.Contains(err.Error(), "9003_third.sql") || !strings.Contains(err.Error(), "none of the 3 pending migrations was applied") {
			t.Fatalf("got %v, want an error naming 9003_third.sql", err)
		}
		afterObjects, afterVersions := schema(t, db)
		if !slices.Equal(objects, afterObjects) || !slices.Equal(versions, afterVersions) {
			t.Fatalf("the failed batch changed the schema: objects added %v, removed %v; versions %v, were %v",
				missing(afterObjects, objects), missing(objects, afterObjects), afterVersions, versions)
		}

		// Fixed, the batch applies whole, once.
		fixed := batch("INSERT INTO third_one (id) SELECT id FROM second_one;")
		for range 2 {
			if err := db.ApplyMigrations(ctx, fixed, "m"); err != nil {
				t.Fatal(err)
			}
		}
		_, afterVersions = schema(t, db)
		if want := append(slices.Clone(versions), 9001, 9002, 9003); !slices.Equal(afterVersions, want) {
			t.Fatalf("versions %v, want %v", afterVersions, want)
		}
		var n int
		if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM third_one").Scan(&n); err != nil || n != 1 {
			t.Fatalf("third_one has %d rows (%v), want 1", n, err)
		}
	})
}

// missing lists the items of a that b lacks.
func missing[T comparable](a, b []T) []T {
	var out []T
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// TestNodesMigrateTogether opens one empty database from several stores at
// once, as nodes starting together do: each must find a whole schema.
func TestNodesMigrateTogether(t *testing.T) {
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			url := sqltest.URL(t, d)
			var wg sync.WaitGroup
			errs := make([]error, 3)
			dbs := make([]*sqlstore.DB, 3)
			for i := range 3 {
				wg.Go(func() { dbs[i], errs[i] = sqlstore.Open(context.Background(), url, sqlstore.Options{}) })
			}
			wg.Wait()
			var versions [][]int
			for i, err := range errs {
				if err != nil {
					t.Fatalf("node %d: %v", i, err)
				}
				defer dbs[i].Close()
				_, v := schema(t, dbs[i])
				versions = append(versions, v)
			}
			if len(versions[0]) == 0 || !slices.Equal(versions[0], versions[1]) || !slices.Equal(versions[0], versions[2]) {
				t.Fatalf("nodes see different schemas: %v", versions)
			}
		})
	}
}
