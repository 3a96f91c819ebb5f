package flash

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

// MemoryStock is the single-node StockEngine: counters behind one mutex per
// sale, so reservers of different sales never wait for each other. It is
// the embedded default; its state lives only as long as the process, and the
// flash-sale service restores a sale from SQL after a restart.
type MemoryStock struct {
	now func() time.Time

	mu    sync.RWMutex
	sales map[int64]*memorySale
}

var _ StockEngine = (*MemoryStock)(nil)

// NewMemoryStock returns an empty engine.
func NewMemoryStock() *MemoryStock {
	return &MemoryStock{now: time.Now, sales: make(map[int64]*memorySale)}
}

type memorySale struct {
	mu           sync.Mutex
	counts       StockCounts
	limit        int64
	keepUntil    time.Time
	buyers       map[int64]int64 // units held or sold per buyer
	reservations map[int64]*Reservation
	due          expiryHeap // held reservations by expiry; stale entries skipped
}

type expiryEntry struct {
	at time.Time
	id int64
}

type expiryHeap []expiryEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryEntry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// CreateSale implements StockEngine.
func (m *MemoryStock) CreateSale(_ context.Context, s SaleStock) error {
	if err := s.check(); err != nil {
		return err
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, old := range m.sales {
		if !old.keepUntil.IsZero() && now.After(old.keepUntil) {
			delete(m.sales, id)
		}
	}
	if _, ok := m.sales[s.SaleID]; ok {
		return nil
	}
	sale := &memorySale{
		counts:       StockCounts{Quantity: s.Quantity, Remaining: s.Quantity},
		limit:        s.PerBuyerLimit,
		keepUntil:    s.KeepUntil,
		buyers:       make(map[int64]int64, len(s.Sold)),
		reservations: make(map[int64]*Reservation, len(s.Sold)),
	}
	for _, r := range s.Sold {
		sale.sell(r)
	}
	m.sales[s.SaleID] = sale
	return nil
}

// sell records r as sold, taking its units from those on offer. The caller
// holds s.mu (or owns s).
func (s *memorySale) sell(r Reservation) Reservation {
	r.State, r.ExpiresAt = ReservationSold, time.Time{}
	s.reservations[r.ID] = &r
	s.buyers[r.BuyerID] += r.Quantity
	s.counts.Remaining -= r.Quantity
	s.counts.Sold += r.Quantity
	return r
}

func (m *MemoryStock) sale(id int64) (*memorySale, error) {
	m.mu.RLock()
	s := m.sales[id]
	m.mu.RUnlock()
	if s == nil {
		return nil, ErrStockUnknown
	}
	return s, nil
}

// Reserve implements StockEngine.
func (m *MemoryStock) Reserve(_ context.Context, saleID, buyerID, quantity int64, ttl time.Duration) (Reservation, StockCounts, error) {
	if quantity <= 0 {
		return Reservation{}, StockCounts{}, commerce.Invalid("quantity must be at least 1")
	}
	s, err := m.sale(saleID)
	if err != nil {
		return Reservation{}, StockCounts{}, err
	}
	now := m.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.counts.Ended:
		return Reservation{}, s.counts, ErrSaleEnded
	case quantity > s.counts.Remaining:
		return Reservation{}, s.counts, ErrSoldOut
	case s.buyers[buyerID]+quantity > s.limit:
		return Reservation{}, s.counts, ErrBuyerLimit
	}
	id := rand.Int64N(maxReservationID) + 1
	for s.reservations[id] != nil {
		id = rand.Int64N(maxReservationID) + 1
	}
	r := &Reservation{SaleID: saleID, ID: id, BuyerID: buyerID, Quantity: quantity, State: ReservationHeld,
		ExpiresAt: now.Add(ttl).Truncate(time.Millisecond)}
	s.reservations[id] = r
	heap.Push(&s.due, expiryEntry{at: r.ExpiresAt, id: id})
	s.buyers[buyerID] += quantity
	s.counts.Remaining -= quantity
	s.counts.Reserved += quantity
	return *r, s.counts, nil
}

// expireDue expires up to max held reservations that lapsed by now and
// returns them. The caller holds s.mu.
func (s *memorySale) expireDue(now time.Time, max int) []Reservation {
	var out []Reservation
	for len(s.due) > 0 && len(out) < max && !s.due[0].at.After(now) {
		e := heap.Pop(&s.due).(expiryEntry)
		r := s.reservations[e.id]
		if r == nil || r.State != ReservationHeld {
			continue
		}
		s.giveBack(r, ReservationExpired)
		out = append(out, *r)
	}
	return out
}

