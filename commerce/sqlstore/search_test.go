package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/liveshop/liveshop/commerce"
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
		q := func(term string) commerce.SearchQuery {
			return commerce.SearchQuery{Terms: []string{term}, Prefix: []bool{true}, Limit: 10}
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
