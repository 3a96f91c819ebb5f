package main

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/payments"
)

type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func titles(ps []commerce.Product) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Title)
	}
	return out
}

// TestSellerAndBuyerFlows walks a shop from opening to refunds, and a buyer
// from browsing to reviewing, over HTTP on each database.
func TestSellerAndBuyerFlows(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		srv := startServer(t, cfg)
		seller := srv.shopper(t, "seller@example.com", "Mara")
		buyer := srv.shopper(t, "buyer@example.com", "Ann")
		anon := srv.client(t)

		// Seller: open a shop, dress it, list products, appoint a moderator.
		shopID := seller.openShop("mara-ceramics", "usd")
		var shop commerce.Shop
		if r := seller.upload(fmt.Sprintf("/api/shops/%d/logo/upload", shopID), testPNG(t, 8, 8)); r.status != 200 {
			t.Fatalf("upload logo: %d %s", r.status, r.body)
		}
		anon.expect(200, "GET", "/api/shops/mara-ceramics", nil).decode(t, &shop)
		if shop.ID != shopID || shop.Currency != "USD" || shop.LogoURL == "" || shop.OwnerID != seller.id {
			t.Fatalf("shop page %+v", shop)
		}
		mug := seller.product(shopID, "Blue Mug", 1250, 10, "mugs", "Ceramics")
		bowl := seller.product(shopID, "Rice Bowl", 2000, 3, "bowls")
		seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/products", shopID), map[string]any{"title": "Unfinished vase", "price_minor": 9900})
		var withImage commerce.Product
		r := seller.upload(fmt.Sprintf("/api/products/%d/images/upload", mug.ID), testPNG(t, 16, 12))
		if r.status != 201 {
			t.Fatalf("upload product image: %d %s", r.status, r.body)
		}
		r.decode(t, &withImage)
		if len(withImage.Images) != 1 || withImage.Images[0].Width != 16 || withImage.Images[0].ContentType != "image/png" {
			t.Fatalf("product images %+v", withImage.Images)
		}
		mod := srv.shopper(t, "mod@example.com", "Theo")
		seller.appoint(shopID, mod, "MOD@example.com")

		t.Run("me reports the shop one runs and the shops one moderates", func(t *testing.T) {
			seller, mod := seller.as(t), mod.as(t)
			var me struct {
				ID        int64           `json:"id"`
				Shop      *commerce.Shop  `json:"shop"`
				Moderates []commerce.Shop `json:"moderates"`
			}
			seller.expect(200, "GET", "/api/me", nil).decode(t, &me)
			if me.ID != seller.id || me.Shop == nil || me.Shop.ID != shopID || len(me.Moderates) != 0 {
				t.Fatalf("seller me %+v", me)
			}
			me.Shop = nil
			mod.expect(200, "GET", "/api/me", nil).decode(t, &me)
			if me.Shop != nil || len(me.Moderates) != 1 || me.Moderates[0].ID != shopID {
				t.Fatalf("moderator me %+v", me)
			}
		})

		t.Run("buyers browse by shop, hashtag and words, a page at a time", func(t *testing.T) {
			anon := anon.with(t)
			for _, tc := range []struct{ query, want string }{
				{"/api/products?hashtag=%23Mugs", "[Blue Mug]"},
				{"/api/products?q=RICE", "[Rice Bowl]"},
				{fmt.Sprintf("/api/shops/%d/products", shopID), "[Rice Bowl Blue Mug]"},
				{"/api/shops/mara-ceramics/products?q=bowl+rice", "[Rice Bowl]"},
				{"/api/products?hashtag=no-such-tag!", "[]"},
				{"/api/products?q=%25", "[]"},
			} {
				var got page[commerce.Product]
				anon.expect(200, "GET", tc.query, nil).decode(t, &got)
				if fmt.Sprint(titles(got.Items)) != tc.want {
					t.Errorf("%s: got %v, want %s", tc.query, titles(got.Items), tc.want)
				}
			}
			var first, second page[commerce.Product]
			anon.expect(200, "GET", "/api/products?limit=1", nil).decode(t, &first)
			anon.expect(200, "GET", "/api/products?limit=1&cursor="+first.NextCursor, nil).decode(t, &second)
			if len(first.Items) != 1 || first.NextCursor == "" || len(second.Items) != 1 || second.Items[0].ID == first.Items[0].ID {
				t.Fatalf("pages %+v then %+v", first, second)
			}
			if p := anon.expect(200, "GET", fmt.Sprintf("/api/products/%d", mug.ID), nil); !bytes.Contains(p.body, []byte(withImage.Images[0].URL)) {
				t.Fatalf("product page lacks its image: %s", p.body)
			}
		})

		t.Run("the cart adds, changes and removes lines with totals per shop", func(t *testing.T) {
			buyer := buyer.as(t)
			var cart commerce.Cart
			buyer.expect(200, "POST", "/api/cart/lines", map[string]int64{"product_id": mug.ID, "quantity": 2})
			buyer.expect(200, "POST", "/api/cart/lines", map[string]int64{"product_id": bowl.ID, "quantity": 1}).decode(t, &cart)
			if len(cart.Lines) != 2 || len(cart.Shops) != 1 || cart.Shops[0].SubtotalMinor != 4500 || cart.Shops[0].Currency != "USD" {
				t.Fatalf("cart %+v", cart)
			}
			buyer.expect(200, "PATCH", fmt.Sprintf("/api/cart/lines/%d", bowl.ID), map[string]int64{"quantity": 2}).decode(t, &cart)
			if cart.Shops[0].SubtotalMinor != 6500 {
				t.Fatalf("after change: %+v", cart.Shops)
			}
			buyer.expect(200, "DELETE", fmt.Sprintf("/api/cart/lines/%d", bowl.ID), nil).decode(t, &cart)
			if len(cart.Lines) != 1 || cart.Lines[0].ProductID != mug.ID || cart.Shops[0].SubtotalMinor != 2500 || !cart.Lines[0].Available {
				t.Fatalf("after remove: %+v", cart)
			}
		})

		var order commerce.Order
		t.Run("checkout is idempotent per key", func(t *testing.T) {
			buyer := buyer.as(t)
			key := newKey()
			body := checkoutBody(shopID, payments.TestCardVisa)
			first := buyer.expect(201, "POST", "/api/checkout", body, "Idempotency-Key", key)
			first.decode(t, &order)
			if order.Status != commerce.OrderPaid || order.Payment.Status != commerce.PaymentCaptured || order.TotalMinor != 2500 ||
				order.Payment.CardLast4 != "4242" || order.BuyerName != "Ann" || len(order.Lines) != 1 || order.Lines[0].Quantity != 2 {
				t.Fatalf("order %+v", order)
			}
			if got := timeline(order); !slices.Equal(got, []string{"placed", "paid"}) {
				t.Fatalf("timeline %v", got)
			}
			again := buyer.expect(201, "POST", "/api/checkout", body, "Idempotency-Key", key)
			if again.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.body, first.body) {
				t.Fatalf("replay differs: %s\nvs %s", again.body, first.body)
			}
			other := checkoutBody(shopID, payments.TestCardMastercard)
			if r := buyer.do("POST", "/api/checkout", other, "Idempotency-Key", key); r.status != 422 || r.errorCode(t) != "idempotency_key_reused" {
				t.Fatalf("same key, other body: %d %s", r.status, r.body)
			}
			if p := buyer.productPage(mug.ID); p.Stock != 8 {
				t.Fatalf("stock %d after selling 2 of 10", p.Stock)
			}
			var orders page[commerce.Order]
			buyer.expect(200, "GET", "/api/orders", nil).decode(t, &orders)
			if len(orders.Items) != 1 || orders.Items[0].ID != order.ID {
				t.Fatalf("buyer's orders %+v", orders.Items)
			}
			var cart commerce.Cart
			buyer.expect(200, "GET", "/api/cart", nil).decode(t, &cart)
			if len(cart.Lines) != 0 {
				t.Fatalf("cart after checkout %+v", cart.Lines)
			}
		})

		t.Run("buyer and seller talk in the order's thread", func(t *testing.T) {
			seller, buyer := seller.as(t), buyer.as(t)
			var m commerce.SupportMessage
			buyer.expect(201, "POST", fmt.Sprintf("/api/orders/%d/messages", order.ID), map[string]string{"body": "When will it ship?"}).decode(t, &m)
			var thread []commerce.SupportMessage
			seller.expect(200, "GET", fmt.Sprintf("/api/orders/%d/messages", order.ID), nil).decode(t, &thread)
			if len(thread) != 1 || thread[0].AuthorRole != "buyer" || thread[0].Body != "When will it ship?" {
				t.Fatalf("thread %+v", thread)
			}
			seller.expect(201, "POST", fmt.Sprintf("/api/orders/%d/messages", order.ID), map[string]string{"body": "Tomorrow!"})
			buyer.expect(200, "GET", fmt.Sprintf("/api/orders/%d/messages?after=%d", order.ID, m.ID), nil).decode(t, &thread)
			if len(thread) != 1 || thread[0].AuthorRole != "seller" || thread[0].AuthorName != "Mara" {
				t.Fatalf("new messages %+v", thread)
			}
		})

		t.Run("the seller ships and delivers; the buyer tracks it and reviews once", func(t *testing.T) {
			seller, buyer, anon := seller.as(t), buyer.as(t), anon.with(t)
			var paid page[commerce.Order]
			seller.expect(200, "GET", fmt.Sprintf("/api/shops/%d/orders?status=paid", shopID), nil).decode(t, &paid)
			if len(paid.Items) != 1 || paid.Items[0].ID != order.ID {
				t.Fatalf("paid orders %+v", paid.Items)
			}
			review := map[string]any{"rating": 5, "text": "Lovely glaze"}
			if r := buyer.do("POST", fmt.Sprintf("/api/products/%d/reviews", mug.ID), review); r.status != 403 || r.errorCode(t) != "not_eligible" {
				t.Fatalf("review before delivery: %d %s", r.status, r.body)
			}
			seller.expect(200, "POST", fmt.Sprintf("/api/orders/%d/ship", order.ID), map[string]string{"carrier": "UPS", "tracking_number": "1Z999"})
			if r := seller.do("POST", fmt.Sprintf("/api/orders/%d/ship", order.ID), map[string]string{"carrier": "UPS", "tracking_number": "1Z999"}); r.status != 409 || r.errorCode(t) != "illegal_transition" {
				t.Fatalf("shipping twice: %d %s", r.status, r.body)
			}
			o := buyer.order(order.ID)
			if o.Status != commerce.OrderShipped || o.Carrier != "UPS" || o.TrackingNumber != "1Z999" {
				t.Fatalf("shipped order %+v", o)
			}
			seller.expect(200, "POST", fmt.Sprintf("/api/orders/%d/deliver", order.ID), nil)
			o = buyer.order(order.ID)
			last := o.Timeline[len(o.Timeline)-1]
			if got := timeline(o); !slices.Equal(got, []string{"placed", "paid", "shipped", "delivered"}) ||
				last.ActorID != seller.id || last.ActorRole != "seller" || last.At.IsZero() {
				t.Fatalf("timeline %v, last %+v", got, last)
			}
			buyer.expect(201, "POST", fmt.Sprintf("/api/products/%d/reviews", mug.ID), review)
			if r := buyer.do("POST", fmt.Sprintf("/api/products/%d/reviews", mug.ID), review); r.status != 409 || r.errorCode(t) != "already_reviewed" {
				t.Fatalf("second review: %d %s", r.status, r.body)
			}
			p := anon.expect(200, "GET", fmt.Sprintf("/api/products/%d", mug.ID), nil)
			var pp commerce.Product
			p.decode(t, &pp)
			var reviews page[commerce.Review]
			anon.expect(200, "GET", fmt.Sprintf("/api/products/%d/reviews", mug.ID), nil).decode(t, &reviews)
			if pp.Rating.Count != 1 || pp.Rating.Average != 5 || len(reviews.Items) != 1 || reviews.Items[0].AuthorName != "Ann" || reviews.Items[0].OrderID != order.ID {
				t.Fatalf("rating %+v reviews %+v", pp.Rating, reviews.Items)
			}
		})

		t.Run("an illegal transition changes nothing", func(t *testing.T) {
			seller, buyer := seller.as(t), buyer.as(t)
			before := buyer.order(order.ID)
			if r := seller.do("POST", fmt.Sprintf("/api/orders/%d/cancel", order.ID), nil, "Idempotency-Key", newKey()); r.status != 409 || r.errorCode(t) != "illegal_transition" {
				t.Fatalf("cancel a delivered order: %d %s", r.status, r.body)
			}
			if after := buyer.order(order.ID); after.Status != before.Status || len(after.Timeline) != len(before.Timeline) {
				t.Fatalf("order changed: %+v", after)
			}
		})

		t.Run("a delivered order can be refunded, once", func(t *testing.T) {
			seller := seller.as(t)
			key := newKey()
			var o commerce.Order
			seller.expect(200, "POST", fmt.Sprintf("/api/orders/%d/refund", order.ID), map[string]string{"reason": "chipped"}, "Idempotency-Key", key).decode(t, &o)
			if o.Status != commerce.OrderRefunded || o.Payment.Status != commerce.PaymentRefunded {
				t.Fatalf("refunded order %+v", o)
			}
			seller.expect(200, "POST", fmt.Sprintf("/api/orders/%d/refund", order.ID), map[string]string{"reason": "chipped"}, "Idempotency-Key", key)
			if r := seller.do("POST", fmt.Sprintf("/api/orders/%d/refund", order.ID), nil, "Idempotency-Key", newKey()); r.status != 409 {
				t.Fatalf("second refund with a new key: %d %s", r.status, r.body)
			}
			captured, refunded, ok := cfg.Commerce.Payments.(*payments.TestProcessor).Balance(o.Payment.Reference)
			if !ok || captured != 2500 || refunded != 2500 {
				t.Fatalf("processor holds captured %d refunded %d", captured, refunded)
			}
		})

		t.Run("the seller cancels a paid order: stock back, money back", func(t *testing.T) {
			seller, buyer := seller.as(t), buyer.as(t)
			o := buyer.buy(bowl, 2)
			if p := buyer.productPage(bowl.ID); p.Stock != 1 {
				t.Fatalf("stock %d", p.Stock)
			}
			key := newKey()
			var cancelled commerce.Order
			seller.expect(200, "POST", fmt.Sprintf("/api/orders/%d/cancel", o.ID), map[string]string{"reason": "out of glaze"}, "Idempotency-Key", key).decode(t, &cancelled)
			if cancelled.Status != commerce.OrderRefunded || cancelled.Payment.Status != commerce.PaymentRefunded {
				t.Fatalf("cancelled order %+v", cancelled)
			}
			if got := timeline(cancelled); !slices.Equal(got[len(got)-2:], []string{"cancelled", "refunded"}) {
				t.Fatalf("timeline %v", got)
			}
			if p := buyer.productPage(bowl.ID); p.Stock != 3 {
				t.Fatalf("stock %d after cancel, want 3", p.Stock)
			}
			var events []commerce.TimelineEntry
			for _, e := range buyer.order(o.ID).Timeline {
				if e.Event == "cancelled" {
					events = append(events, e)
				}
			}
			if len(events) != 1 || events[0].Note != "out of glaze" || events[0].ActorID != seller.id {
				t.Fatalf("cancel entry %+v", events)
			}
		})
	})
}

