package main

import (
	"fmt"
	"testing"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/flash"
	"github.com/liveshop/liveshop/commerce/payments"
)

func TestLiveCoupons(t *testing.T) {
	eachFlashDatabase(t, func(t *testing.T, cfg Config) {
		n := startNode(t, cfg)
		s := newSaleSetup(t, n, 100)
		fs := s.startSale(t, 20, 2, 0, 600)
		b := seedBuyers(t, n.app, 5)
		ann, bob, cat, dan := b[0].as(t, n), b[1].as(t, n), b[2].as(t, n), b[3].as(t, n)
		couponPath := fmt.Sprintf("/api/streams/%d/coupons", s.streamID)
		withCoupon := func(card, code string) map[string]any {
			body := flashCheckoutBody(card)
			body["coupon_code"] = code
			return body
		}
		orderCount := func(c *client) int {
			var out struct {
				Items []commerce.Order `json:"items"`
			}
			c.expect(200, "GET", "/api/orders", nil).decode(t, &out)
			return len(out.Items)
		}

		t.Run("the seller creates coupons; others may not, and bad ones are refused", func(t *testing.T) {
			var c commerce.Coupon
			s.seller.expect(201, "POST", couponPath, map[string]any{"code": "live10", "kind": "percent", "value": 10, "max_uses": 2}).decode(t, &c)
			if c.Code != "LIVE10" || c.StreamID != s.streamID || c.Currency != "USD" {
				t.Fatalf("coupon = %+v", c)
			}
			s.seller.expect(201, "POST", couponPath, map[string]any{"code": "FLAT7", "kind": "fixed", "value": 700, "max_uses": 10})
			if code := s.seller.expect(409, "POST", couponPath, map[string]any{"code": "LIVE10", "kind": "fixed", "value": 1, "max_uses": 1}).errorCode(t); code != "coupon_exists" {
				t.Fatalf("duplicate: %s", code)
			}
			ann.expect(403, "POST", couponPath, map[string]any{"code": "MINE", "kind": "fixed", "value": 1, "max_uses": 1})
			for name, body := range map[string]map[string]any{
				"unknown kind":   {"code": "X1X", "kind": "bogo", "value": 1, "max_uses": 1},
				"100 percent":    {"code": "X2X", "kind": "percent", "value": 100, "max_uses": 1},
				"no uses":        {"code": "X3X", "kind": "fixed", "value": 1, "max_uses": 0},
				"short code":     {"code": "X", "kind": "fixed", "value": 1, "max_uses": 1},
				"code with html": {"code": "<b>", "kind": "fixed", "value": 1, "max_uses": 1},
			} {
				t.Run(name, func(t *testing.T) { s.seller.expect(422, "POST", couponPath, body) })
			}
			var list struct {
				Items []commerce.Coupon `json:"items"`
			}
			s.seller.expect(200, "GET", couponPath, nil).decode(t, &list)
			if len(list.Items) != 2 {
				t.Fatalf("coupons = %+v", list.Items)
			}
			var check map[string]any
			ann.expect(200, "GET", couponPath+"/live10", nil).decode(t, &check)
			if check["kind"] != "percent" || check["value"] != float64(10) {
				t.Fatalf("check = %v", check)
			}
		})

		t.Run("a percent coupon takes its share off the order", func(t *testing.T) {
			r := reserve(t, ann, fs.ID, 1)
			var res flash.CheckoutResult
			ann.expect(201, "POST", checkoutPath(r), withCoupon(payments.TestCardVisa, "LIVE10"), "Idempotency-Key", newKey()).decode(t, &res)
			if res.Order.TotalMinor != 4_500 || res.DiscountMinor != 500 || res.Order.Payment.AmountMinor != 4_500 {
				t.Fatalf("order total %d, discount %d", res.Order.TotalMinor, res.DiscountMinor)
			}
		})

		t.Run("a fixed coupon takes its amount off", func(t *testing.T) {
			r := reserve(t, dan, fs.ID, 2)
			var res flash.CheckoutResult
			dan.expect(201, "POST", checkoutPath(r), withCoupon(payments.TestCardVisa, "flat7"), "Idempotency-Key", newKey()).decode(t, &res)
			if res.Order.TotalMinor != 10_000-700 || res.DiscountMinor != 700 {
				t.Fatalf("order total %d, discount %d", res.Order.TotalMinor, res.DiscountMinor)
			}
		})

		t.Run("a buyer uses a coupon once; the refusal writes nothing", func(t *testing.T) {
			r := reserve(t, ann, fs.ID, 1)
			before := saleCounts(t, n, fs.ID)
			if code := ann.expect(409, "POST", checkoutPath(r), withCoupon(payments.TestCardVisa, "LIVE10"), "Idempotency-Key", newKey()).errorCode(t); code != "coupon_already_used" {
				t.Fatalf("code %s", code)
			}
			if got := orderCount(ann); got != 1 {
				t.Fatalf("%d orders after the refusal, want 1", got)
			}
			if after := saleCounts(t, n, fs.ID); after.Remaining != before.Remaining || after.Sold != before.Sold || after.Reserved != before.Reserved {
				t.Fatalf("counts moved: %+v → %+v", before, after)
			}
			// Without the coupon the same reservation can still be paid.
			ann.expect(201, "POST", checkoutPath(r), flashCheckoutBody(payments.TestCardVisa), "Idempotency-Key", newKey())
		})

		t.Run("a declined payment gives the coupon back to the buyer", func(t *testing.T) {
			r := reserve(t, bob, fs.ID, 1)
			bob.expect(402, "POST", checkoutPath(r), withCoupon(payments.TestCardDeclined, "LIVE10"), "Idempotency-Key", newKey())
			r = reserve(t, bob, fs.ID, 1)
			var res flash.CheckoutResult
			bob.expect(201, "POST", checkoutPath(r), withCoupon(payments.TestCardVisa, "LIVE10"), "Idempotency-Key", newKey()).decode(t, &res)
			if res.DiscountMinor != 500 {
				t.Fatalf("discount %d", res.DiscountMinor)
			}
		})

		t.Run("a coupon past its usage cap is refused", func(t *testing.T) {
			r := reserve(t, cat, fs.ID, 1)
			if code := cat.expect(409, "POST", checkoutPath(r), withCoupon(payments.TestCardVisa, "LIVE10"), "Idempotency-Key", newKey()).errorCode(t); code != "coupon_used_up" {
				t.Fatalf("code %s", code)
			}
			if got := orderCount(cat); got != 0 {
				t.Fatalf("%d orders after the refusal", got)
			}
		})

		t.Run("an unknown code or a code of another stream is refused", func(t *testing.T) {
			var other commerce.StreamWithKey
			s.seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", s.shopID), map[string]string{"title": "Next week"}).decode(t, &other)
			s.seller.expect(201, "POST", fmt.Sprintf("/api/streams/%d/coupons", other.ID), map[string]any{"code": "NEXTWEEK", "kind": "percent", "value": 50, "max_uses": 100})
			r := reserve(t, cat, fs.ID, 1)
			if code := cat.expect(422, "POST", checkoutPath(r), withCoupon(payments.TestCardVisa, "NEXTWEEK"), "Idempotency-Key", newKey()).errorCode(t); code != "coupon_wrong_stream" {
				t.Fatalf("code %s", code)
			}
			if code := cat.expect(422, "POST", checkoutPath(r), withCoupon(payments.TestCardVisa, "NOPE99"), "Idempotency-Key", newKey()).errorCode(t); code != "coupon_not_found" {
				t.Fatalf("code %s", code)
			}
			if code := cat.expect(422, "GET", fmt.Sprintf("/api/streams/%d/coupons/NEXTWEEK", other.ID), nil).errorCode(t); code != "coupon_not_live" {
				t.Fatalf("check on a scheduled stream: %s", code)
			}
			if got := orderCount(cat); got != 0 {
				t.Fatalf("%d orders after the refusals", got)
			}
		})

		t.Run("after the stream ends, its coupons are refused", func(t *testing.T) {
			r := reserve(t, b[4].as(t, n), fs.ID, 1)
			s.seller.expect(200, "POST", fmt.Sprintf("/api/streams/%d/end", s.streamID), nil)
			e := b[4].as(t, n)
			if code := e.expect(422, "POST", checkoutPath(r), withCoupon(payments.TestCardVisa, "FLAT7"), "Idempotency-Key", newKey()).errorCode(t); code != "coupon_not_live" {
				t.Fatalf("code %s", code)
			}
			if got := orderCount(e); got != 0 {
				t.Fatalf("%d orders after the refusal", got)
			}
			// The reservation was made while the sale ran: it may still be
			// paid without the coupon.
			e.expect(201, "POST", checkoutPath(r), flashCheckoutBody(payments.TestCardVisa), "Idempotency-Key", newKey())
		})
	})
}
