package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

// Every path that moves money or stock is raced here with many concurrent
// requests, on one node over SQLite and on two nodes sharing PostgreSQL and
// Redis: SQLite serializes writers and hides races that PostgreSQL's row
// locks show.

// eachMoneyBackend runs fn on one node over SQLite and on two nodes that
// share a PostgreSQL schema and Redis (requests alternate between them).
func eachMoneyBackend(t *testing.T, fn func(t *testing.T, nodes []*flashNode)) {
	t.Run("sqlite, one node", func(t *testing.T) {
		t.Parallel()
		fn(t, []*flashNode{startFlashNode(t, flashConfig(t))})
	})
	t.Run("postgres, two nodes", func(t *testing.T) {
		t.Parallel()
		cfg := flashConfig(t)
		cfg.DB = sqltest.PostgresURL(t)
		cfg.Redis = redisURL(t)
		cfg.RedisPrefix = uniqueName("test:") + ":"
		a := startFlashNode(t, cfg)
		cfg.DataDir = t.TempDir()
		fn(t, []*flashNode{a, startFlashNode(t, cfg)})
	})
}

// answerOf reads a raced request's outcome, with its error code.
func answerOf(status int, body []byte) answer {
	a := answer{status: status, body: body}
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if status >= 300 && json.Unmarshal(body, &e) == nil {
		a.code = e.Error.Code
	}
	return a
}

// String is the answer's kind: "201", or "409 out_of_stock".
func (a answer) String() string {
	if a.code == "" {
		return fmt.Sprint(a.status)
	}
	return fmt.Sprintf("%d %s", a.status, a.code)
}

// race sends n requests at the same moment (send(i) makes the i-th) and
// returns their answers in order; a transport error fails the test.
func race(t testing.TB, n int, send func(i int) (int, []byte, error)) []answer {
	t.Helper()
	out := make([]answer, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, body, err := send(i)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			out[i] = answerOf(status, body)
		}()
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d raced requests failed: %v", len(errs), n, errs[0])
	}
	return out
}

// tally counts answers by kind, as a sorted "201×1 409 x×3" string.
func tally(as []answer) (map[string]int, string) {
	m := map[string]int{}
	for _, a := range as {
		m[a.String()]++
	}
	var parts []string
	for k, n := range m {
		parts = append(parts, fmt.Sprintf("%s×%d", k, n))
	}
	sort.Strings(parts)
	return m, strings.Join(parts, ", ")
}

// only fails unless every answer is one of the allowed kinds.
func only(t testing.TB, as []answer, allowed ...string) map[string]int {
	t.Helper()
	m, s := tally(as)
	for k := range m {
		if !containsString(allowed, k) {
			t.Fatalf("unexpected answer %q among %s", k, s)
		}
	}
	return m
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// sqlCount runs a COUNT-like query with ? placeholders on node n's database.
func sqlCount(t testing.TB, n *flashNode, query string, args ...any) int64 {
	t.Helper()
	if n.app.store.Dialect() == "postgres" {
		query = stringsReplaceQ(query)
	}
	var v int64
	if err := n.app.store.SQL().QueryRow(query, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}

// TestCartCheckoutRace: one cart checked out by many concurrent requests,
// each with its own Idempotency-Key, becomes exactly one paid order that
// takes its stock once; the others find the cart empty.
func TestCartCheckoutRace(t *testing.T) {
	eachMoneyBackend(t, func(t *testing.T, nodes []*flashNode) {
		const buyers, tries, qty, stock = 12, 8, 2, 1000
		s := newSaleSetup(t, nodes[0], stock)
		hc := raceClient(64)
		defer hc.CloseIdleConnections()
		bs := seedBuyers(t, nodes[0].app, buyers)
		for _, b := range bs {
			b.as(t, nodes[0]).expect(200, "POST", "/api/cart/lines", map[string]int64{"product_id": s.product.ID, "quantity": qty})
		}
		as := race(t, buyers*tries, func(i int) (int, []byte, error) {
			b := bs[i%buyers]
			return post(hc, nodes[i%len(nodes)].URL+"/api/checkout", b.token, checkoutBody(s.shopID, commerce.TestCardVisa), "Idempotency-Key", newKey())
		})
		got := only(t, as, "201", "422 empty_cart")
		if got["201"] != buyers {
			_, s := tally(as)
			t.Fatalf("%d paid checkouts for %d carts: %s", got["201"], buyers, s)
		}
		for _, b := range bs {
			if n := sqlCount(t, nodes[0], "SELECT COUNT(*) FROM orders WHERE buyer_id = ?", b.id); n != 1 {
				t.Errorf("buyer %d has %d orders, want 1", b.id, n)
			}
		}
		if left := s.seller.productPage(s.product.ID).Stock; left != stock-buyers*qty {
			t.Fatalf("stock %d, want %d", left, stock-buyers*qty)
		}
	})
}