// TestCheckoutOutcomes covers payments that fail and carts that changed.
func TestCheckoutOutcomes(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		srv := startServer(t, cfg)
		seller := srv.shopper(t, "seller@example.com", "Mara")
		buyer := srv.shopper(t, "buyer@example.com", "Ann")
		shopID := seller.openShop("mara", "JPY")
		tea := seller.product(shopID, "Sencha", 1200, 5)
		add := func(p commerce.Product, n int64) {
			buyer.expect(200, "POST", "/api/cart/lines", map[string]int64{"product_id": p.ID, "quantity": n})
		}
		stock := func() int64 { return buyer.productPage(tea.ID).Stock }
		cartLines := func() []commerce.CartLine {
			var c commerce.Cart
			buyer.expect(200, "GET", "/api/cart", nil).decode(t, &c)
			return c.Lines
		}

		t.Run("a declined card leaves no paid order, returns the stock and the cart", func(t *testing.T) {
			buyer := buyer.as(t)
			add(tea, 2)
			key := newKey()
			r := buyer.do("POST", "/api/checkout", checkoutBody(shopID, payments.TestCardDeclined), "Idempotency-Key", key)
			if r.status != 402 || r.errorCode(t) != "payment_declined" {
				t.Fatalf("declined: %d %s", r.status, r.body)
			}
			if stock() != 5 || len(cartLines()) != 1 || cartLines()[0].Quantity != 2 {
				t.Fatalf("stock %d cart %+v", stock(), cartLines())
			}
			var orders page[commerce.Order]
			buyer.expect(200, "GET", "/api/orders", nil).decode(t, &orders)
			if len(orders.Items) != 1 || orders.Items[0].Status != commerce.OrderCancelled || orders.Items[0].Payment.Status != commerce.PaymentDeclined {
				t.Fatalf("orders %+v", orders.Items)
			}
			again := buyer.do("POST", "/api/checkout", checkoutBody(shopID, payments.TestCardDeclined), "Idempotency-Key", key)
			if again.status != 402 || !bytes.Equal(again.body, r.body) {
				t.Fatalf("replay of a decline: %d %s", again.status, again.body)
			}
			r = buyer.do("POST", "/api/checkout", checkoutBody(shopID, payments.TestCardInsufficientFunds), "Idempotency-Key", newKey())
			if r.status != 402 || !bytes.Contains(r.body, []byte("insufficient_funds")) {
				t.Fatalf("insufficient funds: %d %s", r.status, r.body)
			}
		})

		t.Run("a processor outage is 503 and sells nothing", func(t *testing.T) {
			buyer := buyer.as(t)
			r := buyer.do("POST", "/api/checkout", checkoutBody(shopID, payments.TestCardUnavailable), "Idempotency-Key", newKey())
			if r.status != 503 || r.errorCode(t) != "payment_unavailable" {
				t.Fatalf("outage: %d %s", r.status, r.body)
			}
			if stock() != 5 || len(cartLines()) != 1 {
				t.Fatalf("stock %d cart %+v", stock(), cartLines())
			}
		})

		t.Run("a card that needs a retry goes through on the server's retries", func(t *testing.T) {
			buyer := buyer.as(t)
			var o commerce.Order
			buyer.expect(201, "POST", "/api/checkout", checkoutBody(shopID, payments.TestCardRetry), "Idempotency-Key", newKey()).decode(t, &o)
			if o.Status != commerce.OrderPaid || o.TotalMinor != 2400 || o.Currency != "JPY" || stock() != 3 {
				t.Fatalf("order %+v, stock %d", o, stock())
			}
		})

		t.Run("a changed price stops checkout until the buyer accepts it", func(t *testing.T) {
			seller, buyer := seller.as(t), buyer.as(t)
			add(tea, 1)
			seller.expect(200, "PATCH", fmt.Sprintf("/api/products/%d", tea.ID), map[string]int64{"price_minor": 1500})
			key := newKey()
			r := buyer.do("POST", "/api/checkout", checkoutBody(shopID, payments.TestCardVisa), "Idempotency-Key", key)
			if r.status != 409 || r.errorCode(t) != "price_changed" || stock() != 3 {
				t.Fatalf("price change: %d %s", r.status, r.body)
			}
			if l := cartLines(); len(l) != 1 || l[0].UnitPriceMinor != 1500 {
				t.Fatalf("cart not repriced: %+v", l)
			}
			// Nothing was written, so the same key may be used again.
			var o commerce.Order
			buyer.expect(201, "POST", "/api/checkout", checkoutBody(shopID, payments.TestCardVisa), "Idempotency-Key", key).decode(t, &o)
			if o.TotalMinor != 1500 || stock() != 2 {
				t.Fatalf("order %+v stock %d", o, stock())
			}
		})

		t.Run("more than the stock, an empty cart and a mixed cart are refused", func(t *testing.T) {
			seller, buyer := seller.as(t), buyer.as(t)
			add(tea, 2)
			seller.expect(200, "PATCH", fmt.Sprintf("/api/products/%d", tea.ID), map[string]int64{"stock": 1})
			r := buyer.do("POST", "/api/checkout", checkoutBody(shopID, payments.TestCardVisa), "Idempotency-Key", newKey())
			if r.status != 409 || r.errorCode(t) != "out_of_stock" || stock() != 1 {
				t.Fatalf("short stock: %d %s, stock %d", r.status, r.body, stock())
			}
			buyer.expect(200, "DELETE", fmt.Sprintf("/api/cart/lines/%d", tea.ID), nil)
			r = buyer.do("POST", "/api/checkout", checkoutBody(0, payments.TestCardVisa), "Idempotency-Key", newKey())
			if r.status != 422 || r.errorCode(t) != "empty_cart" {
				t.Fatalf("empty cart: %d %s", r.status, r.body)
			}
			other := srv.shopper(t, "other@example.com", "Otto")
			pen := other.product(other.openShop("otto", "JPY"), "Pen", 300, 9)
			add(tea, 1)
			add(pen, 1)
			r = buyer.do("POST", "/api/checkout", checkoutBody(0, payments.TestCardVisa), "Idempotency-Key", newKey())
			if r.status != 422 || r.errorCode(t) != "choose_shop" {
				t.Fatalf("mixed cart: %d %s", r.status, r.body)
			}
			o := buyer.buy(pen, 1)
			if o.ShopID != pen.ShopID || len(o.Lines) != 1 || o.Lines[0].Quantity != 2 {
				t.Fatalf("one shop's lines: %+v", o)
			}
			if l := cartLines(); len(l) != 1 || l[0].ProductID != tea.ID {
				t.Fatalf("the other shop's line should stay: %+v", l)
			}
		})

		var orders page[commerce.Order]
		buyer.expect(200, "GET", "/api/orders?limit=100", nil).decode(t, &orders)
		for _, o := range orders.Items {
			if o.Status == commerce.OrderPaid && o.Payment.Status != commerce.PaymentCaptured ||
				o.Status == commerce.OrderCancelled && o.Payment.Status == commerce.PaymentCaptured {
				t.Errorf("order %d is %s with payment %s", o.ID, o.Status, o.Payment.Status)
			}
		}
	})
}

