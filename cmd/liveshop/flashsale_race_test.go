package main

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce/flash"
	"github.com/liveshop/liveshop/commerce/payments"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
	"github.com/liveshop/liveshop/room/redistest"
)

// raceBuyers is how many buyers race for raceUnits; each tries to take
// units one at a time until refused, so the per-buyer limit is tested too.
const (
	raceBuyers = 5000
	raceUnits  = 100
	raceLimit  = 2
)

func TestFlashSaleRaceNeverOversells(t *testing.T) {
	t.Run("5000 buyers, 100 units, memory engine, one node", func(t *testing.T) {
		t.Parallel()
		n := startNode(t, flashConfig(t))
		runSaleRace(t, []*testNode{n})
	})
	t.Run("5000 buyers, 100 units, Redis engine, two nodes sharing PostgreSQL and Redis", func(t *testing.T) {
		t.Parallel()
		cfg := flashConfig(t)
		cfg.Redis = redistest.URL(t)
		cfg.RedisPrefix = uniqueName("test:") + ":"
		cfg.DB = sqltest.PostgresURL(t)
		a := startNode(t, cfg)
		cfg.DataDir = t.TempDir()
		b := startNode(t, cfg)
		runSaleRace(t, []*testNode{a, b})
	})
}

// runSaleRace lets raceBuyers buyers race through the nodes for raceUnits
// units, pays for every reservation (retrying some payments on the other
// node), and checks that exactly raceUnits were reserved and became exactly
// raceUnits paid orders, one per reservation, none above the limit.
func runSaleRace(t *testing.T, nodes []*testNode) {
	s := newSaleSetup(t, nodes[0], 1000)
	fs := s.startSale(t, raceUnits, raceLimit, 0, 600)
	buyers := seedBuyers(t, nodes[0].app, raceBuyers)
	hc := raceClient(64)
	defer hc.CloseIdleConnections()

	var (
		mu       sync.Mutex
		held     = map[int64][]flash.Reservation{} // by buyer
		refusals = map[string]int{}
		wg       sync.WaitGroup
	)
	start := make(chan struct{})
	for i, b := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			url := fmt.Sprintf("%s/api/flash-sales/%d/reservations", nodes[i%len(nodes)].URL, fs.ID)
			for range raceLimit + 1 {
				status, body, err := post(hc, url, b.token, nil)
				mu.Lock()
				switch {
				case err != nil:
					refusals[err.Error()]++
				case status == 201:
					var r reservationResult
					if err := json.Unmarshal(body, &r); err != nil {
						refusals["bad body"]++
					}
					held[b.id] = append(held[b.id], r.Reservation)
				default:
					var e struct {
						Error struct{ Code string } `json:"error"`
					}
					_ = json.Unmarshal(body, &e)
					refusals[fmt.Sprintf("%d %s", status, e.Error.Code)]++
				}
				mu.Unlock()
				if status != 201 {
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()

	var reservations []flash.Reservation
	for buyerID, rs := range held {
		if len(rs) > raceLimit {
			t.Errorf("buyer %d holds %d reservations, limit %d", buyerID, len(rs), raceLimit)
		}
		reservations = append(reservations, rs...)
	}
	for k := range refusals {
		if k != "409 sold_out" && k != "409 limit_reached" {
			t.Errorf("unexpected answers: %v", refusals)
			break
		}
	}
	if len(reservations) != raceUnits {
		t.Fatalf("%d reservations, want exactly %d (refusals %v)", len(reservations), raceUnits, refusals)
	}
	if c := saleCounts(t, nodes[0], fs.ID); c.Remaining != 0 || c.Reserved != raceUnits {
		t.Fatalf("counts after the race = %+v", c)
	}

	// Pay for everything, 16 at a time; every fourth payment is retried
	// with the same key on the other node, every fifth with a new key.
	tokens := map[int64]string{}
	for _, b := range buyers {
		tokens[b.id] = b.token
	}
	orders := map[int64]int64{} // reservation -> order
	sem := make(chan struct{}, 16)
	for i, r := range reservations {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			key := newKey()
			path := fmt.Sprintf("/api/flash-sales/%d/reservations/%d/checkout", fs.ID, r.ID)
			first := nodes[i%len(nodes)].URL + path
			status, body, err := post(hc, first, tokens[r.BuyerID], flashCheckoutBody(payments.TestCardVisa), "Idempotency-Key", key)
			if err != nil || status != 201 {
				t.Errorf("checkout %d: %d %s %v", r.ID, status, body, err)
				return
			}
			var res flash.CheckoutResult
			_ = json.Unmarshal(body, &res)
			other := nodes[(i+1)%len(nodes)].URL + path
			if i%4 == 0 {
				status, body, _ := post(hc, other, tokens[r.BuyerID], flashCheckoutBody(payments.TestCardVisa), "Idempotency-Key", key)
				var again flash.CheckoutResult
				_ = json.Unmarshal(body, &again)
				if status != 201 || again.Order.ID != res.Order.ID {
					t.Errorf("retry of %d: %d %s", r.ID, status, body)
				}
			}
			if i%5 == 0 {
				if status, body, _ := post(hc, other, tokens[r.BuyerID], flashCheckoutBody(payments.TestCardVisa), "Idempotency-Key", newKey()); status != 409 {
					t.Errorf("second payment of %d: %d %s", r.ID, status, body)
				}
			}
			mu.Lock()
			orders[r.ID] = res.Order.ID
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// SQL, the system of record: one paid order per reservation.
	db := nodes[0].app.store.SQL()
	var links, paid, distinct int64
	q := func(query string, dest *int64) {
		t.Helper()
		if err := db.QueryRow(query, fs.ID).Scan(dest); err != nil {
			t.Fatal(err)
		}
	}
	rebind := func(s string) string {
		if nodes[0].app.store.Dialect() == "postgres" {
			return stringsReplaceQ(s)
		}
		return s
	}
	q(rebind("SELECT COUNT(*) FROM flash_sale_orders WHERE sale_id = ?"), &links)
	q(rebind("SELECT COUNT(DISTINCT order_id) FROM flash_sale_orders WHERE sale_id = ?"), &distinct)
	q(rebind(`SELECT COUNT(*) FROM orders o JOIN flash_sale_orders f ON f.order_id = o.id
		WHERE f.sale_id = ? AND o.status = 'paid'`), &paid)
	if links != raceUnits || distinct != raceUnits || paid != raceUnits || len(orders) != raceUnits {
		t.Fatalf("orders: %d links, %d distinct, %d paid, %d answered; want %d each", links, distinct, paid, len(orders), raceUnits)
	}
	rows, err := db.Query(rebind("SELECT buyer_id, SUM(quantity) FROM flash_sale_orders WHERE sale_id = ? GROUP BY buyer_id"), fs.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var buyerID, units int64
		if err := rows.Scan(&buyerID, &units); err != nil {
			t.Fatal(err)
		}
		if units > raceLimit {
			t.Errorf("buyer %d bought %d units, limit %d", buyerID, units, raceLimit)
		}
	}
	c := saleCounts(t, nodes[len(nodes)-1], fs.ID)
	if c.Sold != raceUnits || c.Remaining != 0 || c.Reserved != 0 {
		t.Fatalf("counts after payment = %+v", c)
	}
	eventually(t, "the sold-out sale to be reconciled", 10*time.Second, func() bool {
		return saleSQL(t, nodes[0].app, fs.ID).ReconciledAt != nil
	})
	if got := saleSQL(t, nodes[0].app, fs.ID); got.Sold != raceUnits || got.EndReason != flash.SaleEndSoldOut {
		t.Fatalf("reconciled sale = %+v", got)
	}
}

func saleCounts(t testing.TB, n *testNode, saleID int64) flash.Sale {
	t.Helper()
	var fs flash.Sale
	n.srv.client(t).expect(200, "GET", fmt.Sprintf("/api/flash-sales/%d", saleID), nil).decode(t, &fs)
	return fs
}

// stringsReplaceQ numbers ? placeholders for PostgreSQL.
func stringsReplaceQ(s string) string {
	out := make([]byte, 0, len(s)+8)
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '?' {
			n++
			out = append(out, fmt.Sprintf("$%d", n)...)
			continue
		}
		out = append(out, s[i])
	}
	return string(out)
}
