package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce/flash"
	"github.com/liveshop/liveshop/commerce/payments"
)

// TestCheckoutSurvivesClientDrops: buyers whose connection drops at any
// moment of a checkout (a client deadline of 1 to 40 ms), then retry with
// the same Idempotency-Key until they get an answer, end with exactly one
// paid order each; no order is left awaiting payment, and stock is taken
// once per order.
func TestCheckoutSurvivesClientDrops(t *testing.T) {
	eachMoneyBackend(t, func(t *testing.T, nodes []*testNode) {
		const buyers, stock = 60, 1000
		s := newSaleSetup(t, nodes[0], stock)
		fs := s.startSale(t, buyers, 1, 0, 600)
		hc := raceClient(64)
		defer hc.CloseIdleConnections()
		bs := seedBuyers(t, nodes[0].app, buyers)
		rs := make([]flash.Reservation, buyers)
		for i, b := range bs {
			if i%2 == 0 {
				b.as(t, nodes[0]).expect(200, "POST", "/api/cart/lines", map[string]int64{"product_id": s.product.ID, "quantity": 1})
			} else {
				rs[i] = reserve(t, b.as(t, nodes[0]), fs.ID, 1)
			}
		}
		var wg sync.WaitGroup
		answers := make([]answer, buyers)
		for i, b := range bs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				path, body := "/api/checkout", any(checkoutBody(s.shopID, payments.TestCardVisa))
				if i%2 == 1 {
					path, body = checkoutPath(rs[i]), flashCheckoutBody(payments.TestCardVisa)
				}
				key := newKey()
				for attempt := 0; ; attempt++ {
					url := nodes[(i+attempt)%len(nodes)].URL + path
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+rand.IntN(40))*time.Millisecond)
					if attempt >= 3 {
						ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
					}
					status, raw, err := sendCtx(ctx, hc, url, b.token, body, "Idempotency-Key", key)
					cancel()
					a := answerOf(status, raw)
					if err == nil && status < 500 && a.code != "idempotency_in_flight" {
						answers[i] = a
						return
					}
					if err != nil && !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("buyer %d: %v", i, err)
						return
					}
					if attempt > 200 {
						t.Errorf("buyer %d: no answer after %d attempts: %v %s", i, attempt, err, a)
						return
					}
					if a.code == "idempotency_in_flight" {
						time.Sleep(20 * time.Millisecond) // a client's backoff before it asks again
					}
				}
			}()
		}
		wg.Wait()
		if got := only(t, answers, "201"); got["201"] != buyers {
			t.Fatalf("answers %v", got)
		}
		for _, b := range bs {
			if n := sqlCount(t, nodes[0], "SELECT COUNT(*) FROM orders WHERE buyer_id = ?", b.id); n != 1 {
				t.Errorf("buyer %d has %d orders, want 1", b.id, n)
			}
		}
		if n := sqlCount(t, nodes[0], "SELECT COUNT(*) FROM orders WHERE status <> 'paid'"); n != 0 {
			t.Fatalf("%d orders not paid", n)
		}
		if left := s.seller.productPage(s.product.ID).Stock; left != stock-buyers-buyers/2 {
			t.Fatalf("stock %d, want %d (%d for the sale, %d in carts)", left, stock-buyers-buyers/2, buyers, buyers/2)
		}
	})
}

// sendCtx is post with a context, which the client may cut.
func sendCtx(ctx context.Context, hc *http.Client, url, token string, body any, header ...string) (int, []byte, error) {
	return sendWith(hc, func(req *http.Request) *http.Request { return req.WithContext(ctx) }, "POST", url, token, body, header...)
}
