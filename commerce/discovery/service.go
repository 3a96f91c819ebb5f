package discovery

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/prometheus/client_golang/prometheus"
)

// Config tunes discovery and engagement; New fills zero
// fields with defaults.
type Config struct {
	// BufferSize bounds the interactions waiting to be written (default
	// 16384). When it is full, new interactions are dropped and counted
	// (liveshop_interactions_dropped_total): recording never blocks a viewer.
	BufferSize int
	// BatchSize is the most interactions written in one transaction
	// (default 1000); FlushInterval is the longest an interaction waits
	// (default 1s).
	BatchSize     int
	FlushInterval time.Duration

	// PopularityHalfLife is how fast item popularity fades (default 3
	// days); AffinityHalfLife how fast a viewer's taste for a hashtag
	// fades (14 days); PairHalfLife how fast co-occurrence fades (30 days).
	PopularityHalfLife time.Duration
	AffinityHalfLife   time.Duration
	PairHalfLife       time.Duration
	// WatchHeartbeat is how often each node writes its open watch
	// sessions, so reports count current viewers (default 30s).
	WatchHeartbeat time.Duration
	// AttributionWindow is how long after joining a stream's room or
	// clicking one of its products an add-to-cart or order of that shop is
	// credited to the stream, when the order does not name one (default
	// 24h).
	AttributionWindow time.Duration

	// ExplorationRate is the share of feed slots given to products and
	// streams of new sellers (default 0.1; negative turns exploration off).
	ExplorationRate float64
	// NewSellerAge is how young a shop is to count as a new seller (30 days).
	NewSellerAge time.Duration
	// FeedSize is the most items one feed ranks (default 200).
	FeedSize int
	// CandidateTTL is how long shared candidate lists (live streams,
	// popular items, items of a hashtag, shop or neighbour) are reused
	// across viewers (default 3s).
	CandidateTTL time.Duration

	// ClientEventLimit caps POST /api/interactions requests per caller per
	// ClientEventWindow (default 120 per minute; -1: no limit).
	ClientEventLimit  int
	ClientEventWindow time.Duration
	// ShareLimitAccount and ShareLimitIP cap the share links one account
	// and one client address make per minute, on every node together
	// (defaults 30 and 120; -1: no limit). Anonymous callers count against
	// their address alone.
	ShareLimitAccount int
	ShareLimitIP      int
	// MaxAnalyticsRange is the longest date range a shop report covers
	// (default 366 days).
	MaxAnalyticsRange time.Duration
	// InteractionRetention is how long the interaction log keeps its rows
	// (default 180 days); older days are rolled up for reports and purged
	// (see analytics_retention.go).
	InteractionRetention time.Duration
	// MaxAlertSockets caps notification sockets per node (default 20000);
	// one account may hold 16.
	MaxAlertSockets int

	// Now is the clock (time.Now by default); tests set it.
	Now func() time.Time
}

func (c *Config) fillDefaults() {
	discoveryDefault(&c.BufferSize, 16384)
	discoveryDefault(&c.BatchSize, 1000)
	discoveryDefault(&c.FlushInterval, time.Second)
	discoveryDefault(&c.PopularityHalfLife, 72*time.Hour)
	discoveryDefault(&c.AffinityHalfLife, 14*24*time.Hour)
	discoveryDefault(&c.PairHalfLife, 30*24*time.Hour)
	discoveryDefault(&c.AttributionWindow, 24*time.Hour)
	discoveryDefault(&c.WatchHeartbeat, 30*time.Second)
	discoveryDefault(&c.ExplorationRate, 0.1)
	if c.ExplorationRate < 0 {
		c.ExplorationRate = 0
	}
	c.ExplorationRate = min(c.ExplorationRate, 0.5)
	discoveryDefault(&c.NewSellerAge, 30*24*time.Hour)
	discoveryDefault(&c.FeedSize, 200)
	discoveryDefault(&c.CandidateTTL, 3*time.Second)
	discoveryDefault(&c.ClientEventLimit, 120)
	discoveryDefault(&c.ClientEventWindow, time.Minute)
	discoveryDefault(&c.ShareLimitAccount, 30)
	discoveryDefault(&c.ShareLimitIP, 120)
	discoveryDefault(&c.MaxAnalyticsRange, 366*24*time.Hour)
	discoveryDefault(&c.MaxAlertSockets, 20000)
	discoveryDefault(&c.InteractionRetention, 180*24*time.Hour)
	if c.Now == nil {
		c.Now = time.Now
	}
}

func discoveryDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

// Store is what discovery keeps in the system of record.
type Store interface {
	InteractionStore
	FollowStore
	FeedStore
	SearchStore
	AnalyticsStore
	RetentionStore
}

