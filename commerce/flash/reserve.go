package flash

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

// maxUnitsPerReservation bounds one "Buy now"; the per-buyer limit usually
// bounds it further.
const maxUnitsPerReservation = 100

// Reserve is "Buy now": it sets quantity units aside for the caller and
// returns the reservation, which holds for Config.ReservationTTL. This is
// the hot path of a sale. It reads the sale from the node's cache (SQL at
// most once per CacheTTL per sale) and asks the stock engine, which checks
// stock and the per-buyer limit atomically; nothing else is written.
func (f *Service) Reserve(ctx context.Context, a commerce.Account, saleID, quantity int64) (Reservation, StockCounts, error) {
	if a.ID == 0 {
		return Reservation{}, StockCounts{}, commerce.ErrUnauthenticated
	}
	if quantity <= 0 || quantity > maxUnitsPerReservation {
		return Reservation{}, StockCounts{}, commerce.Invalid("quantity must be 1 to %d", maxUnitsPerReservation)
	}
	fs, err := f.cache.get(ctx, saleID)
	if err != nil {
		return Reservation{}, StockCounts{}, err
	}
	if err := f.checkOpen(fs, f.now()); err != nil {
		return Reservation{}, StockCounts{}, err
	}
	r, c, err := f.engine.Reserve(ctx, saleID, a.ID, quantity, f.cfg.ReservationTTL)
	if errors.Is(err, ErrStockUnknown) {
		if _, err = f.restore(ctx, fs); err == nil {
			r, c, err = f.engine.Reserve(ctx, saleID, a.ID, quantity, f.cfg.ReservationTTL)
		}
	}
	if err == nil || errors.Is(err, ErrSoldOut) {
		f.news.stockChanged(fs, c)
	}
	return r, c, err
}

// checkOpen refuses a reservation outside the sale's time or while its
// stream is off air.
func (f *Service) checkOpen(fs Sale, now time.Time) error {
	switch {
	case fs.State == "ended" || !now.Before(fs.EndsAt):
		f.metrics.Refused("ended")
		return ErrSaleEnded
	case now.Before(fs.StartsAt):
		f.metrics.Refused("not_started")
		return ErrSaleNotStarted
	case fs.StreamStatus != commerce.StreamLive:
		f.metrics.Refused("ended")
		return ErrStreamNotLive
	}
	return nil
}

// BaselineReserve does what Reserve does through one plain SQL row lock
// (UPDATE ... SET stock = stock - n WHERE sale_id = ? AND stock >= n), for
// liveshop-load's baseline: the same HTTP path, the same checks, SQL instead
// of the engine. It creates no reservation.
func (f *Service) BaselineReserve(ctx context.Context, a commerce.Account, saleID, quantity int64) (StockCounts, error) {
	if a.ID == 0 {
		return StockCounts{}, commerce.ErrUnauthenticated
	}
	if quantity <= 0 || quantity > maxUnitsPerReservation {
		return StockCounts{}, commerce.Invalid("quantity must be 1 to %d", maxUnitsPerReservation)
	}
	fs, err := f.cache.get(ctx, saleID)
	if err != nil {
		return StockCounts{}, err
	}
	if err := f.checkOpen(fs, f.now()); err != nil {
		return StockCounts{}, err
	}
	ok, err := f.store.BaselineReserve(ctx, saleID, quantity)
	if err != nil {
		return StockCounts{}, err
	}
	if !ok {
		return StockCounts{}, ErrSoldOut
	}
	return StockCounts{Quantity: fs.Quantity}, nil
}

// Reservation returns one of the caller's reservations; someone else's is
// ErrReservationNotFound, so IDs reveal nothing.
func (f *Service) Reservation(ctx context.Context, a commerce.Account, saleID, id int64) (Reservation, error) {
	if a.ID == 0 {
		return Reservation{}, commerce.ErrUnauthenticated
	}
	fs, err := f.cache.get(ctx, saleID)
	if err != nil {
		return Reservation{}, err
	}
	r, err := f.engine.Reservation(ctx, saleID, id)
	if errors.Is(err, ErrStockUnknown) {
		if _, err = f.restore(ctx, fs); err == nil {
			r, err = f.engine.Reservation(ctx, saleID, id)
		}
	}
	if err != nil {
		return Reservation{}, err
	}
	if r.BuyerID != a.ID {
		return Reservation{}, ErrReservationNotFound
	}
	return r, nil
}