// TestLastUnitsUnderConcurrency races many buyers for a few units through
// HTTP: exactly the stock is sold, the rest are told it ran out.
func TestLastUnitsUnderConcurrency(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		const stock, buyers = 5, 24
		srv := startServer(t, cfg)
		seller := srv.shopper(t, "seller@example.com", "Mara")
		shopID := seller.openShop("mara", "EUR")
		vase := seller.product(shopID, "Vase", 4900, stock)
		var clients []shopper
		for i := range buyers {
			b := srv.shopper(t, fmt.Sprintf("buyer%d@example.com", i), "Buyer")
			b.expect(200, "POST", "/api/cart/lines", map[string]int64{"product_id": vase.ID, "quantity": 1})
			clients = append(clients, b)
		}
		statuses := make([]int, buyers)
		codes := make([]string, buyers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, b := range clients {
			wg.Go(func() {
				<-start
				r := b.do("POST", "/api/checkout", checkoutBody(shopID, payments.TestCardVisa), "Idempotency-Key", newKey())
				statuses[i] = r.status
				if r.status != 201 {
					codes[i] = r.errorCode(t)
				}
			})
		}
		close(start)
		wg.Wait()
		sold := 0
		for i, s := range statuses {
			switch {
			case s == 201:
				sold++
			case s == 409 && codes[i] == "out_of_stock":
			default:
				t.Errorf("buyer %d: status %d %s", i, s, codes[i])
			}
		}
		if sold != stock {
			t.Fatalf("sold %d, want exactly %d", sold, stock)
		}
		if p := seller.productPage(vase.ID); p.Stock != 0 {
			t.Fatalf("stock %d, want 0", p.Stock)
		}
		var orders page[commerce.Order]
		seller.expect(200, "GET", fmt.Sprintf("/api/shops/%d/orders?status=paid&limit=100", shopID), nil).decode(t, &orders)
		if len(orders.Items) != stock {
			t.Fatalf("%d paid orders, want %d", len(orders.Items), stock)
		}
	})
}