// giveBack returns a reservation's units and moves it to state.
func (s *memorySale) giveBack(r *Reservation, state ReservationState) {
	if r.State == ReservationHeld {
		s.counts.Reserved -= r.Quantity
	} else {
		s.counts.Sold -= r.Quantity
	}
	s.counts.Remaining += r.Quantity
	if left := s.buyers[r.BuyerID] - r.Quantity; left > 0 {
		s.buyers[r.BuyerID] = left
	} else {
		delete(s.buyers, r.BuyerID)
	}
	r.State = state
}

// Reservation implements StockEngine.
func (m *MemoryStock) Reservation(_ context.Context, saleID, reservationID int64) (Reservation, error) {
	s, err := m.sale(saleID)
	if err != nil {
		return Reservation{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.reservations[reservationID]
	if r == nil {
		return Reservation{}, ErrReservationNotFound
	}
	return lapsedView(*r, m.now()), nil
}

// lapsedView shows a held reservation past its expiry as expired, whether or
// not ExpireDue has returned its units yet.
func lapsedView(r Reservation, now time.Time) Reservation {
	if r.State == ReservationHeld && !r.ExpiresAt.After(now) {
		r.State = ReservationExpired
	}
	return r
}

// Confirm implements StockEngine.
func (m *MemoryStock) Confirm(_ context.Context, saleID, reservationID int64) (Reservation, StockCounts, error) {
	s, err := m.sale(saleID)
	if err != nil {
		return Reservation{}, StockCounts{}, err
	}
	now := m.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.reservations[reservationID]
	if r == nil {
		return Reservation{}, s.counts, ErrReservationNotFound
	}
	switch lapsedView(*r, now).State {
	case ReservationExpired:
		// A lapsed hold keeps its units until ExpireDue, which counts it.
		return lapsedView(*r, now), s.counts, ErrReservationExpired
	case ReservationReleased:
		return *r, s.counts, ErrReservationReleased
	case ReservationHeld:
		r.State = ReservationSold
		s.counts.Reserved -= r.Quantity
		s.counts.Sold += r.Quantity
	}
	return *r, s.counts, nil
}

// Adopt implements StockEngine.
func (m *MemoryStock) Adopt(ctx context.Context, r Reservation) (Reservation, StockCounts, error) {
	if err := r.checkAdoptable(); err != nil {
		return Reservation{}, StockCounts{}, err
	}
	s, err := m.sale(r.SaleID)
	if err != nil {
		return Reservation{}, StockCounts{}, err
	}
	s.mu.Lock()
	if s.reservations[r.ID] != nil {
		s.mu.Unlock()
		return m.Confirm(ctx, r.SaleID, r.ID)
	}
	defer s.mu.Unlock()
	if r.Quantity > s.counts.Remaining {
		return Reservation{}, s.counts, ErrSoldOut
	}
	return s.sell(r), s.counts, nil
}

// Release implements StockEngine.
func (m *MemoryStock) Release(_ context.Context, saleID, reservationID int64) (Reservation, bool, StockCounts, error) {
	s, err := m.sale(saleID)
	if err != nil {
		return Reservation{}, false, StockCounts{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.reservations[reservationID]
	if r == nil {
		return Reservation{}, false, s.counts, ErrReservationNotFound
	}
	if r.State != ReservationHeld && r.State != ReservationSold {
		return *r, false, s.counts, nil
	}
	s.giveBack(r, ReservationReleased)
	return *r, true, s.counts, nil
}

// ExpireDue implements StockEngine.
func (m *MemoryStock) ExpireDue(_ context.Context, saleID int64, max int) ([]Reservation, StockCounts, error) {
	s, err := m.sale(saleID)
	if err != nil {
		return nil, StockCounts{}, err
	}
	now := m.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expireDue(now, max), s.counts, nil
}

// Counts implements StockEngine.
func (m *MemoryStock) Counts(_ context.Context, saleID int64) (StockCounts, error) {
	s, err := m.sale(saleID)
	if err != nil {
		return StockCounts{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts, nil
}

// End implements StockEngine.
func (m *MemoryStock) End(_ context.Context, saleID int64) (StockCounts, error) {
	s, err := m.sale(saleID)
	if err != nil {
		return StockCounts{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Ended = true
	return s.counts, nil
}

// Correct implements StockEngine.
func (m *MemoryStock) Correct(_ context.Context, saleID, sold int64) (StockCounts, error) {
	s, err := m.sale(saleID)
	if err != nil {
		return StockCounts{}, err
	}
	if sold < 0 {
		return StockCounts{}, commerce.Invalid("sold must not be negative")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Sold = sold
	s.counts.Remaining = max(0, s.counts.Quantity-s.counts.Reserved-sold)
	return s.counts, nil
}
