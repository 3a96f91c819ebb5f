package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/flash"
	"github.com/liveshop/liveshop/commerce/payments"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
	"github.com/liveshop/liveshop/room/redistest"
)

// Every path that moves money or stock is raced here with many concurrent
// requests, on one node over SQLite and on two nodes sharing PostgreSQL and
// Redis: SQLite serializes writers and hides races that PostgreSQL's row
// locks show.

// eachMoneyBackend runs fn on one node over SQLite and on two nodes that
// share a PostgreSQL schema and Redis (requests alternate between them).
func eachMoneyBackend(t *testing.T, fn func(t *testing.T, nodes []*testNode)) {
	t.Run("sqlite, one node", func(t *testing.T) {
		t.Parallel()
		fn(t, []*testNode{startNode(t, flashConfig(t))})
	})
	t.Run("postgres, two nodes", func(t *testing.T) {
		t.Parallel()
		cfg := flashConfig(t)
		cfg.DB = sqltest.PostgresURL(t)
		cfg.Redis = redistest.URL(t)
		cfg.RedisPrefix = uniqueName("test:") + ":"
		a := startNode(t, cfg)
		cfg.DataDir = t.TempDir()
		fn(t, []*testNode{a, startNode(t, cfg)})
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
			for _, a := range as {
				if a.String() == k {
					t.Logf("%s", a.body)
					break
				}
			}
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
func sqlCount(t testing.TB, n *testNode, query string, args ...any) int64 {
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
	eachMoneyBackend(t, func(t *testing.T, nodes []*testNode) {
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
			return post(hc, nodes[i%len(nodes)].URL+"/api/checkout", b.token, checkoutBody(s.shopID, payments.TestCardVisa), "Idempotency-Key", newKey())
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

// TestBuyNowRace: buyers racing for the last units through Buy now get
// exactly the units there are, never one more.
func TestBuyNowRace(t *testing.T) {
	eachMoneyBackend(t, func(t *testing.T, nodes []*testNode) {
		const buyers, stock = 60, 15
		s := newSaleSetup(t, nodes[0], stock)
		hc := raceClient(64)
		defer hc.CloseIdleConnections()
		bs := seedBuyers(t, nodes[0].app, buyers)
		as := race(t, buyers, func(i int) (int, []byte, error) {
			return post(hc, nodes[i%len(nodes)].URL+"/api/checkout", bs[i].token,
				buyNowBody(payments.TestCardVisa, item(s.product.ID, 1)), "Idempotency-Key", newKey())
		})
		got := only(t, as, "201", "409 out_of_stock")
		if got["201"] != stock {
			_, s := tally(as)
			t.Fatalf("%d bought, %d units: %s", got["201"], stock, s)
		}
		if left := s.seller.productPage(s.product.ID).Stock; left != 0 {
			t.Fatalf("stock %d after selling out", left)
		}
		if n := sqlCount(t, nodes[0], "SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE l.product_id = ? AND o.status = 'paid'", s.product.ID); n != stock {
			t.Fatalf("%d units in paid orders, want %d", n, stock)
		}
	})
}

// TestStockEditRace: a seller's stock edits while buyers check out never
// undo a sale: deltas add to the stock as it is, and a set with
// expected_stock is refused when sales moved it.
func TestStockEditRace(t *testing.T) {
	eachMoneyBackend(t, func(t *testing.T, nodes []*testNode) {
		const buyers, edits, stock = 40, 20, 100
		s := newSaleSetup(t, nodes[0], stock)
		hc := raceClient(64)
		defer hc.CloseIdleConnections()
		bs := seedBuyers(t, nodes[0].app, buyers)
		path := fmt.Sprintf("/api/products/%d", s.product.ID)
		as := race(t, buyers+edits, func(i int) (int, []byte, error) {
			url := nodes[i%len(nodes)].URL
			if i < edits {
				return send(hc, "PATCH", url+path, s.seller.token, map[string]any{"stock_delta": 1, "title": fmt.Sprintf("Sneakers v%d", i)})
			}
			return post(hc, url+"/api/checkout", bs[i-edits].token, buyNowBody(payments.TestCardVisa, item(s.product.ID, 1)), "Idempotency-Key", newKey())
		})
		got := only(t, as, "200", "201")
		if got["200"] != edits || got["201"] != buyers {
			_, s := tally(as)
			t.Fatalf("answers %s", s)
		}
		if left := s.seller.productPage(s.product.ID).Stock; left != stock+edits-buyers {
			t.Fatalf("stock %d, want %d + %d received - %d sold", left, stock, edits, buyers)
		}

		t.Run("a set over a stale value is refused", func(t *testing.T) {
			now := s.seller.productPage(s.product.ID).Stock
			s.seller.with(t).expect(201, "POST", "/api/checkout", buyNowBody(payments.TestCardVisa, item(s.product.ID, 1)), "Idempotency-Key", newKey())
			r := s.seller.with(t).do("PATCH", path, map[string]any{"stock": 500, "expected_stock": now})
			if r.status != 409 || r.errorCode(t) != "stock_changed" {
				t.Fatalf("stale set: %d %s", r.status, r.body)
			}
			if left := s.seller.productPage(s.product.ID).Stock; left != now-1 {
				t.Fatalf("stock %d after the refused set, want %d", left, now-1)
			}
			s.seller.with(t).expect(200, "PATCH", path, map[string]any{"stock": 500, "expected_stock": now - 1})
		})
		t.Run("a delta never takes the stock below zero", func(t *testing.T) {
			r := s.seller.with(t).do("PATCH", path, map[string]any{"stock_delta": -501})
			if r.status != 409 || r.errorCode(t) != "stock_changed" {
				t.Fatalf("delta below zero: %d %s", r.status, r.body)
			}
			if left := s.seller.productPage(s.product.ID).Stock; left != 500 {
				t.Fatalf("stock %d, want 500", left)
			}
		})
	})
}

// TestFlashCheckoutRace: one reservation paid by many concurrent requests,
// each with its own key, becomes one paid order; the others are told it is
// paid or being paid (409), not that the service failed.
func TestFlashCheckoutRace(t *testing.T) {
	eachMoneyBackend(t, func(t *testing.T, nodes []*testNode) {
		const buyers, tries = 6, 8
		s := newSaleSetup(t, nodes[0], 100)
		fs := s.startSale(t, 20, 1, 0, 600)
		hc := raceClient(64)
		defer hc.CloseIdleConnections()
		bs := seedBuyers(t, nodes[0].app, buyers)
		rs := make([]flash.Reservation, buyers)
		for i, b := range bs {
			rs[i] = reserve(t, b.as(t, nodes[0]), fs.ID, 1)
		}
		as := race(t, buyers*tries, func(i int) (int, []byte, error) {
			b := i % buyers
			return post(hc, nodes[i%len(nodes)].URL+checkoutPath(rs[b]), bs[b].token, flashCheckoutBody(payments.TestCardVisa), "Idempotency-Key", newKey())
		})
		got := only(t, as, "201", "409 already_paid", "409 payment_in_progress")
		if got["201"] != buyers {
			_, s := tally(as)
			t.Fatalf("%d paid checkouts for %d reservations: %s", got["201"], buyers, s)
		}
		for _, r := range rs {
			if n := sqlCount(t, nodes[0], `SELECT COUNT(*) FROM flash_sale_orders f JOIN orders o ON o.id = f.order_id
				WHERE f.sale_id = ? AND f.reservation_id = ? AND o.status = 'paid'`, fs.ID, r.ID); n != 1 {
				t.Errorf("reservation %d has %d paid orders", r.ID, n)
			}
		}
	})
}

// TestCancelAndRefundRace: a seller's concurrent cancels (or refunds) of
// one order, each with its own key, return its stock once and refund its
// money once.
func TestCancelAndRefundRace(t *testing.T) {
	eachMoneyBackend(t, func(t *testing.T, nodes []*testNode) {
		const orders, tries, stock = 4, 8, 100
		s := newSaleSetup(t, nodes[0], stock)
		hc := raceClient(64)
		defer hc.CloseIdleConnections()
		b := seedBuyers(t, nodes[0].app, 1)[0].as(t, nodes[0])
		pay := nodes[0].srv.cfg.Commerce.Payments.(*payments.TestProcessor)
		buy := func() commerce.Order {
			var o commerce.Order
			b.expect(201, "POST", "/api/checkout", buyNowBody(payments.TestCardVisa, item(s.product.ID, 2)), "Idempotency-Key", newKey()).decode(t, &o)
			return o
		}
		// settled checks each order ended refunded, with its money returned
		// once, and the stock as it was before they were bought.
		settled := func(t *testing.T, os []commerce.Order, as []answer, allowed ...string) {
			t.Helper()
			got := only(t, as, append(allowed, "200")...)
			if got["200"] != len(os) {
				_, s := tally(as)
				t.Fatalf("%d orders, %d succeeded: %s", len(os), got["200"], s)
			}
			for _, o := range os {
				if now := s.seller.order(o.ID); now.Status != commerce.OrderRefunded || now.Payment.Status != commerce.PaymentRefunded {
					t.Errorf("order %d is %s / %s", o.ID, now.Status, now.Payment.Status)
				}
				if captured, refunded, _ := pay.Balance(o.Payment.Reference); captured != o.TotalMinor || refunded != o.TotalMinor {
					t.Errorf("order %d: captured %d, refunded %d, total %d", o.ID, captured, refunded, o.TotalMinor)
				}
			}
		}

		t.Run("cancels", func(t *testing.T) {
			os := make([]commerce.Order, orders)
			for i := range os {
				os[i] = buy()
			}
			as := race(t, orders*tries, func(i int) (int, []byte, error) {
				return post(hc, fmt.Sprintf("%s/api/orders/%d/cancel", nodes[i%len(nodes)].URL, os[i%orders].ID), s.seller.token,
					map[string]string{"reason": "out of stock"}, "Idempotency-Key", newKey())
			})
			settled(t, os, as, "409 order_changed", "409 illegal_transition", "409 already_refunded")
			if left := s.seller.productPage(s.product.ID).Stock; left != stock {
				t.Fatalf("stock %d after cancelling everything, want %d", left, stock)
			}
		})
		t.Run("refunds", func(t *testing.T) {
			os := make([]commerce.Order, orders)
			for i := range os {
				os[i] = buy()
				for _, step := range []string{"ship", "deliver"} {
					s.seller.with(t).expect(200, "POST", fmt.Sprintf("/api/orders/%d/%s", os[i].ID, step), map[string]string{"carrier": "UPS", "tracking_number": "1Z"})
				}
			}
			as := race(t, orders*tries, func(i int) (int, []byte, error) {
				return post(hc, fmt.Sprintf("%s/api/orders/%d/refund", nodes[i%len(nodes)].URL, os[i%orders].ID), s.seller.token,
					map[string]string{"reason": "damaged"}, "Idempotency-Key", newKey())
			})
			settled(t, os, as, "409 already_refunded")
		})
	})
}

// TestCouponRace: a coupon with N uses left, raced by many buyers, is used
// exactly N times; one buyer racing the same coupon in several checkouts
// uses it once.
func TestCouponRace(t *testing.T) {
	eachMoneyBackend(t, func(t *testing.T, nodes []*testNode) {
		const buyers, uses = 30, 7
		s := newSaleSetup(t, nodes[0], 1000)
		hc := raceClient(64)
		defer hc.CloseIdleConnections()
		s.seller.expect(201, "POST", fmt.Sprintf("/api/streams/%d/coupons", s.streamID), map[string]any{"code": "RACE", "kind": "percent", "value": 10, "max_uses": uses})
		s.seller.expect(201, "POST", fmt.Sprintf("/api/streams/%d/coupons", s.streamID), map[string]any{"code": "ONCE", "kind": "fixed", "value": 500, "max_uses": 100})
		body := func(code string) map[string]any {
			b := buyNowBody(payments.TestCardVisa, item(s.product.ID, 1))
			b["stream_id"], b["coupon_code"] = s.streamID, code
			return b
		}
		bs := seedBuyers(t, nodes[0].app, buyers)
		as := race(t, buyers, func(i int) (int, []byte, error) {
			return post(hc, nodes[i%len(nodes)].URL+"/api/checkout", bs[i].token, body("RACE"), "Idempotency-Key", newKey())
		})
		if got := only(t, as, "201", "409 coupon_used_up"); got["201"] != uses {
			_, s := tally(as)
			t.Fatalf("coupon with %d uses: %s", uses, s)
		}
		if n := sqlCount(t, nodes[0], "SELECT COUNT(*) FROM orders WHERE coupon_code = 'RACE' AND status = 'paid'"); n != uses {
			t.Fatalf("%d paid orders with the coupon, want %d", n, uses)
		}
		one := bs[0]
		as = race(t, 10, func(i int) (int, []byte, error) {
			return post(hc, nodes[i%len(nodes)].URL+"/api/checkout", one.token, body("ONCE"), "Idempotency-Key", newKey())
		})
		if got := only(t, as, "201", "409 coupon_already_used"); got["201"] != 1 {
			_, s := tally(as)
			t.Fatalf("one buyer, one use: %s", s)
		}
		if n := sqlCount(t, nodes[0], "SELECT used FROM coupons WHERE code = 'ONCE' AND shop_id = ?", s.shopID); n != 1 {
			t.Fatalf("ONCE used %d times", n)
		}
	})
}

// TestFlashSaleEndRace: a sale stopped while its reservations are paid and
// declined gives every unit it did not sell back to the product exactly
// once, whichever of a declined order's cancellation and the sale's
// reconciliation comes first.
func TestFlashSaleEndRace(t *testing.T) {
	eachMoneyBackend(t, func(t *testing.T, nodes []*testNode) {
		const units, paying, stock = 30, 10, 100
		s := newSaleSetup(t, nodes[0], stock)
		fs := s.startSale(t, units, 1, 0, 600)
		hc := raceClient(64)
		defer hc.CloseIdleConnections()
		bs := seedBuyers(t, nodes[0].app, units)
		rs := make([]flash.Reservation, units)
		for i, b := range bs {
			rs[i] = reserve(t, b.as(t, nodes[0]), fs.ID, 1)
		}
		as := race(t, units+1, func(i int) (int, []byte, error) {
			url := nodes[i%len(nodes)].URL
			if i == units {
				return post(hc, fmt.Sprintf("%s/api/flash-sales/%d/stop", url, fs.ID), s.seller.token, nil)
			}
			card := payments.TestCardDeclined
			if i < paying {
				card = payments.TestCardVisa
			}
			return post(hc, url+checkoutPath(rs[i]), bs[i].token, flashCheckoutBody(card), "Idempotency-Key", newKey())
		})
		if got := only(t, as, "200", "201", "402 payment_declined"); got["201"] != paying || got["402 payment_declined"] != units-paying {
			_, s := tally(as)
			t.Fatalf("answers %s", s)
		}
		eventually(t, "the stopped sale to be reconciled", 10*time.Second, func() bool {
			return saleSQL(t, nodes[0].app, fs.ID).ReconciledAt != nil
		})
		if got := saleSQL(t, nodes[0].app, fs.ID).Sold; got != paying {
			t.Fatalf("reconciled as %d sold, want %d", got, paying)
		}
		if left := s.seller.productPage(s.product.ID).Stock; left != stock-paying {
			t.Fatalf("stock %d after the sale, want %d (%d units before, %d sold)", left, stock-paying, stock, paying)
		}
	})
}
