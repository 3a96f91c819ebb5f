package flash

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// StockMetrics counts what happens to flash-sale stock, so an operator sees
// a sale's demand (reservations and refusals), how many buyers dropped out
// (expired, released), what became orders, and whether SQL and the engine
// ever disagreed.
type StockMetrics struct {
	reservations prometheus.Counter
	refused      *prometheus.CounterVec
	expired      prometheus.Counter
	released     prometheus.Counter
	orders       prometheus.Counter
	reconciled   *prometheus.CounterVec
	difference   prometheus.Counter
}

// NewStockMetrics registers the flash-sale metrics on reg.
func NewStockMetrics(reg prometheus.Registerer) *StockMetrics {
	m := &StockMetrics{
		reservations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveshop_flashsale_reservations_total",
			Help: "Flash-sale reservations made.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveshop_flashsale_reservations_refused_total",
			Help: "Flash-sale reservations refused, by reason (sold_out, limit, ended, not_started).",
		}, []string{"reason"}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveshop_flashsale_reservations_expired_total",
			Help: "Flash-sale reservations that lapsed unpaid and gave their units back.",
		}),
		released: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveshop_flashsale_reservations_released_total",
			Help: "Flash-sale reservations released at once (cancelled, payment declined).",
		}),
		orders: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveshop_flashsale_orders_total",
			Help: "Orders created from flash-sale reservations.",
		}),
		reconciled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveshop_flashsale_reconciliations_total",
			Help: "Flash sales reconciled with SQL at their end, by outcome (match, corrected).",
		}, []string{"outcome"}),
		difference: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "liveshop_flashsale_reconciliation_difference_units_total",
			Help: "Units by which the stock engine's sold count differed from SQL at sale end, summed (absolute).",
		}),
	}
	for _, reason := range []string{"sold_out", "limit", "ended", "not_started"} {
		m.refused.WithLabelValues(reason)
	}
	m.reconciled.WithLabelValues("match")
	m.reconciled.WithLabelValues("corrected")
	reg.MustRegister(m.reservations, m.refused, m.expired, m.released, m.orders, m.reconciled, m.difference)
	return m
}

// Refused counts a reservation refused before it reached the engine (the
// sale has not started yet, or has ended by the clock).
func (m *StockMetrics) Refused(reason string) { m.refused.WithLabelValues(reason).Inc() }

// OrderCreated counts an order created from a reservation.
func (m *StockMetrics) OrderCreated() { m.orders.Inc() }

// Reconciled records the outcome of one sale's reconciliation: diff is
// engine sold minus SQL sold.
func (m *StockMetrics) Reconciled(diff int64) {
	if diff == 0 {
		m.reconciled.WithLabelValues("match").Inc()
		return
	}
	m.reconciled.WithLabelValues("corrected").Inc()
	if diff < 0 {
		diff = -diff
	}
	m.difference.Add(float64(diff))
}

// InstrumentStock wraps an engine so that its outcomes are counted in m;
// both implementations get the same metrics from one place.
func InstrumentStock(e StockEngine, m *StockMetrics) StockEngine {
	return &instrumentedStock{StockEngine: e, m: m}
}

type instrumentedStock struct {
	StockEngine
	m *StockMetrics
}

func (s *instrumentedStock) Reserve(ctx context.Context, saleID, buyerID, quantity int64, ttl time.Duration) (Reservation, StockCounts, error) {
	r, c, err := s.StockEngine.Reserve(ctx, saleID, buyerID, quantity, ttl)
	switch {
	case err == nil:
		s.m.reservations.Inc()
	case errors.Is(err, ErrSoldOut):
		s.m.refused.WithLabelValues("sold_out").Inc()
	case errors.Is(err, ErrBuyerLimit):
		s.m.refused.WithLabelValues("limit").Inc()
	case errors.Is(err, ErrSaleEnded):
		s.m.refused.WithLabelValues("ended").Inc()
	}
	return r, c, err
}

func (s *instrumentedStock) Release(ctx context.Context, saleID, reservationID int64) (Reservation, bool, StockCounts, error) {
	r, released, c, err := s.StockEngine.Release(ctx, saleID, reservationID)
	if released {
		s.m.released.Inc()
	}
	return r, released, c, err
}

func (s *instrumentedStock) ExpireDue(ctx context.Context, saleID int64, max int) ([]Reservation, StockCounts, error) {
	rs, c, err := s.StockEngine.ExpireDue(ctx, saleID, max)
	s.m.expired.Add(float64(len(rs)))
	return rs, c, err
}
