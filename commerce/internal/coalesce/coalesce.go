// Package coalesce sends rooms counts (units left) coalesced in time: the
// flash sales' stock bars and the pinned products' cards use it.
package coalesce

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Coalescer sends rooms the count (units left) of things whose count
// changed, coalesced: from its user's one goroutine, at most one send per
// interval per key, always the count read at the time of sending, nothing
// when that is what was sent last, and a count that just reached zero at
// once (even when the changing path did not know it: see Moved). The paths
// that change counts only mark the key and kick the goroutine. Flash sales
// (saleNews) and products (stockNews) use it.
type Coalescer[K comparable, I any] struct {
	// Interval is the least time between two sends of one key.
	Interval time.Duration
	// read returns a key's count now; send delivers it.
	read func(ctx context.Context, k K, info I) (int64, error)
	send func(ctx context.Context, k K, info I, count int64) error
	// stale says whether a key that has nothing to send can be forgotten.
	stale func(info I, lastSent, now time.Time) bool
	log   *slog.Logger
	// Kick wakes the user's goroutine, which then calls Flush.
	Kick chan struct{}

	mu   sync.Mutex
	keys map[K]*coalesced[I]
}

// ErrNoReceiver is what a coalescer's read or send returns when nobody
// listens (any more: a node shutting down): nothing is sent, nothing logged.
var ErrNoReceiver = errors.New("no receiver installed")

type coalesced[I any] struct {
	info          I
	dirty, urgent bool
	// peek: the count moved to a number the changing path did not know, so
	// the goroutine reads it at once to send a zero without waiting.
	peek bool
	// resend: something besides the count changed, so send even if the
	// count is the one sent last.
	resend   bool
	lastSent time.Time
	sent     int64 // -1 before the first send
}

// New returns a coalescer that reads a key's count with read, delivers it
// with send, and forgets keys that stale says are done.
func New[K comparable, I any](interval time.Duration, log *slog.Logger,
	read func(context.Context, K, I) (int64, error), send func(context.Context, K, I, int64) error,
	stale func(info I, lastSent, now time.Time) bool) *Coalescer[K, I] {
	return &Coalescer[K, I]{Interval: interval, read: read, send: send, stale: stale, log: log,
		Kick: make(chan struct{}, 1), keys: map[K]*coalesced[I]{}}
}

// Changed notes that k's count moved; count is the new one when the caller
// knows it (a count ≤ 0 is sent at once), else any positive number.
func (c *Coalescer[K, I]) Changed(k K, info I, count int64) {
	c.mark(k, info, func(st *coalesced[I]) {
		if count <= 0 && st.sent != 0 {
			st.urgent = true
		}
	})
}

// Moved notes that k's count moved to a number the caller does not know:
// the goroutine reads it at once and sends it at once if it is zero, so a
// sell-out is not held back by the interval.
func (c *Coalescer[K, I]) Moved(k K, info I) {
	c.mark(k, info, func(st *coalesced[I]) { st.peek = true })
}

// Redraw notes that what is sent with k's count changed (not the count): k
// is sent next time even if its count is the one sent last.
func (c *Coalescer[K, I]) Redraw(k K, info I) {
	c.mark(k, info, func(st *coalesced[I]) { st.resend = true })
}

// mark marks k dirty, lets set flag it, and kicks the goroutine.
func (c *Coalescer[K, I]) mark(k K, info I, set func(*coalesced[I])) {
	c.mu.Lock()
	st := c.keys[k]
	if st == nil {
		st = &coalesced[I]{sent: -1}
		c.keys[k] = st
	}
	st.info, st.dirty = info, true
	set(st)
	c.mu.Unlock()
	select {
	case c.Kick <- struct{}{}:
	default:
	}
}

// Forget drops a key that needs no more sends.
func (c *Coalescer[K, I]) Forget(k K) {
	c.mu.Lock()
	delete(c.keys, k)
	c.mu.Unlock()
}

// Pending reports whether a key waits to be sent.
func (c *Coalescer[K, I]) Pending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.keys {
		if st.dirty {
			return true
		}
	}
	return false
}

// Flush sends every key that changed and is due: urgent ones (and moved
// ones whose count is now zero) at once, others once interval has passed
// since their last send (all with force).
func (c *Coalescer[K, I]) Flush(force bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if !force {
		c.peek(ctx)
	}
	now := time.Now()
	var due []K
	c.mu.Lock()
	for k, st := range c.keys {
		if st.dirty && (force || st.urgent || now.Sub(st.lastSent) >= c.Interval) {
			due = append(due, k)
		}
		if !st.dirty && c.stale(st.info, st.lastSent, now) {
			delete(c.keys, k)
		}
	}
	c.mu.Unlock()
	for _, k := range due {
		c.FlushKey(ctx, k, force)
	}
}

// peek reads the count of the moved keys that are not due yet and makes
// those that reached zero urgent (FlushKey reads it again to send it).
func (c *Coalescer[K, I]) peek(ctx context.Context) {
	now := time.Now()
	type peeked struct {
		k    K
		info I
	}
	var keys []peeked
	c.mu.Lock()
	for k, st := range c.keys {
		if st.peek && st.dirty && !st.urgent && now.Sub(st.lastSent) < c.Interval && st.sent != 0 {
			keys = append(keys, peeked{k, st.info})
		}
		st.peek = false
	}
	c.mu.Unlock()
	for _, p := range keys {
		count, err := c.read(ctx, p.k, p.info)
		if err != nil {
			c.readFailed(p.k, err)
			continue
		}
		if count > 0 {
			continue
		}
		c.mu.Lock()
		if st := c.keys[p.k]; st != nil && st.dirty && st.sent != count {
			st.urgent = true
		}
		c.mu.Unlock()
	}
}

// FlushKey reads k's count and sends it if it differs from the last sent
// (or something else changed: redraw).
func (c *Coalescer[K, I]) FlushKey(ctx context.Context, k K, force bool) {
	c.mu.Lock()
	st := c.keys[k]
	if st == nil || (!st.dirty && !force) {
		c.mu.Unlock()
		return
	}
	st.dirty, st.urgent = false, false
	st.lastSent = time.Now()
	info, last, resend := st.info, st.sent, st.resend
	st.resend = false
	c.mu.Unlock()

	count, err := c.read(ctx, k, info)
	if err != nil {
		c.readFailed(k, err)
		return
	}
	if count == last && !resend {
		return
	}
	if err := c.send(ctx, k, info, count); errors.Is(err, ErrNoReceiver) {
		return
	} else if err != nil {
		c.log.Warn("count update not delivered", "key", k, slog.Any("error", err))
		return
	}
	c.mu.Lock()
	if st := c.keys[k]; st != nil {
		st.sent = count
	}
	c.mu.Unlock()
}

// readFailed logs a count that could not be read, unless nobody listens.
func (c *Coalescer[K, V]) readFailed(k K, err error) {
	if !errors.Is(err, ErrNoReceiver) {
		c.log.Warn("read count for room update", "key", k, slog.Any("error", err))
	}
}
