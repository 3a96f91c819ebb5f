package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// runAPI is the api scenario: the shop API's two hot paths, one after the
// other, each for half of -duration with -concurrency clients. First the
// product page (GET /api/products/{id}, anonymous, random product), then
// checkout (each client a signed-in buyer: add one unit to the cart, then
// POST /api/checkout with a fresh Idempotency-Key and the test Visa card).
// It reports requests per second and latency of each phase; the common
// rate and percentiles cover both.
//
// The scenario signs up a seller and -concurrency buyers: run the server
// with --signup-limit-ip -1 when -concurrency is above 90.
func runAPI(ctx context.Context, args []string) (*result, error) {
	fs, c := newFlags("api")
	concurrency := fs.Int("concurrency", 32, "clients making requests at the same time")
	products := fs.Int("products", 20, "products in the shop the load creates")
	if err := c.parse(fs, args); err != nil {
		return nil, err
	}
	if *concurrency < 1 || *products < 1 {
		return nil, errors.New("-concurrency and -products must be positive")
	}
	res := c.newResult(map[string]any{"concurrency": *concurrency, "products": *products, "targets": len(c.targets)})
	l := newAPIClient(c, 30*time.Second, *concurrency*2, 0)

	ids, shopID, err := setupAPIShop(ctx, l, *products)
	if err != nil {
		return nil, fmt.Errorf("set up shop: %w", err)
	}
	buyers, err := l.signUpMany(ctx, *concurrency, "load", "buyer")
	if err != nil {
		return nil, fmt.Errorf("sign up buyers: %w", err)
	}

	half := c.duration / 2
	pages, checkouts := &latencies{}, &latencies{}
	var orders atomic.Int64
	err = measureServer(res, c.pids, func() error {
		l.run(ctx, *concurrency, half, func(ctx context.Context, worker int) error {
			id := ids[randN(len(ids))]
			start := time.Now()
			if _, err := l.do(ctx, worker, "", "GET", fmt.Sprintf("/api/products/%d", id), nil, nil, http.StatusOK); err != nil {
				return err
			}
			d := time.Since(start)
			pages.add(d)
			res.Latency.add(d)
			return nil
		})
		l.run(ctx, *concurrency, half, func(ctx context.Context, worker int) error {
			token := buyers[worker]
			id := ids[randN(len(ids))]
			if _, err := l.do(ctx, worker, token, "POST", "/api/cart/lines", map[string]int64{"product_id": id, "quantity": 1}, nil, http.StatusOK); err != nil {
				return err
			}
			body := checkoutBody()
			body["shop_id"] = shopID
			start := time.Now()
			if _, err := l.do(ctx, worker, token, "POST", "/api/checkout", body, []string{"Idempotency-Key", randHex(12)}, http.StatusCreated); err != nil {
				return err
			}
			d := time.Since(start)
			checkouts.add(d)
			res.Latency.add(d)
			orders.Add(1)
			return nil
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Errors = l.errors.Load()
	res.RatePerS = float64(pages.count()+checkouts.count()) / res.DurationS
	for _, phase := range []struct {
		name string
		lat  *latencies
	}{{"product_page", pages}, {"checkout", checkouts}} {
		res.set(phase.name+"_per_s", round(float64(phase.lat.count())/half.Seconds()))
		res.setPercentiles(phase.name, phase.lat)
	}
	res.set("orders", orders.Load())
	res.setFirstError(l.firstError())
	return res, nil
}

// checkoutBody is the payment and shipping part of a checkout: the test
// Visa card, which the server's test payment provider always accepts.
func checkoutBody() map[string]any {
	return map[string]any{"payment_method": map[string]string{"card_number": "4242424242424242"},
		"shipping_address": map[string]string{"name": "Load Buyer", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}}
}

// setupAPIShop signs up a seller and opens a shop with n active products
// whose stock will not run out during the run.
func setupAPIShop(ctx context.Context, l *apiClient, n int) ([]int64, int64, error) {
	token, err := l.signUpAs(ctx, 0, "load", "seller")
	if err != nil {
		return nil, 0, err
	}
	shopID, err := l.createShop(ctx, 0, token, "load-"+randHex(6), "Load test shop", "USD")
	if err != nil {
		return nil, 0, err
	}
	ids := make([]int64, n)
	for i := range ids {
		if ids[i], err = l.createProduct(ctx, 0, token, shopID, map[string]any{
			"title": fmt.Sprintf("Load product %d", i), "description": "A product for the api load scenario.",
			"price_minor": 1000 + i, "stock": 1_000_000, "status": "active", "hashtags": []string{"load"},
		}); err != nil {
			return nil, 0, err
		}
	}
	return ids, shopID, nil
}
