package commerce

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// FlashSaleNotifier tells a stream's room what happens in its flash sales.
// commerce does not know rooms: cmd/liveshop adapts the room hub's Publish
// to it. Calls come from one background goroutine per node, in order, and
// may block briefly (a publish through Redis); a failed call is logged and
// dropped, since rooms get the sale's state again from snapshots.
type FlashSaleNotifier interface {
	// SaleStarted announces a sale with its start and end time.
	SaleStarted(ctx context.Context, sale FlashSale) error
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
func tickerName(a Account, show bool) string {
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
	n        atomic.Pointer[notifierBox]
	engine   StockEngine
	interval time.Duration
	perSec   int
	log      *slog.Logger

	kick  chan struct{}
	queue chan newsItem
	stop  chan struct{}
	done  chan struct{}

	mu    sync.Mutex
	sales map[int64]*saleNewsState
	// ticker counts purchases per stream in the current second.
	ticker map[int64]int
	second int64
}

type notifierBox struct{ n FlashSaleNotifier }

// notifier returns the room's notifier, nil when none is installed.
func (s *saleNews) notifier() FlashSaleNotifier {
	if b := s.n.Load(); b != nil {
		return b.n
	}
	return nil
}

func (s *saleNews) set(n FlashSaleNotifier) {
	if n == nil {
		s.n.Store(nil)
		return
	}
	s.n.Store(&notifierBox{n})
}

type saleNewsState struct {
	sale          FlashSale
	dirty, urgent bool
	lastSent      time.Time
	sentRemaining int64 // -1 before the first stock event
}

type newsItem struct {
	kind     string // started, ended, purchase
	sale     FlashSale
	reason   string
	counts   StockCounts
	purchase PurchaseNotice
}

// newsQueue bounds queued announcements; a full queue drops ticker entries.
const newsQueue = 1024

func newSaleNews(n FlashSaleNotifier, engine StockEngine, cfg FlashSaleConfig, log *slog.Logger) *saleNews {
	s := &saleNews{
		engine: engine, interval: cfg.StockUpdateInterval, perSec: cfg.PurchaseTickerPerSecond, log: log,
		kick: make(chan struct{}, 1), queue: make(chan newsItem, newsQueue),
		stop: make(chan struct{}), done: make(chan struct{}),
		sales: map[int64]*saleNewsState{}, ticker: map[int64]int{},
	}
	s.set(n)
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
func (s *saleNews) stockChanged(fs FlashSale, c StockCounts) {
	if s.notifier() == nil {
		return
	}
	s.mu.Lock()
	st := s.sales[fs.ID]
	if st == nil {
		st = &saleNewsState{sale: fs, sentRemaining: -1}
		s.sales[fs.ID] = st
	}
	st.dirty = true
	if c.Remaining <= 0 && st.sentRemaining != 0 {
		st.urgent = true
	}
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// touch asks for a fresh look at a sale's stock even if this node saw no
// change: another node may have sent an older value last.
func (s *saleNews) touch(fs FlashSale) { s.stockChanged(fs, StockCounts{Remaining: 1}) }

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

func (s *saleNews) started(fs FlashSale) { s.enqueue(newsItem{kind: "started", sale: fs}, true) }

func (s *saleNews) ended(fs FlashSale, reason string, c StockCounts) {
	s.enqueue(newsItem{kind: "ended", sale: fs, reason: reason, counts: c}, true)
}

// purchase queues a ticker entry unless the stream had its share this second.
func (s *saleNews) purchase(fs FlashSale, p PurchaseNotice) {
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
func (s *saleNews) forget(id int64) {
	s.mu.Lock()
	delete(s.sales, id)
	s.mu.Unlock()
}

func (s *saleNews) loop() {
	defer close(s.done)
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case it := <-s.queue:
			s.announce(it)
		case <-s.kick:
			s.flush(false)
		case <-tick.C:
			s.flush(false)
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
		s.flushSale(ctx, it.sale.ID, true) // the exact final count first
		s.forget(it.sale.ID)
		err = n.SaleEnded(ctx, it.sale.StreamID, it.sale.ID, it.reason, it.counts.Remaining)
	case "purchase":
		err = n.Purchase(ctx, it.sale.StreamID, it.purchase)
	}
	if err != nil {
		s.log.Warn("flash-sale news not delivered", "kind", it.kind, "sale", it.sale.ID, slog.Any("error", err))
	}
}

// flush sends the stock of every sale that changed and is due: urgent ones
// (just sold out) at once, others once interval has passed since the last.
func (s *saleNews) flush(force bool) {
	now := time.Now()
	var due []int64
	s.mu.Lock()
	for id, st := range s.sales {
		if st.dirty && (force || st.urgent || now.Sub(st.lastSent) >= s.interval) {
			due = append(due, id)
		}
		if !st.dirty && now.After(st.sale.EndsAt.Add(time.Minute)) {
			delete(s.sales, id)
		}
	}
	s.mu.Unlock()
	if len(due) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, id := range due {
		s.flushSale(ctx, id, force)
	}
}

// flushSale reads the engine's count and sends it if it differs from what
// this node sent last.
func (s *saleNews) flushSale(ctx context.Context, id int64, force bool) {
	s.mu.Lock()
	st := s.sales[id]
	if st == nil || (!st.dirty && !force) {
		s.mu.Unlock()
		return
	}
	st.dirty, st.urgent = false, false
	st.lastSent = time.Now()
	sale, last := st.sale, st.sentRemaining
	s.mu.Unlock()

	c, err := s.engine.Counts(ctx, id)
	if err != nil {
		s.log.Warn("read stock for room update", "sale", id, slog.Any("error", err))
		return
	}
	n := s.notifier()
	if c.Remaining == last || n == nil {
		return
	}
	if err := n.SaleStock(ctx, sale.StreamID, id, c.Remaining, c.Remaining <= 0); err != nil {
		s.log.Warn("stock update not delivered", "sale", id, slog.Any("error", err))
		return
	}
	s.mu.Lock()
	if st := s.sales[id]; st != nil {
		st.sentRemaining = c.Remaining
	}
	s.mu.Unlock()
}
