package discovery_test

import (
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce/discovery"
	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

// TestOpenWatchSessionsCountWhileLive opens two sessions of a live
// stream, and checks that the report counts them as current viewers and
// as far as the last heartbeat (on another node too: it reads only the database), that a
// session that ends is counted once, and that a session whose node died
// stays counted as far as its last heartbeat.
func TestOpenWatchSessionsCountWhileLive(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newDisc(t, db, discovery.Config{})
		seller, shop := w.shop("now", "Now")
		st := w.stream(seller, shop.ID, "On air", true)
		t0 := *st.StartedAt
		ann := w.account("ann")
		report := func(d *discovery.Service, current, unique, peak int64, watch float64) {
			t.Helper()
			r, err := d.StreamAnalytics(w.ctx, seller, st.ID)
			if err != nil {
				t.Fatal(err)
			}
			if r.CurrentViewers != current || r.UniqueViewers != unique || r.PeakViewers != peak || r.TotalWatchSeconds != watch {
				t.Errorf("viewers %d now, %+v; want %d now, %d unique, %d peak, %vs", r.CurrentViewers, r.ViewerStats,
					current, unique, peak, watch)
			}
		}
		open := func() int64 { return w.count("SELECT COUNT(*) FROM watch_open") }

		w.d.WatchOpened(st.ID, ann.ID, t0)
		w.d.WatchOpened(st.ID, 0, t0.Add(time.Minute))
		w.clock.Set(t0.Add(10 * time.Minute))
		w.flush() // a heartbeat
		report(w.d, 2, 2, 2, 600+540)
		other := newDisc(t, db, discovery.Config{})
		other.clock.Set(w.clock.Now())
		report(other.d, 2, 2, 2, 600+540)

		w.clock.Set(t0.Add(20 * time.Minute))
		w.d.WatchClosed(st.ID, ann.ID, t0, t0.Add(15*time.Minute))
		w.flush()
		if n := open(); n != 1 {
			t.Errorf("%d open sessions, want 1", n)
		}
		report(w.d, 1, 2, 2, 900+1140)

		// The node dies: nothing closes the anonymous session, which stays
		// counted until its last heartbeat, no longer as a current viewer.
		other.clock.Set(t0.Add(30 * time.Minute))
		report(other.d, 0, 2, 2, 900+1140)
	})
}
