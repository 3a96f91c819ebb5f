package discovery

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"
)

// Reports as CSV are one "long" table, the same for every report, that a
// spreadsheet pivots without help:
//
//	scope,date,stream_id,product_id,title,metric,value
//	stream,,42,,Glaze night,peak_viewers,2
//	product,,42,7,Mug,revenue_minor,3000
//	day,2026-11-01,,,,orders,3
//
// Metric names are the JSON field names. Text cells that a spreadsheet
// would read as a formula are prefixed with an apostrophe.
var csvHeader = []string{"scope", "date", "stream_id", "product_id", "title", "metric", "value"}

type csvReport struct {
	w   *csv.Writer
	err error
}

func newCSVReport(w io.Writer) *csvReport {
	r := &csvReport{w: csv.NewWriter(w)}
	r.err = r.w.Write(csvHeader)
	return r
}

// safeCell defuses spreadsheet formulas.
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func idCell(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

type csvMetric struct {
	name  string
	value string
}

func intMetric(name string, v int64) csvMetric { return csvMetric{name, strconv.FormatInt(v, 10)} }

func floatMetric(name string, v float64) csvMetric {
	return csvMetric{name, strconv.FormatFloat(v, 'f', -1, 64)}
}

func (m Metrics) csv() []csvMetric {
	return []csvMetric{
		intMetric("product_views", m.ProductViews), intMetric("product_clicks", m.ProductClicks),
		intMetric("add_to_carts", m.AddToCarts), intMetric("cart_units", m.CartUnits),
		intMetric("orders", m.Orders), intMetric("units_sold", m.UnitsSold),
		intMetric("revenue_minor", m.RevenueMinor), intMetric("refunds", m.Refunds),
		intMetric("refunded_minor", m.RefundedMinor), intMetric("likes", m.Likes),
		intMetric("comments", m.Comments), intMetric("shares", m.Shares),
		intMetric("share_opens", m.ShareOpens), intMetric("follows", m.Follows),
	}
}

func (v ViewerStats) csv() []csvMetric {
	return []csvMetric{
		intMetric("unique_viewers", v.UniqueViewers), intMetric("peak_viewers", v.PeakViewers),
		floatMetric("avg_viewers", v.AvgViewers), floatMetric("total_watch_seconds", v.TotalWatchSeconds),
		floatMetric("avg_watch_seconds", v.AvgWatchSeconds),
	}
}

func (r *csvReport) rows(scope, date string, stream, product int64, title string, ms []csvMetric) {
	for _, m := range ms {
		if r.err != nil {
			return
		}
		r.err = r.w.Write([]string{scope, date, idCell(stream), idCell(product), safeCell(title), m.name, m.value})
	}
}

func (r *csvReport) products(stream int64, ps []ProductStats) {
	for _, p := range ps {
		ms := append([]csvMetric{intMetric("viewers", p.Viewers)}, p.Metrics.csv()...)
		r.rows("product", "", stream, p.ProductID, p.Title, append(ms, floatMetric("conversion", p.Conversion)))
	}
}

func (r *csvReport) days(product int64, ds []DayStats) {
	for _, d := range ds {
		ms := []csvMetric{intMetric("viewers", d.Viewers), floatMetric("watch_seconds", d.WatchSeconds)}
		r.rows("day", d.Date, 0, product, "", append(ms, d.Metrics.csv()...))
	}
}

func (r *csvReport) flush() error {
	if r.err != nil {
		return r.err
	}
	r.w.Flush()
	return r.w.Error()
}

// WriteCSV writes the stream report.
func (s StreamAnalytics) WriteCSV(w io.Writer) error {
	r := newCSVReport(w)
	ms := append([]csvMetric{intMetric("current_viewers", s.CurrentViewers)}, s.ViewerStats.csv()...)
	ms = append(ms, s.Metrics.csv()...)
	ms = append(ms, floatMetric("conversion", s.Conversion))
	if s.StartedAt != nil {
		ms = append(ms, csvMetric{"started_at", s.StartedAt.UTC().Format(time.RFC3339)})
	}
	if s.EndedAt != nil {
		ms = append(ms, csvMetric{"ended_at", s.EndedAt.UTC().Format(time.RFC3339)})
	}
	r.rows("stream", "", s.ID, 0, s.Title, ms)
	r.products(s.ID, s.Products)
	return r.flush()
}

// WriteCSV writes the shop report.
func (s ShopAnalytics) WriteCSV(w io.Writer) error {
	r := newCSVReport(w)
	ms := []csvMetric{intMetric("viewers", s.Viewers), intMetric("stream_viewers", s.StreamViewers),
		floatMetric("watch_seconds", s.WatchSeconds)}
	ms = append(ms, s.Metrics.csv()...)
	r.rows("total", "", 0, 0, "", append(ms, floatMetric("conversion", s.Conversion)))
	r.days(0, s.Days)
	r.products(0, s.Products)
	for _, h := range s.Streams {
		r.rows("stream", "", h.ID, 0, h.Title, []csvMetric{intMetric("unique_viewers", h.UniqueViewers),
			intMetric("peak_viewers", h.PeakViewers), intMetric("orders", h.Orders),
			intMetric("revenue_minor", h.RevenueMinor), floatMetric("conversion", h.Conversion)})
	}
	return r.flush()
}

// WriteCSV writes the product report.
func (p ProductAnalytics) WriteCSV(w io.Writer) error {
	r := newCSVReport(w)
	r.products(0, []ProductStats{p.ProductStats})
	r.days(p.ProductID, p.Days)
	return r.flush()
}
