package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/flash"
	"github.com/liveshop/liveshop/commerce/payments"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
	"github.com/liveshop/liveshop/room"
)

// eachFlashDatabase runs fn against a node on SQLite and, when
// LIVESHOP_TEST_POSTGRES is set, on PostgreSQL.
func eachFlashDatabase(t *testing.T, fn func(t *testing.T, cfg Config)) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			cfg := flashConfig(t)
			if db == "postgres" {
				cfg.DB = sqltest.PostgresURL(t)
			}
			fn(t, cfg)
		})
	}
}

func TestFlashSaleBuyNowToPaidOrder(t *testing.T) {
	eachFlashDatabase(t, func(t *testing.T, cfg Config) {
		n := startNode(t, cfg)
		s := newSaleSetup(t, n, 50)
		viewer := joinRoom(t, n.URL, nil, s.streamID)
		viewer.wait(room.EventSnapshot, nil)
		fs := s.startSale(t, 10, 2, 0, 60)

		t.Run("the sale takes its units out of the product's stock and is announced", func(t *testing.T) {
			if fs.Status != flash.SaleRunning || fs.Remaining != 10 || fs.PriceMinor != 5_000 || fs.ListPriceMinor != 10_000 {
				t.Fatalf("sale = %+v", fs)
			}
			if got := s.seller.productPage(s.product.ID).Stock; got != 40 {
				t.Fatalf("product stock = %d, want 50-10", got)
			}
			d := roomData[room.FlashSale](t, viewer.wait(room.EventFlashSale, nil))
			if d.ID != fs.ID || !d.EndsAt.Equal(fs.EndsAt) || d.Remaining != 10 {
				t.Fatalf("announcement = %+v", d)
			}
		})

		ann := n.srv.shopper(t, uniqueName("ann")+"@example.com", "Ann Buyer")
		ann.expect(200, "PUT", "/api/me/purchase-privacy", map[string]bool{"show_name_in_purchases": true})
		var r flash.Reservation
		t.Run("buy now reserves units with an expiry", func(t *testing.T) {
			r = reserve(t, ann.client, fs.ID, 2)
			if r.State != flash.ReservationHeld || r.Quantity != 2 || time.Until(r.ExpiresAt) < 4*time.Minute {
				t.Fatalf("reservation = %+v", r)
			}
			var got flash.Sale
			ann.expect(200, "GET", fmt.Sprintf("/api/flash-sales/%d", fs.ID), nil).decode(t, &got)
			if got.Remaining != 8 || got.Reserved != 2 {
				t.Fatalf("sale counts = %+v", got)
			}
		})

		var res flash.CheckoutResult
		key := newKey()
		t.Run("checkout of the reservation creates a paid order at the sale price", func(t *testing.T) {
			ann.expect(201, "POST", checkoutPath(r), flashCheckoutBody(payments.TestCardVisa), "Idempotency-Key", key).decode(t, &res)
			o := res.Order
			if o.Status != commerce.OrderPaid || o.Payment.Status != commerce.PaymentCaptured || o.TotalMinor != 10_000 ||
				o.StreamID != s.streamID || len(o.Lines) != 1 || o.Lines[0].UnitPriceMinor != 5_000 || o.Lines[0].Quantity != 2 {
				t.Fatalf("order = %+v", o)
			}
			var got flash.Sale
			ann.expect(200, "GET", fmt.Sprintf("/api/flash-sales/%d", fs.ID), nil).decode(t, &got)
			if got.Remaining != 8 || got.Reserved != 0 || got.Sold != 2 {
				t.Fatalf("sale counts after payment = %+v", got)
			}
			var mine commerce.Order
			ann.expect(200, "GET", fmt.Sprintf("/api/orders/%d", o.ID), nil).decode(t, &mine)
			if mine.Status != commerce.OrderPaid {
				t.Fatalf("order as the buyer sees it = %+v", mine)
			}
		})

		t.Run("a retry with the same key replays the order", func(t *testing.T) {
			rr := ann.expect(201, "POST", checkoutPath(r), flashCheckoutBody(payments.TestCardVisa), "Idempotency-Key", key)
			var again flash.CheckoutResult
			rr.decode(t, &again)
			if again.Order.ID != res.Order.ID || rr.header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("replay = %+v (%v)", again.Order, rr.header)
			}
		})

		t.Run("the room hears a just-bought ticker with the buyer's name and the new stock", func(t *testing.T) {
			p := roomData[room.Purchase](t, viewer.nth(room.EventPurchase, 0))
			if p.Buyer != "Ann Buyer" || p.Quantity != 2 || p.ProductID != s.product.ID {
				t.Fatalf("purchase = %+v", p)
			}
			viewer.wait(room.EventFlashSaleStock, func(d json.RawMessage) bool {
				var st room.FlashSaleStock
				return json.Unmarshal(d, &st) == nil && st.ID == fs.ID && st.Remaining == 8
			})
		})

		t.Run("an anonymous buyer shows as someone", func(t *testing.T) {
			bob := n.srv.shopper(t, uniqueName("bob")+"@example.com", "Bob Private")
			r := reserve(t, bob.client, fs.ID, 1)
			bob.expect(201, "POST", checkoutPath(r), flashCheckoutBody(payments.TestCardVisa), "Idempotency-Key", newKey())
			if p := roomData[room.Purchase](t, viewer.nth(room.EventPurchase, 1)); p.Buyer != "Someone" {
				t.Fatalf("anonymous purchase shows %q", p.Buyer)
			}
		})

		t.Run("stopping the sale ends it, announces it and returns the unsold units", func(t *testing.T) {
			var got flash.Sale
			s.seller.expect(200, "POST", fmt.Sprintf("/api/flash-sales/%d/stop", fs.ID), nil).decode(t, &got)
			if got.Status != flash.SaleEnded || got.EndReason != flash.SaleEndStopped {
				t.Fatalf("stopped sale = %+v", got)
			}
			if e := roomData[room.FlashSaleEnded](t, viewer.wait(room.EventFlashSaleEnded, nil)); e.Reason != "stopped" || e.Remaining != 7 {
				t.Fatalf("ended = %+v", e)
			}
			eventually(t, "reconciliation", 5*time.Second, func() bool { return saleSQL(t, n.app, fs.ID).ReconciledAt != nil })
			if sold := saleSQL(t, n.app, fs.ID).Sold; sold != 3 {
				t.Fatalf("SQL sold = %d, want 3", sold)
			}
			if got := s.seller.productPage(s.product.ID).Stock; got != 47 {
				t.Fatalf("product stock after reconciliation = %d, want 50-3", got)
			}
			c := n.srv.shopper(t, uniqueName("late")+"@example.com", "Late")
			if code := c.expect(409, "POST", fmt.Sprintf("/api/flash-sales/%d/reservations", fs.ID), nil).errorCode(t); code != "sale_ended" {
				t.Fatalf("reserve after end: %s", code)
			}
		})
	})
}

