package flash

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

// reserveBatcher groups the reservations that arrive while others are on
// their way to Redis into one script call per sale (reserve_many.lua), so a
// rush of buyers costs one round trip per batch instead of one per buyer.
// Each batch is one atomic script that handles its reservations in order,
// exactly as one call each would: batching changes the cost, not the
// outcome. A caller that finds fewer than maxFlights batches in flight runs
// the batch holding its own reservation (and whatever queued with it);
// everyone else waits for the answer. No goroutine outlives the queue.
type reserveBatcher struct {
	e *RedisStock

	mu      sync.Mutex
	pending []*reserveCall
	flights int
}

// Batching limits: concurrent script calls, and reservations per call.
const (
	maxFlights   = 4
	maxBatchSize = 256
)

type reserveCall struct {
	ctx                  context.Context
	sale, buyer, qty, id int64
	ttl                  time.Duration
	done                 chan reserveAnswer
}

type reserveAnswer struct {
	id     int64 // the reservation's ID when code is 1
	code   int64
	counts StockCounts
	expMs  int64
	err    error
}

// reserve queues one reservation and returns the script's answer for it.
func (b *reserveBatcher) reserve(ctx context.Context, sale, buyer, qty int64, ttl time.Duration) reserveAnswer {
	call := &reserveCall{ctx: ctx, sale: sale, buyer: buyer, qty: qty, ttl: ttl,
		id: rand.Int64N(maxReservationID) + 1, done: make(chan reserveAnswer, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, call)
	lead := b.flights < maxFlights
	if lead {
		b.flights++
	}
	b.mu.Unlock()
	if lead {
		b.drain(call)
	}
	select {
	case a := <-call.done:
		return a
	case <-ctx.Done():
		// The reservation may still be made; unpaid, it lapses.
		return reserveAnswer{err: ctx.Err()}
	}
}

// drain runs batches until own is answered (nil: until nothing is
// pending). Work still queued then is handed to a goroutine that keeps the
// flight slot and exits when the queue is empty, so the leader returns in
// time and nobody is left waiting.
func (b *reserveBatcher) drain(own *reserveCall) {
	for {
		b.mu.Lock()
		if len(b.pending) == 0 {
			b.flights--
			b.mu.Unlock()
			return
		}
		if own != nil && len(own.done) > 0 {
			b.mu.Unlock()
			go b.drain(nil)
			return
		}
		n := min(len(b.pending), maxBatchSize)
		batch := b.pending[:n:n]
		b.pending = append([]*reserveCall(nil), b.pending[n:]...)
		b.mu.Unlock()
		b.run(batch)
	}
}

// run sends one script call per sale in batch and answers every call.
func (b *reserveBatcher) run(batch []*reserveCall) {
	bySale := map[int64][]*reserveCall{}
	var order []int64
	for _, c := range batch {
		if c.ctx.Err() != nil {
			c.done <- reserveAnswer{err: c.ctx.Err()}
			continue
		}
		if bySale[c.sale] == nil {
			order = append(order, c.sale)
		}
		bySale[c.sale] = append(bySale[c.sale], c)
	}
	for _, sale := range order {
		b.runSale(sale, bySale[sale])
	}
}

func (b *reserveBatcher) runSale(sale int64, calls []*reserveCall) {
	// The batch serves many requests: it must not fail because the one
	// that happens to run it went away.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	args := make([]any, 0, 1+4*len(calls))
	args = append(args, len(calls))
	for _, c := range calls {
		args = append(args, c.buyer, c.qty, c.ttl.Milliseconds(), c.id)
	}
	e := b.e
	v, err := e.scripts.reserveMany.Run(ctx, e.rdb, e.keys(sale), args...).Slice()
	if err == nil && len(v) != 7*len(calls) {
		err = fmt.Errorf("reserve_many reply of %d values for %d reservations", len(v), len(calls))
	}
	if err != nil {
		err = fmt.Errorf("stock of sale %d: %w: %v", sale, commerce.ErrUnavailable, err)
		for _, c := range calls {
			c.done <- reserveAnswer{err: err}
		}
		return
	}
	for i, c := range calls {
		r := v[i*7 : i*7+7]
		c.done <- reserveAnswer{id: c.id, code: asInt(r[0]), expMs: asInt(r[6]), counts: StockCounts{Quantity: asInt(r[1]),
			Remaining: asInt(r[2]), Reserved: asInt(r[3]), Sold: asInt(r[4]), Ended: asInt(r[5]) == 1}}
	}
}
