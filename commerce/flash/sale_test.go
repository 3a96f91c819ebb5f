package flash_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/testenv"
	"github.com/liveshop/liveshop/commerce/payments"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/flash"
	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

// flashWorld is a flash-sale service on a store, with a seller whose
// product (stock 100, 20.00 USD) is on sale in a live stream, and the
// memory engine at hand so tests can play tricks on it. The sweeper is not
// started: tests call Sweep themselves.
type flashWorld struct {
	db       *sqlstore.DB
	svc      *commerce.Service
	pay      *payments.TestProcessor
	flash    *flash.Service
	engine   *flash.MemoryStock
	reg      *prometheus.Registry
	seller   commerce.Account
	product  commerce.Product
	streamID int64
}

func newFlashWorld(t *testing.T, db *sqlstore.DB, cfg flash.Config, tune ...func(*commerce.Config)) *flashWorld {
	t.Helper()
	ctx := context.Background()
	w := &flashWorld{db: db, pay: payments.NewTestProcessor(), engine: flash.NewMemoryStock(), reg: prometheus.NewRegistry()}
	svcCfg := commerce.Config{Payments: w.pay, PaymentRetryDelay: time.Millisecond, DataDir: t.TempDir(),
		IdempotencyLease: 50 * time.Millisecond}
	for _, f := range tune {
		f(&svcCfg)
	}
	w.svc = commerce.New(db, nil, nil, svcCfg, nil)
	w.seller = flashAccount(t, db, "seller")
	shop, err := w.svc.OpenShop(ctx, w.seller, commerce.OpenShop{Handle: "flashy", Name: "Flashy", Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	title, price, stock, active := "Jacket", int64(2000), int64(100), commerce.ProductActive
	if w.product, err = w.svc.CreateProduct(ctx, w.seller, shop.ID, commerce.ProductPatch{Title: &title, PriceMinor: &price, Stock: &stock, Status: &active}); err != nil {
		t.Fatal(err)
	}
	st, err := w.svc.CreateStream(ctx, w.seller, shop.ID, commerce.StreamPatch{Title: &title})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.MarkStreamLive(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	w.streamID = st.ID
	w.flash = flash.New(w.svc, db, w.engine, nil, cfg, w.reg, nil)
	return w
}

func flashAccount(t *testing.T, db *sqlstore.DB, name string) commerce.Account {
	t.Helper()
	a := commerce.Account{Email: fmt.Sprintf("%s-%d@example.com", name, time.Now().UnixNano()), Name: name}
	if err := db.CreateAccount(context.Background(), &a, "not-a-hash"); err != nil {
		t.Fatal(err)
	}
	return a
}

func (w *flashWorld) sale(t *testing.T, quantity, limit int64) flash.Sale {
	t.Helper()
	fs, err := w.flash.CreateSale(context.Background(), w.seller, w.streamID, flash.NewSale{
		ProductID: w.product.ID, PriceMinor: 1500, Quantity: quantity, PerBuyerLimit: limit, DurationS: 600})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

var flashPay = flash.CheckoutRequest{
	ShippingAddress: commerce.Address{Name: "Ann", Line1: "1 Main St", City: "Springfield", PostalCode: "1", Country: "US"},
	PaymentMethod:   commerce.PaymentMethod{CardNumber: payments.TestCardVisa},
}

// buy reserves qty units for a and pays for them.
func (w *flashWorld) buy(t *testing.T, a commerce.Account, saleID, qty int64) commerce.Order {
	t.Helper()
	ctx := context.Background()
	r, _, err := w.flash.Reserve(ctx, a, saleID, qty)
	if err != nil {
		t.Fatalf("reserve: %v", err)
	}
	res, err := w.flash.Checkout(ctx, a, saleID, r.ID, fmt.Sprint("key-", r.ID), flashPay)
	if err != nil {
		t.Fatalf("checkout: %v", err)
	}
	return res.Order
}

func counterValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if label == "" || len(m.GetLabel()) > 0 && m.GetLabel()[0].GetValue() == label {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestFlashSaleReconciliation(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		w := newFlashWorld(t, db, flash.Config{})
		fs := w.sale(t, 10, 5)
		ann := flashAccount(t, db, "ann")
		w.buy(t, ann, fs.ID, 3)

		t.Run("finds the engine counting more than SQL, logs, counts and corrects it", func(t *testing.T) {
			if _, err := w.engine.Correct(ctx, fs.ID, 5); err != nil { // drift: two units the engine thinks sold
				t.Fatal(err)
			}
			if _, err := w.flash.StopSale(ctx, w.seller, fs.ID); err != nil {
				t.Fatal(err)
			}
			w.flash.Sweep(ctx)
			got, err := w.flash.Sale(ctx, fs.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Sold != 3 || got.Status != flash.SaleEnded {
				t.Fatalf("reconciled sale = %+v", got)
			}
			c, _ := w.engine.Counts(ctx, fs.ID)
			if c.Sold != 3 {
				t.Fatalf("engine sold %d after correction, want 3", c.Sold)
			}
			if v := counterValue(t, w.reg, "liveshop_flashsale_reconciliations_total", "corrected"); v != 1 {
				t.Fatalf("corrected reconciliations = %v", v)
			}
			if v := counterValue(t, w.reg, "liveshop_flashsale_reconciliation_difference_units_total", ""); v != 2 {
				t.Fatalf("difference = %v units, want 2", v)
			}
		})

		t.Run("gives the unsold units back to the product, once", func(t *testing.T) {
			w.flash.Sweep(ctx)
			p, err := db.ProductByID(ctx, w.product.ID)
			if err != nil {
				t.Fatal(err)
			}
			if p.Stock != 97 {
				t.Fatalf("product stock %d, want 100-3", p.Stock)
			}
		})
	})
}

func TestFlashSaleRestoresALostEngineFromSQL(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		w := newFlashWorld(t, db, flash.Config{})
		fs := w.sale(t, 10, 2)
		ann, bob := flashAccount(t, db, "ann"), flashAccount(t, db, "bob")
		w.buy(t, ann, fs.ID, 2)

		// The node restarts: a fresh engine that knows nothing.
		restarted := flash.New(w.svc, db, flash.NewMemoryStock(), nil, flash.Config{}, prometheus.NewRegistry(), nil)
		if _, _, err := restarted.Reserve(ctx, ann, fs.ID, 1); !errors.Is(err, flash.ErrBuyerLimit) {
			t.Fatalf("buyer who bought the limit reserved again: %v", err)
		}
		if _, c, err := restarted.Reserve(ctx, bob, fs.ID, 2); err != nil || c.Sold != 2 || c.Remaining != 6 {
			t.Fatalf("reserve after restore = %+v, %v", c, err)
		}
	})
}

func TestFlashSaleSweeperCancelsOrdersOfLapsedReservations(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		w := newFlashWorld(t, db, flash.Config{ReservationTTL: 30 * time.Millisecond})
		fs := w.sale(t, 5, 5)
		ann := flashAccount(t, db, "ann")
		r, _, err := w.flash.Reserve(ctx, ann, fs.ID, 2)
		if err != nil {
			t.Fatal(err)
		}
		// A checkout that wrote its order and then died before confirming.
		sale, _ := db.FlashSaleByID(ctx, fs.ID)
		o, created, err := db.CreateFlashOrder(ctx, flash.NewSaleOrder{Sale: sale, Reservation: r, Shipping: flashPay.ShippingAddress,
			Provider: "test", At: time.Now()})
		if err != nil || !created {
			t.Fatalf("create order: %v %v", created, err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			w.flash.Sweep(ctx)
			if got, _ := db.OrderByID(ctx, o.ID); got.Status == commerce.OrderCancelled {
				if got.Payment.FailureCode != "reservation_expired" {
					t.Fatalf("cancelled order = %+v", got.Payment)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the order of the lapsed reservation was not cancelled")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if sold := soldUnits(t, db, fs.ID); sold != 0 {
			t.Fatalf("SQL counts %d units of a cancelled order as sold", sold)
		}
		if c, _ := w.engine.Counts(ctx, fs.ID); c.Remaining != 5 {
			t.Fatalf("counts = %+v", c)
		}
		if v := counterValue(t, w.reg, "liveshop_flashsale_reservations_expired_total", ""); v != 1 {
			t.Fatalf("expired metric = %v", v)
		}
		// Paying it now is refused with the reason.
		if _, err := w.flash.Checkout(ctx, ann, fs.ID, r.ID, "late", flashPay); !errors.Is(err, flash.ErrReservationExpired) {
			t.Fatalf("late checkout: %v", err)
		}
	})
}

func TestFlashCheckoutsOfOneReservationMakeOneOrderAndOneCharge(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		w := newFlashWorld(t, db, flash.Config{})
		fs := w.sale(t, 5, 5)
		ann := flashAccount(t, db, "ann")
		r, _, err := w.flash.Reserve(ctx, ann, fs.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		orders := map[int64]bool{}
		answers := map[string]int{}
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := w.flash.Checkout(ctx, ann, fs.ID, r.ID, fmt.Sprint("key-", i), flashPay)
				mu.Lock()
				defer mu.Unlock()
				var e *commerce.Error
				switch {
				case err == nil:
					orders[res.Order.ID] = true
					answers["ok"]++
				case errors.As(err, &e):
					answers[e.Code]++
				default:
					answers[err.Error()]++
				}
			}()
		}
		wg.Wait()
		for code := range answers {
			if code != "ok" && code != "already_paid" && code != "payment_in_progress" {
				t.Fatalf("answers %v", answers)
			}
		}
		link, err := db.FlashOrderByReservation(ctx, fs.ID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		o, err := db.OrderByID(ctx, link.OrderID)
		if err != nil || o.Status != commerce.OrderPaid {
			t.Fatalf("order = %+v, %v (answers %v)", o, err, answers)
		}
		if len(orders) > 1 || len(orders) == 1 && !orders[o.ID] {
			t.Fatalf("answered orders %v, stored %d", orders, o.ID)
		}
		captured, refunded, ok := w.pay.Balance(o.Payment.Reference)
		if !ok || captured != o.TotalMinor || refunded != 0 {
			t.Fatalf("processor: captured %d refunded %d (known %v), order total %d", captured, refunded, ok, o.TotalMinor)
		}
		if sold := soldUnits(t, db, fs.ID); sold != 1 {
			t.Fatalf("SQL sold %d", sold)
		}
	})
}

// newsRecorder is a Notifier that keeps what it is told.
type newsRecorder struct {
	mu     sync.Mutex
	stock  []int64 // remaining, in order
	soldOK []bool
	ended  []string
	starts int
	buys   []flash.PurchaseNotice
}

func (r *newsRecorder) SaleStarted(context.Context, flash.Sale) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.starts++
	return nil
}

