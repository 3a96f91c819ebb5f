package commerce_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/testenv"
	"github.com/liveshop/liveshop/commerce/payments"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

// world is a commerce service on a fresh SQLite store with a seller, a
// shop, an active product and a buyer with that product in the cart.
type world struct {
	svc     *commerce.Service
	news    *commerce.Events // what svc tells its listeners
	db      *sqlstore.DB
	seller  commerce.Account
	buyer   commerce.Account
	shop    commerce.Shop
	product commerce.Product
}

func newWorld(t *testing.T, cfg commerce.Config) world {
	t.Helper()
	return newWorldOn(t, sqltest.Open(t, sqlstore.SQLite), cfg)
}

// newWorldOn is newWorld on the given store.
func newWorldOn(t *testing.T, db *sqlstore.DB, cfg commerce.Config) world {
	t.Helper()
	ctx := context.Background()
	cfg.Password = commerce.PasswordParams{MemoryKiB: 8 * 1024, Time: 1, Threads: 1}
	cfg.DataDir = t.TempDir()
	if cfg.PaymentRetryDelay == 0 {
		cfg.PaymentRetryDelay = time.Millisecond
	}
	news := &commerce.Events{}
	w := world{svc: commerce.New(db, nil, news, cfg, nil), news: news, db: db}
	var err error
	if w.seller, _, err = w.svc.SignUp(ctx, commerce.SignUp{Email: "seller@example.com", Password: "correct horse battery", Name: "Mara"}, "ip"); err != nil {
		t.Fatal(err)
	}
	if w.buyer, _, err = w.svc.SignUp(ctx, commerce.SignUp{Email: "buyer@example.com", Password: "correct horse battery", Name: "Ann"}, "ip"); err != nil {
		t.Fatal(err)
	}
	if w.shop, err = w.svc.OpenShop(ctx, w.seller, commerce.OpenShop{Handle: "mara", Name: "Mara", Currency: "USD"}); err != nil {
		t.Fatal(err)
	}
	title, price, stock, active := "Mug", int64(1000), int64(5), commerce.ProductActive
	w.product, err = w.svc.CreateProduct(ctx, w.seller, w.shop.ID, commerce.ProductPatch{Title: &title, PriceMinor: &price, Stock: &stock, Status: &active})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.AddToCart(ctx, w.buyer, w.product.ID, 1); err != nil {
		t.Fatal(err)
	}
	return w
}

var checkout = commerce.CheckoutRequest{
	ShippingAddress: commerce.Address{Name: "Ann", Line1: "1 Main St", City: "Springfield", PostalCode: "1", Country: "US"},
	PaymentMethod:   commerce.PaymentMethod{CardNumber: payments.TestCardVisa},
}

