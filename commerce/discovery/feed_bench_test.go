package discovery_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/discovery"
	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

// BenchmarkFeed ranks the first feed page of a viewer with a long history
// (5,000 views and clicks, 30 add-to-carts, 5 followed shops) over a
// catalogue of LIVESHOP_BENCH_PRODUCTS products (default 100,000) in 20
// shops, with a crowd of 20 viewers making products popular and paired.
// It measures the ranking itself, without HTTP; cmd/liveshop-load feed
// measures it end to end. LIVESHOP_BENCH_DB=postgres runs it on PostgreSQL.
func BenchmarkFeed(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("LIVESHOP_BENCH_PRODUCTS")); err == nil && v > 0 {
		n = v
	}
	dialect := sqlstore.SQLite
	if os.Getenv("LIVESHOP_BENCH_DB") == "postgres" {
		dialect = sqlstore.Postgres
	}
	db := sqltest.Open(b, dialect)
	w := newDisc(b, db, discovery.Config{FlushInterval: 100 * time.Millisecond})
	start := time.Now()
	products, shops := benchCatalogue(b, w, n, 20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		u := w.account(fmt.Sprintf("crowd%d", i))
		for range 500 {
			w.view(u.ID, commerce.Product{ID: products[int(float64(n)*r.Float64()*r.Float64()*r.Float64())]}, 1)
		}
		for j := range 8 {
			w.record(discovery.Interaction{Kind: discovery.InteractionCart, AccountID: u.ID, ProductID: products[(i%10)*997+j*3], Quantity: 1})
		}
		w.flush()
	}
	viewer := w.account("viewer")
	for _, s := range shops[:5] {
		if _, err := w.d.Follow(w.ctx, viewer, s, 0); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 5000 {
		kind := discovery.InteractionView
		if i%5 == 0 {
			kind = discovery.InteractionClick
		}
		p := products[r.IntN(n)]
		if i%3 != 0 {
			p = products[r.IntN(n/20)*20] // the favourite hashtags
		}
		w.record(discovery.Interaction{Kind: kind, AccountID: viewer.ID, ProductID: p})
		if i%1000 == 999 {
			w.flush()
		}
	}
	for i := range 30 {
		w.record(discovery.Interaction{Kind: discovery.InteractionCart, AccountID: viewer.ID, ProductID: products[(i%10)*997+i%20], Quantity: 1})
	}
	w.flush()
	b.Logf("setup of %d products and the histories: %v", n, time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	page, err := w.d.Feed(ctx, viewer, commerce.PageRequest{Limit: 20})
	if err != nil || len(page.Items) != 20 {
		b.Fatalf("feed %v, %v", page, err)
	}
	b.ResetTimer()
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := w.d.Feed(ctx, viewer, commerce.PageRequest{Limit: 20}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := w.d.Feed(ctx, viewer, commerce.PageRequest{Limit: 20}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// benchCatalogue inserts n active products with three hashtags each (of
// 200) over shops, straight into the tables (the triggers keep
// search and hashtag heat in step, as for products made through the API).
func benchCatalogue(b *testing.B, w *disc, n, shops int) (products, shopIDs []int64) {
	b.Helper()
	for i := range shops {
		_, sh := w.shop(fmt.Sprintf("bench%d", i), fmt.Sprintf("Bench %d", i))
		shopIDs = append(shopIDs, sh.ID)
	}
	ph := func(i int) string {
		if w.db.Dialect() == sqlstore.Postgres {
			return "$" + strconv.Itoa(i)
		}
		return "?" + strconv.Itoa(i)
	}
	tx, err := w.db.SQL().Begin()
	if err != nil {
		b.Fatal(err)
	}
	insert, err := tx.Prepare(`INSERT INTO products (shop_id, title, description, price_minor, currency, stock, status, hashtags,
		search_text, created_at, updated_at) VALUES (` + strings.Join([]string{ph(1), ph(2), ph(3), ph(4), "'USD'", "1000", "'active'",
		ph(5), ph(6), ph(7), ph(7)}, ", ") + ") RETURNING id")
	if err != nil {
		b.Fatal(err)
	}
	tag, err := tx.Prepare("INSERT INTO product_hashtags (tag, product_id) VALUES (" + ph(1) + ", " + ph(2) + ") ON CONFLICT DO NOTHING")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UnixMicro()
	for i := range n {
		// Product i carries tag i/20 % 200 first, so products[k*20] share
		// the viewer's favourite hashtags.
		tags := []string{fmt.Sprintf("tag%03d", (i/20)%200), fmt.Sprintf("tag%03d", (i*7)%200), fmt.Sprintf("tag%03d", (i*13)%200)}
		title := fmt.Sprintf("Product %d %s", i, tags[0])
		var id int64
		if err := insert.QueryRow(shopIDs[i%shops], title, "A thing made for the feed benchmark.", 100+i%10000,
			strings.Join(tags, " "), strings.ToLower(title), now).Scan(&id); err != nil {
			b.Fatal(err)
		}
		for _, t := range tags {
			if _, err := tag.Exec(t, id); err != nil {
				b.Fatal(err)
			}
		}
		products = append(products, id)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return products, shopIDs
}
