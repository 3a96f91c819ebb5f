package flash

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/internal/coalesce"
)

// Notifier tells a stream's room what happens in its flash sales.
// commerce does not know rooms: cmd/liveshop adapts the room hub's Publish
// to it. Calls come from one background goroutine per node, in order, and
// may block briefly (a publish through Redis); a failed call is logged and
// dropped, since rooms get the sale's state again from snapshots.
type Notifier interface {
	// SaleStarted announces a sale with its start and end time.
	SaleStarted(ctx context.Context, sale Sale) error
	// SaleStock reports the units left. Updates are coalesced: at most one
	// per StockUpdateInterval per sale and node, always the engine's value
	// at the time of sending, sold out at once.
	SaleStock(ctx context.Context, streamID, saleID, remaining int64, soldOut bool) error
	// SaleEnded announces the end and why (SaleEnd*).
	SaleEnded(ctx context.Context, streamID, saleID int64, reason string, remaining int64) error
	// Purchase is the "just bought" ticker.
	Purchase(ctx context.Context, streamID int64, p PurchaseNotice) error
}

// PurchaseNotice is one "just bought" ticker entry. Buyer is the display
// name, or "Someone" unless the buyer allowed showing it.
type PurchaseNotice struct {
	Buyer        string
	ProductID    int64
	ProductTitle string
	Quantity     int64
}

// anonymousBuyer is how the ticker names a buyer who keeps their name private.
const anonymousBuyer = "Someone"

// tickerName is the buyer's display name if they allowed it, else anonymous.
func tickerName(a commerce.Account, show bool) string {
	name := strings.TrimSpace(a.Name)
	if !show || name == "" || !utf8.ValidString(name) {
		return anonymousBuyer
	}
	return name
}

// saleNews sends a node's flash-sale news to rooms from one goroutine:
// started and ended in order, stock coalesced per sale, purchases capped per
// room. The reservation path only flips a flag and pokes the goroutine.
type saleNews struct {
	n      Notifier                         // nil: no rooms to tell
	stock  *coalesce.Coalescer[int64, Sale] // by sale ID
	perSec int
	log    *slog.Logger

	queue chan newsItem
	stop  chan struct{}
	done  chan struct{}

	mu sync.Mutex
	// ticker counts purchases per stream in the current second.
	ticker map[int64]int
	second int64
}

// notifier returns the rooms' notifier, nil when there is none.
func (s *saleNews) notifier() Notifier { return s.n }

type newsItem struct {
	kind     string // started, ended, purchase
	sale     Sale
	reason   string
	counts   StockCounts
	purchase PurchaseNotice
}

// newsQueue bounds queued announcements; a full queue drops ticker entries.
const newsQueue = 1024

func newSaleNews(n Notifier, engine StockEngine, cfg Config, log *slog.Logger) *saleNews {
	s := &saleNews{
		n:      n,
		perSec: cfg.PurchaseTickerPerSecond, log: log,
		queue: make(chan newsItem, newsQueue),
		stop:  make(chan struct{}), done: make(chan struct{}),
		ticker: map[int64]int{},
	}
	s.stock = coalesce.New(cfg.StockUpdateInterval, log,
		func(ctx context.Context, id int64, _ Sale) (int64, error) {
			c, err := engine.Counts(ctx, id)
			return c.Remaining, err
		},
		func(ctx context.Context, id int64, sale Sale, remaining int64) error {
			n := s.notifier()
			if n == nil {
				return coalesce.ErrNoReceiver
			}
			return n.SaleStock(ctx, sale.StreamID, id, remaining, remaining <= 0)
		},
		func(sale Sale, _, now time.Time) bool { return now.After(sale.EndsAt.Add(time.Minute)) })
	return s
}

func (s *saleNews) start() { go s.loop() }

func (s *saleNews) close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

// stockChanged notes that a sale's units moved; c is what the engine said.
func (s *saleNews) stockChanged(fs Sale, c StockCounts) {
	if s.notifier() == nil {
		return
	}
	s.stock.Changed(fs.ID, fs, c.Remaining)
}

// touch asks for a fresh look at a sale's stock even if this node saw no
// change: another node may have sent an older value last.
func (s *saleNews) touch(fs Sale) { s.stockChanged(fs, StockCounts{Remaining: 1}) }

func (s *saleNews) enqueue(it newsItem, wait bool) {
	if s.notifier() == nil {
		return
	}
	if !wait {
		select {
		case s.queue <- it:
		default:
		}
		return
	}
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case s.queue <- it:
	case <-t.C:
		s.log.Warn("flash-sale news queue full; announcement dropped", "kind", it.kind, "sale", it.sale.ID)
	case <-s.stop:
	}
}

func (s *saleNews) started(fs Sale) { s.enqueue(newsItem{kind: "started", sale: fs}, true) }

func (s *saleNews) ended(fs Sale, reason string, c StockCounts) {
	s.enqueue(newsItem{kind: "ended", sale: fs, reason: reason, counts: c}, true)
}

// purchase queues a ticker entry unless the stream had its share this second.
func (s *saleNews) purchase(fs Sale, p PurchaseNotice) {
	if s.notifier() == nil {
		return
	}
	now := time.Now().Unix()
	s.mu.Lock()
	if now != s.second {
		s.second = now
		clear(s.ticker)
	}
	s.ticker[fs.StreamID]++
	over := s.ticker[fs.StreamID] > s.perSec
	s.mu.Unlock()
	if !over {
		s.enqueue(newsItem{kind: "purchase", sale: fs, purchase: p}, false)
	}
}

// forget drops a sale this node no longer needs to report.
func (s *saleNews) forget(id int64) { s.stock.Forget(id) }

func (s *saleNews) loop() {
	defer close(s.done)
	tick := time.NewTicker(s.stock.Interval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case it := <-s.queue:
			s.announce(it)
		case <-s.stock.Kick:
			s.stock.Flush(false)
		case <-tick.C:
			s.stock.Flush(false)
		}
	}
}

func (s *saleNews) announce(it newsItem) {
	n := s.notifier()
	if n == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var err error
	switch it.kind {
	case "started":
		err = n.SaleStarted(ctx, it.sale)
	case "ended":
		s.stock.FlushKey(ctx, it.sale.ID, true) // the exact final count first
		s.forget(it.sale.ID)
		err = n.SaleEnded(ctx, it.sale.StreamID, it.sale.ID, it.reason, it.counts.Remaining)
	case "purchase":
		err = n.Purchase(ctx, it.sale.StreamID, it.purchase)
	}
	if err != nil {
		s.log.Warn("flash-sale news not delivered", "kind", it.kind, "sale", it.sale.ID, slog.Any("error", err))
	}
}
