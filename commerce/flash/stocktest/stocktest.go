// Package stocktest is the contract every flash.StockEngine passes: the
// one suite that the memory and the Redis engine both run, so a sale behaves
// the same on one node as on many.
package stocktest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce/flash"
	"github.com/liveshop/liveshop/commerce/internal/testenv"
)

// Nodes returns a constructor of engines that share one store: each call is
// one more node of the same deployment (the memory engine returns itself).
type Nodes func(t *testing.T) func() flash.StockEngine

// Run runs the contract against the engines newNodes builds.
func Run(t *testing.T, newNodes Nodes) {
	ctx := context.Background()
	var nextSale atomic.Int64
	// newSale creates a sale on a fresh set of nodes and returns them.
	newSale := func(t *testing.T, quantity, limit int64) (int64, func() flash.StockEngine) {
		t.Helper()
		nodes := newNodes(t)
		id := 1000 + nextSale.Add(1)
		mustCreate(t, nodes(), flash.SaleStock{SaleID: id, Quantity: quantity, PerBuyerLimit: limit, KeepUntil: time.Now().Add(time.Hour)})
		return id, nodes
	}

	t.Run("reserves units and counts them as reserved", func(t *testing.T) {
		sale, nodes := newSale(t, 10, 5)
		e := nodes()
		before := time.Now()
		r, c := mustReserve(t, e, sale, 7, 3, time.Minute)
		if r.SaleID != sale || r.BuyerID != 7 || r.Quantity != 3 || r.State != flash.ReservationHeld {
			t.Fatalf("reservation = %+v", r)
		}
		if r.ID <= 0 || r.ID >= 1<<53 {
			t.Fatalf("reservation ID %d is not in (0, 2^53)", r.ID)
		}
		if r.ExpiresAt.Before(before.Add(59*time.Second)) || r.ExpiresAt.After(time.Now().Add(61*time.Second)) {
			t.Fatalf("expires at %v, want about a minute from now", r.ExpiresAt)
		}
		wantCounts(t, c, 10, 7, 3, 0)
		wantCounts(t, mustCounts(t, e, sale), 10, 7, 3, 0)
		got, err := e.Reservation(ctx, sale, r.ID)
		if err != nil || got.BuyerID != 7 || got.Quantity != 3 || got.State != flash.ReservationHeld {
			t.Fatalf("Reservation = %+v, %v", got, err)
		}
	})

	t.Run("refuses more than remains and changes nothing", func(t *testing.T) {
		sale, nodes := newSale(t, 3, 5)
		e := nodes()
		mustReserve(t, e, sale, 1, 2, time.Minute)
		_, c, err := e.Reserve(ctx, sale, 2, 2, time.Minute)
		wantErr(t, err, flash.ErrSoldOut)
		wantCounts(t, c, 3, 1, 2, 0)
		mustReserve(t, e, sale, 2, 1, time.Minute)
		_, _, err = e.Reserve(ctx, sale, 3, 1, time.Minute)
		wantErr(t, err, flash.ErrSoldOut)
		wantCounts(t, mustCounts(t, e, sale), 3, 0, 3, 0)
	})

	t.Run("refuses a buyer above the limit counting held and sold units", func(t *testing.T) {
		sale, nodes := newSale(t, 100, 3)
		e := nodes()
		r, _ := mustReserve(t, e, sale, 1, 2, time.Minute)
		mustConfirm(t, e, sale, r.ID)
		_, _, err := e.Reserve(ctx, sale, 1, 2, time.Minute)
		wantErr(t, err, flash.ErrBuyerLimit)
		mustReserve(t, e, sale, 1, 1, time.Minute)
		_, _, err = e.Reserve(ctx, sale, 1, 1, time.Minute)
		wantErr(t, err, flash.ErrBuyerLimit)
		mustReserve(t, e, sale, 2, 3, time.Minute) // another buyer is not affected
		wantCounts(t, mustCounts(t, e, sale), 100, 94, 4, 2)
	})

	t.Run("refuses a quantity below one", func(t *testing.T) {
		sale, nodes := newSale(t, 10, 5)
		for _, q := range []int64{0, -1} {
			if _, _, err := nodes().Reserve(ctx, sale, 1, q, time.Minute); err == nil {
				t.Fatalf("quantity %d reserved", q)
			}
		}
		wantCounts(t, mustCounts(t, nodes(), sale), 10, 10, 0, 0)
	})

	t.Run("confirms a reservation as sold, and again without change", func(t *testing.T) {
		sale, nodes := newSale(t, 10, 5)
		e := nodes()
		r, _ := mustReserve(t, e, sale, 1, 2, time.Minute)
		got, c, err := e.Confirm(ctx, sale, r.ID)
		if err != nil || got.State != flash.ReservationSold || got.BuyerID != 1 || got.Quantity != 2 {
			t.Fatalf("Confirm = %+v, %v", got, err)
		}
		wantCounts(t, c, 10, 8, 0, 2)
		got, c, err = nodes().Confirm(ctx, sale, r.ID)
		if err != nil || got.State != flash.ReservationSold {
			t.Fatalf("second Confirm = %+v, %v", got, err)
		}
		wantCounts(t, c, 10, 8, 0, 2)
	})

	t.Run("releases a held reservation at once, and a second release is a no-op", func(t *testing.T) {
		sale, nodes := newSale(t, 10, 2)
		e := nodes()
		r, _ := mustReserve(t, e, sale, 1, 2, time.Minute)
		got, released, c, err := e.Release(ctx, sale, r.ID)
		if err != nil || !released || got.State != flash.ReservationReleased {
			t.Fatalf("Release = %+v, %v, %v", got, released, err)
		}
		wantCounts(t, c, 10, 10, 0, 0)
		_, released, c, err = nodes().Release(ctx, sale, r.ID)
		if err != nil || released {
			t.Fatalf("second Release released=%v err=%v", released, err)
		}
		wantCounts(t, c, 10, 10, 0, 0)
		_, _, err = e.Confirm(ctx, sale, r.ID)
		wantErr(t, err, flash.ErrReservationReleased)
		mustReserve(t, e, sale, 1, 2, time.Minute) // the buyer's limit is free again
	})

	t.Run("releases a sold reservation when its payment fails", func(t *testing.T) {
		sale, nodes := newSale(t, 4, 4)
		e := nodes()
		r, _ := mustReserve(t, e, sale, 1, 4, time.Minute)
		mustConfirm(t, e, sale, r.ID)
		_, released, c, err := e.Release(ctx, sale, r.ID)
		if err != nil || !released {
			t.Fatalf("Release of sold = %v, %v", released, err)
		}
		wantCounts(t, c, 4, 4, 0, 0)
	})

	t.Run("expires a lapsed reservation and returns its units", func(t *testing.T) {
		sale, nodes := newSale(t, 5, 5)
		e := nodes()
		keep, _ := mustReserve(t, e, sale, 2, 1, time.Hour)
		r, _ := mustReserve(t, e, sale, 1, 5-1, 30*time.Millisecond)
		var expired []flash.Reservation
		var c flash.StockCounts
		testenv.Eventually(t, "the reservation to lapse", func() bool {
			var err error
			expired, c, err = nodes().ExpireDue(ctx, sale, 100)
			if err != nil {
				t.Fatal(err)
			}
			return len(expired) > 0
		})
		if len(expired) != 1 || expired[0].ID != r.ID || expired[0].BuyerID != 1 || expired[0].Quantity != 4 ||
			expired[0].State != flash.ReservationExpired {
			t.Fatalf("expired = %+v, want only %d", expired, r.ID)
		}
		wantCounts(t, c, 5, 4, 1, 0)
		got, err := e.Reservation(ctx, sale, r.ID)
		if err != nil || got.State != flash.ReservationExpired {
			t.Fatalf("Reservation after expiry = %+v, %v", got, err)
		}
		_, _, err = e.Confirm(ctx, sale, r.ID)
		wantErr(t, err, flash.ErrReservationExpired)
		if more, _, err := e.ExpireDue(ctx, sale, 100); err != nil || len(more) != 0 {
			t.Fatalf("second ExpireDue = %+v, %v", more, err)
		}
		mustReserve(t, e, sale, 1, 4, time.Minute) // units and the buyer's limit are back
		mustConfirm(t, e, sale, keep.ID)
	})

	t.Run("refuses to confirm a lapsed reservation before its units are swept", func(t *testing.T) {
		sale, nodes := newSale(t, 5, 5)
		e := nodes()
		r, _ := mustReserve(t, e, sale, 1, 2, 20*time.Millisecond)
		testenv.Eventually(t, "the reservation to show as expired", func() bool {
			got, err := e.Reservation(ctx, sale, r.ID)
			return err == nil && got.State == flash.ReservationExpired
		})
		_, _, err := e.Confirm(ctx, sale, r.ID)
		wantErr(t, err, flash.ErrReservationExpired)
		wantCounts(t, mustCounts(t, e, sale), 5, 3, 2, 0)
		expired, c, err := e.ExpireDue(ctx, sale, 100)
		if err != nil || len(expired) != 1 {
			t.Fatalf("ExpireDue = %+v, %v", expired, err)
		}
		wantCounts(t, c, 5, 5, 0, 0)
	})

	t.Run("ends a sale: no new reservations, held ones may still be confirmed", func(t *testing.T) {
		sale, nodes := newSale(t, 10, 5)
		e := nodes()
		r, _ := mustReserve(t, e, sale, 1, 1, time.Minute)
		c, err := nodes().End(ctx, sale)
		if err != nil || !c.Ended {
			t.Fatalf("End = %+v, %v", c, err)
		}
		_, _, err = e.Reserve(ctx, sale, 2, 1, time.Minute)
		wantErr(t, err, flash.ErrSaleEnded)
		mustConfirm(t, e, sale, r.ID)
		c = mustCounts(t, e, sale)
		wantCounts(t, c, 10, 9, 0, 1)
		if !c.Ended {
			t.Fatal("counts do not say the sale ended")
		}
	})

	t.Run("keeps the first sale when created twice", func(t *testing.T) {
		sale, nodes := newSale(t, 10, 5)
		mustReserve(t, nodes(), sale, 1, 1, time.Minute)
		mustCreate(t, nodes(), flash.SaleStock{SaleID: sale, Quantity: 99, PerBuyerLimit: 99})
		wantCounts(t, mustCounts(t, nodes(), sale), 10, 9, 1, 0)
	})

	t.Run("restores a lost sale with what was sold and who bought it", func(t *testing.T) {
		nodes := newNodes(t)
		e := nodes()
		sale := 1000 + nextSale.Add(1)
		mustCreate(t, e, flash.SaleStock{SaleID: sale, Quantity: 10, PerBuyerLimit: 2, Sold: []flash.Reservation{
			{ID: 71, BuyerID: 1, Quantity: 2}, {ID: 72, BuyerID: 2, Quantity: 1}}})
		wantCounts(t, mustCounts(t, e, sale), 10, 7, 0, 3)
		_, _, err := e.Reserve(ctx, sale, 1, 1, time.Minute)
		wantErr(t, err, flash.ErrBuyerLimit)
		mustReserve(t, e, sale, 2, 1, time.Minute)
		_, _, err = e.Reserve(ctx, sale, 2, 1, time.Minute)
		wantErr(t, err, flash.ErrBuyerLimit)
		// A checkout that had written its order confirms it as usual.
		r, c, err := e.Confirm(ctx, sale, 71)
		if err != nil || r.State != flash.ReservationSold || r.BuyerID != 1 || r.Quantity != 2 {
			t.Fatalf("confirm a restored reservation: %+v %v", r, err)
		}
		wantCounts(t, c, 10, 6, 1, 3)
		// A declined payment gives its units back.
		if _, released, c, err := e.Release(ctx, sale, 72); err != nil || !released {
			t.Fatalf("release a restored reservation: %v %v", released, err)
		} else {
			wantCounts(t, c, 10, 7, 1, 2)
		}
	})

	t.Run("adopts a reservation it lost while units remain", func(t *testing.T) {
		sale, nodes := newSale(t, 3, 2)
		e := nodes()
		r, c, err := e.Adopt(ctx, flash.Reservation{SaleID: sale, ID: 501, BuyerID: 7, Quantity: 2})
		if err != nil || r.State != flash.ReservationSold || r.ID != 501 || r.BuyerID != 7 || r.Quantity != 2 {
			t.Fatalf("adopt: %+v %v", r, err)
		}
		wantCounts(t, c, 3, 1, 0, 2)
		// Adopting it again (a retry, another node) confirms it: no more units.
		if _, c, err := nodes().Adopt(ctx, flash.Reservation{SaleID: sale, ID: 501, BuyerID: 7, Quantity: 2}); err != nil {
			t.Fatalf("adopt again: %v", err)
		} else {
			wantCounts(t, c, 3, 1, 0, 2)
		}
		// It counts toward the buyer's limit.
		_, _, err = e.Reserve(ctx, sale, 7, 1, time.Minute)
		wantErr(t, err, flash.ErrBuyerLimit)
		// A held reservation it knows is confirmed.
		held, _ := mustReserve(t, e, sale, 8, 1, time.Minute)
		if r, c, err := e.Adopt(ctx, held); err != nil || r.State != flash.ReservationSold {
			t.Fatalf("adopt a held reservation: %+v %v", r, err)
		} else {
			wantCounts(t, c, 3, 0, 0, 3)
		}
		_, _, err = e.Adopt(ctx, flash.Reservation{SaleID: sale, ID: 502, BuyerID: 9, Quantity: 1})
		wantErr(t, err, flash.ErrSoldOut)
		wantCounts(t, mustCounts(t, e, sale), 3, 0, 0, 3)
	})

	t.Run("corrects the sold count to what SQL says", func(t *testing.T) {
		sale, nodes := newSale(t, 10, 5)
		e := nodes()
		r, _ := mustReserve(t, e, sale, 1, 3, time.Minute)
		mustConfirm(t, e, sale, r.ID)
		c, err := e.Correct(ctx, sale, 2)
		if err != nil {
			t.Fatal(err)
		}
		wantCounts(t, c, 10, 8, 0, 2)
	})

	t.Run("reports unknown sales and reservations", func(t *testing.T) {
		sale, nodes := newSale(t, 10, 5)
		e := nodes()
		const missing = 1 << 40
		_, _, err := e.Reserve(ctx, missing, 1, 1, time.Minute)
		wantErr(t, err, flash.ErrStockUnknown)
		_, err = e.Counts(ctx, missing)
		wantErr(t, err, flash.ErrStockUnknown)
		_, _, err = e.ExpireDue(ctx, missing, 10)
		wantErr(t, err, flash.ErrStockUnknown)
		_, err = e.End(ctx, missing)
		wantErr(t, err, flash.ErrStockUnknown)
		_, _, err = e.Confirm(ctx, missing, 1)
		wantErr(t, err, flash.ErrStockUnknown)
		_, err = e.Reservation(ctx, sale, 12345)
		wantErr(t, err, flash.ErrReservationNotFound)
		_, _, err = e.Confirm(ctx, sale, 12345)
		wantErr(t, err, flash.ErrReservationNotFound)
		_, _, _, err = e.Release(ctx, sale, 12345)
		wantErr(t, err, flash.ErrReservationNotFound)
		_, err = e.Reservation(ctx, sale, 0)
		wantErr(t, err, flash.ErrReservationNotFound)
	})

	t.Run("shares one sale between nodes", func(t *testing.T) {
		sale, nodes := newSale(t, 2, 1)
		a, b := nodes(), nodes()
		r, _ := mustReserve(t, a, sale, 1, 1, time.Minute)
		_, _, err := b.Reserve(ctx, sale, 1, 1, time.Minute)
		wantErr(t, err, flash.ErrBuyerLimit)
		mustConfirm(t, b, sale, r.ID)
		mustReserve(t, b, sale, 2, 1, time.Minute)
		_, _, err = a.Reserve(ctx, sale, 3, 1, time.Minute)
		wantErr(t, err, flash.ErrSoldOut)
		wantCounts(t, mustCounts(t, a, sale), 2, 0, 1, 1)
	})

	t.Run("5000 concurrent reservers for 100 units get exactly 100, none above the limit", func(t *testing.T) {
		const units, limit, reservers, buyers = 100, 2, 5000, 700
		sale, nodes := newSale(t, units, limit)
		engines := []flash.StockEngine{nodes(), nodes()}
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			perBuyer = map[int64]int64{}
			ids      = map[int64]bool{}
			failures = map[string]int{}
		)
		start := make(chan struct{})
		for i := range reservers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				buyer := int64(i%buyers) + 1
				r, _, err := engines[i%2].Reserve(ctx, sale, buyer, 1, time.Minute)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					perBuyer[buyer] += r.Quantity
					if ids[r.ID] {
						t.Errorf("reservation ID %d handed out twice", r.ID)
					}
					ids[r.ID] = true
				case errors.Is(err, flash.ErrSoldOut):
					failures["sold_out"]++
				case errors.Is(err, flash.ErrBuyerLimit):
					failures["limit"]++
				default:
					failures[err.Error()]++
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(ids) != units {
			t.Fatalf("%d reservations made, want %d (refusals %v)", len(ids), units, failures)
		}
		for b, n := range perBuyer {
			if n > limit {
				t.Errorf("buyer %d holds %d units, limit %d", b, n, limit)
			}
		}
		if failures["sold_out"]+failures["limit"] != reservers-units {
			t.Fatalf("refusals %v, want %d sold_out or limit and nothing else", failures, reservers-units)
		}
		wantCounts(t, mustCounts(t, engines[0], sale), units, 0, units, 0)
	})
}

