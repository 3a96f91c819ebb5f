package discovery_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liveshop/liveshop/commerce/discovery"
	"github.com/liveshop/liveshop/commerce/internal/testenv"
	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

// gateStore holds the first batch write until the test opens the gate.
type gateStore struct {
	*sqlstore.DB
	entered chan struct{}
	gate    chan struct{}
}

func (s *gateStore) SaveInteractions(ctx context.Context, b discovery.InteractionBatch) error {
	select {
	case s.entered <- struct{}{}:
		<-s.gate
	default:
	}
	return s.DB.SaveInteractions(ctx, b)
}

func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

func countKind(t *testing.T, db *sqlstore.DB, f discovery.AnalyticsFilter, kind discovery.InteractionKind) (events, quantity int64) {
	t.Helper()
	rows, err := db.ActivityCounts(context.Background(), f, discovery.GroupNone, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Kind == kind {
			events, quantity = events+r.Events, quantity+r.Quantity
		}
	}
	return events, quantity
}

func TestRecorderNeverBlocksAViewer(t *testing.T) {
	db := sqltest.Open(t, sqlstore.SQLite)
	w := newDisc(t, db, discovery.Config{})
	seller, shop := w.shop("gate", "Gate")
	p := w.product(seller, shop.ID, "Mug", 1000, "")
	w.d.Close() // the world's own recorder; this test runs one on a gated store

	store := &gateStore{DB: db, entered: make(chan struct{}), gate: make(chan struct{})}
	reg := prometheus.NewRegistry()
	d, err := discovery.New(discovery.Config{BufferSize: 4, BatchSize: 1, FlushInterval: time.Hour},
		discovery.Deps{Service: w.svc, Store: store, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	view := discovery.Interaction{Kind: discovery.InteractionView, ProductID: p.ID}
	if !d.Record(view) {
		t.Fatal("first interaction refused")
	}
	select {
	case <-store.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the first batch was never written")
	}

	t.Run("a full buffer drops and counts instead of waiting", func(t *testing.T) {
		start := time.Now()
		for i := range 4 {
			if !d.Record(view) {
				t.Fatalf("interaction %d refused while the buffer had room", i+2)
			}
		}
		if d.Record(view) {
			t.Fatal("a sixth interaction was queued into a full buffer of four")
		}
		if time.Since(start) > 2*time.Second {
			t.Fatal("recording waited on the database")
		}
		if got := metricValue(t, reg, "liveshop_interactions_dropped_total"); got != 1 {
			t.Fatalf("dropped counter = %v, want 1", got)
		}
	})

	t.Run("closing writes everything that was queued", func(t *testing.T) {
		close(store.gate)
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if n, _ := countKind(t, db, discovery.AnalyticsFilter{ProductID: p.ID}, discovery.InteractionView); n != 5 {
			t.Fatalf("%d views written, want 5", n)
		}
		if got := metricValue(t, reg, "liveshop_interactions_recorded_total"); got != 5 {
			t.Fatalf("recorded counter = %v, want 5", got)
		}
		if d.Record(view) {
			t.Fatal("a closed recorder queued an interaction")
		}
	})
}

func TestRecorderBatches(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newDisc(t, db, discovery.Config{BatchSize: 3})
		seller, shop := w.shop("batch", "Batch")
		p := w.product(seller, shop.ID, "Mug", 1000, "")
		st := w.stream(seller, shop.ID, "Live", true)
		viewer := w.account("viewer")

		t.Run("a full batch is written without waiting for the interval", func(t *testing.T) {
			w.view(viewer.ID, p, 3)
			testenv.Eventually(t, "a full batch to be written", func() bool {
				n, _ := countKind(t, db, discovery.AnalyticsFilter{ProductID: p.ID}, discovery.InteractionView)
				return n == 3
			})
		})

		t.Run("likes of one viewer are summed into one row", func(t *testing.T) {
			for _, n := range []int64{2, 5, 1} {
				w.record(discovery.Interaction{Kind: discovery.InteractionLike, AccountID: viewer.ID, StreamID: st.ID, Quantity: n})
			}
			w.flush()
			events, taps := countKind(t, db, discovery.AnalyticsFilter{StreamID: st.ID}, discovery.InteractionLike)
			if events != 1 || taps != 8 {
				t.Fatalf("%d like rows with %d taps, want 1 row with 8", events, taps)
			}
		})

		t.Run("interactions about unknown things are dropped, shops are filled in", func(t *testing.T) {
			w.record(
				discovery.Interaction{Kind: discovery.InteractionView, ProductID: 987654},
				discovery.Interaction{Kind: discovery.InteractionComment, StreamID: 987654},
				discovery.Interaction{Kind: discovery.InteractionClick, ProductID: p.ID, StreamID: 987654},
			)
			w.flush()
			rows, err := db.ActivityCounts(w.ctx, discovery.AnalyticsFilter{}, discovery.GroupProduct, true)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if r.Key == 987654 {
					t.Errorf("an interaction with an unknown product was kept: %+v", r)
				}
			}
			if n, _ := countKind(t, db, discovery.AnalyticsFilter{ShopID: shop.ID, ProductID: p.ID}, discovery.InteractionClick); n != 1 {
				t.Errorf("the click (with its unknown stream forgotten) was not kept under its shop: %d", n)
			}
			if n, _ := countKind(t, db, discovery.AnalyticsFilter{StreamID: 987654}, discovery.InteractionComment); n != 0 {
				t.Errorf("a comment in an unknown stream was kept")
			}
		})
	})
}
