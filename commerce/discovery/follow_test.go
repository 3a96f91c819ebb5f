package discovery_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce/discovery"
	"github.com/liveshop/liveshop/commerce/internal/bus/bustest"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	var e *commerce.Error
	if !errors.As(err, &e) || e.Status != status {
		t.Fatalf("got %v, want status %d", err, status)
	}
}

func TestFollows(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newDisc(t, db, discovery.Config{})
		seller, shop := w.shop("mara", "Mara")
		ann, bob := w.account("ann"), w.account("bob")

		t.Run("following counts each follower once", func(t *testing.T) {
			for _, step := range []struct {
				who       commerce.Account
				follow    bool
				following bool
				followers int64
			}{
				{ann, true, true, 1}, {ann, true, true, 1}, {bob, true, true, 2},
				{ann, false, false, 1}, {ann, false, false, 1}, {ann, true, true, 2},
			} {
				var st discovery.FollowState
				var err error
				if step.follow {
					st, err = w.d.Follow(w.ctx, step.who, shop.ID, 0)
				} else {
					st, err = w.d.Unfollow(w.ctx, step.who, shop.ID)
				}
				if err != nil || st.Following != step.following || st.Followers != step.followers {
					t.Fatalf("%s follow=%v: %+v, %v", step.who.Name, step.follow, st, err)
				}
			}
			st, err := w.d.FollowState(w.ctx, commerce.Account{}, shop.ID)
			if err != nil || st.Following || st.Followers != 2 {
				t.Fatalf("anonymous view %+v, %v", st, err)
			}
		})

		t.Run("refuses anonymous callers, unknown shops and one's own shop", func(t *testing.T) {
			_, err := w.d.Follow(w.ctx, commerce.Account{}, shop.ID, 0)
			wantStatus(t, err, 401)
			_, err = w.d.Follow(w.ctx, ann, 987654, 0)
			wantStatus(t, err, 404)
			_, err = w.d.Follow(w.ctx, seller, shop.ID, 0)
			wantStatus(t, err, 422)
		})

		t.Run("lists followed shops newest first with the live ones marked", func(t *testing.T) {
			viewer := w.account("viewer")
			var shops []commerce.Shop
			var live commerce.Stream
			for i := range 5 {
				s, sh := w.shop(fmt.Sprintf("shop%d", i), fmt.Sprintf("Shop %d", i))
				shops = append(shops, sh)
				if i == 1 {
					live = w.stream(s, sh.ID, "Live now", true)
				}
				if _, err := w.d.Follow(w.ctx, viewer, sh.ID, 0); err != nil {
					t.Fatal(err)
				}
				w.clock.Set(w.clock.Now().Add(time.Second))
			}
			var got []discovery.FollowedShop
			cursor := ""
			for range 10 {
				page, next, err := w.d.Following(w.ctx, viewer, commerce.PageRequest{Cursor: cursor, Limit: 2})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, page...)
				if cursor = next; cursor == "" {
					break
				}
			}
			if len(got) != 5 {
				t.Fatalf("%d followed shops, want 5", len(got))
			}
			for i, f := range got {
				want := shops[4-i]
				if f.ShopID != want.ID || f.Followers != 1 || (f.LiveStreamID != 0) != (want.ID == shops[1].ID) {
					t.Errorf("entry %d: %+v, want shop %d", i, f, want.ID)
				}
			}
			lives, err := w.d.FollowingLive(w.ctx, viewer)
			if err != nil || len(lives) != 1 || lives[0].ID != live.ID {
				t.Fatalf("followed live %+v, %v", lives, err)
			}
			w.flush()
			now, err := w.d.LiveNow(w.ctx, viewer, 10)
			if err != nil || len(now) == 0 || now[0].ID != live.ID {
				t.Fatalf("live now %+v, %v", now, err)
			}
		})
	})
}

func TestGoLiveAlertsFollowers(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newDisc(t, db, discovery.Config{})
		ch, _ := bustest.Subscribe(t, w.bus)
		seller, shop := w.shop("mara", "Mara")
		st := w.stream(seller, shop.ID, "Glaze night", false)
		if err := w.svc.MarkStreamLive(w.ctx, st.ID); err != nil {
			t.Fatal(err)
		}
		a := bustest.Receive(t, ch, "go-live")
		if a.StreamID != st.ID || a.ShopID != shop.ID || a.ShopHandle != "mara" || a.URL != fmt.Sprintf("/watch/%d", st.ID) {
			t.Fatalf("alert %+v", a)
		}
		if err := w.svc.MarkStreamLive(w.ctx, st.ID); err != nil {
			t.Fatal(err)
		}
		select {
		case again := <-ch:
			t.Fatalf("a stream already live alerted again: %+v", again)
		default:
		}
	})
}