func TestFlashSaleReleasesUnitsOfUnpaidReservations(t *testing.T) {
	cfg := flashConfig(t)
	cfg.FlashSale.ReservationTTL = 300 * time.Millisecond
	n := startNode(t, cfg)
	s := newSaleSetup(t, n, 10)
	fs := s.startSale(t, 3, 3, 0, 60)
	b := seedBuyers(t, n.app, 2)
	ann, bob := b[0].as(t, n), b[1].as(t, n)

	t.Run("an expired reservation gives its units back and cannot be paid", func(t *testing.T) {
		r := reserve(t, ann, fs.ID, 3)
		if code := bob.expect(409, "POST", fmt.Sprintf("/api/flash-sales/%d/reservations", fs.ID), nil).errorCode(t); code != "sold_out" {
			t.Fatalf("code %s, want sold_out", code)
		}
		eventually(t, "units back", 5*time.Second, func() bool {
			var got flash.Sale
			bob.expect(200, "GET", fmt.Sprintf("/api/flash-sales/%d", fs.ID), nil).decode(t, &got)
			return got.Remaining == 3 && got.Reserved == 0
		})
		if code := ann.expect(410, "POST", checkoutPath(r), flashCheckoutBody(payments.TestCardVisa), "Idempotency-Key", newKey()).errorCode(t); code != "reservation_expired" {
			t.Fatalf("code %s", code)
		}
		var got flash.Reservation
		ann.expect(200, "GET", fmt.Sprintf("/api/flash-sales/%d/reservations/%d", fs.ID, r.ID), nil).decode(t, &got)
		if got.State != flash.ReservationExpired {
			t.Fatalf("state %s", got.State)
		}
	})

	t.Run("a declined payment cancels the order and gives the units back at once", func(t *testing.T) {
		r := reserve(t, bob, fs.ID, 2)
		if code := bob.expect(402, "POST", checkoutPath(r), flashCheckoutBody(payments.TestCardDeclined), "Idempotency-Key", newKey()).errorCode(t); code != "payment_declined" {
			t.Fatalf("code %s", code)
		}
		var got flash.Sale
		bob.expect(200, "GET", fmt.Sprintf("/api/flash-sales/%d", fs.ID), nil).decode(t, &got)
		if got.Remaining != 3 || got.Sold != 0 || got.Reserved != 0 {
			t.Fatalf("counts after decline = %+v", got)
		}
		var orders struct {
			Orders []commerce.Order `json:"items"`
		}
		bob.expect(200, "GET", "/api/orders", nil).decode(t, &orders)
		if len(orders.Orders) != 1 || orders.Orders[0].Status != commerce.OrderCancelled || orders.Orders[0].Payment.Status != commerce.PaymentDeclined {
			t.Fatalf("orders after decline = %+v", orders.Orders)
		}
	})

	t.Run("a cancelled reservation gives its units back at once", func(t *testing.T) {
		r := reserve(t, ann, fs.ID, 3)
		var got flash.Reservation
		ann.expect(200, "DELETE", fmt.Sprintf("/api/flash-sales/%d/reservations/%d", fs.ID, r.ID), nil).decode(t, &got)
		if got.State != flash.ReservationReleased {
			t.Fatalf("state %s", got.State)
		}
		reserve(t, bob, fs.ID, 3)
	})
}

