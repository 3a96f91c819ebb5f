package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

// fixture is a shop with one active product on a fresh store.
type fixture struct {
	db      *sqlstore.DB
	seller  commerce.Account
	shop    commerce.Shop
	product commerce.Product
}

func mustAccount(t testing.TB, db *sqlstore.DB, email string) commerce.Account {
	t.Helper()
	a := commerce.Account{Email: email, Name: email}
	if err := db.CreateAccount(context.Background(), &a, "hash"); err != nil {
		t.Fatalf("create account %s: %v", email, err)
	}
	return a
}

func newFixture(t testing.TB, db *sqlstore.DB, stock int64) fixture {
	t.Helper()
	ctx := context.Background()
	f := fixture{db: db, seller: mustAccount(t, db, "seller@example.com")}
	now := time.Now()
	f.shop = commerce.Shop{OwnerID: f.seller.ID, Handle: "shop", Name: "Shop", Currency: "USD", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateShop(ctx, &f.shop); err != nil {
		t.Fatal(err)
	}
	f.product = commerce.Product{ShopID: f.shop.ID, Title: "Mug", PriceMinor: 1250, Currency: "USD", Stock: stock,
		Status: commerce.ProductActive, Hashtags: []string{"mugs", "kitchen"}, CreatedAt: now, UpdatedAt: now}
	if err := db.CreateProduct(ctx, &f.product); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f fixture) addToCart(t testing.TB, buyer int64, qty int64) {
	t.Helper()
	err := f.db.AddCartLine(context.Background(), buyer, commerce.CartLine{ProductID: f.product.ID, Quantity: qty,
		UnitPriceMinor: f.product.PriceMinor, Currency: "USD", AddedAt: time.Now()}, 100)
	if err != nil {
		t.Fatal(err)
	}
}

func (f fixture) place(buyer int64) (commerce.Order, error) {
	return f.db.PlaceOrder(context.Background(), commerce.NewOrder{BuyerID: buyer, ShopID: f.shop.ID,
		Shipping: commerce.Address{Name: "B", Line1: "1 St", City: "C", PostalCode: "1", Country: "US"},
		Payment:  commerce.Payment{Provider: "test"}, At: time.Now()})
}

func (f fixture) stock(t testing.TB) int64 {
	t.Helper()
	p, err := f.db.ProductByID(context.Background(), f.product.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p.Stock
}

func TestCheckoutNeverSellsBelowZero(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		const stock, buyers = 7, 40
		f := newFixture(t, db, stock)
		ids := make([]int64, buyers)
		for i := range ids {
			ids[i] = mustAccount(t, db, fmt.Sprintf("buyer%d@example.com", i)).ID
			f.addToCart(t, ids[i], 1)
		}
		var (
			wg         sync.WaitGroup
			mu         sync.Mutex
			sold, none int
			other      []error
		)
		start := make(chan struct{})
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := f.place(id)
				mu.Lock()
				defer mu.Unlock()
				var e *commerce.Error
				switch {
				case err == nil:
					sold++
				case errors.As(err, &e) && e.Code == "out_of_stock":
					none++
				default:
					other = append(other, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(other) > 0 {
			t.Fatalf("unexpected errors: %v", other)
		}
		if sold != stock || none != buyers-stock {
			t.Fatalf("sold %d and refused %d, want %d and %d", sold, none, stock, buyers-stock)
		}
		if got := f.stock(t); got != 0 {
			t.Fatalf("stock is %d after selling out, want 0", got)
		}
		var units int64
		if err := db.SQL().QueryRow("SELECT COALESCE(SUM(quantity), 0) FROM order_lines").Scan(&units); err != nil {
			t.Fatal(err)
		}
		if units != stock {
			t.Fatalf("order lines hold %d units, want %d", units, stock)
		}
	})
}

func TestPlaceOrderWritesNothingWhenItFails(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f := newFixture(t, db, 3)
		buyer := mustAccount(t, db, "buyer@example.com").ID

		t.Run("an empty cart is refused", func(t *testing.T) {
			if _, err := f.place(buyer); !errors.Is(err, commerce.ErrEmptyCart) {
				t.Fatalf("got %v, want ErrEmptyCart", err)
			}
		})
		t.Run("more than the stock is refused and the cart kept", func(t *testing.T) {
			f.addToCart(t, buyer, 4)
			_, err := f.place(buyer)
			var e *commerce.Error
			if !errors.As(err, &e) || e.Code != "out_of_stock" {
				t.Fatalf("got %v, want out_of_stock", err)
			}
			lines, _ := db.CartLines(ctx, buyer)
			if len(lines) != 1 || f.stock(t) != 3 {
				t.Fatalf("cart %v stock %d after refusal", lines, f.stock(t))
			}
			if err := db.SetCartQuantity(ctx, buyer, f.product.ID, 2); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("a changed price stops the checkout until the cart is repriced", func(t *testing.T) {
			p := f.product
			p.PriceMinor = 1500
			p.UpdatedAt = time.Now()
			if err := db.UpdateProduct(ctx, p, commerce.StockEdit{}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.place(buyer); !errors.Is(err, commerce.ErrPriceChanged) {
				t.Fatalf("got %v, want ErrPriceChanged", err)
			}
			if err := db.RepriceCart(ctx, buyer, f.shop.ID); err != nil {
				t.Fatal(err)
			}
			o, err := f.place(buyer)
			if err != nil {
				t.Fatal(err)
			}
			if o.TotalMinor != 3000 || o.Status != commerce.OrderAwaitingPayment || o.Payment.Status != commerce.PaymentPending ||
				len(o.Lines) != 1 || len(o.Timeline) != 1 || o.Timeline[0].Event != "placed" {
				t.Fatalf("order %+v", o)
			}
			if f.stock(t) != 1 {
				t.Fatalf("stock %d, want 1", f.stock(t))
			}
			if lines, _ := db.CartLines(ctx, buyer); len(lines) != 0 {
				t.Fatalf("cart still holds %v", lines)
			}

			t.Run("a transition from a status the order has left changes nothing", func(t *testing.T) {
				err := db.TransitionOrder(ctx, commerce.Transition{OrderID: o.ID, From: commerce.OrderPaid, To: commerce.OrderShipped,
					Event: "shipped", ActorRole: "seller", At: time.Now()})
				if !errors.Is(err, commerce.ErrOrderChanged) {
					t.Fatalf("got %v, want ErrOrderChanged", err)
				}
			})
			t.Run("a declined payment returns the stock and the cart lines", func(t *testing.T) {
				err := db.TransitionOrder(ctx, commerce.Transition{OrderID: o.ID, From: o.Status, To: commerce.OrderCancelled,
					PaymentStatus: commerce.PaymentDeclined, FailureCode: "card_declined", ReturnStock: true, RestoreCart: true,
					Event: "payment_declined", ActorRole: "system", At: time.Now()})
				if err != nil {
					t.Fatal(err)
				}
				got, _ := db.OrderByID(ctx, o.ID)
				if got.Status != commerce.OrderCancelled || got.Payment.Status != commerce.PaymentDeclined || len(got.Timeline) != 2 ||
					got.Timeline[1].PaymentStatus != commerce.PaymentDeclined {
					t.Fatalf("order after decline: %+v", got)
				}
				lines, _ := db.CartLines(ctx, buyer)
				if f.stock(t) != 3 || len(lines) != 1 || lines[0].Quantity != 2 || lines[0].UnitPriceMinor != 1500 {
					t.Fatalf("stock %d cart %+v", f.stock(t), lines)
				}
			})
		})
	})
}

func TestProductListing(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f := newFixture(t, db, 1)
		now := time.Now()
		for _, p := range []commerce.Product{
			{Title: "100% Cotton_Tee", Status: commerce.ProductActive, Hashtags: []string{"tees"}},
			{Title: "Ünïcode Lamp", Description: "Warm light", Status: commerce.ProductActive},
			{Title: "Secret draft", Status: commerce.ProductDraft, Hashtags: []string{"mugs"}},
		} {
			p.ShopID, p.PriceMinor, p.Currency, p.CreatedAt, p.UpdatedAt = f.shop.ID, 100, "USD", now, now
			if err := db.CreateProduct(ctx, &p); err != nil {
				t.Fatal(err)
			}
		}
		titles := func(q commerce.ProductQuery) []string {
			t.Helper()
			if q.Limit == 0 {
				q.Limit = 10
			}
			if q.Statuses == nil {
				q.Statuses = []string{commerce.ProductActive}
			}
			ps, err := db.ListProducts(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, p := range ps {
				out = append(out, p.Title)
			}
			return out
		}
		for _, tc := range []struct {
			name string
			q    commerce.ProductQuery
			want string
		}{
			{"lists active products newest first", commerce.ProductQuery{}, "[Ünïcode Lamp 100% Cotton_Tee Mug]"},
			{"filters by hashtag", commerce.ProductQuery{Hashtag: "mugs"}, "[Mug]"},
			{"matches words case-insensitively, beyond ASCII", commerce.ProductQuery{Text: []string{"ünïcode", "warm"}}, "[Ünïcode Lamp]"},
			{"treats % and _ as plain characters", commerce.ProductQuery{Text: []string{"0%"}}, "[100% Cotton_Tee]"},
			{"does not treat _ as a wildcard", commerce.ProductQuery{Text: []string{"tto_"}}, "[]"},
			{"pages below a cursor", commerce.ProductQuery{BeforeID: f.product.ID + 2, Limit: 1}, "[100% Cotton_Tee]"},
			{"shows drafts when asked", commerce.ProductQuery{Statuses: []string{commerce.ProductDraft}}, "[Secret draft]"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := fmt.Sprint(titles(tc.q)); got != tc.want {
					t.Fatalf("got %s, want %s", got, tc.want)
				}
			})
		}
	})
}

func TestIdempotencyKeys(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		a := mustAccount(t, db, "a@example.com")
		now := time.Now().UTC().Truncate(time.Microsecond)
		rec := commerce.IdempotencyRecord{AccountID: a.ID, Key: "k1", Scope: "checkout", RequestHash: []byte("h1"),
			LockedUntil: now.Add(time.Minute), CreatedAt: now}
		if _, claimed, err := db.ClaimIdempotencyKey(ctx, rec); err != nil || !claimed {
			t.Fatalf("first claim: %v %v", claimed, err)
		}
		got, claimed, err := db.ClaimIdempotencyKey(ctx, rec)
		if err != nil || claimed || got.Done || string(got.RequestHash) != "h1" || !got.LockedUntil.Equal(rec.LockedUntil) {
			t.Fatalf("second claim: %+v %v %v", got, claimed, err)
		}
		if ok, err := db.TakeOverIdempotencyKey(ctx, a.ID, "k1", now, now.Add(time.Hour)); err != nil || ok {
			t.Fatalf("take over with a stale lease: %v %v", ok, err)
		}
		if ok, err := db.TakeOverIdempotencyKey(ctx, a.ID, "k1", rec.LockedUntil, now.Add(time.Hour)); err != nil || !ok {
			t.Fatalf("take over: %v %v", ok, err)
		}
		if err := db.FinishIdempotencyKey(ctx, a.ID, "k1", 201, []byte(`{"id":1}`)); err != nil {
			t.Fatal(err)
		}
		got, _, _ = db.ClaimIdempotencyKey(ctx, rec)
		if !got.Done || got.Status != 201 || string(got.Body) != `{"id":1}` {
			t.Fatalf("finished record: %+v", got)
		}
		if err := db.ReleaseIdempotencyKey(ctx, a.ID, "k1", time.Now()); err != nil {
			t.Fatal(err)
		}
		if got, _, _ = db.ClaimIdempotencyKey(ctx, rec); !got.Done {
			t.Fatal("release removed a finished key")
		}
		open := commerce.IdempotencyRecord{AccountID: a.ID, Key: "k2", Scope: "checkout", RequestHash: []byte("h2"), LockedUntil: now, CreatedAt: now}
		if _, claimed, err := db.ClaimIdempotencyKey(ctx, open); err != nil || !claimed {
			t.Fatalf("claim k2: %v", err)
		}
		if got, err := db.AbandonedIdempotencyKeys(ctx, "checkout", now.Add(time.Second), 10); err != nil || len(got) != 0 {
			t.Fatalf("a key that created nothing is not abandoned work: %+v %v", got, err)
		}
		if _, err := db.SQL().Exec("UPDATE idempotency_keys SET resource_id = 7 WHERE idem_key = 'k2'"); err != nil {
			t.Fatal(err)
		}
		got2, err := db.AbandonedIdempotencyKeys(ctx, "checkout", now.Add(time.Second), 10)
		if err != nil || len(got2) != 1 || got2[0].Key != "k2" || got2[0].ResourceID != 7 || !got2[0].LockedUntil.Equal(now) {
			t.Fatalf("abandoned keys %+v %v", got2, err)
		}
		if got2, _ := db.AbandonedIdempotencyKeys(ctx, "checkout", now, 10); len(got2) != 0 {
			t.Fatalf("a lease that has not ended yet: %+v", got2)
		}
		other := mustAccount(t, db, "b@example.com")
		rec.AccountID = other.ID
		if _, claimed, err := db.ClaimIdempotencyKey(ctx, rec); err != nil || !claimed {
			t.Fatalf("keys are per account, but another account could not claim k1: %v", err)
		}
	})
}
