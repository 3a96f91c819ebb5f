package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"time"
)

// runFeed is the feed scenario: the For You feed of one viewer with a long
// history over a large catalogue. It builds the catalogue through the API
// (-shops shops, -products active products with hashtags from a vocabulary
// of 200), a crowd whose views and add-to-carts make products popular and
// paired, and the viewer's history (-history views and clicks leaning on
// ten favourite hashtags, follows of every shop, add-to-carts); then it
// runs -runs rounds of -duration in which -concurrency clients ask for the
// viewer's first feed page (GET /api/feed?limit=20, a fresh ranking each
// time). The common percentiles and rate are the median round's; each
// round's are listed too.
//
// Run the server with --signup-limit-ip -1; histories above 6,000 events
// also need --interaction-limit -1 (or the scenario waits out the limit).
func runFeed(ctx context.Context, args []string) (*result, error) {
	fs, c := newFlags("feed")
	concurrency := fs.Int("concurrency", 8, "clients asking for the feed at the same time")
	products := fs.Int("products", 100000, "products in the catalogue the scenario creates")
	shops := fs.Int("shops", 20, "shops the products are spread over")
	history := fs.Int("history", 5000, "views and clicks in the viewer's history")
	crowd := fs.Int("crowd", 20, "other viewers whose interactions make products popular and paired")
	runs := fs.Int("runs", 5, "measured rounds of -duration each")
	setupWorkers := fs.Int("setup-concurrency", 16, "requests at the same time while building the catalogue")
	if err := c.parse(fs, args); err != nil {
		return nil, err
	}
	if *concurrency < 1 || *products < 1 || *shops < 1 || *runs < 1 || *setupWorkers < 1 {
		return nil, errors.New("-concurrency, -products, -shops, -runs and -setup-concurrency must be positive")
	}
	res := c.newResult(map[string]any{"concurrency": *concurrency, "products": *products, "shops": *shops,
		"history": *history, "crowd": *crowd, "runs": *runs, "targets": len(c.targets)})
	fl := &feedLoad{apiClient: newAPIClient(c, 60*time.Second, 256, 0)}
	fl.waitTooMany = true

	setupStart := time.Now()
	if err := fl.catalogue(ctx, *shops, *products, *setupWorkers); err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	catalogueS := time.Since(setupStart).Seconds()
	if err := fl.crowdHistory(ctx, *crowd, *setupWorkers); err != nil {
		return nil, fmt.Errorf("crowd: %w", err)
	}
	viewer, err := fl.viewerHistory(ctx, *history)
	if err != nil {
		return nil, fmt.Errorf("viewer history: %w", err)
	}
	if err := fl.waitPersonal(ctx, viewer); err != nil {
		return nil, err
	}
	setupS := time.Since(setupStart).Seconds()

	type runResult struct {
		lat  *latencies
		rate float64
		p99  float64
	}
	var rounds []runResult
	err = measureServer(res, c.pids, func() error {
		for range *runs {
			lat := &latencies{}
			start := time.Now()
			fl.run(ctx, *concurrency, c.duration, func(ctx context.Context, worker int) error {
				t0 := time.Now()
				if _, err := fl.do(ctx, worker, viewer, "GET", "/api/feed?limit=20", nil, nil, http.StatusOK); err != nil {
					return err
				}
				lat.add(time.Since(t0))
				return nil
			})
			_, _, p99 := lat.percentiles()
			rounds = append(rounds, runResult{lat: lat, rate: float64(lat.count()) / time.Since(start).Seconds(), p99: p99})
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sorted := append([]runResult(nil), rounds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].p99 < sorted[j].p99 })
	median := sorted[len(sorted)/2]
	res.Latency = median.lat
	rates := make([]float64, len(rounds))
	var p50s, p99s []float64
	for i, r := range rounds {
		rates[i] = round(r.rate)
		p50, _, p99 := r.lat.percentiles()
		p50s, p99s = append(p50s, round(p50)), append(p99s, round(p99))
	}
	sortedRates := append([]float64(nil), rates...)
	sort.Float64s(sortedRates)
	res.RatePerS = sortedRates[len(sortedRates)/2]
	res.Errors = fl.errors.Load()
	res.set("runs_rate_per_s", rates)
	res.set("runs_p50_ms", p50s)
	res.set("runs_p99_ms", p99s)
	res.set("catalogue_setup_s", round(catalogueS))
	res.set("setup_s", round(setupS))
	res.setFirstError(fl.firstError())
	return res, nil
}

// feedLoad is the feed scenario's state: an API client that waits out the
// server's rate limits, and the catalogue it built.
type feedLoad struct {
	*apiClient

	tags     []string
	products []feedProduct
	shopIDs  []int64
}

type feedProduct struct {
	id   int64
	tags []string
}

// catalogue opens the shops and creates the products.
func (fl *feedLoad) catalogue(ctx context.Context, shops, products, workers int) error {
	for i := range 200 {
		fl.tags = append(fl.tags, fmt.Sprintf("tag%03d", i))
	}
	sellers := make([]string, shops)
	fl.shopIDs = make([]int64, shops)
	run := randHex(4)
	for i := range shops {
		token, err := fl.signUpAs(ctx, 0, "feed", "seller")
		if err != nil {
			return err
		}
		shopID, err := fl.createShop(ctx, 0, token, fmt.Sprintf("feed-%s-%d", run, i), fmt.Sprintf("Feed shop %d", i), "USD")
		if err != nil {
			return err
		}
		sellers[i], fl.shopIDs[i] = token, shopID
	}
	fl.products = make([]feedProduct, products)
	return parallel(ctx, products, workers, func(ctx context.Context, worker, i int) error {
		r := rand.New(rand.NewPCG(uint64(i), 7))
		tags := []string{fl.tags[r.IntN(len(fl.tags))], fl.tags[r.IntN(len(fl.tags))], fl.tags[r.IntN(len(fl.tags))]}
		shop := i % shops
		var p struct {
			ID       int64    `json:"id"`
			Hashtags []string `json:"hashtags"`
		}
		if err := fl.call(ctx, worker, sellers[shop], "POST", fmt.Sprintf("/api/shops/%d/products", fl.shopIDs[shop]), map[string]any{
			"title": fmt.Sprintf("Product %d %s", i, tags[0]), "description": "A thing made for the feed benchmark.",
			"price_minor": 100 + r.IntN(10000), "stock": 1000, "status": "active", "hashtags": tags}, http.StatusCreated, &p); err != nil {
			return err
		}
		fl.products[i] = feedProduct{id: p.ID, tags: p.Hashtags}
		return nil
	})
}

// events reports interactions in batches of 50.
func (fl *feedLoad) events(ctx context.Context, worker int, token string, evs []map[string]any) error {
	for start := 0; start < len(evs); start += 50 {
		batch := evs[start:min(len(evs), start+50)]
		if _, err := fl.do(ctx, worker, token, "POST", "/api/interactions", map[string]any{"events": batch}, nil, http.StatusAccepted); err != nil {
			return err
		}
	}
	return nil
}

// block is one of ten neighbourhoods of 20 products that the crowd and the
// viewer put in their carts, so co-occurrence links the viewer's carts to
// other products.
func (fl *feedLoad) block(k int) []feedProduct {
	start := (k * 997) % max(1, len(fl.products)-20)
	return fl.products[start:min(len(fl.products), start+20)]
}

// crowdHistory makes products popular (views) and paired (each crowd
// member puts a few products of one neighbourhood in the cart).
func (fl *feedLoad) crowdHistory(ctx context.Context, crowd, workers int) error {
	return parallel(ctx, crowd, min(workers, crowd), func(ctx context.Context, worker, i int) error {
		token, err := fl.signUpAs(ctx, 0, "feed", "crowd")
		if err != nil {
			return err
		}
		r := rand.New(rand.NewPCG(uint64(i), 11))
		var evs []map[string]any
		for range 500 {
			// Popularity follows a power law: low indexes are hot.
			p := fl.products[int(float64(len(fl.products))*r.Float64()*r.Float64()*r.Float64())]
			evs = append(evs, map[string]any{"type": "product_viewed", "product_id": p.id, "source": "feed"})
		}
		if err := fl.events(ctx, worker, token, evs); err != nil {
			return err
		}
		block := fl.block(i % 10)
		for j := range 8 {
			p := block[(j*3+i)%len(block)]
			if _, err := fl.do(ctx, worker, token, "POST", "/api/cart/lines", map[string]int64{"product_id": p.id, "quantity": 1}, nil, http.StatusOK); err != nil {
				return err
			}
		}
		return nil
	})
}

// viewerHistory signs up the viewer and gives them a long history: follows
// of a quarter of the shops, views and clicks leaning on ten favourite hashtags, and
// add-to-carts in the crowd's neighbourhoods.
func (fl *feedLoad) viewerHistory(ctx context.Context, history int) (string, error) {
	token, err := fl.signUpAs(ctx, 0, "feed", "viewer")
	if err != nil {
		return "", err
	}
	for _, shop := range fl.shopIDs[:max(1, len(fl.shopIDs)/4)] {
		if _, err := fl.do(ctx, 0, token, "PUT", fmt.Sprintf("/api/shops/%d/follow", shop), nil, nil, http.StatusOK); err != nil {
			return "", err
		}
	}
	favourite := map[string]bool{}
	for _, t := range fl.tags[:10] {
		favourite[t] = true
	}
	var liked []feedProduct
	for _, p := range fl.products {
		for _, t := range p.tags {
			if favourite[t] {
				liked = append(liked, p)
				break
			}
		}
	}
	if len(liked) == 0 {
		liked = fl.products
	}
	r := rand.New(rand.NewPCG(3, 5))
	evs := make([]map[string]any, 0, history)
	for i := range history {
		p := fl.products[r.IntN(len(fl.products))]
		if i%3 != 0 {
			p = liked[r.IntN(len(liked))]
		}
		kind := "product_viewed"
		if i%5 == 0 {
			kind = "product_clicked"
		}
		evs = append(evs, map[string]any{"type": kind, "product_id": p.id, "source": "feed"})
	}
	if err := fl.events(ctx, 0, token, evs); err != nil {
		return "", err
	}
	for i := range 30 {
		block := fl.block(i % 10)
		p := block[i%len(block)]
		if _, err := fl.do(ctx, 0, token, "POST", "/api/cart/lines", map[string]int64{"product_id": p.id, "quantity": 1}, nil, http.StatusOK); err != nil {
			return "", err
		}
	}
	return token, nil
}

// waitPersonal waits until the viewer's feed shows their history (the
// recorder writes in batches), at most 30 seconds.
func (fl *feedLoad) waitPersonal(ctx context.Context, token string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		var page struct {
			Items []struct {
				Reason string `json:"reason"`
			} `json:"items"`
		}
		if err := fl.call(ctx, 0, token, "GET", "/api/feed?limit=100", nil, http.StatusOK, &page); err != nil {
			return err
		}
		for _, it := range page.Items {
			if it.Reason == "hashtag" || it.Reason == "related" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return errors.New("the viewer's feed shows no sign of their history after 30s")
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
