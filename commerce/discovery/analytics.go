package discovery

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

// Seller analytics
//
// Orders, units sold and revenue come from the orders tables, the system
// of record; everything else (viewers, watch time, views, clicks, carts,
// likes, comments, shares, follows) from the interaction log. The
// dashboard, the JSON and the CSV show the same numbers.
//
//   - Viewers of a stream are its room sessions, clipped to the time it was
//     live (from started_at to ended_at, or now while live; a stream never
//     live is not clipped). Unique viewers count signed-in accounts once and
//     each anonymous session once. Peak concurrent viewers is the most
//     sessions open at one instant; average concurrent viewers is the total
//     watch time divided by the live time; average watch time is the total
//     divided by the unique viewers.
//   - Orders are the orders whose payment was captured, counted on the day
//     they were placed: an order cancelled before payment (declined,
//     failed, abandoned) never counts, and a refunded order still counts
//     as an order, in Refunds too. Revenue is net: what was captured minus
//     what was refunded, in the shop's currency (for a product, the price
//     of its lines, before an order-wide coupon). Units sold are the units
//     of those orders.
//   - Orders and add-to-carts count for a stream when the order names it
//     (checkout from the watch page), or else when the buyer joined the
//     stream's room or clicked one of its cards within AttributionWindow
//     before (order_streams keeps that credit).
//   - Conversion is orders / unique viewers, for a stream, a shop and a
//     product alike; a product's viewers are the people who viewed or
//     clicked it.

// AnalyticsFilter selects interactions for a report; zero fields do not
// filter.
type AnalyticsFilter struct {
	ShopID    int64
	StreamID  int64
	StreamIDs []int64
	ProductID int64
	From, To  time.Time
	Kinds     []InteractionKind
}

// Grouping of ActivityCounts rows.
const (
	GroupNone = iota
	GroupDay
	GroupProduct
	GroupStream
)

// ActivityCount is one row of grouped interaction counts.
type ActivityCount struct {
	// Key is the group: a day number (days since 1970-01-01 UTC), a
	// product or a stream ID; 0 without grouping.
	Key  int64
	Kind InteractionKind
	// Events counts rows; Viewers distinct signed-in accounts plus
	// anonymous rows; Orders distinct orders.
	Events, Viewers, Orders, Quantity, AmountMinor int64
}

// OrderCount is one group of orders with a captured payment. With a
// product (grouped or filtered by one), Units and the amounts are those of
// its lines; otherwise of whole orders (what was captured).
type OrderCount struct {
	Key                    int64
	Orders, Units          int64
	GrossMinor             int64
	Refunds, RefundedMinor int64
}

// WatchSession is one room session.
type WatchSession struct {
	StreamID  int64
	AccountID int64
	From, To  time.Time
	// Open: still open (or its node died) when last seen, at To.
	Open bool
}

