package flash

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

// expireBatch bounds the reservations one sweep expires per sale.
const expireBatch = 1000

// sweepLoop runs Sweep every SweepInterval until Close. Every node runs
// one; they share the work safely: the engine's scripts are atomic and every
// SQL state change is conditional, so exactly one node ends, announces or
// reconciles a sale.
func (f *Service) sweepLoop() {
	defer close(f.done)
	t := time.NewTicker(f.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*f.cfg.SweepInterval)
			f.Sweep(ctx)
			cancel()
		}
	}
}

// Sweep looks after every sale that is not settled yet: it returns the
// units of lapsed reservations (cancelling orders that were never paid),
// ends sales whose time is up, whose stream went off air or that sold out,
// and reconciles ended sales with SQL. The background loop calls it; tests
// may call it to move time along.
func (f *Service) Sweep(ctx context.Context) {
	sales, err := f.store.UnsettledFlashSales(ctx)
	if err != nil {
		f.log.Warn("flash-sale sweep: list sales", slog.Any("error", err))
		return
	}
	for _, fs := range sales {
		if err := f.sweepSale(ctx, fs); err != nil && ctx.Err() == nil {
			f.log.Warn("flash-sale sweep", "sale", fs.ID, slog.Any("error", err))
		}
	}
	if err := f.sweepAbandonedCheckouts(ctx); err != nil && ctx.Err() == nil {
		f.log.Warn("flash-sale sweep: abandoned checkouts", slog.Any("error", err))
	}
}

// sweepAbandonedCheckouts settles flash checkouts that created their order
// and then died, and that nobody retried for Config.AbandonedCheckoutAfter
// (the shop checkout's setting) after their key's lease ended: their units
// would otherwise stay sold to an order that is never paid. Like the shop
// checkout's sweeper it takes the key's lease first, so one node settles
// each. If the processor holds an authorization for the order, the payment
// is captured as the buyer meant; otherwise the order is cancelled and its
// units go back. The outcome becomes the key's stored answer. Flash orders
// awaiting payment that no unfinished key leads to at all (OrphanOrders)
// are settled the same way.
func (f *Service) sweepAbandonedCheckouts(ctx context.Context) error {
	cutoff := f.now().Add(-f.svc.Config().AbandonedCheckoutAfter)
	recs, err := f.store.AbandonedFlashCheckouts(ctx, cutoff, 100)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		var saleID, resID int64
		if _, err := fmt.Sscanf(rec.Scope, "flash-checkout:%d:%d", &saleID, &resID); err != nil {
			continue
		}
		ok, err := f.store.TakeOverIdempotencyKey(ctx, rec.AccountID, rec.Key, rec.LockedUntil, f.now().Add(f.svc.Config().IdempotencyLease))
		if err != nil {
			return err
		}
		if !ok {
			continue // a retry got there first
		}
		res := f.settleAbandoned(ctx, saleID, resID, rec.ResourceID)
		if err := f.svc.FinishIdempotent(ctx, rec.AccountID, rec.Key, &res); err != nil {
			return err
		}
		f.log.Info("settled an abandoned flash checkout", "sale", saleID, "order", rec.ResourceID, "status", res.Status, slog.Any("answer", res.Err))
	}
	orphans, err := f.store.OrphanOrders(ctx, true, cutoff, 100)
	if err != nil {
		return err
	}
	for _, o := range orphans {
		res := f.settleAbandoned(ctx, o.SaleID, o.ReservationID, o.OrderID)
		f.log.Warn("settled an orphan flash order: no checkout request led to it any more", "sale", o.SaleID, "order", o.OrderID,
			"status", res.Status, "unsettled", res.Unsettled, slog.Any("answer", res.Err))
	}
	return nil
}

func (f *Service) settleAbandoned(ctx context.Context, saleID, reservationID, orderID int64) commerce.Outcome {
	unsettled := func(err error) commerce.Outcome { return commerce.Outcome{Err: err, Committed: true, Unsettled: true} }
	o, err := f.store.OrderByID(ctx, orderID)
	if err != nil {
		return unsettled(err)
	}
	fs, err := f.store.FlashSaleByID(ctx, saleID)
	if err != nil {
		return unsettled(err)
	}
	buyer, err := f.store.AccountByID(ctx, o.BuyerID)
	if err != nil {
		return unsettled(err)
	}
	return f.settle(ctx, buyer, fs, reservationID, o, commerce.PaymentMethod{})
}

