package discovery

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

// Record queues an interaction for the next batch. It never blocks: when
// the buffer is full (the database is slow or down) the interaction is
// dropped and counted in liveshop_interactions_dropped_total, because a
// viewer's click must never wait for analytics. It reports whether the
// interaction was queued.
func (d *Service) Record(ev Interaction) bool {
	if d.closed.Load() {
		d.m.dropped.Inc()
		return false
	}
	if ev.At.IsZero() {
		ev.At = d.now()
	}
	select {
	case d.in <- ev:
		return true
	default:
		d.m.dropped.Inc()
		return false
	}
}

// Flush writes everything recorded so far and makes it visible to the
// next feed on this node at once (the shared candidate lists are reloaded
// rather than waiting for CandidateTTL). It returns the first write error.
// Tests use it to read what they recorded; Close writes the same way.
func (d *Service) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case d.flushReq <- reply:
	case <-d.done:
		return nil // closed: the buffer was written on the way out
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		d.feed.forget()
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// recordLoop is the one writer: it collects interactions and writes a
// batch when BatchSize are waiting, every FlushInterval, on Flush and on
// Close, and the open watch sessions every WatchHeartbeat and on Flush.
func (d *Service) recordLoop() {
	defer close(d.done)
	tick := time.NewTicker(d.cfg.FlushInterval)
	defer tick.Stop()
	beat := time.NewTicker(d.cfg.WatchHeartbeat)
	defer beat.Stop()
	batch := make([]Interaction, 0, d.cfg.BatchSize)
	write := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := d.writeBatch(batch)
		batch = batch[:0]
		return err
	}
	drain := func() error {
		var first error
		for {
			select {
			case ev := <-d.in:
				batch = append(batch, ev)
				if len(batch) >= d.cfg.BatchSize {
					if err := write(); err != nil && first == nil {
						first = err
					}
				}
				continue
			default:
			}
			if err := write(); err != nil && first == nil {
				first = err
			}
			return first
		}
	}
	for {
		select {
		case ev := <-d.in:
			batch = append(batch, ev)
			if len(batch) >= d.cfg.BatchSize {
				_ = write()
			}
		case <-tick.C:
			_ = write()
		case <-beat.C:
			_ = write()
			d.beatWatches()
		case reply := <-d.flushReq:
			err := drain()
			d.beatWatches()
			reply <- err
		case <-d.quit:
			_ = drain()
			return
		}
	}
}

// writeBatch turns the interactions into one InteractionBatch and writes
// it, retrying twice while the database is unavailable. A batch that
// cannot be written is counted and logged, never retried forever: the
// buffer keeps filling meanwhile.
func (d *Service) writeBatch(evs []Interaction) error {
	start := time.Now()
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			case <-d.quit:
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var b InteractionBatch
		b, err = d.buildBatch(ctx, evs)
		if err == nil {
			err = d.store.SaveInteractions(ctx, b)
		}
		cancel()
		if err == nil {
			for _, ev := range b.Events {
				d.m.recorded.WithLabelValues(string(ev.Kind)).Inc()
			}
			d.m.flushTime.Observe(time.Since(start).Seconds())
			return nil
		}
		if !errors.Is(err, commerce.ErrUnavailable) {
			break
		}
	}
	d.m.failed.Add(float64(len(evs)))
	d.log.Error("interactions lost: batch not written", "events", len(evs), slog.Any("error", err))
	return err
}

// allowClientEvents spends one of the caller's POST /api/interactions
// requests (per account, or per IP for anonymous callers). A limiter that
// fails lets the request through: analytics must not break a page.
func (d *Service) allowClientEvents(ctx context.Context, a commerce.Account, ip string) error {
	if d.lim == nil || d.cfg.ClientEventLimit < 0 {
		return nil
	}
	key := "interactions:ip:" + ip
	if a.ID != 0 {
		key = "interactions:a:" + strconv.FormatInt(a.ID, 10)
	}
	ok, retry, err := d.lim.Allow(ctx, key, d.cfg.ClientEventLimit, d.cfg.ClientEventWindow)
	if err != nil {
		d.log.Warn("interaction rate limit unavailable", slog.Any("error", err))
		return nil
	}
	if !ok {
		d.m.clientLimit.Inc()
		return &commerce.RateLimitError{Err: commerce.ErrRateLimited, RetryAfter: retry}
	}
	return nil
}

// OrderEvent implements OrderEvents: a paid order becomes one purchase
// interaction per line, credited to the order's stream (or, failing that,
// to the stream the buyer last joined or clicked in; see buildBatch).
func (d *Service) OrderEvent(_ context.Context, e commerce.OrderEvent) {
	if e.Type != commerce.OrderPaidEvent {
		return
	}
	o := e.Order
	for _, l := range o.Lines {
		d.Record(Interaction{Kind: InteractionPurchase, At: d.now(), AccountID: o.BuyerID, ShopID: o.ShopID,
			StreamID: o.StreamID, ProductID: l.ProductID, OrderID: o.ID, Quantity: l.Quantity, AmountMinor: l.LineTotalMinor})
	}
}

var _ commerce.OrderEvents = (*Service)(nil)