// CancelReservation gives a held reservation's units back at once. One that
// is already being paid for (it has an order) cannot be cancelled here.
func (f *Service) CancelReservation(ctx context.Context, a commerce.Account, saleID, id int64) (Reservation, error) {
	r, err := f.Reservation(ctx, a, saleID, id)
	if err != nil {
		return Reservation{}, err
	}
	if _, err := f.store.FlashOrderByReservation(ctx, saleID, id); err == nil {
		return Reservation{}, commerce.Conflict("reservation_ordered", "this reservation has an order; it is settled with the order's payment")
	} else if !errors.Is(err, commerce.ErrNotFound) {
		return Reservation{}, err
	}
	if r.State != ReservationHeld {
		return r, nil
	}
	fs, err := f.cache.get(ctx, saleID)
	if err != nil {
		return Reservation{}, err
	}
	r, _, c, err := f.engine.Release(ctx, saleID, id)
	if err != nil {
		return Reservation{}, err
	}
	f.news.stockChanged(fs, c)
	return r, nil
}

// saleCache keeps each sale's settings and stream status for CacheTTL, so
// the reservation path reads SQL at most once per sale and interval per
// node. When an entry is stale, one request refreshes it while the others
// keep using the old copy; a missing entry is loaded once for all waiters.
type saleCache struct {
	ttl  time.Duration
	load func(ctx context.Context, id int64) (Sale, error)

	mu      sync.Mutex
	entries map[int64]*cachedSale
}

type cachedSale struct {
	sale       Sale
	until      time.Time
	ready      chan struct{} // closed once the first load finished
	err        error
	refreshing bool
}

// maxCachedSales bounds the cache; few sales run at once.
const maxCachedSales = 10_000

func newSaleCache(ttl time.Duration, load func(context.Context, int64) (Sale, error)) *saleCache {
	return &saleCache{ttl: ttl, load: load, entries: make(map[int64]*cachedSale)}
}

func (c *saleCache) get(ctx context.Context, id int64) (Sale, error) {
	now := time.Now()
	c.mu.Lock()
	e := c.entries[id]
	switch {
	case e == nil:
		if len(c.entries) >= maxCachedSales {
			clear(c.entries)
		}
		e = &cachedSale{ready: make(chan struct{})}
		c.entries[id] = e
		c.mu.Unlock()
		c.fill(ctx, id, e, true)
	case e.err == nil && now.After(e.until) && !e.refreshing && isClosed(e.ready):
		e.refreshing = true
		c.mu.Unlock()
		c.fill(ctx, id, e, false)
	default:
		c.mu.Unlock()
	}
	select {
	case <-e.ready:
	case <-ctx.Done():
		return Sale{}, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return e.sale, e.err
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// fill loads an entry. A failed first load is forgotten so the next request
// tries again; a failed refresh keeps the old copy.
func (c *saleCache) fill(ctx context.Context, id int64, e *cachedSale, first bool) {
	// Other requests wait for this load: it must not fail because the
	// request that happened to start it went away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	fs, err := c.load(ctx, id)
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refreshing = false
	switch {
	case err == nil:
		e.sale, e.err, e.until = fs, nil, time.Now().Add(c.ttl)
	case first:
		e.err = err
		if c.entries[id] == e {
			delete(c.entries, id)
		}
	default:
		e.until = time.Now().Add(c.ttl / 4)
	}
	if first {
		close(e.ready)
	}
}

// drop forgets a sale so the next request reads it fresh.
func (c *saleCache) drop(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, id)
}

func (f *Service) loadSale(ctx context.Context, id int64) (Sale, error) {
	return f.store.FlashSaleByID(ctx, id)
}