// TestIllegalOrderMovesOverHTTP spot-checks the state machine through the
// API: each refused move is 409 illegal_transition and leaves the order,
// its timeline and its money as they were.
func TestIllegalOrderMovesOverHTTP(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		srv := startServer(t, cfg)
		seller := srv.shopper(t, "seller@example.com", "Mara")
		buyer := srv.shopper(t, "buyer@example.com", "Ann")
		shopID := seller.openShop("mara", "USD")
		mug := seller.product(shopID, "Mug", 1000, 10)

		paid := buyer.buy(mug, 1)
		refunded := buyer.buy(mug, 1)
		seller.expect(200, "POST", fmt.Sprintf("/api/orders/%d/cancel", refunded.ID), nil, "Idempotency-Key", newKey())
		buyer.expect(200, "POST", "/api/cart/lines", map[string]int64{"product_id": mug.ID, "quantity": 1})
		if r := buyer.do("POST", "/api/checkout", checkoutBody(shopID, payments.TestCardDeclined), "Idempotency-Key", newKey()); r.status != 402 {
			t.Fatalf("declined checkout: %d %s", r.status, r.body)
		}
		var orders page[commerce.Order]
		buyer.expect(200, "GET", "/api/orders", nil).decode(t, &orders)
		cancelled := orders.Items[0]
		if cancelled.Status != commerce.OrderCancelled || cancelled.Payment.Status != commerce.PaymentDeclined {
			t.Fatalf("declined order %+v", cancelled)
		}
		ship := map[string]string{"carrier": "UPS", "tracking_number": "1Z"}
		for _, tc := range []struct {
			name  string
			order commerce.Order
			path  string
			body  any
		}{
			{"refunding a paid order that was not cancelled", paid, "refund", nil},
			{"shipping a cancelled order", cancelled, "ship", ship},
			{"delivering a cancelled order", cancelled, "deliver", nil},
			{"shipping a refunded order", refunded, "ship", ship},
			{"delivering a refunded order", refunded, "deliver", nil},
			{"delivering a paid order that was not shipped", paid, "deliver", nil},
		} {
			t.Run(tc.name+" is refused", func(t *testing.T) {
				seller, buyer := seller.as(t), buyer.as(t)
				before := buyer.order(tc.order.ID)
				r := seller.do("POST", fmt.Sprintf("/api/orders/%d/%s", tc.order.ID, tc.path), tc.body, "Idempotency-Key", newKey())
				if r.status != 409 || r.errorCode(t) != "illegal_transition" {
					t.Fatalf("%s: %d %s", tc.path, r.status, r.body)
				}
				after := buyer.order(tc.order.ID)
				if after.Status != before.Status || after.Payment != before.Payment || len(after.Timeline) != len(before.Timeline) || after.Carrier != "" {
					t.Fatalf("order changed from %+v to %+v", before, after)
				}
			})
		}
		if p := buyer.productPage(mug.ID); p.Stock != 9 {
			t.Fatalf("stock %d, want 9 (one paid order)", p.Stock)
		}
	})
}

