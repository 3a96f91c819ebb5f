package commerce

import (
	"context"
	"sync"
	"time"
)

// StockNotifier hears how many units of a product are on hand after its
// stock changed (a checkout took units, a cancel or refund put them back, a
// flash sale set them aside or returned them, the seller changed the stock),
// so a stream's pinned product card can show it. cmd/liveshop adapts the
// room hub to it. Calls are coalesced like flash-sale stock: at most one per
// StockUpdateInterval per product and node, always the stock at the time of
// sending, none when it did not change. They come
// from one background goroutine; a failed call is logged and dropped (rooms
// read the card again when they open).
type StockNotifier interface {
	StockChanged(ctx context.Context, shopID, productID, stock int64) error
}

// SetStockNotifier installs who hears of stock changes (nil for none).
func (s *Service) SetStockNotifier(n StockNotifier) { s.stockHook.set(n) }

// stockUpdateInterval is the shortest time between two stock reports of
// one product, as for flash sales (FlashSaleConfig.StockUpdateInterval).
const stockUpdateInterval = 250 * time.Millisecond

// stockNews coalesces product stock reports. Its goroutine runs only while
// some product waits to be reported, so a Service needs no Close.
type stockNews struct {
	stock   *coalescer[int64, int64] // product ID → shop ID
	mu      sync.Mutex
	running bool
}

func newStockNews(s *Service) *stockNews {
	return &stockNews{stock: newCoalescer(stockUpdateInterval, s.log,
		func(ctx context.Context, productID, _ int64) (int64, error) {
			p, err := s.store.ProductByID(ctx, productID)
			return p.Stock, err
		},
		func(ctx context.Context, productID, shopID, stock int64) error {
			n, ok := s.stockHook.get()
			if !ok {
				return errNoReceiver
			}
			return n.StockChanged(ctx, shopID, productID, stock)
		},
		func(_ int64, lastSent, now time.Time) bool { return now.Sub(lastSent) > time.Minute })}
}

// stockChanged notes, after a commit, that the products' stock moved.
func (s *Service) stockChanged(shopID int64, productIDs ...int64) {
	if _, ok := s.stockHook.get(); !ok || len(productIDs) == 0 {
		return
	}
	n := s.stockNews
	for _, id := range productIDs {
		n.stock.changed(id, shopID, 1)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.running {
		n.running = true
		go n.run()
	}
}

// orderProducts lists the products of an order's lines.
func orderProducts(o Order) []int64 {
	ids := make([]int64, len(o.Lines))
	for i, l := range o.Lines {
		ids[i] = l.ProductID
	}
	return ids
}

func (n *stockNews) run() {
	tick := time.NewTicker(stockUpdateInterval / 5)
	defer tick.Stop()
	for {
		n.stock.flush(false)
		n.mu.Lock()
		if !n.stock.pending() {
			n.running = false
			n.mu.Unlock()
			return
		}
		n.mu.Unlock()
		select {
		case <-n.stock.kick:
		case <-tick.C:
		}
	}
}