// Service is discovery and engagement: the interaction recorder, follows
// and go-live alerts, hashtags and search, the For You feed, seller
// analytics and share links. It works beside the commerce Service, whose
// shops, products and streams it ranks and whose roles it checks.
type Service struct {
	svc   *commerce.Service
	store Store
	bus   AlertBus
	lim   commerce.Limiter
	cfg   Config
	log   *slog.Logger
	m     *discoveryMetrics

	in       chan Interaction
	flushReq chan chan error
	quit     chan struct{}
	done     chan struct{}
	closed   atomic.Bool

	feed    *feedSources
	alerts  *alertHub
	watches *openWatches
	unsub   func()
	bg      sync.WaitGroup
}

// Deps are the collaborators of New. Service and Store
// are required; Alerts defaults to the in-process bus (one node), Limiter
// to no limit on client-reported interactions.
type Deps struct {
	Service    *commerce.Service
	Store      Store
	Alerts     AlertBus
	Limiter    commerce.Limiter
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// New starts the recorder and the go-live alert fan-out; Close stops it
// all. The Service is the commerce listener of order events and activity
// (add-to-carts, go-lives): cmd/liveshop connects it to the core's Events.
func New(cfg Config, d Deps) (*Service, error) {
	cfg.fillDefaults()
	if d.Service == nil || d.Store == nil {
		return nil, errors.New("discovery: New needs a Service and a Store")
	}
	if d.Alerts == nil {
		d.Alerts = NewMemoryAlerts()
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Registerer == nil {
		d.Registerer = prometheus.NewRegistry()
	}
	m, err := newDiscoveryMetrics(d.Registerer)
	if err != nil {
		return nil, fmt.Errorf("discovery metrics: %w", err)
	}
	dc := &Service{
		svc: d.Service, store: d.Store, bus: d.Alerts, lim: d.Limiter, cfg: cfg, log: d.Logger, m: m,
		in:       make(chan Interaction, cfg.BufferSize),
		flushReq: make(chan chan error),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	dc.feed = newFeedSources(dc)
	dc.watches = newOpenWatches()
	dc.alerts = newAlertHub(dc)
	unsub, err := dc.bus.Subscribe(dc.alerts.deliver)
	if err != nil {
		return nil, fmt.Errorf("discovery: subscribe to go-live alerts: %w", err)
	}
	dc.unsub = unsub
	go dc.recordLoop()
	dc.bg.Go(dc.alerts.run)
	dc.bg.Go(dc.feed.refreshLoop)
	return dc, nil
}

// Config returns the effective configuration, defaults filled in.
func (d *Service) Config() Config { return d.cfg }

func (d *Service) now() time.Time { return d.cfg.Now() }

// Close closes notification sockets and writes
// the interactions still buffered (waiting at most 10 seconds).
func (d *Service) Close() error {
	if !d.closed.CompareAndSwap(false, true) {
		return nil
	}
	d.unsub()
	close(d.quit)
	d.alerts.close()
	d.bg.Wait()
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.log.Warn("interactions still being written at shutdown")
	}
	return nil
}

// AddedToCart implements commerce.Activity: it records the add-to-cart.
func (d *Service) AddedToCart(a commerce.Account, p commerce.Product, quantity int64) {
	d.Record(Interaction{Kind: InteractionCart, At: d.now(), AccountID: a.ID, ShopID: p.ShopID,
		ProductID: p.ID, Quantity: quantity})
}

// discoveryMetrics are discovery's Prometheus series.
type discoveryMetrics struct {
	recorded    *prometheus.CounterVec
	dropped     prometheus.Counter
	failed      prometheus.Counter
	flushTime   prometheus.Histogram
	feedTime    prometheus.Histogram
	alertsSent  prometheus.Counter
	alertConns  prometheus.Gauge
	alertDrops  prometheus.Counter
	clientLimit prometheus.Counter
}

func newDiscoveryMetrics(reg prometheus.Registerer) (*discoveryMetrics, error) {
	m := &discoveryMetrics{
		recorded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveshop_interactions_recorded_total", Help: "Interactions written to the log, by kind."}, []string{"kind"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveshop_interactions_dropped_total", Help: "Interactions dropped because the recorder's buffer was full."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveshop_interactions_failed_total", Help: "Interactions lost because their batch could not be written."}),
		flushTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "liveshop_interactions_flush_seconds", Help: "Time to write one batch of interactions.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}),
		feedTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "liveshop_feed_rank_seconds", Help: "Time to rank one For You feed.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25}}),
		alertsSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveshop_follow_alerts_sent_total", Help: "Go-live alerts delivered to notification sockets."}),
		alertConns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "liveshop_follow_alert_sockets", Help: "Open notification sockets on this node."}),
		alertDrops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveshop_follow_alerts_dropped_total", Help: "Go-live alerts not delivered because a socket was too slow."}),
		clientLimit: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveshop_client_interactions_limited_total", Help: "POST /api/interactions requests refused by the rate limit."}),
	}
	for _, c := range []prometheus.Collector{m.recorded, m.dropped, m.failed, m.flushTime, m.feedTime,
		m.alertsSent, m.alertConns, m.alertDrops, m.clientLimit} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