func TestStreamRecords(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, commerce.Config{})
	title := "Glaze night"
	ids := []int64{w.product.ID}
	st, err := w.svc.CreateStream(ctx, w.seller, w.shop.ID, commerce.StreamPatch{Title: &title, ProductIDs: &ids})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != commerce.StreamScheduled || st.StreamKey == "" || st.PublishURL == "" || len(st.ProductIDs) != 1 {
		t.Fatalf("new stream %+v", st)
	}

	t.Run("only the current key may publish", func(t *testing.T) {
		if err := w.svc.AuthorizePublish(ctx, st.ID, st.StreamKey); err != nil {
			t.Fatalf("right key refused: %v", err)
		}
		for _, key := range []string{"", "sk_wrong", st.StreamKey + "x"} {
			if err := w.svc.AuthorizePublish(ctx, st.ID, key); !errors.Is(err, commerce.ErrBadStreamKey) {
				t.Fatalf("key %q: got %v", key, err)
			}
		}
		if err := w.svc.AuthorizePublish(ctx, st.ID+100, st.StreamKey); !errors.Is(err, commerce.ErrNotFound) {
			t.Fatalf("unknown stream: %v", err)
		}
		rotated, err := w.svc.RotateStreamKey(ctx, w.seller, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.svc.AuthorizePublish(ctx, st.ID, st.StreamKey); !errors.Is(err, commerce.ErrBadStreamKey) {
			t.Fatalf("old key after rotation: %v", err)
		}
		if err := w.svc.AuthorizePublish(ctx, st.ID, rotated.StreamKey); err != nil {
			t.Fatalf("new key: %v", err)
		}
		st.StreamKey = rotated.StreamKey
		if _, err := w.svc.RotateStreamKey(ctx, w.buyer, st.ID); !errors.Is(err, commerce.ErrForbidden) {
			t.Fatalf("a buyer rotated the key: %v", err)
		}
	})

	t.Run("goes live once, ends for good", func(t *testing.T) {
		if err := w.svc.MarkStreamLive(ctx, st.ID); err != nil {
			t.Fatal(err)
		}
		first, _ := w.svc.Stream(ctx, st.ID)
		if err := w.svc.MarkStreamLive(ctx, st.ID); err != nil {
			t.Fatalf("reconnect while live: %v", err)
		}
		again, _ := w.svc.Stream(ctx, st.ID)
		if first.Status != commerce.StreamLive || first.StartedAt == nil || !again.StartedAt.Equal(*first.StartedAt) {
			t.Fatalf("live stream %+v then %+v", first, again)
		}
		live, _, err := w.svc.Streams(ctx, commerce.StreamFilter{})
		if err != nil || len(live) != 1 || live[0].ID != st.ID || live[0].ShopHandle != "mara" {
			t.Fatalf("live now: %+v %v", live, err)
		}
		info, err := w.svc.StreamShop(ctx, st.ID)
		if err != nil || info.ShopID != w.shop.ID || info.Status != commerce.StreamLive || info.Title != title {
			t.Fatalf("stream shop %+v %v", info, err)
		}
		if err := w.svc.MarkStreamEnded(ctx, st.ID); err != nil {
			t.Fatal(err)
		}
		if err := w.svc.MarkStreamEnded(ctx, st.ID); err != nil {
			t.Fatalf("ending twice: %v", err)
		}
		if err := w.svc.MarkStreamLive(ctx, st.ID); !errors.Is(err, commerce.ErrStreamEnded) {
			t.Fatalf("live after end: %v", err)
		}
		if err := w.svc.AuthorizePublish(ctx, st.ID, st.StreamKey); !errors.Is(err, commerce.ErrStreamEnded) {
			t.Fatalf("publish after end: %v", err)
		}
		ended, _ := w.svc.Stream(ctx, st.ID)
		if ended.Status != commerce.StreamEnded || ended.EndedAt == nil {
			t.Fatalf("ended stream %+v", ended)
		}
		if err := w.svc.MarkStreamLive(ctx, 999999); !errors.Is(err, commerce.ErrNotFound) {
			t.Fatalf("unknown stream: %v", err)
		}
	})

	t.Run("rooms learn roles and product cards", func(t *testing.T) {
		mod, _, _ := w.svc.SignUp(ctx, commerce.SignUp{Email: "mod@example.com", Password: "correct horse battery", Name: "Theo"}, "ip")
		inv, err := w.svc.InviteModerator(ctx, w.seller, w.shop.ID, "mod@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.AcceptModeratorInvitation(ctx, mod, inv.ID); err != nil {
			t.Fatal(err)
		}
		admin, err := w.svc.EnsureAdmin(ctx, "admin@example.com", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			id   int64
			want commerce.Role
		}{{0, commerce.RoleViewer}, {w.buyer.ID, commerce.RoleViewer}, {mod.ID, commerce.RoleModerator}, {w.seller.ID, commerce.RoleSeller}, {admin.ID, commerce.RoleAdmin}} {
			if got, err := w.svc.ShopRole(ctx, w.shop.ID, tc.id); err != nil || got != tc.want {
				t.Errorf("account %d: %s %v, want %s", tc.id, got, err, tc.want)
			}
		}
		if _, err := w.svc.ShopRole(ctx, 999999, w.buyer.ID); !errors.Is(err, commerce.ErrNotFound) {
			t.Fatalf("unknown shop: %v", err)
		}
		card, err := w.svc.ProductCard(ctx, w.product.ID)
		if err != nil || card.ShopID != w.shop.ID || card.PriceMinor != 1000 || card.Currency != "USD" || card.Stock != 5 || card.Status != commerce.ProductActive {
			t.Fatalf("card %+v %v", card, err)
		}
	})
}

