// Package flash runs live selling formats: flash sales (a product at a
// special price for a short time, reserved and paid from the stream) and
// their stock engines, in memory for one node and in Redis Lua for many,
// with one contract suite (stocktest). SQL stays the system of record; the
// payment goes through the core's one pipeline (commerce.Service.Pay).
package flash

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/internal/api"

	"github.com/prometheus/client_golang/prometheus"
)

// Flash sale status as clients see it: scheduled during the countdown,
// running while it takes reservations, ended for good afterwards.
const (
	SaleScheduled = "scheduled"
	SaleRunning   = "running"
	SaleEnded     = "ended"
)

// Why a flash sale ended.
const (
	SaleEndSoldOut     = "sold_out"
	SaleEndStopped     = "stopped"
	SaleEndExpired     = "expired"
	SaleEndStreamEnded = "stream_ended"
)

// Sale is units of one product offered at a sale price for a short time
// during a live stream of its shop. The units are set aside from the
// product's stock when the sale is created; what is not sold goes back when
// the sale is reconciled after its end.
type Sale struct {
	ID             int64  `json:"id"`
	ShopID         int64  `json:"shop_id"`
	StreamID       int64  `json:"stream_id"`
	ProductID      int64  `json:"product_id"`
	Title          string `json:"title"`
	ImageURL       string `json:"image_url,omitempty"`
	PriceMinor     int64  `json:"price_minor"`
	ListPriceMinor int64  `json:"list_price_minor"`
	Currency       string `json:"currency"`
	Quantity       int64  `json:"quantity"`
	PerBuyerLimit  int64  `json:"per_buyer_limit"`
	// Status is scheduled, running or ended (see Sale*).
	Status    string    `json:"status"`
	EndReason string    `json:"end_reason,omitempty"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	// EndedAt is when it really ended (early when sold out or stopped).
	EndedAt *time.Time `json:"ended_at,omitempty"`
	// Remaining, Reserved and Sold are the live counts from the stock
	// engine (Sold from SQL once the sale is reconciled).
	Remaining int64     `json:"remaining"`
	Reserved  int64     `json:"reserved"`
	Sold      int64     `json:"sold"`
	CreatedAt time.Time `json:"created_at"`

	// Stored but not shown: whether the stream is live, whether the sale is
	// reconciled, and its stored state ("active" or "ended").
	StreamStatus string     `json:"-"`
	ReconciledAt *time.Time `json:"-"`
	State        string     `json:"-"`
	CreatedBy    int64      `json:"-"`
}

// statusAt derives the client-facing status at now.
func (f Sale) statusAt(now time.Time) string {
	switch {
	case f.State == "ended" || !now.Before(f.EndsAt):
		return SaleEnded
	case now.Before(f.StartsAt):
		return SaleScheduled
	}
	return SaleRunning
}

// SaleOrder links an order to the reservation it was bought with.
type SaleOrder struct {
	SaleID        int64
	ReservationID int64
	OrderID       int64
	BuyerID       int64
	Quantity      int64
}

// NewSaleOrder is what CreateFlashOrder writes in one transaction.
type NewSaleOrder struct {
	Sale        Sale
	Reservation Reservation
	Shipping    commerce.Address
	Provider    string
	// Coupon, when not nil, is redeemed in the same transaction (one per
	// buyer, within its usage cap; its stream must still be live) and its
	// discount taken off the order's total.
	Coupon         *commerce.Coupon
	IdempotencyKey string
	At             time.Time
}

// Store keeps flash sales, the orders bought from them and the
// buyers' ticker privacy (coupons are in Store, shared with the cart
// checkout). *sqlstore.DB implements it next to Store.
type Store interface {
	// The core's records that flash sales read, and the idempotency key
	// the checkout sweeper takes over (commerce/sqlstore keeps them all).
	AccountByID(ctx context.Context, id int64) (commerce.Account, error)
	ProductByID(ctx context.Context, id int64) (commerce.Product, error)
	StreamByID(ctx context.Context, id int64) (commerce.Stream, error)
	OrderByID(ctx context.Context, id int64) (commerce.Order, error)
	OrphanOrders(ctx context.Context, flash bool, updatedBefore time.Time, limit int) ([]commerce.OrphanOrder, error)
	TakeOverIdempotencyKey(ctx context.Context, accountID int64, key string, expired, until time.Time) (bool, error)

	// CreateFlashSale inserts fs (setting ID) and sets its units aside from
	// the product's stock, in one transaction: OutOfStock when the product
	// has fewer, ErrSaleActive when the stream has an active sale.
	CreateFlashSale(ctx context.Context, fs *Sale) error
	// FlashSaleByID returns a sale with its product's title and its stream's
	// status.
	FlashSaleByID(ctx context.Context, id int64) (Sale, error)
	// FlashSalesOfStream lists a stream's sales, newest first.
	FlashSalesOfStream(ctx context.Context, streamID int64, limit int) ([]Sale, error)
	// UnsettledFlashSales lists sales that are active or not yet reconciled:
	// what the sweeper looks after.
	UnsettledFlashSales(ctx context.Context) ([]Sale, error)
	// EndFlashSale moves an active sale to ended; false when it had ended.
	EndFlashSale(ctx context.Context, id int64, reason string, at time.Time) (bool, error)
	// SoldFlashOrders returns the sale's orders whose units SQL counts as
	// sold (paid or still being paid), oldest first.
	SoldFlashOrders(ctx context.Context, saleID int64) ([]SaleOrder, error)
	// ReconcileFlashSale counts the units SQL holds as sold, records the
	// sale as reconciled with them and returns the rest to the product's
	// stock, in one transaction and once: won is false when another node
	// did it first. It serialises with a cancellation of one of the sale's
	// orders (see Transition.FlashSaleID), so each unit goes back once.
	ReconcileFlashSale(ctx context.Context, saleID int64, at time.Time) (sold int64, won bool, err error)
	// CreateFlashOrder creates the order of a reservation, its link and the
	// coupon redemption in one transaction. When the reservation already has
	// an order it returns that one with created false.
	CreateFlashOrder(ctx context.Context, in NewSaleOrder) (o commerce.Order, created bool, err error)
	// FlashOrderByReservation returns the order link of a reservation.
	FlashOrderByReservation(ctx context.Context, saleID, reservationID int64) (SaleOrder, error)
	// AbandonedFlashCheckouts returns unfinished flash-checkout keys that
	// created an order and whose lease ended before lockedBefore.
	AbandonedFlashCheckouts(ctx context.Context, lockedBefore time.Time, limit int) ([]commerce.IdempotencyRecord, error)
	// BaselineReserve takes n units with one plain row-locking UPDATE; false
	// when fewer remain. Only the load generator's baseline uses it.
	BaselineReserve(ctx context.Context, saleID, n int64) (bool, error)
	// SetBaselineStock sets the baseline's units of a sale.
	SetBaselineStock(ctx context.Context, saleID, stock int64) error
}

// Errors about flash sales.
var (
	// ErrSaleActive means the stream already runs a sale.
	ErrSaleActive = api.New(409, "sale_active", "this stream already has a flash sale; stop it first")
	// ErrSaleNotStarted means the countdown is still running.
	ErrSaleNotStarted = api.New(409, "sale_not_started", "this flash sale has not started yet")
	// ErrStreamNotLive means the stream is not on air, so no sale runs.
	ErrStreamNotLive = api.New(409, "stream_not_live", "flash sales run only while their stream is live")
)

// Config tunes flash sales; New fills zero fields.
type Config struct {
	// ReservationTTL is how long a buyer has to pay (default 5 minutes).
	ReservationTTL time.Duration
	// MaxCountdown bounds the countdown before a sale starts (10 minutes).
	MaxCountdown time.Duration
	// MinDuration and MaxDuration bound a sale (10 seconds, 2 hours).
	MinDuration, MaxDuration time.Duration
	// MaxQuantity bounds one sale's units (1,000,000).
	MaxQuantity int64
	// SweepInterval is how often each node expires lapsed reservations,
	// ends sales that are due and reconciles ended ones (1 second).
	SweepInterval time.Duration
	// StockUpdateInterval is the shortest time between two stock events of
	// one sale from one node (250ms); sold out is announced at once.
	StockUpdateInterval time.Duration
	// PurchaseTickerPerSecond caps "just bought" events per room and node
	// (5); the ticker is a taste of activity, not a ledger.
	PurchaseTickerPerSecond int
	// CacheTTL is how long a node trusts its copy of a sale's settings and
	// stream status on the reservation path (1 second).
	CacheTTL time.Duration
	// KeepFor is how long the stock engine keeps a sale after its end
	// (24 hours).
	KeepFor time.Duration
	// SQLBaseline serves the row-lock baseline reservation route used by
	// liveshop-load's "sale -baseline sql". Off in production.
	SQLBaseline bool
}

func (c *Config) fillDefaults() {
	setDur := func(p *time.Duration, d time.Duration) {
		if *p <= 0 {
			*p = d
		}
	}
	setDur(&c.ReservationTTL, 5*time.Minute)
	setDur(&c.MaxCountdown, 10*time.Minute)
	setDur(&c.MinDuration, 10*time.Second)
	setDur(&c.MaxDuration, 2*time.Hour)
	setDur(&c.SweepInterval, time.Second)
	setDur(&c.StockUpdateInterval, 250*time.Millisecond)
	setDur(&c.CacheTTL, time.Second)
	setDur(&c.KeepFor, 24*time.Hour)
	if c.MaxQuantity <= 0 {
		c.MaxQuantity = 1_000_000
	}
	if c.PurchaseTickerPerSecond <= 0 {
		c.PurchaseTickerPerSecond = 5
	}
}

// Service runs flash sales and live coupons on top of the commerce
// Service: sales and orders in SQL, units in a StockEngine, news to the
// stream's room through a Notifier.
type Service struct {
	svc     *commerce.Service
	store   Store
	engine  StockEngine
	metrics *StockMetrics
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	cache   *saleCache
	news    *saleNews

	restoreMu sync.Mutex // one restore from SQL at a time per node

	stop chan struct{}
	done chan struct{}
}

// New returns the flash-sale service. engine is the stock engine
// picked at start-up (MemoryStock without Redis); notifier may be nil (no
// room). Metrics go to reg. Start runs its background sweeper.
func New(svc *commerce.Service, store Store, engine StockEngine, notifier Notifier,
	cfg Config, reg prometheus.Registerer, log *slog.Logger) *Service {
	cfg.fillDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := NewStockMetrics(reg)
	f := &Service{
		svc: svc, store: store, engine: InstrumentStock(engine, m), metrics: m, cfg: cfg, log: log,
		now: time.Now, stop: make(chan struct{}), done: make(chan struct{}),
	}
	f.cache = newSaleCache(cfg.CacheTTL, f.loadSale)
	f.news = newSaleNews(notifier, f.engine, cfg, log)
	return f
}

// Config returns the effective configuration.
func (f *Service) Config() Config { return f.cfg }

// Start runs the sweeper and the room news until Close.
func (f *Service) Start() {
	f.news.start()
	go f.sweepLoop()
}

// Close stops the background work and waits for it.
func (f *Service) Close() {
	select {
	case <-f.stop:
		return
	default:
	}
	close(f.stop)
	<-f.done
	f.news.close()
}

// NewSale is what a seller gives to start a sale.
type NewSale struct {
	ProductID     int64 `json:"product_id"`
	PriceMinor    int64 `json:"price_minor"`
	Quantity      int64 `json:"quantity"`
	PerBuyerLimit int64 `json:"per_buyer_limit"`
	// CountdownS delays the start (0: now); DurationS is how long it runs.
	CountdownS int64 `json:"countdown_s"`
	DurationS  int64 `json:"duration_s"`
}

// CreateSale starts a flash sale on a product of the stream's shop (seller
// or admin). The stream must be live; the units come out of the product's
// stock at once. The room hears of it with its start and end time.
func (f *Service) CreateSale(ctx context.Context, a commerce.Account, streamID int64, in NewSale) (Sale, error) {
	st, err := f.svc.SellerStream(ctx, a, streamID)
	if err != nil {
		return Sale{}, err
	}
	if st.Status != commerce.StreamLive {
		return Sale{}, ErrStreamNotLive
	}
	prod, err := f.store.ProductByID(ctx, in.ProductID)
	if errors.Is(err, commerce.ErrNotFound) || err == nil && prod.ShopID != st.ShopID {
		return Sale{}, commerce.Invalid("product %d is not a product of this shop", in.ProductID)
	}
	if err != nil {
		return Sale{}, err
	}
	countdown := time.Duration(in.CountdownS) * time.Second
	duration := time.Duration(in.DurationS) * time.Second
	switch {
	case prod.Status != commerce.ProductActive:
		return Sale{}, commerce.Invalid("product %d is not active", prod.ID)
	case in.PriceMinor <= 0 || in.PriceMinor > prod.PriceMinor:
		return Sale{}, commerce.Invalid("price_minor must be above 0 and at most the product's price %d", prod.PriceMinor)
	case in.Quantity <= 0 || in.Quantity > f.cfg.MaxQuantity:
		return Sale{}, commerce.Invalid("quantity must be 1 to %d", f.cfg.MaxQuantity)
	case in.PerBuyerLimit <= 0 || in.PerBuyerLimit > in.Quantity:
		return Sale{}, commerce.Invalid("per_buyer_limit must be 1 to the quantity")
	case countdown < 0 || countdown > f.cfg.MaxCountdown:
		return Sale{}, commerce.Invalid("countdown_s must be 0 to %d", int(f.cfg.MaxCountdown.Seconds()))
	case duration < f.cfg.MinDuration || duration > f.cfg.MaxDuration:
		return Sale{}, commerce.Invalid("duration_s must be %d to %d", int(f.cfg.MinDuration.Seconds()), int(f.cfg.MaxDuration.Seconds()))
	}
	now := f.now().UTC().Truncate(time.Microsecond)
	fs := Sale{
		ShopID: st.ShopID, StreamID: st.ID, ProductID: prod.ID, Title: prod.Title, ImageURL: prod.ImageURL(),
		PriceMinor: in.PriceMinor, ListPriceMinor: prod.PriceMinor, Currency: prod.Currency,
		Quantity: in.Quantity, PerBuyerLimit: in.PerBuyerLimit, StartsAt: now.Add(countdown),
		EndsAt: now.Add(countdown + duration), State: "active", CreatedBy: a.ID, CreatedAt: now,
		StreamStatus: st.Status,
	}
	if err := f.store.CreateFlashSale(ctx, &fs); err != nil {
		return Sale{}, err
	}
	f.svc.StockChanged(fs.ShopID, fs.ProductID)
	if err := f.engine.CreateSale(ctx, f.saleStock(fs, nil)); err != nil {
		// SQL has the sale; the reservation path restores it in the engine.
		f.log.Warn("stock engine did not take the new sale; it is restored on first use", "sale", fs.ID, slog.Any("error", err))
	}
	if f.cfg.SQLBaseline {
		if err := f.store.SetBaselineStock(ctx, fs.ID, fs.Quantity); err != nil {
			return Sale{}, err
		}
	}
	f.cache.drop(fs.ID)
	fs.Remaining = fs.Quantity
	fs.Status = fs.statusAt(now)
	f.news.started(fs)
	return fs, nil
}

func (f *Service) saleStock(fs Sale, sold []Reservation) SaleStock {
	return SaleStock{SaleID: fs.ID, Quantity: fs.Quantity, PerBuyerLimit: fs.PerBuyerLimit,
		KeepUntil: fs.EndsAt.Add(f.cfg.ReservationTTL + f.cfg.KeepFor), Sold: sold}
}

// Sale returns a sale with its live counts.
func (f *Service) Sale(ctx context.Context, id int64) (Sale, error) {
	fs, err := f.store.FlashSaleByID(ctx, id)
	if err != nil {
		return Sale{}, err
	}
	return f.withCounts(ctx, fs), nil
}

// withCounts fills in status and counts: the engine's while the sale is
// live, SQL's once it is reconciled.
func (f *Service) withCounts(ctx context.Context, fs Sale) Sale {
	fs.Status = fs.statusAt(f.now())
	if fs.ReconciledAt != nil {
		fs.Remaining = 0
		return fs
	}
	c, err := f.counts(ctx, fs)
	if err != nil {
		f.log.Warn("stock counts unavailable", "sale", fs.ID, slog.Any("error", err))
		return fs
	}
	fs.Remaining, fs.Reserved, fs.Sold = c.Remaining, c.Reserved, c.Sold
	return fs
}

// StreamSales lists a stream's sales, newest first.
func (f *Service) StreamSales(ctx context.Context, streamID int64) ([]Sale, error) {
	if _, err := f.store.StreamByID(ctx, streamID); err != nil {
		return nil, err
	}
	sales, err := f.store.FlashSalesOfStream(ctx, streamID, 50)
	if err != nil {
		return nil, err
	}
	for i := range sales {
		sales[i] = f.withCounts(ctx, sales[i])
	}
	return sales, nil
}

// ActiveSale returns the stream's sale that is counting down or running,
// or ErrNotFound. Rooms show it in their snapshot.
func (f *Service) ActiveSale(ctx context.Context, streamID int64) (Sale, error) {
	sales, err := f.store.FlashSalesOfStream(ctx, streamID, 1)
	if err != nil {
		return Sale{}, err
	}
	if len(sales) == 0 || sales[0].statusAt(f.now()) == SaleEnded {
		return Sale{}, commerce.ErrNotFound
	}
	return f.withCounts(ctx, sales[0]), nil
}

// StopSale ends a sale early by the seller's hand.
func (f *Service) StopSale(ctx context.Context, a commerce.Account, id int64) (Sale, error) {
	fs, err := f.store.FlashSaleByID(ctx, id)
	if err != nil {
		return Sale{}, err
	}
	if _, err := f.svc.RequireSeller(ctx, a, fs.ShopID); err != nil {
		return Sale{}, err
	}
	if fs.State == "ended" {
		return Sale{}, ErrSaleEnded
	}
	if err := f.endSale(ctx, fs, SaleEndStopped); err != nil {
		return Sale{}, err
	}
	return f.Sale(ctx, id)
}

// endSale ends a sale in SQL and the engine and tells the room, once across
// all nodes: the node whose SQL update wins announces it.
func (f *Service) endSale(ctx context.Context, fs Sale, reason string) error {
	won, err := f.store.EndFlashSale(ctx, fs.ID, reason, f.now())
	if err != nil {
		return fmt.Errorf("end sale %d: %w", fs.ID, err)
	}
	c, err := f.engine.End(ctx, fs.ID)
	if errors.Is(err, ErrStockUnknown) {
		if c, err = f.restore(ctx, fs); err == nil {
			c, err = f.engine.End(ctx, fs.ID)
		}
	}
	if err != nil {
		// SQL says ended; the reservation path checks SQL's state through
		// its cache, and the sweeper retries the engine.
		f.log.Warn("stock engine did not end the sale", "sale", fs.ID, slog.Any("error", err))
	}
	f.cache.drop(fs.ID)
	if won {
		f.log.Info("flash sale ended", "sale", fs.ID, "reason", reason, "sold", c.Sold, "reserved", c.Reserved)
		f.news.ended(fs, reason, c)
	}
	return nil
}

// counts reads a sale's units from the engine, restoring a sale the engine
// lost.
func (f *Service) counts(ctx context.Context, fs Sale) (StockCounts, error) {
	c, err := f.engine.Counts(ctx, fs.ID)
	if errors.Is(err, ErrStockUnknown) {
		return f.restore(ctx, fs)
	}
	return c, err
}

// restore puts a sale the engine does not know (a restarted memory engine,
// a Redis that lost its data) back from SQL: units sold or being paid for
// count as sold, per buyer too. Reservations that were only held are gone;
// their buyers reserve again.
func (f *Service) restore(ctx context.Context, fs Sale) (StockCounts, error) {
	f.restoreMu.Lock()
	defer f.restoreMu.Unlock()
	if c, err := f.engine.Counts(ctx, fs.ID); !errors.Is(err, ErrStockUnknown) {
		return c, err // another request restored it meanwhile
	}
	orders, err := f.store.SoldFlashOrders(ctx, fs.ID)
	if err != nil {
		return StockCounts{}, fmt.Errorf("restore sale %d: %w", fs.ID, err)
	}
	var sold []Reservation
	var units int64
	for _, o := range orders {
		if units+o.Quantity > fs.Quantity {
			f.log.Error("SQL holds more units of a flash sale than it had; restoring the first", "sale", fs.ID, "order", o.OrderID)
			break
		}
		units += o.Quantity
		sold = append(sold, Reservation{SaleID: fs.ID, ID: o.ReservationID, BuyerID: o.BuyerID, Quantity: o.Quantity, State: ReservationSold})
	}
	if err := f.engine.CreateSale(ctx, f.saleStock(fs, sold)); err != nil {
		return StockCounts{}, fmt.Errorf("restore sale %d: %w", fs.ID, err)
	}
	if fs.State == "ended" {
		if _, err := f.engine.End(ctx, fs.ID); err != nil {
			return StockCounts{}, err
		}
	}
	f.log.Warn("restored flash sale stock from SQL", "sale", fs.ID, "sold", units, "orders", len(sold))
	return f.engine.Counts(ctx, fs.ID)
}
