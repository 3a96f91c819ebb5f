package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
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
	l := &apiLoad{c: c, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: *concurrency * 2, MaxIdleConnsPerHost: *concurrency * 2, IdleConnTimeout: time.Minute}}}

	ids, shopID, err := l.setupShop(ctx, *products)
	if err != nil {
		return nil, fmt.Errorf("set up shop: %w", err)
	}
	buyers, err := l.signUpMany(ctx, *concurrency)
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
			body := map[string]any{"shop_id": shopID, "payment_method": map[string]string{"card_number": "4242424242424242"},
				"shipping_address": map[string]string{"name": "Load Buyer", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}}
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
		p50, _, p99 := phase.lat.percentiles()
		res.set(phase.name+"_per_s", round(float64(phase.lat.count())/half.Seconds()))
		res.set(phase.name+"_p50_ms", round(p50))
		res.set(phase.name+"_p99_ms", round(p99))
	}
	res.set("orders", orders.Load())
	if e := l.firstErr.Load(); e != nil {
		res.set("first_error", e.(error).Error())
	}
	return res, nil
}

// apiLoad is the api scenario's HTTP client state.
type apiLoad struct {
	c        *common
	http     *http.Client
	errors   atomic.Int64
	firstErr atomic.Value
}

// target spreads clients over the -target nodes.
func (l *apiLoad) target(worker int) string { return l.c.targets[worker%len(l.c.targets)] }

// do sends one JSON request and checks the status; the response body is
// returned for the caller to decode.
func (l *apiLoad) do(ctx context.Context, worker int, token, method, path string, body any, header []string, want int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.target(worker)+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := l.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return b, fmt.Errorf("%s %s: status %d: %.200s", method, path, resp.StatusCode, b)
	}
	return b, nil
}

// run calls op in a loop on n workers for d, counting errors.
func (l *apiLoad) run(ctx context.Context, n int, d time.Duration, op func(ctx context.Context, worker int) error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := op(ctx, w); err != nil && ctx.Err() == nil {
					l.errors.Add(1)
					l.firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
}

func (l *apiLoad) signUp(ctx context.Context, worker int, role string) (string, error) {
	email := fmt.Sprintf("load-%s-%s@example.com", role, randHex(6))
	b, err := l.do(ctx, worker, "", "POST", "/api/auth/signup",
		map[string]string{"email": email, "password": "load-test-password", "name": "Load " + role}, nil, http.StatusCreated)
	if err != nil {
		return "", err
	}
	var out struct {
		Token string `json:"token"`
	}
	return out.Token, json.Unmarshal(b, &out)
}

func (l *apiLoad) signUpMany(ctx context.Context, n int) ([]string, error) {
	tokens := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8) // sign-ups hash passwords; do not flood
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			tokens[i], errs[i] = l.signUp(ctx, i, "buyer")
		})
	}
	wg.Wait()
	return tokens, errors.Join(errs...)
}

// setupShop signs up a seller and opens a shop with n active products whose
// stock will not run out during the run.
func (l *apiLoad) setupShop(ctx context.Context, n int) ([]int64, int64, error) {
	token, err := l.signUp(ctx, 0, "seller")
	if err != nil {
		return nil, 0, err
	}
	b, err := l.do(ctx, 0, token, "POST", "/api/shops",
		map[string]string{"handle": "load-" + randHex(6), "name": "Load test shop", "currency": "USD"}, nil, http.StatusCreated)
	if err != nil {
		return nil, 0, err
	}
	var shop struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(b, &shop); err != nil {
		return nil, 0, err
	}
	ids := make([]int64, n)
	for i := range ids {
		b, err := l.do(ctx, 0, token, "POST", fmt.Sprintf("/api/shops/%d/products", shop.ID), map[string]any{
			"title": fmt.Sprintf("Load product %d", i), "description": "A product for the api load scenario.",
			"price_minor": 1000 + i, "stock": 1_000_000, "status": "active", "hashtags": []string{"load"},
		}, nil, http.StatusCreated)
		if err != nil {
			return nil, 0, err
		}
		var p struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, 0, err
		}
		ids[i] = p.ID
	}
	return ids, shop.ID, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randN(n int) int {
	v, _ := rand.Int(rand.Reader, big.NewInt(int64(n)))
	return int(v.Int64())
}