// recorder collects order events.
type recorder struct {
	mu     sync.Mutex
	events []commerce.OrderEventType
}

func (r *recorder) OrderEvent(_ context.Context, e commerce.OrderEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e.Type)
}

func (r *recorder) got() []commerce.OrderEventType {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]commerce.OrderEventType(nil), r.events...)
}

func TestOrderEvents(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, commerce.Config{})
	rec := &recorder{}
	w.news.Connect(commerce.Listeners{Orders: rec})
	res, err := w.svc.Checkout(ctx, w.buyer, "k1", checkout)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Order.ID
	if _, err := w.svc.ShipOrder(ctx, w.seller, id, "UPS", "1Z"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.DeliverOrder(ctx, w.seller, id); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.RefundOrder(ctx, w.seller, id, "k2", ""); err != nil {
		t.Fatal(err)
	}
	want := []commerce.OrderEventType{commerce.OrderPaidEvent, commerce.OrderShippedEvent, commerce.OrderDeliveredEvent, commerce.OrderRefundedEvent}
	if got := rec.got(); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if _, err := w.svc.DeliverOrder(ctx, w.seller, id); err == nil || len(rec.got()) != 4 {
		t.Fatalf("an illegal transition emitted an event or passed: %v %v", err, rec.got())
	}
	w.news.Disconnect() // no listeners is fine
	if _, err := w.svc.AddToCart(ctx, w.buyer, w.product.ID, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Checkout(ctx, w.buyer, "k3", checkout); err != nil {
		t.Fatal(err)
	}
}

// gatedPayments blocks Authorize until released, and can fail once with an
// error whose outcome is unknown (a timeout), like a processor call cut off.
// While refuseRefunds is set, the processor refuses every refund.
type gatedPayments struct {
	*payments.TestProcessor
	entered       chan struct{}
	release       chan struct{}
	failOnce      bool
	refuseRefunds atomic.Bool
}

func (g *gatedPayments) Refund(ctx context.Context, reference string, amount int64, key string) error {
	if g.refuseRefunds.Load() {
		return &commerce.PaymentError{Code: "refund_refused", Message: "the processor refused the refund"}
	}
	return g.TestProcessor.Refund(ctx, reference, amount, key)
}

func (g *gatedPayments) Authorize(ctx context.Context, req commerce.PaymentRequest) (commerce.Authorization, error) {
	if g.entered != nil {
		g.entered <- struct{}{}
		<-g.release
	}
	if g.failOnce {
		g.failOnce = false
		return commerce.Authorization{}, context.DeadlineExceeded
	}
	return g.TestProcessor.Authorize(ctx, req)
}

func TestCheckoutIdempotencyWhileRunning(t *testing.T) {
	ctx := context.Background()
	pay := &gatedPayments{TestProcessor: payments.NewTestProcessor(), entered: make(chan struct{}), release: make(chan struct{})}
	w := newWorld(t, commerce.Config{Payments: pay})
	done := make(chan error, 1)
	go func() {
		_, err := w.svc.Checkout(ctx, w.buyer, "key", checkout)
		done <- err
	}()
	<-pay.entered
	var e *commerce.Error
	if _, err := w.svc.Checkout(ctx, w.buyer, "key", checkout); !errors.As(err, &e) || e.Status != 409 || e.Code != "idempotency_in_flight" {
		t.Fatalf("retry while running: %v", err)
	}
	other := checkout
	other.ShippingAddress.City = "Shelbyville"
	if _, err := w.svc.Checkout(ctx, w.buyer, "key", other); !errors.As(err, &e) || e.Status != 422 {
		t.Fatalf("other body while running: %v", err)
	}
	close(pay.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestCheckoutResumesAnInterruptedPayment(t *testing.T) {
	ctx := context.Background()
	pay := &gatedPayments{TestProcessor: payments.NewTestProcessor(), failOnce: true}
	w := newWorld(t, commerce.Config{Payments: pay})
	_, err := w.svc.Checkout(ctx, w.buyer, "key", checkout)
	if !errors.Is(err, commerce.ErrUnavailable) {
		t.Fatalf("interrupted payment: %v", err)
	}
	orders, _, _ := w.svc.Orders(ctx, w.buyer, commerce.PageRequest{})
	if len(orders) != 1 || orders[0].Status != commerce.OrderAwaitingPayment {
		t.Fatalf("orders after interruption %+v", orders)
	}
	res, err := w.svc.Checkout(ctx, w.buyer, "key", checkout)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if res.Order.ID != orders[0].ID || res.Order.Status != commerce.OrderPaid {
		t.Fatalf("retry paid %+v, want order %d paid", res.Order, orders[0].ID)
	}
	orders, _, _ = w.svc.Orders(ctx, w.buyer, commerce.PageRequest{})
	p, _ := w.svc.Product(ctx, w.buyer, w.product.ID)
	if len(orders) != 1 || p.Stock != 4 {
		t.Fatalf("%d orders and stock %d after resuming, want 1 and 4", len(orders), p.Stock)
	}
	replay, err := w.svc.Checkout(ctx, w.buyer, "key", checkout)
	if err != nil || !replay.Replayed || replay.Order.ID != res.Order.ID {
		t.Fatalf("replay %+v %v", replay, err)
	}
}

func TestMoneyFormatting(t *testing.T) {
	for _, tc := range []struct {
		minor    int64
		currency string
		want     string
	}{{1234, "USD", "12.34 USD"}, {5, "EUR", "0.05 EUR"}, {1200, "JPY", "1200 JPY"}, {1, "KWD", "0.001 KWD"}, {-250, "USD", "-2.50 USD"}} {
		if got := commerce.FormatMoney(tc.minor, tc.currency); got != tc.want {
			t.Errorf("%d %s: %q, want %q", tc.minor, tc.currency, got, tc.want)
		}
	}
	if n := len(commerce.Currencies()); n < 30 {
		t.Fatalf("only %d currencies", n)
	}
}

// lostAnswer is a processor whose answers to Authorize never arrive, as if
// the server died waiting; with authorize it really authorizes first.
type lostAnswer struct {
	*payments.TestProcessor
	authorize bool
}

func (l *lostAnswer) Authorize(ctx context.Context, req commerce.PaymentRequest) (commerce.Authorization, error) {
	if l.authorize {
		if _, err := l.TestProcessor.Authorize(ctx, req); err != nil {
			return commerce.Authorization{}, err
		}
	}
	return commerce.Authorization{}, context.DeadlineExceeded
}

// TestSweeperSettlesOrphanOrders: an order awaiting payment that no
// checkout request leads to any more (its Idempotency-Key is gone) is found
// by the sweeper, which walks orders: captured when the processor holds an
// authorization for it, otherwise cancelled with its stock and cart lines
// given back.
func TestSweeperSettlesOrphanOrders(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		pay := payments.NewTestProcessor()
		w := newWorldOn(t, db, commerce.Config{Payments: pay, AbandonedCheckoutAfter: time.Nanosecond})
		place := func() commerce.Order {
			t.Helper()
			if _, err := w.svc.AddToCart(ctx, w.buyer, w.product.ID, 1); err != nil && !errors.Is(err, commerce.ErrCartFull) {
				t.Fatal(err)
			}
			o, err := db.PlaceOrder(ctx, commerce.NewOrder{BuyerID: w.buyer.ID, ShopID: w.shop.ID, Shipping: checkout.ShippingAddress,
				Payment: commerce.Payment{Provider: "test"}, At: time.Now().Add(-time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		unpaid := place()
		authorized := place()
		if _, err := pay.Authorize(ctx, commerce.PaymentRequest{OrderID: authorized.ID, AmountMinor: authorized.TotalMinor, Currency: "USD",
			Method: checkout.PaymentMethod, IdempotencyKey: fmt.Sprintf("order-%d-authorize", authorized.ID)}); err != nil {
			t.Fatal(err)
		}
		stock := func() int64 { p, _ := w.svc.Product(ctx, w.buyer, w.product.ID); return p.Stock }
		before := stock()
		n, err := w.svc.SweepAbandonedCheckouts(ctx)
		if err != nil || n != 2 {
			t.Fatalf("sweep settled %d: %v", n, err)
		}
		if o, _ := db.OrderByID(ctx, unpaid.ID); o.Status != commerce.OrderCancelled {
			t.Fatalf("the unpaid orphan is %s", o.Status)
		}
		if o, _ := db.OrderByID(ctx, authorized.ID); o.Status != commerce.OrderPaid || o.Payment.Status != commerce.PaymentCaptured {
			t.Fatalf("the authorized orphan is %s / %s", o.Status, o.Payment.Status)
		}
		units := unpaid.Lines[0].Quantity
		if got := stock(); got != before+units {
			t.Fatalf("stock %d, want %d (the cancelled orphan's units back)", got, before+units)
		}
		if cart, _ := w.svc.Cart(ctx, w.buyer); len(cart.Lines) != 1 || cart.Lines[0].Quantity != units {
			t.Fatalf("cart %+v, want the cancelled orphan's line back", cart.Lines)
		}
		if n, _ := w.svc.SweepAbandonedCheckouts(ctx); n != 0 {
			t.Fatalf("a second sweep settled %d more", n)
		}
	})
}

func TestSweeperSettlesAbandonedCheckouts(t *testing.T) {
	for _, tc := range []struct {
		name       string
		authorized bool
		status     string
		stock      int64
		cartLines  int
	}{
		{"an authorized payment is captured and the order paid", true, commerce.OrderPaid, 4, 0},
		{"an order without authorization is cancelled and everything returned", false, commerce.OrderCancelled, 5, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, commerce.Config{Payments: &lostAnswer{payments.NewTestProcessor(), tc.authorized}, AbandonedCheckoutAfter: time.Nanosecond})
			if _, err := w.svc.Checkout(ctx, w.buyer, "key", checkout); !errors.Is(err, commerce.ErrUnavailable) {
				t.Fatalf("interrupted checkout: %v", err)
			}
			n, err := w.svc.SweepAbandonedCheckouts(ctx)
			if err != nil || n != 1 {
				t.Fatalf("sweep settled %d: %v", n, err)
			}
			if n, _ := w.svc.SweepAbandonedCheckouts(ctx); n != 0 {
				t.Fatalf("a second sweep settled %d more", n)
			}
			orders, _, _ := w.svc.Orders(ctx, w.buyer, commerce.PageRequest{})
			p, _ := w.svc.Product(ctx, w.buyer, w.product.ID)
			cart, _ := w.svc.Cart(ctx, w.buyer)
			if len(orders) != 1 || orders[0].Status != tc.status || p.Stock != tc.stock || len(cart.Lines) != tc.cartLines {
				t.Fatalf("orders %+v, stock %d, cart %+v", orders, p.Stock, cart.Lines)
			}
			res, err := w.svc.Checkout(ctx, w.buyer, "key", checkout)
			if tc.authorized && (err != nil || !res.Replayed || res.Order.ID != orders[0].ID) {
				t.Fatalf("retry after the sweep: %+v %v", res, err)
			}
			var e *commerce.Error
			if !tc.authorized && (!errors.As(err, &e) || e.Code != "payment_unavailable") {
				t.Fatalf("retry after the sweep: %v", err)
			}
		})
	}
}

// appError fails t unless err is the API error status/code.
func appError(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var e *commerce.Error
	if !errors.As(err, &e) || e.Status != status || e.Code != code {
		t.Fatalf("%s: %v, want %d %s", what, err, status, code)
	}
}

func TestMoneyFailurePaths(t *testing.T) {
	ctx := context.Background()

	t.Run("a refused refund leaves the order cancelled and the money captured until a retry with the same key", func(t *testing.T) {
		pay := &gatedPayments{TestProcessor: payments.NewTestProcessor()}
		w := newWorld(t, commerce.Config{Payments: pay})
		rec := &recorder{}
		w.news.Connect(commerce.Listeners{Orders: rec})
		res, err := w.svc.Checkout(ctx, w.buyer, "buy", checkout)
		if err != nil {
			t.Fatal(err)
		}
		ref := res.Order.Payment.Reference
		pay.refuseRefunds.Store(true)
		_, err = w.svc.CancelOrder(ctx, w.seller, res.Order.ID, "cancel", "broken")
		appError(t, "cancel with a refused refund", err, 503, "refund_failed")
		o, _ := w.svc.Order(ctx, w.seller, res.Order.ID)
		p, _ := w.svc.Product(ctx, w.buyer, w.product.ID)
		captured, refunded, _ := pay.Balance(ref)
		if o.Status != commerce.OrderCancelled || o.Payment.Status != commerce.PaymentCaptured || p.Stock != 5 || captured != 1000 || refunded != 0 {
			t.Fatalf("after the refused refund: order %s payment %s, stock %d, processor captured %d refunded %d",
				o.Status, o.Payment.Status, p.Stock, captured, refunded)
		}
		_, err = w.svc.CancelOrder(ctx, w.seller, res.Order.ID, "cancel", "broken")
		appError(t, "retry while the processor still refuses", err, 503, "refund_failed")

		pay.refuseRefunds.Store(false)
		o, err = w.svc.CancelOrder(ctx, w.seller, res.Order.ID, "cancel", "broken")
		if err != nil || o.Status != commerce.OrderRefunded || o.Payment.Status != commerce.PaymentRefunded {
			t.Fatalf("retry with the same key: %+v %v", o, err)
		}
		if again, err := w.svc.CancelOrder(ctx, w.seller, res.Order.ID, "cancel", "broken"); err != nil || again.Status != commerce.OrderRefunded {
			t.Fatalf("replay: %+v %v", again, err)
		}
		p, _ = w.svc.Product(ctx, w.buyer, w.product.ID)
		if captured, refunded, _ := pay.Balance(ref); refunded != 1000 || captured != 1000 || p.Stock != 5 {
			t.Fatalf("processor captured %d refunded %d, stock %d: want 1000, 1000 and 5 (returned once)", captured, refunded, p.Stock)
		}
		want := []commerce.OrderEventType{commerce.OrderPaidEvent, commerce.OrderCancelledEvent, commerce.OrderRefundedEvent}
		if got := rec.got(); !slices.Equal(got, want) {
			t.Fatalf("events %v, want %v", got, want)
		}
	})

	t.Run("a declined payment emits no event and leaves nothing to refund", func(t *testing.T) {
		w := newWorld(t, commerce.Config{})
		rec := &recorder{}
		w.news.Connect(commerce.Listeners{Orders: rec})
		declined := checkout
		declined.PaymentMethod.CardNumber = payments.TestCardDeclined
		_, err := w.svc.Checkout(ctx, w.buyer, "buy", declined)
		appError(t, "declined checkout", err, 402, "payment_declined")
		orders, _, _ := w.svc.Orders(ctx, w.buyer, commerce.PageRequest{})
		if len(orders) != 1 || orders[0].Status != commerce.OrderCancelled {
			t.Fatalf("orders %+v", orders)
		}
		_, err = w.svc.RefundOrder(ctx, w.seller, orders[0].ID, "refund", "")
		appError(t, "refund of a declined order", err, 409, "nothing_to_refund")
		if got := rec.got(); len(got) != 0 {
			t.Fatalf("events %v for a declined payment", got)
		}
	})

	t.Run("an order whose payment is still running cannot be cancelled", func(t *testing.T) {
		pay := &gatedPayments{TestProcessor: payments.NewTestProcessor(), failOnce: true}
		w := newWorld(t, commerce.Config{Payments: pay})
		if _, err := w.svc.Checkout(ctx, w.buyer, "buy", checkout); !errors.Is(err, commerce.ErrUnavailable) {
			t.Fatalf("interrupted checkout: %v", err)
		}
		orders, _, _ := w.svc.Orders(ctx, w.buyer, commerce.PageRequest{})
		_, err := w.svc.CancelOrder(ctx, w.seller, orders[0].ID, "cancel", "")
		appError(t, "cancel while awaiting payment", err, 409, "payment_in_progress")
		o, _ := w.svc.Order(ctx, w.seller, orders[0].ID)
		p, _ := w.svc.Product(ctx, w.buyer, w.product.ID)
		if o.Status != commerce.OrderAwaitingPayment || o.Payment.Status != commerce.PaymentPending || p.Stock != 4 {
			t.Fatalf("order %s payment %s stock %d after the refused cancel", o.Status, o.Payment.Status, p.Stock)
		}
	})
}

// stockCalls records what a StockNotifier hears.
type stockCalls struct {
	mu    sync.Mutex
	calls [][3]int64 // shop, product, stock
}

func (s *stockCalls) StockChanged(_ context.Context, shopID, productID, stock int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, [3]int64{shopID, productID, stock})
	return nil
}

func (s *stockCalls) last() ([3]int64, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) == 0 {
		return [3]int64{}, 0
	}
	return s.calls[len(s.calls)-1], len(s.calls)
}

func TestStockNotifier(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, commerce.Config{})
	rec := &stockCalls{}
	w.news.Connect(commerce.Listeners{Stock: rec})
	waitStock := func(want int64) {
		t.Helper()
		testenv.Eventually(t, fmt.Sprintf("a stock report of %d", want), func() bool {
			got, n := rec.last()
			return n > 0 && got == [3]int64{w.shop.ID, w.product.ID, want}
		})
	}
	res, err := w.svc.Checkout(ctx, w.buyer, "k1", checkout)
	if err != nil {
		t.Fatal(err)
	}
	waitStock(4)
	if _, err := w.svc.CancelOrder(ctx, w.seller, res.Order.ID, "k2", ""); err != nil {
		t.Fatal(err)
	}
	waitStock(5)
	for _, n := range []int64{9, 8, 7, 6, 0} {
		if _, err := w.svc.UpdateProduct(ctx, w.seller, w.product.ID, commerce.ProductPatch{Stock: &n}); err != nil {
			t.Fatal(err)
		}
	}
	waitStock(0)
	rec.mu.Lock()
	for i := 1; i < len(rec.calls); i++ {
		if rec.calls[i] == rec.calls[i-1] {
			t.Errorf("stock %d reported twice in a row", rec.calls[i][2])
		}
	}
	rec.mu.Unlock()
	w.news.Disconnect()
	title := "Big mug"
	if _, err := w.svc.UpdateProduct(ctx, w.seller, w.product.ID, commerce.ProductPatch{Title: &title}); err != nil {
		t.Fatal(err)
	}
}

