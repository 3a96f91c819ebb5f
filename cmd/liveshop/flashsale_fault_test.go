package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/flash"
	"github.com/liveshop/liveshop/commerce/payments"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
	"github.com/liveshop/liveshop/room/redistest"
)

// faultConfig makes reservations lapse and idempotency leases run out
// within a test, so crashed requests can be retried and abandoned
// reservations come back.
func faultConfig(t testing.TB) Config {
	cfg := flashConfig(t)
	cfg.FlashSale.ReservationTTL = 3 * time.Second
	cfg.Commerce.IdempotencyLease = time.Second
	return cfg
}

// crash stops a node the hard way: connections are cut mid-request and the
// app is closed under the handlers still running.
func (n *testNode) crash(t testing.TB, srvClose func()) {
	srvClose()
	n.app.close()
}

// shopperBot is a buyer that keeps trying like a real client: on a
// connection error it moves to another node, on a 5xx or a busy idempotency
// key it waits a little and tries again, until it gets a final answer. (A
// retried "Buy now" whose first try did reserve gets limit_reached; that
// reservation lapses, which the checks below account for.)
type shopperBot struct {
	hc    *http.Client
	nodes func() []string
}

type answer struct {
	status int
	code   string
	body   []byte
}

func (b shopperBot) call(ctx context.Context, path, token string, body any, header ...string) (answer, error) {
	for attempt := 0; ; attempt++ {
		nodes := b.nodes()
		url := nodes[attempt%len(nodes)] + path
		status, raw, err := post(b.hc, url, token, body, header...)
		var a answer
		if err == nil {
			a = answer{status: status, body: raw}
			var e struct {
				Error struct{ Code string } `json:"error"`
			}
			if status >= 400 && json.Unmarshal(raw, &e) == nil {
				a.code = e.Error.Code
			}
			// A crashed node may still answer 500 for requests it was
			// cut off in the middle of; clients retry 5xx like errors.
			if status < 500 && a.code != "idempotency_in_flight" {
				return a, nil
			}
		}
		select {
		case <-ctx.Done():
			return a, fmt.Errorf("%s: no final answer (last %d %s, %v)", path, a.status, a.code, err)
		case <-time.After(time.Duration(20+10*min(attempt, 20)) * time.Millisecond):
		}
	}
}

// outcome is what happened to one buyer.
type outcome struct {
	reservation flash.Reservation
	paid        bool
	orderID     int64
}

// shop runs one buyer: reserve one unit, then pay for it (or walk away when
// pay is false, leaving the reservation to lapse). A buyer whose
// reservation lapsed while the system was in trouble presses "Buy now"
// again, up to three times.
func (b shopperBot) shop(ctx context.Context, saleID int64, tok string, pay bool) (outcome, error) {
	for range 3 {
		o, err := b.shopOnce(ctx, saleID, tok, pay)
		if err != nil || o.paid || !pay || o.reservation.ID == 0 {
			return o, err
		}
	}
	return outcome{}, nil
}

func (b shopperBot) shopOnce(ctx context.Context, saleID int64, tok string, pay bool) (outcome, error) {
	var o outcome
	a, err := b.call(ctx, fmt.Sprintf("/api/flash-sales/%d/reservations", saleID), tok, nil)
	if err != nil {
		return o, err
	}
	if a.status != 201 {
		if a.code == "sold_out" || a.code == "limit_reached" {
			return o, nil
		}
		return o, fmt.Errorf("reserve: %d %s", a.status, a.body)
	}
	var r reservationResult
	if err := json.Unmarshal(a.body, &r); err != nil {
		return o, err
	}
	o.reservation = r.Reservation
	if !pay {
		return o, nil
	}
	key := newKey()
	a, err = b.call(ctx, checkoutPath(r.Reservation), tok, flashCheckoutBody(payments.TestCardVisa), "Idempotency-Key", key)
	if err != nil {
		return o, err
	}
	switch {
	case a.status == 201:
		var res flash.CheckoutResult
		if err := json.Unmarshal(a.body, &res); err != nil {
			return o, err
		}
		o.paid, o.orderID = true, res.Order.ID
	case a.code == "reservation_expired":
		// A crash or an outage outlasted the reservation: fair enough.
	default:
		return o, fmt.Errorf("checkout: %d %s", a.status, a.body)
	}
	return o, nil
}