func mustCreate(t *testing.T, e flash.StockEngine, s flash.SaleStock) {
	t.Helper()
	if err := e.CreateSale(context.Background(), s); err != nil {
		t.Fatalf("CreateSale: %v", err)
	}
}

func mustReserve(t *testing.T, e flash.StockEngine, sale, buyer, q int64, ttl time.Duration) (flash.Reservation, flash.StockCounts) {
	t.Helper()
	r, c, err := e.Reserve(context.Background(), sale, buyer, q, ttl)
	if err != nil {
		t.Fatalf("Reserve(buyer %d, %d units): %v", buyer, q, err)
	}
	return r, c
}

func mustConfirm(t *testing.T, e flash.StockEngine, sale, id int64) {
	t.Helper()
	if _, _, err := e.Confirm(context.Background(), sale, id); err != nil {
		t.Fatalf("Confirm(%d): %v", id, err)
	}
}

func mustCounts(t *testing.T, e flash.StockEngine, sale int64) flash.StockCounts {
	t.Helper()
	c, err := e.Counts(context.Background(), sale)
	if err != nil {
		t.Fatalf("Counts: %v", err)
	}
	return c
}

func wantCounts(t *testing.T, c flash.StockCounts, quantity, remaining, reserved, sold int64) {
	t.Helper()
	want := flash.StockCounts{Quantity: quantity, Remaining: remaining, Reserved: reserved, Sold: sold, Ended: c.Ended}
	if c != want {
		t.Fatalf("counts = %+v, want %+v", c, want)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}