// StreamWindow is when a stream was live.
type StreamWindow struct {
	ID        int64      `json:"stream_id"`
	Title     string     `json:"title"`
	Status    string     `json:"status"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
}

// AnalyticsStore reads the interaction log for reports.
type AnalyticsStore interface {
	// ActivityCounts groups the matching interactions by group and, when
	// byKind, by kind.
	ActivityCounts(ctx context.Context, f AnalyticsFilter, group int, byKind bool) ([]ActivityCount, error)
	// WatchSessions returns the matching watch sessions.
	WatchSessions(ctx context.Context, f AnalyticsFilter) ([]WatchSession, error)
	// OrderCounts groups the orders with a captured payment that match f
	// (ShopID; StreamID or StreamIDs: the stream credited; ProductID; From
	// and To: when the order was placed) by group (GroupNone, GroupDay,
	// GroupProduct or GroupStream). Kinds is ignored.
	OrderCounts(ctx context.Context, f AnalyticsFilter, group int) ([]OrderCount, error)
	// ProductTitles names products.
	ProductTitles(ctx context.Context, ids []int64) (map[int64]string, error)
	// StreamsStarted lists a shop's streams that went live between from
	// and to, newest first.
	StreamsStarted(ctx context.Context, shopID int64, from, to time.Time, limit int) ([]StreamWindow, error)
}

// Metrics are the counts every report shares.
type Metrics struct {
	ProductViews  int64 `json:"product_views"`
	ProductClicks int64 `json:"product_clicks"`
	AddToCarts    int64 `json:"add_to_carts"`
	CartUnits     int64 `json:"cart_units"`
	Orders        int64 `json:"orders"`
	UnitsSold     int64 `json:"units_sold"`
	RevenueMinor  int64 `json:"revenue_minor"`
	Refunds       int64 `json:"refunds"`
	RefundedMinor int64 `json:"refunded_minor"`
	Likes         int64 `json:"likes"`
	Comments      int64 `json:"comments"`
	Shares        int64 `json:"shares"`
	ShareOpens    int64 `json:"share_opens"`
	Follows       int64 `json:"follows"`
}

// add counts one row of interactions; purchases are ignored (orders come
// from addOrders).
func (m *Metrics) add(c ActivityCount) {
	switch c.Kind {
	case InteractionView:
		m.ProductViews += c.Events
	case InteractionClick:
		m.ProductClicks += c.Events
	case InteractionCart:
		m.AddToCarts += c.Events
		m.CartUnits += c.Quantity
	case InteractionLike:
		m.Likes += c.Quantity
	case InteractionComment:
		m.Comments += c.Events
	case InteractionShare:
		m.Shares += c.Events
	case InteractionShareOpen:
		m.ShareOpens += c.Events
	case InteractionFollow:
		m.Follows += c.Events
	}
}

// addOrders counts a group of orders.
func (m *Metrics) addOrders(c OrderCount) {
	m.Orders += c.Orders
	m.UnitsSold += c.Units
	m.RevenueMinor += c.GrossMinor - c.RefundedMinor
	m.Refunds += c.Refunds
	m.RefundedMinor += c.RefundedMinor
}

// ViewerStats describe a stream's (or a period's) audience.
type ViewerStats struct {
	UniqueViewers     int64   `json:"unique_viewers"`
	PeakViewers       int64   `json:"peak_viewers"`
	AvgViewers        float64 `json:"avg_viewers"`
	TotalWatchSeconds float64 `json:"total_watch_seconds"`
	AvgWatchSeconds   float64 `json:"avg_watch_seconds"`
}

// ProductStats are one product's numbers in a report.
type ProductStats struct {
	ProductID int64  `json:"product_id"`
	Title     string `json:"title"`
	// Viewers viewed or clicked the product.
	Viewers int64 `json:"viewers"`
	Metrics
	Conversion float64 `json:"conversion"`
}

// StreamAnalytics is the report of one stream.
type StreamAnalytics struct {
	StreamWindow
	ShopID   int64  `json:"shop_id"`
	Currency string `json:"currency"`
	// CurrentViewers of a live stream are its sessions open at their
	// nodes' last heartbeat.
	CurrentViewers int64 `json:"current_viewers"`
	ViewerStats
	Metrics
	Conversion float64        `json:"conversion"`
	Products   []ProductStats `json:"products"`
}

// ratio is a/b rounded to 4 decimals, 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(a/b*1e4) / 1e4
}

// audience computes viewer stats from sessions clipped to [from, to) (a
// zero bound does not clip) and the rolled-up days' watch time. Averages
// are taken over [from, to), or the sessions' own span when a bound is
// zero.
func audience(sessions []WatchSession, from, to time.Time, rolled WatchRollup) ViewerStats {
	type edge struct {
		at    int64
		delta int
	}
	var edges []edge
	var total int64
	accounts := map[int64]bool{}
	var anon int64
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, s := range sessions {
		a, b := s.From.UnixMicro(), s.To.UnixMicro()
		if !from.IsZero() {
			a = max(a, from.UnixMicro())
		}
		if !to.IsZero() {
			b = min(b, to.UnixMicro())
		}
		if b <= a {
			continue
		}
		edges = append(edges, edge{a, 1}, edge{b, -1})
		total += b - a
		lo, hi = min(lo, a), max(hi, b)
		if s.AccountID != 0 {
			accounts[s.AccountID] = true
		} else {
			anon++
		}
	}
	slices.SortFunc(edges, func(x, y edge) int { return cmp.Or(cmp.Compare(x.at, y.at), cmp.Compare(x.delta, y.delta)) })
	var cur, peak int64
	for _, e := range edges {
		cur += int64(e.delta)
		peak = max(peak, cur)
	}
	span := float64(0)
	switch {
	case !from.IsZero() && !to.IsZero():
		span = float64(to.UnixMicro() - from.UnixMicro())
	case len(edges) > 0:
		span = float64(hi - lo)
	}
	total += rolled.WatchMicros
	peak = max(peak, rolled.Peak)
	unique := int64(len(accounts)) + anon + rolled.Viewers
	return ViewerStats{
		UniqueViewers:     unique,
		PeakViewers:       peak,
		AvgViewers:        ratio(float64(total), span),
		TotalWatchSeconds: math.Round(float64(total)/1e3) / 1e3,
		AvgWatchSeconds:   ratio(float64(total)/1e6, float64(unique)),
	}
}

// productTable reports the products of f's interactions and orders, best
// sellers first, then the most clicked.
func (d *Service) productTable(ctx context.Context, f AnalyticsFilter) ([]ProductStats, error) {
	rows, err := d.store.ActivityCounts(ctx, f, GroupProduct, true)
	if err != nil {
		return nil, err
	}
	orders, err := d.store.OrderCounts(ctx, f, GroupProduct)
	if err != nil {
		return nil, err
	}
	viewers, err := d.productViewers(ctx, f)
	if err != nil {
		return nil, err
	}
	byID := map[int64]*ProductStats{}
	product := func(id int64) *ProductStats {
		p := byID[id]
		if p == nil {
			p = &ProductStats{ProductID: id}
			byID[id] = p
		}
		return p
	}
	for _, c := range rows {
		if c.Key != 0 {
			product(c.Key).add(c)
		}
	}
	for _, c := range orders {
		product(c.Key).addOrders(c)
	}
	ids := make([]int64, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	titles, err := d.store.ProductTitles(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]ProductStats, 0, len(byID))
	for id, p := range byID {
		p.Title = titles[id]
		p.Viewers = viewers[id]
		p.Conversion = ratio(float64(p.Orders), float64(p.Viewers))
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b ProductStats) int {
		return cmp.Or(cmp.Compare(b.RevenueMinor, a.RevenueMinor), cmp.Compare(b.ProductClicks, a.ProductClicks),
			cmp.Compare(a.ProductID, b.ProductID))
	})
	return out, nil
}

// productViewers counts, per product, the people who viewed or clicked it.
func (d *Service) productViewers(ctx context.Context, f AnalyticsFilter) (map[int64]int64, error) {
	f.Kinds = []InteractionKind{InteractionView, InteractionClick}
	rows, err := d.store.ActivityCounts(ctx, f, GroupProduct, false)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]int64, len(rows))
	for _, r := range rows {
		out[r.Key] = r.Viewers
	}
	return out, nil
}

// StreamAnalytics returns a stream's report to its shop's seller (or an
// admin); anyone else gets 403 (401 when not signed in).
func (d *Service) StreamAnalytics(ctx context.Context, a commerce.Account, streamID int64) (StreamAnalytics, error) {
	st, err := d.svc.Stream(ctx, streamID)
	if err != nil {
		return StreamAnalytics{}, err
	}
	shop, err := d.svc.RequireSeller(ctx, a, st.ShopID)
	if err != nil {
		return StreamAnalytics{}, err
	}
	return d.streamReport(ctx, st, shop.Currency, true)
}

func (d *Service) streamReport(ctx context.Context, st commerce.Stream, currency string, products bool) (StreamAnalytics, error) {
	out := StreamAnalytics{
		StreamWindow: StreamWindow{ID: st.ID, Title: st.Title, Status: st.Status, StartedAt: st.StartedAt, EndedAt: st.EndedAt},
		ShopID:       st.ShopID, Currency: currency, Products: []ProductStats{},
	}
	f := AnalyticsFilter{StreamID: st.ID}
	sessions, err := d.store.WatchSessions(ctx, f)
	if err != nil {
		return out, err
	}
	var from, to time.Time
	if st.StartedAt != nil {
		from, to = *st.StartedAt, d.now()
		if st.EndedAt != nil {
			to = *st.EndedAt
		}
	}
	rolled, err := d.rolledWatch(ctx, f, GroupNone)
	if err != nil {
		return out, err
	}
	out.ViewerStats = audience(sessions, from, to, rolled[0])
	if st.Status == commerce.StreamLive {
		seen := d.now().Add(-2 * d.cfg.WatchHeartbeat)
		for _, s := range sessions {
			if s.Open && !s.To.Before(seen) {
				out.CurrentViewers++
			}
		}
	}
	if err := d.totals(ctx, f, &out.Metrics); err != nil {
		return out, err
	}
	out.Conversion = ratio(float64(out.Orders), float64(out.UniqueViewers))
	if !products {
		return out, nil
	}
	out.Products, err = d.productTable(ctx, f)
	return out, err
}

// rolledWatch returns the watch time of rolled-up days by group key (key
// 0 without grouping).
func (d *Service) rolledWatch(ctx context.Context, f AnalyticsFilter, group int) (map[int64]WatchRollup, error) {
	rows, err := d.store.RolledWatch(ctx, f, group)
	out := make(map[int64]WatchRollup, len(rows))
	for _, r := range rows {
		out[r.Key] = r
	}
	return out, err
}

// totals adds f's interactions and orders to m.
func (d *Service) totals(ctx context.Context, f AnalyticsFilter, m *Metrics) error {
	byKind, err := d.store.ActivityCounts(ctx, f, GroupNone, true)
	if err != nil {
		return err
	}
	for _, c := range byKind {
		m.add(c)
	}
	orders, err := d.store.OrderCounts(ctx, f, GroupNone)
	for _, c := range orders {
		m.addOrders(c)
	}
	return err
}