// slowAuthorize is a processor whose Authorize waits until release is
// closed, telling entered when it starts.
type slowAuthorize struct {
	*payments.TestProcessor
	entered, release chan struct{}
}

func (p *slowAuthorize) Authorize(ctx context.Context, req commerce.PaymentRequest) (commerce.Authorization, error) {
	close(p.entered)
	<-p.release
	return p.TestProcessor.Authorize(ctx, req)
}

// TestIdempotencyLeaseIsRenewed: a checkout that runs longer than the
// key's lease keeps its key, renewing the lease, so a retry meanwhile is
// told to wait (409 with Retry-After) instead of taking the work over; the
// retry after the end gets the stored answer.
func TestIdempotencyLeaseIsRenewed(t *testing.T) {
	ctx := context.Background()
	const lease = 300 * time.Millisecond
	pay := &slowAuthorize{payments.NewTestProcessor(), make(chan struct{}), make(chan struct{})}
	w := newWorld(t, commerce.Config{Payments: pay, IdempotencyLease: lease})
	first := make(chan error, 1)
	var res commerce.CheckoutResult
	go func() {
		var err error
		res, err = w.svc.Checkout(ctx, w.buyer, "slow", checkout)
		first <- err
	}()
	<-pay.entered
	lockedUntil := func() time.Time {
		var us int64
		if err := w.db.SQL().QueryRow("SELECT locked_until FROM idempotency_keys WHERE idem_key = 'slow'").Scan(&us); err != nil {
			t.Fatal(err)
		}
		return time.UnixMicro(us)
	}
	start := lockedUntil()
	testenv.Eventually(t, "the lease to be renewed three times", func() bool { return lockedUntil().After(start.Add(3 * lease)) })
	_, err := w.svc.Checkout(ctx, w.buyer, "slow", checkout)
	var ra interface{ RetryAfterSeconds() int }
	if !errors.Is(err, commerce.ErrIdempotencyInFlight) || !errors.As(err, &ra) || ra.RetryAfterSeconds() < 1 {
		t.Fatalf("retry while the first runs: %v", err)
	}
	close(pay.release)
	if err := <-first; err != nil || res.Order.Status != commerce.OrderPaid {
		t.Fatalf("first checkout: %+v %v", res.Order.Status, err)
	}
	again, err := w.svc.Checkout(ctx, w.buyer, "slow", checkout)
	if err != nil || !again.Replayed || again.Order.ID != res.Order.ID {
		t.Fatalf("retry after: %+v %v", again, err)
	}
}
