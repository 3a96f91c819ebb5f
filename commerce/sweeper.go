package commerce

import (
	"context"
	"fmt"
	"time"

	"github.com/liveshop/liveshop/commerce/payments"
)

// PaymentLookup finds an authorization by the idempotency key it was made
// with (payments.Lookup).
type PaymentLookup = payments.Lookup

// sweepBatch bounds the checkouts one sweep settles.
const sweepBatch = 100

// SweepAbandonedCheckouts settles checkouts that created an order but whose
// request died during the payment and was never retried, so their stock is
// not held forever. A checkout counts as abandoned when its Idempotency-Key
// lease ended more than Config.AbandonedCheckoutAfter ago. If the processor
// holds an authorization for the order (PaymentLookup), the payment is
// captured and the order paid, as the buyer meant; otherwise the order is
// cancelled, its stock returned and its lines put back in the cart. The
// outcome becomes the key's stored answer. Orders awaiting payment that no
// unfinished key leads to at all (OrphanOrders) are settled the same way.
// It returns how many it settled.
func (s *Service) SweepAbandonedCheckouts(ctx context.Context) (int, error) {
	cutoff := s.now().Add(-s.cfg.AbandonedCheckoutAfter)
	recs, err := s.store.AbandonedIdempotencyKeys(ctx, "checkout", cutoff, sweepBatch)
	if err != nil {
		return 0, fmt.Errorf("find abandoned checkouts: %w", err)
	}
	n := 0
	for _, rec := range recs {
		ok, err := s.store.TakeOverIdempotencyKey(ctx, rec.AccountID, rec.Key, rec.LockedUntil, s.now().Add(s.cfg.IdempotencyLease))
		if err != nil {
			return n, fmt.Errorf("take over abandoned checkout: %w", err)
		}
		if !ok {
			continue // a retry got there first
		}
		res := s.settleAbandoned(ctx, rec.ResourceID)
		if err := s.FinishIdempotent(ctx, rec.AccountID, rec.Key, &res); err != nil {
			return n, err
		}
		if !res.Unsettled {
			n++
			s.log.Info("settled an abandoned checkout", "order", rec.ResourceID, "status", res.Status)
		}
	}
	orphans, err := s.store.OrphanOrders(ctx, false, cutoff, sweepBatch)
	if err != nil {
		return n, fmt.Errorf("find orphan orders: %w", err)
	}
	for _, o := range orphans {
		res := s.settleAbandoned(ctx, o.OrderID)
		if res.Unsettled {
			s.log.Warn("orphan order not settled yet", "order", o.OrderID, "error", res.Err)
			continue
		}
		n++
		s.log.Warn("settled an orphan order: no checkout request led to it any more", "order", o.OrderID, "status", res.Status, "answer", res.Err)
	}
	return n, nil
}

func (s *Service) settleAbandoned(ctx context.Context, orderID int64) Outcome {
	o, err := s.store.OrderByID(ctx, orderID)
	if err != nil {
		return Outcome{Err: err, Committed: true, Unsettled: true}
	}
	return s.Pay(ctx, o, PaymentMethod{}, shopFlow)
}

// PurgeInBatches runs purge, which deletes at most limit old rows, until
// it deletes fewer than limit, at most purgeBatches times: a purge never
// holds a table for long, and a backlog is worked off over the next sweeps.
// It returns how many rows went.
func PurgeInBatches(purge func(limit int) (int, error)) (int, error) {
	total := 0
	for range purgeBatches {
		n, err := purge(purgeBatch)
		total += n
		if err != nil || n < purgeBatch {
			return total, err
		}
	}
	return total, nil
}

// purgeBatch bounds the rows one purge statement deletes, and purgeBatches
// the statements of one purge.
const (
	purgeBatch   = 1000
	purgeBatches = 20
)

// PurgeIdempotencyKeys deletes finished Idempotency-Keys older than
// Config.IdempotencyRetention, so the table holds days of answers rather
// than every answer ever. Unfinished keys stay: they belong to requests
// still running or to checkouts the sweepers settle. It returns how many
// it deleted.
func (s *Service) PurgeIdempotencyKeys(ctx context.Context) (int, error) {
	cutoff := s.now().Add(-s.cfg.IdempotencyRetention)
	n, err := PurgeInBatches(func(limit int) (int, error) { return s.store.PurgeIdempotencyKeys(ctx, cutoff, limit) })
	if err != nil {
		return n, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return n, nil
}

// RunCheckoutSweeper calls SweepAbandonedCheckouts and PurgeIdempotencyKeys
// every interval until ctx ends. cmd/liveshop runs it on every node; nodes
// never settle the same checkout twice, because each takes the key's lease
// first, and purging the same keys twice deletes nothing the second time.
func (s *Service) RunCheckoutSweeper(ctx context.Context, every time.Duration) {
	Every(ctx, every, func() {
		if _, err := s.SweepAbandonedCheckouts(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("checkout sweep failed", "error", err)
		}
		if n, err := s.PurgeIdempotencyKeys(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("idempotency key purge failed", "error", err)
		} else if n > 0 {
			s.log.Info("purged finished idempotency keys", "keys", n, "retention", s.cfg.IdempotencyRetention)
		}
	})
}

// Every calls fn every interval until ctx ends.
func Every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}
