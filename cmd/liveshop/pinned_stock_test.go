package main

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/liveshop/liveshop/commerce/payments"
)

// pinnedCard is the product of a pinned event.
type pinnedCard struct {
	Product struct {
		ID         int64  `json:"id"`
		Title      string `json:"title"`
		PriceMinor int64  `json:"price_minor"`
		Stock      int64  `json:"stock"`
	} `json:"product"`
}

// pinnedStockIs matches pinned events of product id showing stock.
func pinnedStockIs(id, stock int64) func(json.RawMessage) bool {
	return func(d json.RawMessage) bool {
		var v pinnedCard
		return json.Unmarshal(d, &v) == nil && v.Product.ID == id && v.Product.Stock == stock
	}
}

// TestPinnedCardFollowsStock: the pinned product card viewers see in a room
// shows the units left as orders take them, down to 0 when it sells out,
// and back up when the seller cancels an order or restocks, in that order;
// and the price and title the seller changes, to viewers in the room and to
// those who join later.
func TestPinnedCardFollowsStock(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		srv := startServer(t, cfg)
		seller, _, _, shopID, productID, streamID := liveRoomFixture(t, srv)
		buyer := srv.shopper(t, "buyer@example.com", "Ann")
		seller.expect(200, "PATCH", fmt.Sprintf("/api/products/%d", productID), map[string]int64{"stock": 5})
		other := seller.product(shopID, "Scarf", 1500, 9)
		seller.expect(204, "PUT", fmt.Sprintf("/api/streams/%d/pin", streamID), map[string]any{"product_id": productID})

		viewer := joinRoom(t, srv.URL, nil, streamID)
		viewer.wait("snapshot", func(d json.RawMessage) bool {
			var v struct {
				Pinned json.RawMessage `json:"pinned"`
			}
			return json.Unmarshal(d, &v) == nil && pinnedStockIs(productID, 5)([]byte(`{"product":`+string(v.Pinned)+`}`))
		})

		shirt := seller.productPage(productID)
		first := buyer.buy(shirt, 2)
		viewer.wait("pinned", pinnedStockIs(productID, 3))

		buyer.buy(other, 1) // not pinned: no card for it
		buyNow := func(qty int64) response {
			return buyer.do("POST", "/api/checkout", map[string]any{
				"items":            []map[string]int64{{"product_id": productID, "quantity": qty, "unit_price_minor": shirt.PriceMinor}},
				"stream_id":        streamID,
				"shipping_address": testAddress, "payment_method": map[string]string{"card_number": payments.TestCardVisa},
			}, "Idempotency-Key", newKey())
		}
		if r := buyNow(3); r.status != 201 {
			t.Fatalf("buy now: %d %s", r.status, r.body)
		}
		viewer.wait("pinned", pinnedStockIs(productID, 0))
		if r := buyNow(1); r.status != 409 || r.errorCode(t) != "out_of_stock" {
			t.Fatalf("buying a sold-out product: %d %s", r.status, r.body)
		}

		seller.expect(200, "POST", fmt.Sprintf("/api/orders/%d/cancel", first.ID), nil, "Idempotency-Key", newKey())
		viewer.wait("pinned", pinnedStockIs(productID, 2))
		seller.expect(200, "PATCH", fmt.Sprintf("/api/products/%d", productID), map[string]int64{"stock": 40})
		viewer.wait("pinned", pinnedStockIs(productID, 40))

		seller.expect(200, "PATCH", fmt.Sprintf("/api/products/%d", productID), map[string]any{"price_minor": 2750, "title": "Linen shirt"})
		edited := func(d json.RawMessage) bool {
			var v pinnedCard
			return json.Unmarshal(d, &v) == nil && v.Product.ID == productID && v.Product.PriceMinor == 2750 &&
				v.Product.Title == "Linen shirt" && v.Product.Stock == 40
		}
		viewer.wait("pinned", edited)
		late := joinRoom(t, srv.URL, nil, streamID)
		late.wait("snapshot", func(d json.RawMessage) bool {
			var v struct {
				Pinned json.RawMessage `json:"pinned"`
			}
			return json.Unmarshal(d, &v) == nil && edited([]byte(`{"product":`+string(v.Pinned)+`}`))
		})

		viewer.mu.Lock()
		defer viewer.mu.Unlock()
		var stocks []int64 // the stock of each card, repeats left out
		for _, e := range viewer.events {
			var v pinnedCard
			if e.Type != "pinned" {
				continue
			}
			if json.Unmarshal(e.Data, &v) != nil || v.Product.ID != productID {
				t.Fatalf("a pinned card of another product: %s", e.Data)
			}
			if n := len(stocks); n == 0 || stocks[n-1] != v.Product.Stock {
				stocks = append(stocks, v.Product.Stock)
			}
		}
		if len(stocks) > 0 && stocks[0] == 5 { // the pin itself, or the stock edit made before it
			stocks = stocks[1:]
		}
		if fmt.Sprint(stocks) != "[3 0 2 40]" {
			t.Fatalf("pinned cards showed stock %v, want 3, 0 (sold out), 2, 40 in that order", stocks)
		}
	})
}