func (f *Service) sweepSale(ctx context.Context, fs Sale) error {
	expired, c, err := f.engine.ExpireDue(ctx, fs.ID, expireBatch)
	if errors.Is(err, ErrStockUnknown) {
		if _, err = f.restore(ctx, fs); err == nil {
			expired, c, err = f.engine.ExpireDue(ctx, fs.ID, expireBatch)
		}
	}
	if err != nil {
		return err
	}
	for _, r := range expired {
		f.cancelExpiredOrder(ctx, fs, r)
	}
	if len(expired) > 0 {
		f.news.stockChanged(fs, c)
	}
	now := f.now()
	if fs.State == "active" {
		reason := ""
		switch {
		case !now.Before(fs.EndsAt):
			reason = SaleEndExpired
		case fs.StreamStatus != commerce.StreamLive:
			reason = SaleEndStreamEnded
		case c.Sold >= fs.Quantity:
			reason = SaleEndSoldOut
		}
		if reason == "" {
			if !c.Ended {
				f.news.touch(fs)
				return nil
			}
			// Ended in the engine but not in SQL: a node died between the two.
			reason = SaleEndStopped
		}
		if err := f.endSale(ctx, fs, reason); err != nil {
			return err
		}
		if fs, err = f.store.FlashSaleByID(ctx, fs.ID); err != nil {
			return err
		}
		if c, err = f.engine.Counts(ctx, fs.ID); err != nil {
			return err
		}
	}
	if !c.Ended {
		if _, err := f.engine.End(ctx, fs.ID); err != nil {
			return err
		}
	}
	f.news.forget(fs.ID)
	// Reconcile once nothing is held any more. Holds lapse at most one TTL
	// after the end; past that (and one more sweep for stragglers) go on.
	endedAt := fs.EndsAt
	if fs.EndedAt != nil {
		endedAt = *fs.EndedAt
	}
	if c.Reserved > 0 && now.Before(endedAt.Add(f.cfg.ReservationTTL+2*f.cfg.SweepInterval)) {
		return nil
	}
	return f.reconcile(ctx, fs, c)
}

// cancelExpiredOrder cancels the order of a lapsed reservation, if its
// checkout had written one but never confirmed it (the buyer's checkout
// died, or lost the race with the lapse).
func (f *Service) cancelExpiredOrder(ctx context.Context, fs Sale, r Reservation) {
	link, err := f.store.FlashOrderByReservation(ctx, fs.ID, r.ID)
	if errors.Is(err, commerce.ErrNotFound) {
		return
	}
	if err == nil {
		var o commerce.Order
		if o, err = f.store.OrderByID(ctx, link.OrderID); err == nil &&
			o.Status == commerce.OrderAwaitingPayment && o.Payment.Status == commerce.PaymentPending {
			err = f.cancelFlashOrder(ctx, fs, o, r.ID, "reservation_expired", "the reservation expired before payment")
		}
	}
	if err != nil {
		f.log.Warn("cancel order of expired reservation", "sale", fs.ID, "reservation", r.ID, slog.Any("error", err))
	}
}

// reconcile compares the units SQL counts as sold with the engine's count,
// logs and corrects any difference, and returns unsold units to the
// product's stock. SQL is the system of record.
func (f *Service) reconcile(ctx context.Context, fs Sale, c StockCounts) error {
	sold, won, err := f.store.ReconcileFlashSale(ctx, fs.ID, f.now())
	if err != nil || !won {
		return err
	}
	f.svc.StockChanged(fs.ShopID, fs.ProductID)
	diff := c.Sold - sold
	f.metrics.Reconciled(diff)
	log := f.log.With("sale", fs.ID, "sql_sold", sold, "engine_sold", c.Sold, "quantity", fs.Quantity)
	if diff == 0 {
		log.Info("flash sale reconciled", "returned_to_stock", fs.Quantity-sold)
		return nil
	}
	log.Warn("flash sale reconciliation found a difference; the engine follows SQL", "difference", diff)
	if _, err := f.engine.Correct(ctx, fs.ID, sold); err != nil {
		log.Warn("correct engine count", slog.Any("error", err))
	}
	return nil
}