// TestModeratorRemoval takes a moderator's appointment back: the moderation
// routes refuse them at once and /api/me no longer lists the shop.
func TestModeratorRemoval(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		srv := startServer(t, cfg)
		seller := srv.shopper(t, "seller@example.com", "Mara")
		mod := srv.shopper(t, "mod@example.com", "Theo")
		other := srv.shopper(t, "other@example.com", "Otto")
		shopID := seller.openShop("mara", "USD")
		seller.appoint(shopID, mod, "mod@example.com")
		seller.appoint(shopID, other, "other@example.com")
		restrictions := fmt.Sprintf("/api/shops/%d/restrictions", shopID)
		moderates := func(c shopper) []int64 {
			var me struct {
				Moderates []commerce.Shop `json:"moderates"`
			}
			c.expect(200, "GET", "/api/me", nil).decode(t, &me)
			ids := []int64{}
			for _, s := range me.Moderates {
				ids = append(ids, s.ID)
			}
			return ids
		}
		mod.expect(200, "GET", restrictions, nil)
		if got := moderates(mod); !slices.Equal(got, []int64{shopID}) {
			t.Fatalf("moderator of %v before removal", got)
		}
		remove := fmt.Sprintf("/api/shops/%d/moderators/%d", shopID, mod.id)
		if r := other.do("DELETE", remove, nil); r.status != 403 {
			t.Fatalf("a moderator removed another: %d %s", r.status, r.body)
		}
		seller.expect(204, "DELETE", remove, nil)
		if r := mod.do("GET", restrictions, nil); r.status != 403 {
			t.Fatalf("removed moderator on a moderation route: %d %s", r.status, r.body)
		}
		if got := moderates(mod); len(got) != 0 {
			t.Fatalf("removed moderator still moderates %v", got)
		}
		var mods []commerce.Moderator
		seller.expect(200, "GET", fmt.Sprintf("/api/shops/%d/moderators", shopID), nil).decode(t, &mods)
		if len(mods) != 1 || mods[0].AccountID != other.id {
			t.Fatalf("moderators after removal %+v", mods)
		}
		other.expect(200, "GET", restrictions, nil)
		if r := seller.do("DELETE", remove, nil); r.status != 404 {
			t.Fatalf("removing twice: %d %s", r.status, r.body)
		}
	})
}
