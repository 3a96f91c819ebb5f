package discovery

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/internal/api"
)

// Errors about report ranges.
var (
	// ErrBadRange means the date range is unreadable or ends before it starts.
	ErrBadRange = api.New(400, "bad_range", "from and to must be dates (YYYY-MM-DD) with from on or before to")
	// ErrRangeTooLong means the range covers more than the longest report.
	ErrRangeTooLong = api.New(400, "range_too_long", "the date range is longer than a report may cover")
)

const (
	dayMicros          = int64(24 * time.Hour / time.Microsecond)
	reportProducts     = 100
	reportStreams      = 50
	defaultReportDays  = 30
	reportDateLayout   = "2006-01-02"
	maxReportDateBytes = 40
)

// ReportRange parses a report's from and to: dates (YYYY-MM-DD, UTC, both
// days included) or RFC 3339 times. Empty from and to mean the last 30
// days up to today. The range is [From, To).
func (d *Service) ReportRange(from, to string) (time.Time, time.Time, error) {
	parse := func(s string, end bool) (time.Time, error) {
		s = strings.TrimSpace(s)
		if len(s) > maxReportDateBytes {
			return time.Time{}, ErrBadRange
		}
		if t, err := time.Parse(reportDateLayout, s); err == nil {
			if end {
				t = t.AddDate(0, 0, 1)
			}
			return t, nil
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return time.Time{}, ErrBadRange
		}
		return t.UTC(), nil
	}
	today := d.now().UTC().Truncate(24 * time.Hour)
	end, start := today.AddDate(0, 0, 1), time.Time{}
	var err error
	if to != "" {
		if end, err = parse(to, true); err != nil {
			return time.Time{}, time.Time{}, err
		}
	}
	if from != "" {
		if start, err = parse(from, false); err != nil {
			return time.Time{}, time.Time{}, err
		}
	} else {
		start = end.AddDate(0, 0, -defaultReportDays)
	}
	if !end.After(start) {
		return time.Time{}, time.Time{}, ErrBadRange
	}
	if end.Sub(start) > d.cfg.MaxAnalyticsRange {
		return time.Time{}, time.Time{}, ErrRangeTooLong
	}
	return start, end, nil
}

// DayStats are one UTC day of a report.
type DayStats struct {
	Date string `json:"date"`
	// Viewers watched a stream or viewed or clicked a product that day.
	Viewers      int64   `json:"viewers"`
	WatchSeconds float64 `json:"watch_seconds"`
	Metrics
}

// StreamHeadline is a stream's main numbers in a shop report.
type StreamHeadline struct {
	StreamWindow
	UniqueViewers int64   `json:"unique_viewers"`
	PeakViewers   int64   `json:"peak_viewers"`
	Orders        int64   `json:"orders"`
	RevenueMinor  int64   `json:"revenue_minor"`
	Conversion    float64 `json:"conversion"`
}