// checkSaleSettled checks the end state of a sale after faults: nothing is
// held, sold never exceeds the quantity, units of lapsed reservations came
// back (remaining + sold = quantity), SQL has exactly one paid order per
// paid reservation, and the reconciliation found the engine agreeing.
func checkSaleSettled(t *testing.T, n *testNode, fs flash.Sale, outcomes []outcome) {
	t.Helper()
	eventually(t, "every lapsed reservation to come back", 20*time.Second, func() bool {
		return saleCounts(t, n, fs.ID).Reserved == 0
	})
	c := saleCounts(t, n, fs.ID)
	if c.Sold > fs.Quantity || c.Remaining+c.Sold != fs.Quantity {
		t.Fatalf("counts after the faults = %+v (quantity %d)", c, fs.Quantity)
	}
	paid := map[int64]bool{}
	for _, o := range outcomes {
		if o.paid {
			if paid[o.orderID] {
				t.Fatalf("order %d answered to two buyers", o.orderID)
			}
			paid[o.orderID] = true
		}
	}
	ctx := context.Background()
	var sqlPaid int64
	rows, err := n.app.store.SQL().QueryContext(ctx, rebindFor(n, `SELECT o.id, o.status, f.reservation_id FROM orders o
		JOIN flash_sale_orders f ON f.order_id = o.id WHERE f.sale_id = ?`), fs.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[int64]bool{}
	for rows.Next() {
		var id, res int64
		var status string
		if err := rows.Scan(&id, &status, &res); err != nil {
			t.Fatal(err)
		}
		if seen[res] {
			t.Fatalf("reservation %d has two orders", res)
		}
		seen[res] = true
		if status == commerce.OrderPaid {
			sqlPaid++
			if !paid[id] {
				t.Errorf("order %d is paid but no buyer was told", id)
			}
		}
	}
	if int(sqlPaid) != len(paid) || sqlPaid != c.Sold {
		t.Fatalf("%d paid orders in SQL, %d told to buyers, engine sold %d", sqlPaid, len(paid), c.Sold)
	}
	abandoned := 0
	for _, o := range outcomes {
		if o.reservation.ID != 0 && !o.paid {
			abandoned++ // held, never paid: it lapsed, and its units are counted back above
		}
	}
	if sqlPaid == 0 || abandoned == 0 {
		t.Fatalf("the test proved little: %d paid, %d reservations left to lapse", sqlPaid, abandoned)
	}
}

func rebindFor(n *testNode, q string) string {
	if n.app.store.Dialect() == "postgres" {
		return stringsReplaceQ(q)
	}
	return q
}

func TestFlashSaleSurvivesANodeCrash(t *testing.T) {
	cfg := faultConfig(t)
	cfg.Redis = redistest.URL(t)
	cfg.RedisPrefix = uniqueName("test:") + ":"
	cfg.DB = sqltest.PostgresURL(t)

	// Node A is served by a server this test can cut off.
	a, err := newApp(context.Background(), cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvA := &http.Server{Handler: a.echo}
	go func() { _ = srvA.Serve(ln) }()
	nodeA := &testNode{URL: "http://" + ln.Addr().String(), app: a}
	nodeA.srv = &testServer{URL: nodeA.URL, cfg: cfg}
	var crashed atomic.Bool
	t.Cleanup(func() {
		if !crashed.Load() {
			nodeA.crash(t, func() { _ = srvA.Close() })
		}
	})
	cfg.DataDir = t.TempDir()
	nodeB := startNode(t, cfg)

	s := newSaleSetup(t, nodeA, 500)
	fs := s.startSale(t, 60, 1, 0, 600)
	buyers := seedBuyers(t, nodeA.app, 240)
	hc := raceClient(32)
	defer hc.CloseIdleConnections()
	bot := shopperBot{hc: hc, nodes: func() []string {
		if crashed.Load() {
			return []string{nodeB.URL}
		}
		return []string{nodeA.URL, nodeB.URL}
	}}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	outcomes := make([]outcome, len(buyers))
	var wg sync.WaitGroup
	var started atomic.Int64
	errs := make(chan error, len(buyers))
	for i, b := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Add(1)
			o, err := bot.shop(ctx, fs.ID, b.token, i%3 != 0)
			if err != nil {
				errs <- fmt.Errorf("buyer %d: %w", i, err)
			}
			outcomes[i] = o
		}()
		if i == len(buyers)/3 {
			// Crash node A while requests are in flight on it.
			eventually(t, "buyers in flight", 10*time.Second, func() bool { return started.Load() > int64(i) })
			time.Sleep(20 * time.Millisecond)
			crashed.Store(true)
			nodeA.crash(t, func() { _ = srvA.Close() })
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	checkSaleSettled(t, nodeB, fs, outcomes)
	stopAndCheckReconciled(t, nodeB, s, fs)
}

// stopAndCheckReconciled stops the sale by the seller's hand on node n and
// waits for the reconciliation, which must find SQL and the engine agreeing
// and give the unsold units back to the product.
func stopAndCheckReconciled(t *testing.T, n *testNode, s saleSetup, fs flash.Sale) {
	t.Helper()
	seller := n.srv.client(t)
	seller.token = s.seller.token
	before := saleCounts(t, n, fs.ID)
	seller.expect(200, "POST", fmt.Sprintf("/api/flash-sales/%d/stop", fs.ID), nil)
	eventually(t, "reconciliation", 10*time.Second, func() bool { return saleSQL(t, n.app, fs.ID).ReconciledAt != nil })
	got := saleSQL(t, n.app, fs.ID)
	if got.Sold != before.Sold {
		t.Fatalf("reconciled sold %d, engine said %d", got.Sold, before.Sold)
	}
	var p commerce.Product
	seller.expect(200, "GET", fmt.Sprintf("/api/products/%d", s.product.ID), nil).decode(t, &p)
	if want := s.product.Stock - got.Sold; p.Stock != want {
		t.Fatalf("product stock %d after reconciliation, want %d", p.Stock, want)
	}
}

// TestFlashOrderSurvivesRedisLosingItsReservation: SQL is the record the
// stock engine follows. A checkout whose order was written as Redis came
// back empty pays normally: the sale is restored from SQL with the order's
// reservation, or, if the sale was restored before the order was written,
// the reservation is adopted from the order while units remain; when none
// remain, the order is cancelled at once with nothing charged. The sale's
// reconciled sold count is the paid orders.
func TestFlashOrderSurvivesRedisLosingItsReservation(t *testing.T) {
	rp := redistest.Start(t, redistest.Options{Persist: true})
	cfg := faultConfig(t)
	cfg.Redis = rp.URL()
	cfg.RedisPrefix = "test:"
	cfg.FlashSale.ReservationTTL = time.Minute
	n := startNode(t, cfg)
	ctx := context.Background()
	bs := seedBuyers(t, n.app, 4)
	// orderFor writes, straight into SQL, the order a checkout of r writes
	// before it confirms the reservation with the engine.
	orderFor := func(fs flash.Sale, r flash.Reservation) {
		t.Helper()
		sale := saleSQL(t, n.app, fs.ID)
		addr := commerce.Address{Name: "Ann", Line1: "1 Main St", City: "Springfield", PostalCode: "1", Country: "US"}
		if _, created, err := n.app.store.CreateFlashOrder(ctx, flash.NewSaleOrder{Sale: sale, Reservation: r, Shipping: addr,
			Provider: "test", At: time.Now()}); err != nil || !created {
			t.Fatalf("write the order: %v", err)
		}
	}
	pay := func(b buyer, r flash.Reservation) response {
		return b.as(t, n).do("POST", checkoutPath(r), flashCheckoutBody(payments.TestCardVisa), "Idempotency-Key", newKey())
	}
	restored := func(fs flash.Sale, b buyer) flash.Reservation {
		t.Helper()
		var r flash.Reservation
		eventually(t, "the sale to be restored from SQL", 10*time.Second, func() bool {
			a := b.as(t, n).do("POST", fmt.Sprintf("/api/flash-sales/%d/reservations", fs.ID), map[string]int64{"quantity": 1})
			if a.status != 201 {
				return false
			}
			var out reservationResult
			a.decode(t, &out)
			r = out.Reservation
			return true
		})
		return r
	}

	t.Run("an order written before Redis came back empty is paid", func(t *testing.T) {
		s := newSaleSetup(t, n, 100)
		fs := s.startSale(t, 3, 1, 0, 600)
		r := reserve(t, bs[0].as(t, n), fs.ID, 1)
		orderFor(fs, r)
		rp.RestartEmpty()
		restored(fs, bs[1]) // another buyer's Buy now restores the sale
		if a := pay(bs[0], r); a.status != 201 {
			t.Fatalf("paying after Redis lost the reservation: %d %s", a.status, a.body)
		}
		if c := saleCounts(t, n, fs.ID); c.Sold != 1 || c.Reserved != 1 || c.Remaining != 1 {
			t.Fatalf("counts %+v", c)
		}
	})
	t.Run("an order written after the sale was restored is adopted", func(t *testing.T) {
		s := newSaleSetup(t, n, 100)
		fs := s.startSale(t, 2, 1, 0, 600)
		r := reserve(t, bs[0].as(t, n), fs.ID, 1)
		rp.RestartEmpty()
		other := restored(fs, bs[1])
		orderFor(fs, r)
		if a := pay(bs[0], r); a.status != 201 {
			t.Fatalf("paying after the restore: %d %s", a.status, a.body)
		}
		bs[1].as(t, n).expect(200, "DELETE", fmt.Sprintf("/api/flash-sales/%d/reservations/%d", fs.ID, other.ID), nil)
		if c := saleCounts(t, n, fs.ID); c.Sold != 1 || c.Reserved != 0 || c.Remaining != 1 {
			t.Fatalf("counts %+v", c)
		}
		s.seller.expect(200, "POST", fmt.Sprintf("/api/flash-sales/%d/stop", fs.ID), nil)
		eventually(t, "reconciliation", 10*time.Second, func() bool { return saleSQL(t, n.app, fs.ID).ReconciledAt != nil })
		if got := saleSQL(t, n.app, fs.ID).Sold; got != 1 {
			t.Fatalf("reconciled sold %d, want the 1 paid order", got)
		}
	})
	t.Run("with no units left, the order is cancelled and nothing charged", func(t *testing.T) {
		s := newSaleSetup(t, n, 100)
		fs := s.startSale(t, 1, 1, 0, 600)
		r := reserve(t, bs[2].as(t, n), fs.ID, 1)
		rp.RestartEmpty()
		restored(fs, bs[3]) // takes the only unit
		orderFor(fs, r)
		a := pay(bs[2], r)
		if a.status != 409 || a.errorCode(t) != "reservation_lost" {
			t.Fatalf("paying a lost hold of a sold-out sale: %d %s", a.status, a.body)
		}
		link, err := n.app.store.FlashOrderByReservation(ctx, fs.ID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if o, err := n.app.store.OrderByID(ctx, link.OrderID); err != nil || o.Status != commerce.OrderCancelled || o.Payment.Reference != "" {
			t.Fatalf("the order %+v %v", o.Payment, err)
		}
		if c := saleCounts(t, n, fs.ID); c.Sold != 0 || c.Reserved != 1 || c.Remaining != 0 {
			t.Fatalf("counts %+v", c)
		}
	})
}

func TestFlashSaleSurvivesARedisRestart(t *testing.T) {
	rp := redistest.Start(t, redistest.Options{Persist: true})
	cfg := faultConfig(t)
	cfg.Redis = rp.URL()
	cfg.RedisPrefix = "test:"
	n := startNode(t, cfg)
	s := newSaleSetup(t, n, 500)
	fs := s.startSale(t, 60, 1, 0, 600)
	buyers := seedBuyers(t, n.app, 200)
	hc := raceClient(32)
	defer hc.CloseIdleConnections()
	bot := shopperBot{hc: hc, nodes: func() []string { return []string{n.URL} }}

	// One reservation made before the restart must survive it.
	early := buyers[0].as(t, n)
	held := reserve(t, early, fs.ID, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	outcomes := make([]outcome, len(buyers))
	var wg sync.WaitGroup
	var done atomic.Int64
	errs := make(chan error, len(buyers))
	for i, b := range buyers[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer done.Add(1)
			o, err := bot.shop(ctx, fs.ID, b.token, i%3 != 0)
			if err != nil {
				errs <- fmt.Errorf("buyer %d: %w", i+1, err)
			}
			outcomes[i+1] = o
		}()
	}
	eventually(t, "a third of the buyers to finish", 20*time.Second, func() bool { return done.Load() >= int64(len(buyers)/3) })
	rp.Stop()
	// While Redis is down, "Buy now" answers 503 and nothing is sold.
	c := early
	if code := c.expect(503, "POST", fmt.Sprintf("/api/flash-sales/%d/reservations", fs.ID), nil).errorCode(t); code != "unavailable" {
		t.Fatalf("reserve during the outage: %s", code)
	}
	time.Sleep(100 * time.Millisecond) // a short outage, as a restart is
	rp.Start()
	// The data was kept: the reservation made before the restart is still
	// known (held, or lapsed by now), not lost.
	// (The first calls may meet connections the restart broke: 503, retry.)
	var after response
	eventually(t, "Redis to answer again", 10*time.Second, func() bool {
		after = early.do("GET", fmt.Sprintf("/api/flash-sales/%d/reservations/%d", fs.ID, held.ID), nil)
		return after.status != 503
	})
	if after.status != 200 {
		t.Fatalf("reservation after the restart: %d %s", after.status, after.body)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	var res flash.CheckoutResult
	a := early.do("POST", checkoutPath(held), flashCheckoutBody(payments.TestCardVisa), "Idempotency-Key", newKey())
	switch {
	case a.status == 201:
		a.decode(t, &res)
		outcomes[0] = outcome{reservation: held, paid: true, orderID: res.Order.ID}
	case a.status == 410:
		// Lapsed during the test; its units must be back like the others'.
	default:
		t.Fatalf("paying the reservation made before the restart: %d %s", a.status, a.body)
	}
	checkSaleSettled(t, n, fs, outcomes)
	stopAndCheckReconciled(t, n, s, fs)
}
