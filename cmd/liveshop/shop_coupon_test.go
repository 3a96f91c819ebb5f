package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/payments"
)

// TestCartCheckoutCoupons: a live coupon applies at the cart checkout with
// the flash-sale checkout's rules, one use per buyer across both, and a
// refusal writes nothing.
func TestCartCheckoutCoupons(t *testing.T) {
	eachFlashDatabase(t, func(t *testing.T, cfg Config) {
		n := startNode(t, cfg)
		s := newSaleSetup(t, n, 100) // 100.00 USD sneakers on a live stream
		b := seedBuyers(t, n.app, 7)
		couponPath := fmt.Sprintf("/api/streams/%d/coupons", s.streamID)
		s.seller.expect(201, "POST", couponPath, map[string]any{"code": "LIVE10", "kind": "percent", "value": 10, "max_uses": 3})
		s.seller.expect(201, "POST", couponPath, map[string]any{"code": "FLAT7", "kind": "fixed", "value": 700, "max_uses": 1})
		var later commerce.StreamWithKey
		s.seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", s.shopID), map[string]string{"title": "Next week"}).decode(t, &later)
		s.seller.expect(201, "POST", fmt.Sprintf("/api/streams/%d/coupons", later.ID), map[string]any{"code": "NEXTWEEK", "kind": "percent", "value": 50, "max_uses": 9})
		otherShop := newSaleSetup(t, n, 10)
		otherShop.seller.expect(201, "POST", fmt.Sprintf("/api/streams/%d/coupons", otherShop.streamID), map[string]any{"code": "THEIRS", "kind": "percent", "value": 50, "max_uses": 9})

		body := func(card, code string) map[string]any {
			out := checkoutBody(s.shopID, card)
			out["stream_id"] = s.streamID
			if code != "" {
				out["coupon_code"] = code
			}
			return out
		}
		inCart := func(c *client, qty int64) {
			c.expect(200, "POST", "/api/cart/lines", map[string]int64{"product_id": s.product.ID, "quantity": qty})
		}
		// state is what a refused checkout must leave as it was.
		type state struct {
			stock, cartUnits int64
			orders           int
			uses             map[string]int64
		}
		stateOf := func(c *client) state {
			st := state{stock: s.seller.productPage(s.product.ID).Stock, uses: map[string]int64{}}
			var cart commerce.Cart
			c.expect(200, "GET", "/api/cart", nil).decode(t, &cart)
			for _, l := range cart.Lines {
				st.cartUnits += l.Quantity
			}
			var orders struct {
				Items []commerce.Order `json:"items"`
			}
			c.expect(200, "GET", "/api/orders", nil).decode(t, &orders)
			st.orders = len(orders.Items)
			var coupons struct {
				Items []commerce.Coupon `json:"items"`
			}
			s.seller.expect(200, "GET", couponPath, nil).decode(t, &coupons)
			for _, cp := range coupons.Items {
				st.uses[cp.Code] = cp.Used
			}
			return st
		}
		refused := func(t *testing.T, c *client, status int, code string, req map[string]any, key string) {
			t.Helper()
			before := stateOf(c)
			r := c.with(t).do("POST", "/api/checkout", req, "Idempotency-Key", key)
			if r.status != status || r.errorCode(t) != code {
				t.Fatalf("status %d %s, want %d %s", r.status, r.body, status, code)
			}
			if after := stateOf(c); after.stock != before.stock || after.cartUnits != before.cartUnits ||
				after.orders != before.orders || fmt.Sprint(after.uses) != fmt.Sprint(before.uses) {
				t.Fatalf("the refusal wrote something: %+v → %+v", before, after)
			}
		}

		ann := b[0].as(t, n)
		t.Run("a percent coupon takes its share off the order, which records it", func(t *testing.T) {
			inCart(ann, 2)
			var o commerce.Order
			ann.expect(201, "POST", "/api/checkout", body(payments.TestCardVisa, "live10"), "Idempotency-Key", newKey()).decode(t, &o)
			if o.SubtotalMinor != 20_000 || o.DiscountMinor != 2_000 || o.TotalMinor != 18_000 || o.Payment.AmountMinor != 18_000 ||
				o.CouponCode != "LIVE10" || o.Status != commerce.OrderPaid || o.StreamID != s.streamID || o.Source != commerce.OrderSourceCart {
				t.Fatalf("order = %+v", o)
			}
			got := shopper{ann, b[0].id}.order(o.ID)
			if got.DiscountMinor != 2_000 || got.SubtotalMinor != 20_000 || got.CouponCode != "LIVE10" {
				t.Fatalf("order page = %+v", got)
			}
			if !strings.Contains(got.Timeline[0].Note, "coupon LIVE10") {
				t.Fatalf("placed note %q", got.Timeline[0].Note)
			}
			if uses := stateOf(ann).uses["LIVE10"]; uses != 1 {
				t.Fatalf("LIVE10 used %d times", uses)
			}
		})

		t.Run("a fixed coupon takes its amount off", func(t *testing.T) {
			bob := b[1].as(t, n)
			inCart(bob, 1)
			var o commerce.Order
			bob.expect(201, "POST", "/api/checkout", body(payments.TestCardVisa, "FLAT7"), "Idempotency-Key", newKey()).decode(t, &o)
			if o.DiscountMinor != 700 || o.TotalMinor != 10_000-700 {
				t.Fatalf("order total %d, discount %d", o.TotalMinor, o.DiscountMinor)
			}
		})

		t.Run("a buyer uses a coupon once, and nothing is written for the second try", func(t *testing.T) {
			inCart(ann, 1)
			refused(t, ann, 409, "coupon_already_used", body(payments.TestCardVisa, "LIVE10"), newKey())
		})

		t.Run("a coupon used in a flash-sale checkout counts at the cart too", func(t *testing.T) {
			cat := b[2].as(t, n)
			fs := s.startSale(t, 5, 1, 0, 600)
			r := reserve(t, cat, fs.ID, 1)
			withCoupon := flashCheckoutBody(payments.TestCardVisa)
			withCoupon["coupon_code"] = "LIVE10"
			cat.expect(201, "POST", checkoutPath(r), withCoupon, "Idempotency-Key", newKey())
			s.seller.expect(200, "POST", fmt.Sprintf("/api/flash-sales/%d/stop", fs.ID), nil)
			// The unsold units go back to the product when the sale is
			// reconciled; wait, so the stock holds still from here on.
			eventually(t, "the sale to be reconciled", 10*time.Second, func() bool { return saleSQL(t, n.app, fs.ID).ReconciledAt != nil })
			inCart(cat, 1)
			refused(t, cat, 409, "coupon_already_used", body(payments.TestCardVisa, "LIVE10"), newKey())
		})

		t.Run("a declined payment gives the use back and the lines back to the cart", func(t *testing.T) {
			dan := b[3].as(t, n)
			inCart(dan, 1)
			dan.expect(402, "POST", "/api/checkout", body(payments.TestCardDeclined, "LIVE10"), "Idempotency-Key", newKey())
			st := stateOf(dan)
			if st.uses["LIVE10"] != 2 || st.cartUnits != 1 || st.stock != 100-2-1-1 {
				t.Fatalf("after the decline: %+v", st)
			}
			var o commerce.Order
			dan.expect(201, "POST", "/api/checkout", body(payments.TestCardVisa, "LIVE10"), "Idempotency-Key", newKey()).decode(t, &o)
			if o.DiscountMinor != 1_000 {
				t.Fatalf("discount %d after the retry", o.DiscountMinor)
			}
		})

		eve := b[4].as(t, n)
		inCart(eve, 1)
		t.Run("a coupon past its usage cap is refused", func(t *testing.T) {
			refused(t, eve, 409, "coupon_used_up", body(payments.TestCardVisa, "FLAT7"), newKey())
		})

		t.Run("a code of another stream or another shop, or without its stream, is refused", func(t *testing.T) {
			refused(t, eve, 422, "coupon_wrong_stream", body(payments.TestCardVisa, "NEXTWEEK"), newKey())
			refused(t, eve, 422, "coupon_not_found", body(payments.TestCardVisa, "THEIRS"), newKey())
			refused(t, eve, 422, "coupon_not_found", body(payments.TestCardVisa, "NOPE99"), newKey())
			refused(t, eve, 422, "invalid", body(payments.TestCardVisa, "<b>"), newKey())
			noStream := body(payments.TestCardVisa, "LIVE10")
			delete(noStream, "stream_id")
			refused(t, eve, 422, "invalid", noStream, newKey())
			theirStream := body(payments.TestCardVisa, "THEIRS")
			theirStream["stream_id"] = otherShop.streamID
			refused(t, eve, 422, "invalid", theirStream, newKey())
		})

		t.Run("an idempotency key replayed with another coupon is refused", func(t *testing.T) {
			key := newKey()
			var o commerce.Order
			eve.expect(201, "POST", "/api/checkout", body(payments.TestCardVisa, ""), "Idempotency-Key", key).decode(t, &o)
			if o.DiscountMinor != 0 || o.CouponCode != "" || o.SubtotalMinor != o.TotalMinor {
				t.Fatalf("order without a coupon = %+v", o)
			}
			inCart(eve, 1)
			refused(t, eve, 422, "idempotency_key_reused", body(payments.TestCardVisa, "LIVE10"), key)
			r := eve.expect(201, "POST", "/api/checkout", body(payments.TestCardVisa, ""), "Idempotency-Key", key)
			if r.header.Get("Idempotent-Replayed") != "true" {
				t.Fatal("the same request with the key was not answered from the store")
			}
		})

		t.Run("after the stream ends, its coupons are refused", func(t *testing.T) {
			s.seller.expect(200, "POST", fmt.Sprintf("/api/streams/%d/end", s.streamID), nil)
			fay := b[5].as(t, n)
			inCart(fay, 1)
			refused(t, fay, 422, "coupon_not_live", body(payments.TestCardVisa, "LIVE10"), newKey())
			// Without the coupon the cart still checks out.
			var o commerce.Order
			fay.expect(201, "POST", "/api/checkout", body(payments.TestCardVisa, ""), "Idempotency-Key", newKey()).decode(t, &o)
			if !slices.ContainsFunc(o.Lines, func(l commerce.OrderLine) bool { return l.ProductID == s.product.ID }) {
				t.Fatalf("order lines %+v", o.Lines)
			}
		})
	})
}
