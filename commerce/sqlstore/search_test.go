package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/liveshop/liveshop/commerce/discovery"
	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

// TestSearchStemmingReindexesExistingRows runs migration 0055 again over a
// store that already has a product and a shop: the rebuilt indexes must
// find them, stemmed ("mugs" is the product's "Mug", "shops" its "Shop").
func TestSearchStemmingReindexesExistingRows(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f := newFixture(t, db, 1)
		sql, err := os.ReadFile(filepath.Join("migrations", string(db.Dialect()), "0055_search_stemming.sql"))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.ApplyMigrations(ctx, fstest.MapFS{"m/9055_search_again.sql": {Data: sql}}, "m"); err != nil {
			t.Fatal(err)
		}
		q := func(term string) discovery.SearchQuery {
			return discovery.SearchQuery{Terms: []string{term}, Prefix: []bool{true}, Limit: 10}
		}
		ps, err := db.SearchProducts(ctx, q("mugs"))
		if err != nil || len(ps) != 1 || ps[0].ID != f.product.ID {
			t.Fatalf(`"mugs" found %+v, %v; want the existing "Mug"`, ps, err)
		}
		shops, err := db.SearchShops(ctx, q("shops"))
		if err != nil || len(shops) != 1 || shops[0].ID != f.shop.ID {
			t.Fatalf(`"shops" found %+v, %v; want the existing "Shop"`, shops, err)
		}
	})
}

// TestSearchUsesTheFullTextIndexes: the PostgreSQL queries repeat the
// indexed tsvector expressions exactly, or the planner cannot use the GIN
// indexes. Sequential scans are priced out so that small tables do not hide
// it, and a thousand products make their status index unselective.
func TestSearchUsesTheFullTextIndexes(t *testing.T) {
	db := sqltest.Open(t, sqlstore.Postgres)
	ctx := context.Background()
	f := newFixture(t, db, 1)
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `INSERT INTO products (shop_id, title, price_minor, currency, stock, status, created_at, updated_at)
		SELECT $1, 'Item ' || g, 100, 'USD', 1, 'active', 0, 0 FROM generate_series(1, 1000) g`, f.shop.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "ANALYZE products; SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	for index, query := range sqlstore.SearchSQL {
		rows, err := conn.QueryContext(ctx, "EXPLAIN "+query(sqlstore.Postgres), "running:*", 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(plan, "\n"), index) {
			t.Errorf("the query does not use %s:\n%s", index, strings.Join(plan, "\n"))
		}
	}
}
