package discovery_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/discovery"
	"github.com/liveshop/liveshop/commerce/payments"
	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

var discCheckout = commerce.CheckoutRequest{
	ShippingAddress: commerce.Address{Name: "Ann", Line1: "1 Main St", City: "Springfield", PostalCode: "1", Country: "US"},
	PaymentMethod:   commerce.PaymentMethod{CardNumber: payments.TestCardVisa},
}

// TestAnalyticsOfAScriptedSession plays a stream session with known
// timing — two signed-in viewers and an anonymous one, likes, comments,
// card clicks, carts and three paid orders (two naming the stream, one
// credited by the buyer's click; one of those naming it cancelled and
// refunded by the seller) and a declined one — and checks every number of
// the stream, shop and product reports: orders count the paid ones,
// revenue is net of the refund.
func TestAnalyticsOfAScriptedSession(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newDisc(t, db, discovery.Config{})
		w.news.Connect(commerce.Listeners{Activity: w.d, Orders: w.d})
		seller, shop := w.shop("glaze", "Glaze")
		p1 := w.product(seller, shop.ID, "=HYPERLINK(mug)", 1000, "")
		p2 := w.product(seller, shop.ID, "Vase", 2500, "")
		st := w.stream(seller, shop.ID, "Glaze night", true)
		quiet := w.stream(seller, shop.ID, "Another day", false)
		t0 := *st.StartedAt
		w.clock.Set(t0.Add(2 * time.Hour))
		at := func(m float64) time.Time { return t0.Add(time.Duration(m * float64(time.Minute))) }
		ann, bob, cat, dan := w.account("ann"), w.account("bob"), w.account("cat"), w.account("dan")

		watch := func(acct int64, from, to float64) discovery.Interaction {
			return discovery.Interaction{Kind: discovery.InteractionWatch, AccountID: acct, StreamID: st.ID, StartedAt: at(from), At: at(to)}
		}
		w.record(
			discovery.Interaction{Kind: discovery.InteractionWatchStart, AccountID: ann.ID, StreamID: st.ID, At: at(0)},
			watch(ann.ID, 0, 30), watch(bob.ID, 10, 20), watch(0, -5, 5), watch(ann.ID, 40, 50),
			discovery.Interaction{Kind: discovery.InteractionLike, AccountID: ann.ID, StreamID: st.ID, Quantity: 5, At: at(1)},
			discovery.Interaction{Kind: discovery.InteractionLike, AccountID: bob.ID, StreamID: st.ID, Quantity: 3, At: at(11)},
			discovery.Interaction{Kind: discovery.InteractionLike, AccountID: ann.ID, StreamID: st.ID, Quantity: 2, At: at(41)},
			discovery.Interaction{Kind: discovery.InteractionComment, AccountID: ann.ID, StreamID: st.ID, At: at(2)},
			discovery.Interaction{Kind: discovery.InteractionComment, AccountID: ann.ID, StreamID: st.ID, At: at(3)},
			discovery.Interaction{Kind: discovery.InteractionComment, AccountID: bob.ID, StreamID: st.ID, At: at(12)},
			discovery.Interaction{Kind: discovery.InteractionComment, AccountID: bob.ID, StreamID: quiet.ID, At: at(12)},
			discovery.Interaction{Kind: discovery.InteractionClick, AccountID: ann.ID, ProductID: p1.ID, StreamID: st.ID, At: at(5)},
			discovery.Interaction{Kind: discovery.InteractionClick, AccountID: bob.ID, ProductID: p1.ID, StreamID: st.ID, At: at(12)},
			discovery.Interaction{Kind: discovery.InteractionClick, AccountID: bob.ID, ProductID: p2.ID, StreamID: st.ID, At: at(13)},
			discovery.Interaction{Kind: discovery.InteractionClick, AccountID: cat.ID, ProductID: p1.ID, StreamID: st.ID, At: at(14)},
		)
		if _, err := w.d.Share(w.ctx, ann, discovery.ShareRequest{Type: "stream", ID: st.ID}, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := w.d.Follow(w.ctx, bob, shop.ID, st.ID); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			who commerce.Account
			p   commerce.Product
			n   int64
		}{{ann, p1, 2}, {bob, p2, 1}, {bob, p1, 1}, {cat, p1, 1}, {dan, p1, 1}} {
			if _, err := w.svc.AddToCart(w.ctx, c.who, c.p.ID, c.n); err != nil {
				t.Fatal(err)
			}
		}
		withStream := discCheckout
		withStream.StreamID = st.ID
		if _, err := w.svc.Checkout(w.ctx, ann, "key-ann", withStream); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Checkout(w.ctx, bob, "key-bob", discCheckout); err != nil {
			t.Fatal(err)
		}
		refunded, err := w.svc.Checkout(w.ctx, cat, "key-cat", withStream)
		if err != nil {
			t.Fatal(err)
		}
		if o, err := w.svc.CancelOrder(w.ctx, seller, refunded.Order.ID, "key-cancel", "out of glaze"); err != nil ||
			o.Payment.Status != commerce.PaymentRefunded {
			t.Fatalf("cancel: %+v, %v", o, err)
		}
		declined := withStream
		declined.PaymentMethod.CardNumber = payments.TestCardDeclined
		if _, err := w.svc.Checkout(w.ctx, dan, "key-dan", declined); err == nil {
			t.Fatal("declined card paid")
		}
		w.flush()

		got, err := w.d.StreamAnalytics(w.ctx, seller, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := discovery.StreamAnalytics{
			StreamWindow: discovery.StreamWindow{ID: st.ID, Title: "Glaze night", Status: commerce.StreamLive, StartedAt: st.StartedAt},
			ShopID:       shop.ID, Currency: "USD",
			// Sessions clipped to the 2 live hours: 30 + 10 + 5 + 10 minutes.
			ViewerStats: discovery.ViewerStats{UniqueViewers: 3, PeakViewers: 2, AvgViewers: 0.4583,
				TotalWatchSeconds: 3300, AvgWatchSeconds: 1100},
			// Cat's cart is credited by her click, Dan's is not (no touch).
			Metrics: discovery.Metrics{ProductClicks: 4, AddToCarts: 4, CartUnits: 5, Orders: 3, UnitsSold: 5,
				RevenueMinor: 5500, Refunds: 1, RefundedMinor: 1000, Likes: 10, Comments: 3, Shares: 1, Follows: 1},
			Conversion: 1,
			Products: []discovery.ProductStats{
				{ProductID: p1.ID, Title: p1.Title, Viewers: 3, Conversion: 1, Metrics: discovery.Metrics{
					ProductClicks: 3, AddToCarts: 3, CartUnits: 4, Orders: 3, UnitsSold: 4, RevenueMinor: 3000,
					Refunds: 1, RefundedMinor: 1000}},
				{ProductID: p2.ID, Title: p2.Title, Viewers: 1, Conversion: 1, Metrics: discovery.Metrics{
					ProductClicks: 1, AddToCarts: 1, CartUnits: 1, Orders: 1, UnitsSold: 1, RevenueMinor: 2500}},
			},
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("stream report\n got %+v\nwant %+v", got, want)
		}

		t.Run("the shop report over the days around it agrees", func(t *testing.T) {
			from, to := t0.Add(-24*time.Hour), t0.Add(24*time.Hour)
			r, err := w.d.ShopAnalytics(w.ctx, seller, shop.ID, from, to)
			if err != nil {
				t.Fatal(err)
			}
			wantM := want.Metrics
			wantM.Comments = 4 // one more in the other stream
			wantM.AddToCarts, wantM.CartUnits = 5, 6
			if r.Metrics != wantM || r.Viewers != 4 || r.StreamViewers != 3 || r.WatchSeconds != 3600 || r.Conversion != 0.75 {
				t.Errorf("shop totals %+v", r)
			}
			var sum discovery.Metrics
			var watch float64
			for _, d := range r.Days {
				sum.Orders += d.Orders
				sum.RevenueMinor += d.RevenueMinor
				sum.RefundedMinor += d.RefundedMinor
				sum.Comments += d.Comments
				watch += d.WatchSeconds
			}
			if sum.Orders != 3 || sum.RevenueMinor != 5500 || sum.RefundedMinor != 1000 || sum.Comments != 4 || watch != 3600 || len(r.Days) < 2 {
				t.Errorf("days %+v", r.Days)
			}
			if len(r.Streams) != 1 || r.Streams[0].ID != st.ID || r.Streams[0].UniqueViewers != 3 ||
				r.Streams[0].PeakViewers != 2 || r.Streams[0].Orders != 3 || r.Streams[0].RevenueMinor != 5500 {
				t.Errorf("stream headlines %+v", r.Streams)
			}
			shopP1 := want.Products[0]
			shopP1.AddToCarts, shopP1.CartUnits = 4, 5 // and Dan's
			if len(r.Products) != 2 || r.Products[0] != shopP1 || r.Products[1] != want.Products[1] {
				t.Errorf("products %+v", r.Products)
			}
		})

		t.Run("the product report counts its viewers, carts and orders", func(t *testing.T) {
			r, err := w.d.ProductAnalytics(w.ctx, seller, p1.ID, t0.Add(-time.Hour), t0.Add(3*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			wantP1 := want.Products[0]
			wantP1.AddToCarts, wantP1.CartUnits = 4, 5 // and Dan's
			if r.ProductStats != wantP1 || r.Currency != "USD" {
				t.Errorf("product report %+v", r.ProductStats)
			}
		})

		t.Run("CSV carries the same numbers and defuses formulas", func(t *testing.T) {
			var buf bytes.Buffer
			if err := got.WriteCSV(&buf); err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			find := func(scope, metric string, product int64) []string {
				for _, r := range rows[1:] {
					if r[0] == scope && r[5] == metric && (product == 0 || r[3] == strconv.FormatInt(product, 10)) {
						return r
					}
				}
				return nil
			}
			if r := find("stream", "peak_viewers", 0); r == nil || r[6] != "2" || r[2] != strconv.FormatInt(st.ID, 10) {
				t.Errorf("peak_viewers row %v", r)
			}
			if r := find("stream", "conversion", 0); r == nil || r[6] != "1" {
				t.Errorf("conversion row %v", r)
			}
			if r := find("product", "revenue_minor", p1.ID); r == nil || r[6] != "3000" || r[4] != "'=HYPERLINK(mug)" {
				t.Errorf("product revenue row %v", r)
			}
		})

		t.Run("another seller gets 403 and an anonymous caller 401", func(t *testing.T) {
			other, _ := w.shop("other", "Other")
			for _, c := range []struct {
				who    commerce.Account
				status int
			}{{other, 403}, {commerce.Account{}, 401}} {
				_, err1 := w.d.StreamAnalytics(w.ctx, c.who, st.ID)
				_, err2 := w.d.ShopAnalytics(w.ctx, c.who, shop.ID, t0, t0.Add(time.Hour))
				_, err3 := w.d.ProductAnalytics(w.ctx, c.who, p1.ID, t0, t0.Add(time.Hour))
				for _, err := range []error{err1, err2, err3} {
					var e *commerce.Error
					if !errors.As(err, &e) || e.Status != c.status {
						t.Errorf("account %d: %v, want %d", c.who.ID, err, c.status)
					}
				}
			}
		})

		t.Run("inverted, unreadable and too long ranges are 400", func(t *testing.T) {
			for _, r := range [][2]string{{"2026-05-02", "2026-05-01"}, {"2020-01-01", "2026-01-01"}, {"yesterday", ""},
				{"2026-13-01", ""}, {"", "2026-02-30"}, {"2026-05-01T10:00:00Z", "2026-05-01T09:00:00Z"}} {
				_, _, err := w.d.ReportRange(r[0], r[1])
				var e *commerce.Error
				if !errors.As(err, &e) || e.Status != 400 {
					t.Errorf("range %v: %v, want 400", r, err)
				}
			}
			from, to, err := w.d.ReportRange("2026-05-01", "2026-05-01")
			if err != nil || to.Sub(from) != 24*time.Hour {
				t.Errorf("one day: %v..%v, %v", from, to, err)
			}
			from, to, err = w.d.ReportRange("", "")
			if err != nil || to.Sub(from) != 30*24*time.Hour || !to.After(w.clock.Now()) {
				t.Errorf("default range %v..%v, %v", from, to, err)
			}
		})
	})
}
