package commerce

import (
	"context"
	"sync"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/coalesce"
)

// StockNotifier hears that a product's card changed: the units on hand
// (a checkout took units, a cancel or refund put them back, a flash sale set
// them aside or returned them, the seller changed the stock) or what the
// seller edits (price, title, images…), so a stream's pinned product card
// can show it; stock is the units on hand now. cmd/liveshop adapts the room
// hub to it. Calls are coalesced like flash-sale stock: at most one per
// StockUpdateInterval per product and node, always the product at the time
// of sending, none when nothing changed, and a sell-out (stock 0) at once.
// They come from one background goroutine; a failed call is logged and
// dropped (rooms read the card again when they open).
type StockNotifier interface {
	StockChanged(ctx context.Context, shopID, productID, stock int64) error
}

// stockUpdateInterval is the shortest time between two stock reports of
// one product, as for flash sales (flash.Config.StockUpdateInterval).
const stockUpdateInterval = 250 * time.Millisecond

// stockNews coalesces product stock reports. Its goroutine runs only while
// some product waits to be reported, so a Service needs no Close.
type stockNews struct {
	stock   *coalesce.Coalescer[int64, int64] // product ID → shop ID
	mu      sync.Mutex
	running bool
}

func newStockNews(s *Service) *stockNews {
	return &stockNews{stock: coalesce.New(stockUpdateInterval, s.log,
		func(ctx context.Context, productID, _ int64) (int64, error) {
			if s.news.listeners().Stock == nil {
				return 0, coalesce.ErrNoReceiver // disconnected: the node is closing
			}
			p, err := s.store.ProductByID(ctx, productID)
			return p.Stock, err
		},
		func(ctx context.Context, productID, shopID, stock int64) error {
			n := s.news.listeners().Stock
			if n == nil {
				return coalesce.ErrNoReceiver
			}
			return n.StockChanged(ctx, shopID, productID, stock)
		},
		func(_ int64, lastSent, now time.Time) bool { return now.Sub(lastSent) > time.Minute })}
}

// StockChanged notes, after a commit, that the products' stock moved.
func (s *Service) StockChanged(shopID int64, productIDs ...int64) {
	s.productNews(func(c *coalesce.Coalescer[int64, int64]) {
		for _, id := range productIDs {
			c.Moved(id, shopID)
		}
	})
}

// productEdited notes, after a commit, that the seller changed a product
// (its card may show another price, title, image or stock).
func (s *Service) productEdited(p Product) {
	s.productNews(func(c *coalesce.Coalescer[int64, int64]) {
		c.Redraw(p.ID, p.ShopID)
		c.Changed(p.ID, p.ShopID, p.Stock)
	})
}

// productNews lets mark note changes, when someone listens, and makes sure
// the goroutine that reports them runs.
func (s *Service) productNews(mark func(*coalesce.Coalescer[int64, int64])) {
	if s.news.listeners().Stock == nil {
		return
	}
	n := s.stockNews
	mark(n.stock)
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
		n.stock.Flush(false)
		n.mu.Lock()
		if !n.stock.Pending() {
			n.running = false
			n.mu.Unlock()
			return
		}
		n.mu.Unlock()
		select {
		case <-n.stock.Kick:
		case <-tick.C:
		}
	}
}