func (r *newsRecorder) SaleStock(_ context.Context, _, _, remaining int64, soldOut bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stock = append(r.stock, remaining)
	r.soldOK = append(r.soldOK, soldOut)
	return nil
}

func (r *newsRecorder) SaleEnded(_ context.Context, _, _ int64, reason string, remaining int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = append(r.ended, fmt.Sprintf("%s:%d", reason, remaining))
	return nil
}

func (r *newsRecorder) Purchase(_ context.Context, _ int64, p flash.PurchaseNotice) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buys = append(r.buys, p)
	return nil
}

func (r *newsRecorder) snapshot() (stock []int64, soldOut []bool, ended []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.stock...), append([]bool(nil), r.soldOK...), append([]string(nil), r.ended...)
}

func TestFlashSaleRoomNewsIsCoalesced(t *testing.T) {
	ctx := context.Background()
	db := sqltest.Open(t, sqlstore.SQLite)
	// An hour between stock updates: anything beyond the first update of a
	// sale must be an exception the rules allow (sold out, the final count).
	w := newFlashWorld(t, db, flash.Config{StockUpdateInterval: time.Hour})
	rec := &newsRecorder{}
	w.flash = flash.New(w.svc, db, w.engine, rec, flash.Config{StockUpdateInterval: time.Hour}, prometheus.NewRegistry(), nil)
	w.flash.Start()
	t.Cleanup(w.flash.Close)

	t.Run("a burst of 80 reservations makes one update, and sold out is sent at once", func(t *testing.T) {
		fs := w.sale(t, 80, 1)
		var wg sync.WaitGroup
		for range 80 {
			b := flashAccount(t, db, "b")
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, _, err := w.flash.Reserve(ctx, b, fs.ID, 1); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		testenv.Eventually(t, "sold out", func() bool {
			stock, _, _ := rec.snapshot()
			return len(stock) > 0 && stock[len(stock)-1] == 0
		})
		stock, soldOut, _ := rec.snapshot()
		if len(stock) > 2 || !soldOut[len(soldOut)-1] {
			t.Fatalf("stock updates %v (sold out %v), want at most the first one and sold out", stock, soldOut)
		}
		if _, err := w.flash.StopSale(ctx, w.seller, fs.ID); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("the end sends the exact final count, then the end", func(t *testing.T) {
		before, _, _ := rec.snapshot()
		fs := w.sale(t, 10, 5)
		a := flashAccount(t, db, "a")
		for range 3 {
			if _, _, err := w.flash.Reserve(ctx, a, fs.ID, 1); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.flash.StopSale(ctx, w.seller, fs.ID); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, "the end", func() bool {
			_, _, ended := rec.snapshot()
			return len(ended) == 2
		})
		stock, _, ended := rec.snapshot()
		if got := stock[len(before):]; len(got) == 0 || got[len(got)-1] != 7 {
			t.Fatalf("stock updates of the second sale %v, want the last to be 7", got)
		}
		if ended[1] != "stopped:7" {
			t.Fatalf("ended %v", ended)
		}
	})
}

func TestFlashSaleSettlesAbandonedCheckouts(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		w := newFlashWorld(t, db, flash.Config{}, func(c *commerce.Config) { c.AbandonedCheckoutAfter = time.Millisecond })
		fs := w.sale(t, 5, 5)
		ann := flashAccount(t, db, "ann")
		// abandon plays a checkout that wrote its order, confirmed the units
		// and (if authorized) got the card authorized, then died; nobody
		// retried and its key's lease ran out long ago.
		abandon := func(authorized bool) (commerce.Order, string) {
			t.Helper()
			r, _, err := w.flash.Reserve(ctx, ann, fs.ID, 1)
			if err != nil {
				t.Fatal(err)
			}
			key := fmt.Sprint("abandoned-", r.ID)
			now := time.Now()
			if _, _, err := db.ClaimIdempotencyKey(ctx, commerce.IdempotencyRecord{AccountID: ann.ID, Key: key,
				Scope: fmt.Sprintf("flash-checkout:%d:%d", fs.ID, r.ID), RequestHash: []byte("h"),
				LockedUntil: now.Add(-time.Hour), CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
			sale, _ := db.FlashSaleByID(ctx, fs.ID)
			o, _, err := db.CreateFlashOrder(ctx, flash.NewSaleOrder{Sale: sale, Reservation: r, Shipping: flashPay.ShippingAddress,
				Provider: "test", IdempotencyKey: key, At: now})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := w.engine.Confirm(ctx, fs.ID, r.ID); err != nil {
				t.Fatal(err)
			}
			if authorized {
				if _, err := w.pay.Authorize(ctx, commerce.PaymentRequest{OrderID: o.ID, AmountMinor: o.TotalMinor, Currency: o.Currency,
					Method: flashPay.PaymentMethod, IdempotencyKey: fmt.Sprintf("order-%d-authorize", o.ID)}); err != nil {
					t.Fatal(err)
				}
			}
			return o, key
		}
		paid, paidKey := abandon(true)
		lost, lostKey := abandon(false)
		w.flash.Sweep(ctx)

		t.Run("captures a payment the processor authorized", func(t *testing.T) {
			o, err := db.OrderByID(ctx, paid.ID)
			if err != nil || o.Status != commerce.OrderPaid || o.Payment.Status != commerce.PaymentCaptured || o.Payment.Reference == "" {
				t.Fatalf("order = %+v, %v", o, err)
			}
			if captured, _, _ := w.pay.Balance(o.Payment.Reference); captured != o.TotalMinor {
				t.Fatalf("captured %d of %d", captured, o.TotalMinor)
			}
			rec := storedKey(t, db, ann.ID, paidKey)
			if !rec.Done || rec.Status != 201 {
				t.Fatalf("key answer = %d (done %v)", rec.Status, rec.Done)
			}
		})
		t.Run("cancels one never paid and gives its units back", func(t *testing.T) {
			o, err := db.OrderByID(ctx, lost.ID)
			if err != nil || o.Status != commerce.OrderCancelled || o.Payment.Status != commerce.PaymentFailed {
				t.Fatalf("order = %+v, %v", o, err)
			}
			rec := storedKey(t, db, ann.ID, lostKey)
			if !rec.Done || rec.Status != 503 {
				t.Fatalf("key answer = %d (done %v)", rec.Status, rec.Done)
			}
			c, _ := w.engine.Counts(ctx, fs.ID)
			if c.Sold != 1 || c.Reserved != 0 || c.Remaining != 4 {
				t.Fatalf("counts = %+v", c)
			}
			if sold := soldUnits(t, db, fs.ID); sold != 1 {
				t.Fatalf("SQL sold %d", sold)
			}
		})
	})
}

// storedKey reads an idempotency key's record (claiming an existing key
// returns it unchanged).
func storedKey(t *testing.T, db *sqlstore.DB, account int64, key string) commerce.IdempotencyRecord {
	t.Helper()
	rec, claimed, err := db.ClaimIdempotencyKey(context.Background(), commerce.IdempotencyRecord{AccountID: account, Key: key,
		Scope: "read", RequestHash: []byte("read"), LockedUntil: time.Now(), CreatedAt: time.Now()})
	if err != nil || claimed {
		t.Fatalf("read key %s: claimed %v, %v", key, claimed, err)
	}
	return rec
}

// soldUnits sums the units SQL counts as sold in a sale.
func soldUnits(t *testing.T, db *sqlstore.DB, saleID int64) int64 {
	t.Helper()
	orders, err := db.SoldFlashOrders(context.Background(), saleID)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, o := range orders {
		n += o.Quantity
	}
	return n
}
