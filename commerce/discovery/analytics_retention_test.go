package discovery_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce/discovery"
	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

// TestRetentionRollsUpThenPurges records a stream session 200 days ago, a
// product view 199 days ago and some activity yesterday, purges with a 90
// day retention, and checks that the old rows (and the viewers' old recent
// items, and scores decayed to nothing) are gone, yesterday's are kept, and the stream, shop and product
// reports over a range covering all of it say what they said before: the
// same counts, watch time, unique and peak viewers of the stream.
func TestRetentionRollsUpThenPurges(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newDisc(t, db, discovery.Config{InteractionRetention: 90 * 24 * time.Hour})
		seller, shop := w.shop("keep", "Keep")
		p := w.product(seller, shop.ID, "Mug", 1000, "")
		st := w.stream(seller, shop.ID, "Spring show", false)
		today := w.clock.Now().UTC().Truncate(24 * time.Hour)
		t0 := today.AddDate(0, 0, -200).Add(10 * time.Hour) // live 10:00 to 11:00 UTC
		at := func(m float64) time.Time { return t0.Add(time.Duration(m * float64(time.Minute))) }
		w.exec(fmt.Sprintf("UPDATE streams SET status = 'ended', started_at = %d, ended_at = %d WHERE id = %d",
			t0.UnixMicro(), at(60).UnixMicro(), st.ID))
		ann, bob := w.account("ann"), w.account("bob")
		watch := func(acct int64, from, to float64) discovery.Interaction {
			return discovery.Interaction{Kind: discovery.InteractionWatch, AccountID: acct, StreamID: st.ID, StartedAt: at(from), At: at(to)}
		}
		yesterday := today.Add(-12 * time.Hour)
		w.record(
			watch(ann.ID, 0, 30), watch(bob.ID, 10, 40), watch(0, 20, 25),
			discovery.Interaction{Kind: discovery.InteractionView, AccountID: ann.ID, ProductID: p.ID, At: at(5)},
			discovery.Interaction{Kind: discovery.InteractionView, AccountID: bob.ID, ProductID: p.ID, At: at(15)},
			discovery.Interaction{Kind: discovery.InteractionClick, AccountID: ann.ID, ProductID: p.ID, StreamID: st.ID, At: at(6)},
			discovery.Interaction{Kind: discovery.InteractionComment, AccountID: ann.ID, StreamID: st.ID, At: at(7)},
			discovery.Interaction{Kind: discovery.InteractionLike, AccountID: bob.ID, StreamID: st.ID, Quantity: 3, At: at(16)},
			discovery.Interaction{Kind: discovery.InteractionView, AccountID: ann.ID, ProductID: p.ID, At: at(24 * 60)},
			discovery.Interaction{Kind: discovery.InteractionView, AccountID: bob.ID, ProductID: p.ID, At: yesterday},
			discovery.Interaction{Kind: discovery.InteractionClick, AccountID: ann.ID, ProductID: p.ID, At: yesterday},
		)
		w.flush()
		from, to := today.AddDate(0, 0, -210), today.AddDate(0, 0, 1)
		reports := func() (discovery.StreamAnalytics, discovery.ShopAnalytics, discovery.ProductAnalytics) {
			t.Helper()
			s, err1 := w.d.StreamAnalytics(w.ctx, seller, st.ID)
			sh, err2 := w.d.ShopAnalytics(w.ctx, seller, shop.ID, from, to)
			pr, err3 := w.d.ProductAnalytics(w.ctx, seller, p.ID, from, to)
			for _, err := range []error{err1, err2, err3} {
				if err != nil {
					t.Fatal(err)
				}
			}
			return s, sh, pr
		}
		stream0, shop0, product0 := reports()
		if stream0.UniqueViewers != 3 || stream0.PeakViewers != 3 || stream0.TotalWatchSeconds != 3900 ||
			shop0.ProductViews != 4 || shop0.Likes != 3 || shop0.WatchSeconds != 3900 {
			t.Fatalf("reports before the purge: %+v\n%+v", stream0, shop0)
		}
		cutoff := today.AddDate(0, 0, -90).UnixMicro()
		if w.count(fmt.Sprintf("SELECT COUNT(*) FROM discovery_recent WHERE at < %d", cutoff)) != 2 {
			t.Fatal("the old sessions left no recent items to purge")
		}

		// Co-occurrence and taste rows: one decayed to nothing, one fresh.
		w.exec("INSERT INTO discovery_pairs (a_kind, a_id, b_kind, b_id, heat) VALUES (1, 1, 1, 2, -50), (1, 2, 1, 1, 1000)")
		w.exec("INSERT INTO discovery_affinity (account_id, tag, heat) VALUES (1, 'old', -50), (1, 'new', 1000)")

		got, err := w.d.PurgeInteractions(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got != (discovery.PurgeStats{DaysRolledUp: 2, Interactions: 9, RecentItems: 2, Scores: 2}) {
			t.Errorf("purge %+v", got)
		}
		if n := w.count(fmt.Sprintf("SELECT COUNT(*) FROM interactions WHERE at < %d", cutoff)); n != 0 {
			t.Errorf("%d old interactions left", n)
		}
		if n := w.count("SELECT COUNT(*) FROM interactions"); n != 2 {
			t.Errorf("%d recent interactions kept, want 2", n)
		}
		if n := w.count(fmt.Sprintf("SELECT COUNT(*) FROM discovery_recent WHERE at < %d", cutoff)); n != 0 {
			t.Errorf("%d old recent items left", n)
		}

		if w.count("SELECT COUNT(*) FROM discovery_pairs WHERE heat = 1000") != 1 ||
			w.count("SELECT COUNT(*) FROM discovery_affinity WHERE tag = 'new'") != 1 {
			t.Error("fresh scores purged")
		}

		check := func() {
			t.Helper()
			stream1, shop1, product1 := reports()
			if !reflect.DeepEqual(stream1.ViewerStats, stream0.ViewerStats) || stream1.Metrics != stream0.Metrics {
				t.Errorf("stream report\n got %+v\nwant %+v", stream1, stream0)
			}
			if shop1.Metrics != shop0.Metrics || shop1.WatchSeconds != shop0.WatchSeconds || shop1.StreamViewers != shop0.StreamViewers {
				t.Errorf("shop report\n got %+v\nwant %+v", shop1, shop0)
			}
			for i := range shop0.Days {
				a, b := shop1.Days[i], shop0.Days[i]
				if a.Metrics != b.Metrics || a.WatchSeconds != b.WatchSeconds {
					t.Errorf("day %s: got %+v want %+v", b.Date, a, b)
				}
			}
			if len(shop1.Streams) != 1 || !reflect.DeepEqual(shop1.Streams, shop0.Streams) {
				t.Errorf("stream headlines %+v, want %+v", shop1.Streams, shop0.Streams)
			}
			if product1.Metrics != product0.Metrics {
				t.Errorf("product report %+v, want %+v", product1.Metrics, product0.Metrics)
			}
		}
		check()

		t.Run("a second purge (another node) changes nothing", func(t *testing.T) {
			if got, err := w.d.PurgeInteractions(w.ctx); err != nil || got != (discovery.PurgeStats{}) {
				t.Fatalf("second purge %+v, %v", got, err)
			}
			check()
		})
	})
}

func (w *disc) exec(q string) {
	w.t.Helper()
	if _, err := w.db.SQL().Exec(q); err != nil {
		w.t.Fatal(err)
	}
}

func (w *disc) count(q string) int64 {
	w.t.Helper()
	var n int64
	if err := w.db.SQL().QueryRow(q).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}
