package main

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/payments"
)

// buyNowBody is a checkout of items instead of the cart.
func buyNowBody(card string, items ...map[string]int64) map[string]any {
	return map[string]any{"items": append([]map[string]int64{}, items...), "shipping_address": testAddress, "payment_method": map[string]string{"card_number": card}}
}

func item(productID, quantity int64) map[string]int64 {
	return map[string]int64{"product_id": productID, "quantity": quantity}
}

// TestBuyNowCheckout: POST /api/checkout with items buys those products
// directly, with the cart checkout's stock, idempotency and payment
// guarantees, and leaves the cart as it was.
func TestBuyNowCheckout(t *testing.T) {
	eachFlashDatabase(t, func(t *testing.T, cfg Config) {
		n := startNode(t, cfg)
		s := newSaleSetup(t, n, 10) // 100.00 USD sneakers, a live stream
		socks := s.seller.product(s.shopID, "Socks", 500, 50)
		var draft commerce.Product
		s.seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/products", s.shopID), map[string]any{"title": "Secret", "price_minor": 100, "stock": 5}).decode(t, &draft)
		archived := s.seller.product(s.shopID, "Old", 300, 5)
		s.seller.expect(200, "PATCH", fmt.Sprintf("/api/products/%d", archived.ID), map[string]string{"status": "archived"})
		elsewhere := newSaleSetup(t, n, 10)
		ann := shopper{n.srv.client(t), 0}
		ann.id = ann.signUp("ann-buynow@example.com", "Ann")

		// Ann's cart holds sneakers and socks; Buy now must not touch it.
		ann.expect(200, "POST", "/api/cart/lines", map[string]int64{"product_id": s.product.ID, "quantity": 1})
		ann.expect(200, "POST", "/api/cart/lines", map[string]int64{"product_id": socks.ID, "quantity": 3})
		cartOf := func(c *client) string {
			var cart commerce.Cart
			c.expect(200, "GET", "/api/cart", nil).decode(t, &cart)
			out := ""
			for _, l := range cart.Lines {
				out += fmt.Sprintf("%d×%d@%d ", l.ProductID, l.Quantity, l.UnitPriceMinor)
			}
			return out
		}
		cart := cartOf(ann.client)
		stock := func(p commerce.Product) int64 { return s.seller.productPage(p.ID).Stock }
		orderCount := func() int {
			var out struct {
				Items []commerce.Order `json:"items"`
			}
			ann.expect(200, "GET", "/api/orders", nil).decode(t, &out)
			return len(out.Items)
		}
		// refused checks a Buy now is refused with status and code and
		// writes nothing: no order, no stock taken, the cart as it was.
		refused := func(t *testing.T, status int, code string, body any) {
			t.Helper()
			orders, sneakers, sockStock := orderCount(), stock(s.product), stock(socks)
			r := ann.with(t).do("POST", "/api/checkout", body, "Idempotency-Key", newKey())
			if r.status != status || r.errorCode(t) != code {
				t.Fatalf("status %d %s, want %d %s", r.status, r.body, status, code)
			}
			if orderCount() != orders || stock(s.product) != sneakers || stock(socks) != sockStock || cartOf(ann.client) != cart {
				t.Fatal("the refused Buy now wrote something")
			}
		}

		t.Run("buys one product and quantity, and leaves the cart alone", func(t *testing.T) {
			body := buyNowBody(payments.TestCardVisa, item(socks.ID, 2))
			body["stream_id"] = s.streamID
			var o commerce.Order
			r := ann.expect(201, "POST", "/api/checkout", body, "Idempotency-Key", newKey())
			r.decode(t, &o)
			if o.Status != commerce.OrderPaid || o.Source != commerce.OrderSourceBuyNow || o.TotalMinor != 1_000 || o.StreamID != s.streamID ||
				len(o.Lines) != 1 || o.Lines[0].ProductID != socks.ID || o.Lines[0].Quantity != 2 {
				t.Fatalf("order = %+v", o)
			}
			if r.header.Get("Location") != fmt.Sprintf("/api/orders/%d", o.ID) {
				t.Fatalf("Location %q", r.header.Get("Location"))
			}
			if got := stock(socks); got != 48 {
				t.Fatalf("socks stock %d, want 48", got)
			}
			if got := cartOf(ann.client); got != cart {
				t.Fatalf("cart changed: %s → %s", cart, got)
			}
		})

		t.Run("a retry with the key gets the same order; another body with it is refused", func(t *testing.T) {
			key := newKey()
			body := buyNowBody(payments.TestCardVisa, item(s.product.ID, 1))
			var first, again commerce.Order
			ann.expect(201, "POST", "/api/checkout", body, "Idempotency-Key", key).decode(t, &first)
			r := ann.expect(201, "POST", "/api/checkout", body, "Idempotency-Key", key)
			r.decode(t, &again)
			if again.ID != first.ID || r.header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("retry gave order %d (replayed %q), want %d", again.ID, r.header.Get("Idempotent-Replayed"), first.ID)
			}
			if code := ann.expect(422, "POST", "/api/checkout", buyNowBody(payments.TestCardVisa, item(s.product.ID, 2)), "Idempotency-Key", key).errorCode(t); code != "idempotency_key_reused" {
				t.Fatalf("code %s", code)
			}
			if got := stock(s.product); got != 9 {
				t.Fatalf("sneakers stock %d, want 9", got)
			}
		})

		t.Run("a declined card cancels the order, returns the stock and leaves the cart alone", func(t *testing.T) {
			if code := ann.expect(402, "POST", "/api/checkout", buyNowBody(payments.TestCardDeclined, item(socks.ID, 5)), "Idempotency-Key", newKey()).errorCode(t); code != "payment_declined" {
				t.Fatalf("code %s", code)
			}
			if got := stock(socks); got != 48 {
				t.Fatalf("socks stock %d, want 48", got)
			}
			if got := cartOf(ann.client); got != cart {
				t.Fatalf("cart changed: %s → %s", cart, got)
			}
		})

		t.Run("a live coupon applies to a Buy now", func(t *testing.T) {
			s.seller.expect(201, "POST", fmt.Sprintf("/api/streams/%d/coupons", s.streamID), map[string]any{"code": "NOW20", "kind": "percent", "value": 20, "max_uses": 5})
			body := buyNowBody(payments.TestCardVisa, item(socks.ID, 1))
			body["stream_id"], body["coupon_code"] = s.streamID, "NOW20"
			var o commerce.Order
			ann.expect(201, "POST", "/api/checkout", body, "Idempotency-Key", newKey()).decode(t, &o)
			if o.SubtotalMinor != 500 || o.DiscountMinor != 100 || o.TotalMinor != 400 {
				t.Fatalf("order = %+v", o)
			}
		})

		t.Run("bad items are refused and nothing is written", func(t *testing.T) {
			shown := item(socks.ID, 1)
			shown["unit_price_minor"] = 450
			for _, tc := range []struct {
				name   string
				status int
				code   string
				body   any
			}{
				{"more than the stock", 409, "out_of_stock", buyNowBody(payments.TestCardVisa, item(s.product.ID, 10))},
				{"a price other than the one shown", 409, "price_changed", buyNowBody(payments.TestCardVisa, shown)},
				{"no items", 422, "invalid", buyNowBody(payments.TestCardVisa)},
				{"no units", 422, "invalid", buyNowBody(payments.TestCardVisa, item(socks.ID, 0))},
				{"absurd units", 422, "invalid", buyNowBody(payments.TestCardVisa, item(socks.ID, 1_000_000))},
				{"a product twice", 422, "invalid", buyNowBody(payments.TestCardVisa, item(socks.ID, 1), item(socks.ID, 2))},
				{"an unknown product", 422, "invalid", buyNowBody(payments.TestCardVisa, item(987654, 1))},
				{"another shop's draft", 422, "invalid", buyNowBody(payments.TestCardVisa, item(draft.ID, 1))},
				{"an archived product", 409, "product_unavailable", buyNowBody(payments.TestCardVisa, item(archived.ID, 1))},
				{"two shops' products", 422, "choose_shop", buyNowBody(payments.TestCardVisa, item(socks.ID, 1), item(elsewhere.product.ID, 1))},
				{"a shop_id that is not the items' shop", 422, "invalid", func() any {
					b := buyNowBody(payments.TestCardVisa, item(socks.ID, 1))
					b["shop_id"] = elsewhere.shopID
					return b
				}()},
				{"items that are not a list", 400, "bad_request", `{"items":{"product_id":1},"shipping_address":{},"payment_method":{}}`},
			} {
				t.Run(tc.name, func(t *testing.T) { refused(t, tc.status, tc.code, tc.body) })
			}
		})

		t.Run("buyers racing for the last units never get more than the stock", func(t *testing.T) {
			last := s.seller.product(s.shopID, "Last ones", 1_000, 5)
			buyers := seedBuyers(t, n.app, 20)
			hc := raceClient(20)
			var wg sync.WaitGroup
			statuses := make([]int, len(buyers))
			for i, b := range buyers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					status, _, err := post(hc, n.URL+"/api/checkout", b.token, buyNowBody(payments.TestCardVisa, item(last.ID, 1)), "Idempotency-Key", newKey())
					if err != nil {
						t.Error(err)
					}
					statuses[i] = status
				}()
			}
			wg.Wait()
			sold := 0
			for _, st := range statuses {
				switch st {
				case http.StatusCreated:
					sold++
				case http.StatusConflict:
				default:
					t.Errorf("status %d", st)
				}
			}
			if got := stock(last); sold != 5 || got != 0 {
				t.Fatalf("%d sold, stock %d; want 5 sold and none left", sold, got)
			}
		})
	})
}