func TestFlashSaleRefusesBadInput(t *testing.T) {
	cfg := flashConfig(t)
	n := startNode(t, cfg)
	s := newSaleSetup(t, n, 100)
	b := seedBuyers(t, n.app, 3)
	ann, bob := b[0].as(t, n), b[1].as(t, n)
	path := func(fs flash.Sale) string { return fmt.Sprintf("/api/flash-sales/%d/reservations", fs.ID) }

	// noChange checks the sale's counts did not move.
	noChange := func(t *testing.T, fs flash.Sale, remaining, reserved, sold int64) {
		t.Helper()
		var got flash.Sale
		ann.expect(200, "GET", fmt.Sprintf("/api/flash-sales/%d", fs.ID), nil).decode(t, &got)
		if got.Remaining != remaining || got.Reserved != reserved || got.Sold != sold {
			t.Fatalf("counts = %d/%d/%d, want %d/%d/%d", got.Remaining, got.Reserved, got.Sold, remaining, reserved, sold)
		}
	}

	t.Run("before the countdown ends, buying is refused", func(t *testing.T) {
		fs := s.startSale(t, 5, 1, 300, 60)
		if fs.Status != flash.SaleScheduled {
			t.Fatalf("status %s", fs.Status)
		}
		if code := ann.expect(409, "POST", path(fs), nil).errorCode(t); code != "sale_not_started" {
			t.Fatalf("code %s", code)
		}
		noChange(t, fs, 5, 0, 0)
		t.Run("and a second sale on the same stream is refused", func(t *testing.T) {
			if code := s.seller.expect(409, "POST", fmt.Sprintf("/api/streams/%d/flash-sales", s.streamID), map[string]int64{
				"product_id": s.product.ID, "price_minor": 100, "quantity": 1, "per_buyer_limit": 1, "duration_s": 60,
			}).errorCode(t); code != "sale_active" {
				t.Fatalf("code %s", code)
			}
		})
		s.seller.expect(200, "POST", fmt.Sprintf("/api/flash-sales/%d/stop", fs.ID), nil)
	})

	fs := s.startSale(t, 5, 2, 0, 60)
	var annRes flash.Reservation
	t.Run("above the per-buyer limit, buying is refused", func(t *testing.T) {
		if code := ann.expect(409, "POST", path(fs), map[string]int64{"quantity": 3}).errorCode(t); code != "limit_reached" {
			t.Fatalf("code %s", code)
		}
		annRes = reserve(t, ann, fs.ID, 2)
		if code := ann.expect(409, "POST", path(fs), nil).errorCode(t); code != "limit_reached" {
			t.Fatalf("code %s", code)
		}
		noChange(t, fs, 3, 2, 0)
	})

	t.Run("quantities below one or above the maximum are refused", func(t *testing.T) {
		for _, q := range []int64{0, -1, 101} {
			bob.expect(422, "POST", path(fs), map[string]int64{"quantity": q})
		}
		bob.expect(400, "POST", path(fs), `{"quantity":"lots"}`)
		noChange(t, fs, 3, 2, 0)
	})

	t.Run("someone else's reservation cannot be seen, paid or cancelled", func(t *testing.T) {
		rp := fmt.Sprintf("/api/flash-sales/%d/reservations/%d", fs.ID, annRes.ID)
		if code := bob.expect(404, "GET", rp, nil).errorCode(t); code != "reservation_not_found" {
			t.Fatalf("code %s", code)
		}
		bob.expect(404, "DELETE", rp, nil)
		bob.expect(404, "POST", checkoutPath(annRes), flashCheckoutBody(payments.TestCardVisa), "Idempotency-Key", newKey())
		bob.expect(404, "POST", fmt.Sprintf("/api/flash-sales/%d/reservations/%d/checkout", fs.ID, 12345), flashCheckoutBody(payments.TestCardVisa), "Idempotency-Key", newKey())
		noChange(t, fs, 3, 2, 0)
	})

	t.Run("checkout needs an idempotency key, and a key replayed with another body is refused", func(t *testing.T) {
		if code := ann.expect(400, "POST", checkoutPath(annRes), flashCheckoutBody(payments.TestCardVisa)).errorCode(t); code != "idempotency_key_required" {
			t.Fatalf("code %s", code)
		}
		key := newKey()
		ann.expect(201, "POST", checkoutPath(annRes), flashCheckoutBody(payments.TestCardVisa), "Idempotency-Key", key)
		if code := ann.expect(422, "POST", checkoutPath(annRes), flashCheckoutBody(payments.TestCardMastercard), "Idempotency-Key", key).errorCode(t); code != "idempotency_key_reused" {
			t.Fatalf("code %s", code)
		}
		noChange(t, fs, 3, 0, 2)
	})

	t.Run("paying twice for one reservation is refused and creates no second order", func(t *testing.T) {
		if code := ann.expect(409, "POST", checkoutPath(annRes), flashCheckoutBody(payments.TestCardVisa), "Idempotency-Key", newKey()).errorCode(t); code != "already_paid" {
			t.Fatalf("code %s", code)
		}
		var orders struct {
			Orders []commerce.Order `json:"items"`
		}
		ann.expect(200, "GET", "/api/orders", nil).decode(t, &orders)
		if len(orders.Orders) != 1 {
			t.Fatalf("%d orders, want 1", len(orders.Orders))
		}
		noChange(t, fs, 3, 0, 2)
	})

	t.Run("only the seller may start or stop a sale", func(t *testing.T) {
		bob.expect(403, "POST", fmt.Sprintf("/api/flash-sales/%d/stop", fs.ID), nil)
		bob.expect(403, "POST", fmt.Sprintf("/api/streams/%d/flash-sales", s.streamID), map[string]int64{
			"product_id": s.product.ID, "price_minor": 100, "quantity": 1, "per_buyer_limit": 1, "duration_s": 60,
		})
		anon := n.srv.client(t)
		anon.expect(401, "POST", path(fs), nil)
	})

	t.Run("absurd sale settings are refused", func(t *testing.T) {
		other := newSaleSetup(t, n, 5)
		for name, body := range map[string]map[string]int64{
			"price above list": {"product_id": other.product.ID, "price_minor": 10_001, "quantity": 1, "per_buyer_limit": 1, "duration_s": 60},
			"zero price":       {"product_id": other.product.ID, "price_minor": 0, "quantity": 1, "per_buyer_limit": 1, "duration_s": 60},
			"limit above qty":  {"product_id": other.product.ID, "price_minor": 100, "quantity": 1, "per_buyer_limit": 2, "duration_s": 60},
			"too short":        {"product_id": other.product.ID, "price_minor": 100, "quantity": 1, "per_buyer_limit": 1, "duration_s": 1},
			"long countdown":   {"product_id": other.product.ID, "price_minor": 100, "quantity": 1, "per_buyer_limit": 1, "duration_s": 60, "countdown_s": 3600},
			"other's product":  {"product_id": s.product.ID, "price_minor": 100, "quantity": 1, "per_buyer_limit": 1, "duration_s": 60},
		} {
			t.Run(name, func(t *testing.T) {
				other.seller.expect(422, "POST", fmt.Sprintf("/api/streams/%d/flash-sales", other.streamID), body)
			})
		}
		if code := other.seller.expect(409, "POST", fmt.Sprintf("/api/streams/%d/flash-sales", other.streamID), map[string]int64{
			"product_id": other.product.ID, "price_minor": 100, "quantity": 6, "per_buyer_limit": 1, "duration_s": 60,
		}).errorCode(t); code != "out_of_stock" {
			t.Fatalf("more than the stock: %s", code)
		}
		if got := other.seller.productPage(other.product.ID).Stock; got != 5 {
			t.Fatalf("stock moved to %d", got)
		}
	})

	t.Run("after the stream ends, the sale ends and buying is refused", func(t *testing.T) {
		s.seller.expect(200, "POST", fmt.Sprintf("/api/streams/%d/end", s.streamID), nil)
		eventually(t, "the sale to end with its stream", 5*time.Second, func() bool {
			return saleSQL(t, n.app, fs.ID).EndReason == flash.SaleEndStreamEnded
		})
		code := b[2].as(t, n).expect(409, "POST", path(fs), nil).errorCode(t)
		if code != "sale_ended" {
			t.Fatalf("code %s", code)
		}
		if code := s.seller.expect(409, "POST", fmt.Sprintf("/api/streams/%d/flash-sales", s.streamID), map[string]int64{
			"product_id": s.product.ID, "price_minor": 100, "quantity": 1, "per_buyer_limit": 1, "duration_s": 60,
		}).errorCode(t); code != "stream_not_live" {
			t.Fatalf("sale on an ended stream: %s", code)
		}
	})
	_ = http.StatusOK
}
