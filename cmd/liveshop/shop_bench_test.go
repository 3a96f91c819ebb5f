package main

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/payments"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

// benchShop starts a server on the named database with a shop of 20
// products whose stock will not run out.
func benchShop(b *testing.B, db string) (*testServer, []commerce.Product) {
	cfg := shopConfig(b)
	if db == "postgres" {
		cfg.DB = sqltest.PostgresURL(b)
	}
	srv := startServer(b, cfg)
	seller := srv.shopper(b, "seller@example.com", "Mara")
	shop := seller.openShop("bench", "USD")
	var ps []commerce.Product
	for i := range 20 {
		ps = append(ps, seller.product(shop, fmt.Sprintf("Product %d", i), int64(1000+i), 1_000_000, "bench"))
	}
	return srv, ps
}

// BenchmarkProductPage measures GET /api/products/{id} over HTTP, with
// parallel anonymous clients (go test -bench ProductPage -cpu 32 sets
// their number).
func BenchmarkProductPage(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			srv, ps := benchShop(b, db)
			var n atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c := srv.client(b)
				for pb.Next() {
					p := ps[int(n.Add(1))%len(ps)]
					if r := c.do("GET", fmt.Sprintf("/api/products/%d", p.ID), nil); r.status != 200 {
						b.Errorf("status %d", r.status)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkCheckout measures a purchase over HTTP: add one unit to the
// cart, then POST /api/checkout with a fresh Idempotency-Key. Each
// parallel client (-cpu sets how many) is its own buyer.
func BenchmarkCheckout(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			srv, ps := benchShop(b, db)
			buyers := make([]shopper, runtime.GOMAXPROCS(0))
			for i := range buyers {
				buyers[i] = srv.shopper(b, fmt.Sprintf("buyer%d@example.com", i), "Buyer")
			}
			var n, next atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				buyer := buyers[int(next.Add(1)-1)%len(buyers)]
				for pb.Next() {
					p := ps[int(n.Add(1))%len(ps)]
					if r := buyer.do("POST", "/api/cart/lines", map[string]int64{"product_id": p.ID, "quantity": 1}); r.status != 200 {
						b.Errorf("add to cart: %d %s", r.status, r.body)
					}
					if r := buyer.do("POST", "/api/checkout", checkoutBody(p.ShopID, payments.TestCardVisa), "Idempotency-Key", newKey()); r.status != 201 {
						b.Errorf("checkout: %d %s", r.status, r.body)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checkouts/s")
		})
	}
}