// ShopAnalytics is a shop's report over a date range.
type ShopAnalytics struct {
	ShopID   int64     `json:"shop_id"`
	Currency string    `json:"currency"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	// Viewers watched a stream or viewed or clicked a product.
	Viewers       int64   `json:"viewers"`
	StreamViewers int64   `json:"stream_viewers"`
	WatchSeconds  float64 `json:"watch_seconds"`
	Metrics
	Conversion float64          `json:"conversion"`
	Days       []DayStats       `json:"days"`
	Products   []ProductStats   `json:"products"`
	Streams    []StreamHeadline `json:"streams"`
}

var visitKinds = []InteractionKind{InteractionWatch, InteractionView, InteractionClick}

// ShopAnalytics returns the report of a shop over [from, to) to its
// seller (or an admin).
func (d *Service) ShopAnalytics(ctx context.Context, a commerce.Account, shopID int64, from, to time.Time) (ShopAnalytics, error) {
	shop, err := d.svc.RequireSeller(ctx, a, shopID)
	if err != nil {
		return ShopAnalytics{}, err
	}
	out := ShopAnalytics{ShopID: shop.ID, Currency: shop.Currency, From: from, To: to,
		Products: []ProductStats{}, Streams: []StreamHeadline{}}
	f := AnalyticsFilter{ShopID: shop.ID, From: from, To: to}
	days, err := d.daySeries(ctx, f, &out.Metrics)
	if err != nil {
		return out, err
	}
	out.Days = days
	visits := f
	visits.Kinds = visitKinds
	if rows, err := d.store.ActivityCounts(ctx, visits, GroupNone, false); err != nil {
		return out, err
	} else if len(rows) > 0 {
		out.Viewers = rows[0].Viewers
	}
	sessions, err := d.store.WatchSessions(ctx, f)
	if err != nil {
		return out, err
	}
	rolled, err := d.rolledWatch(ctx, f, GroupNone)
	if err != nil {
		return out, err
	}
	aud := audience(sessions, from, to, rolled[0])
	out.StreamViewers, out.WatchSeconds = aud.UniqueViewers, aud.TotalWatchSeconds
	out.Conversion = ratio(float64(out.Orders), float64(out.Viewers))
	if out.Products, err = d.productTable(ctx, f); err != nil {
		return out, err
	}
	out.Products = out.Products[:min(len(out.Products), reportProducts)]
	out.Streams, err = d.streamHeadlines(ctx, shop, from, to)
	return out, err
}

// daySeries returns one DayStats per day of f's range (zeros included, for
// charts) and adds everything to total.
func (d *Service) daySeries(ctx context.Context, f AnalyticsFilter, total *Metrics) ([]DayStats, error) {
	first := f.From.UnixMicro() / dayMicros
	n := int((f.To.UnixMicro()+dayMicros-1)/dayMicros - first)
	days := make([]DayStats, n)
	for i := range days {
		days[i].Date = time.UnixMicro((first + int64(i)) * dayMicros).UTC().Format(reportDateLayout)
	}
	at := func(key int64) *DayStats {
		if i := key - first; i >= 0 && i < int64(n) {
			return &days[i]
		}
		return nil
	}
	rows, err := d.store.ActivityCounts(ctx, f, GroupDay, true)
	if err != nil {
		return nil, err
	}
	for _, c := range rows {
		total.add(c)
		if day := at(c.Key); day != nil {
			day.add(c)
		}
	}
	orders, err := d.store.OrderCounts(ctx, f, GroupDay)
	if err != nil {
		return nil, err
	}
	for _, c := range orders {
		total.addOrders(c)
		if day := at(c.Key); day != nil {
			day.addOrders(c)
		}
	}
	visits := f
	visits.Kinds = visitKinds
	if rows, err = d.store.ActivityCounts(ctx, visits, GroupDay, false); err != nil {
		return nil, err
	}
	for _, c := range rows {
		if day := at(c.Key); day != nil {
			day.Viewers = c.Viewers
		}
	}
	if f.ProductID == 0 {
		sessions, err := d.store.WatchSessions(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, s := range sessions {
			a := max(s.From.UnixMicro(), f.From.UnixMicro())
			b := min(s.To.UnixMicro(), f.To.UnixMicro())
			for a < b {
				end := min(b, (a/dayMicros+1)*dayMicros)
				if day := at(a / dayMicros); day != nil {
					day.WatchSeconds += float64(end-a) / 1e6
				}
				a = end
			}
		}
		rolled, err := d.rolledWatch(ctx, f, GroupDay)
		if err != nil {
			return nil, err
		}
		for key, r := range rolled {
			if day := at(key); day != nil {
				day.WatchSeconds += float64(r.WatchMicros) / 1e6
			}
		}
		for i := range days {
			days[i].WatchSeconds = math.Round(days[i].WatchSeconds*1e3) / 1e3
		}
	}
	return days, nil
}

// streamHeadlines reports the streams that went live in the range.
func (d *Service) streamHeadlines(ctx context.Context, shop commerce.Shop, from, to time.Time) ([]StreamHeadline, error) {
	streams, err := d.store.StreamsStarted(ctx, shop.ID, from, to, reportStreams)
	if err != nil || len(streams) == 0 {
		return []StreamHeadline{}, err
	}
	ids := make([]int64, len(streams))
	for i, st := range streams {
		ids[i] = st.ID
	}
	f := AnalyticsFilter{StreamIDs: ids}
	sessions, err := d.store.WatchSessions(ctx, f)
	if err != nil {
		return nil, err
	}
	orders, err := d.store.OrderCounts(ctx, f, GroupStream)
	if err != nil {
		return nil, err
	}
	rolled, err := d.rolledWatch(ctx, f, GroupStream)
	if err != nil {
		return nil, err
	}
	out := make([]StreamHeadline, 0, len(streams))
	for _, st := range streams {
		h := StreamHeadline{StreamWindow: st}
		var mine []WatchSession
		for _, s := range sessions {
			if s.StreamID == st.ID {
				mine = append(mine, s)
			}
		}
		var wFrom, wTo time.Time
		if st.StartedAt != nil {
			wFrom, wTo = *st.StartedAt, d.now()
			if st.EndedAt != nil {
				wTo = *st.EndedAt
			}
		}
		aud := audience(mine, wFrom, wTo, rolled[st.ID])
		h.UniqueViewers, h.PeakViewers = aud.UniqueViewers, aud.PeakViewers
		for _, c := range orders {
			if c.Key == st.ID {
				h.Orders += c.Orders
				h.RevenueMinor += c.GrossMinor - c.RefundedMinor
			}
		}
		h.Conversion = ratio(float64(h.Orders), float64(h.UniqueViewers))
		out = append(out, h)
	}
	return out, nil
}

// ProductAnalytics is one product's report over a date range.
type ProductAnalytics struct {
	ProductStats
	Currency string     `json:"currency"`
	From     time.Time  `json:"from"`
	To       time.Time  `json:"to"`
	Days     []DayStats `json:"days"`
}

// ProductAnalytics returns a product's report over [from, to) to its
// shop's seller (or an admin).
func (d *Service) ProductAnalytics(ctx context.Context, a commerce.Account, productID int64, from, to time.Time) (ProductAnalytics, error) {
	p, _, err := d.svc.SellerProduct(ctx, a, productID)
	if err != nil {
		return ProductAnalytics{}, err
	}
	out := ProductAnalytics{ProductStats: ProductStats{ProductID: p.ID, Title: p.Title}, Currency: p.Currency, From: from, To: to}
	f := AnalyticsFilter{ShopID: p.ShopID, ProductID: p.ID, From: from, To: to}
	if out.Days, err = d.daySeries(ctx, f, &out.Metrics); err != nil {
		return out, err
	}
	viewers, err := d.productViewers(ctx, f)
	if err != nil {
		return out, err
	}
	out.Viewers = viewers[p.ID]
	out.Conversion = ratio(float64(out.Orders), float64(out.Viewers))
	return out, nil
}
