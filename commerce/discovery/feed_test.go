package discovery_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/discovery"
	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

// TestFeedRanksAConstructedHistory builds a viewer's history whose feed is
// known in advance: the followed shop's live stream, the other live stream,
// the followed shop's products (which also carry the viewer's favourite
// hashtag), the product others bought with what the viewer bought, a
// product of the favourite hashtag, then the popular rest; the exploration
// slot holds a new seller's product.
func TestFeedRanksAConstructedHistory(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newDisc(t, db, discovery.Config{})
		sellerA, shopA := w.shop("studio", "Ceramics studio")
		sellerB, shopB := w.shop("sneakers", "Sneaker barn")
		sellerC, shopC := w.shop("corner", "Corner store")
		sellerN, shopN := w.shop("fresh", "Fresh finds")
		for _, s := range []int64{shopA.ID, shopB.ID, shopC.ID} {
			w.backdate(s, 60*24*time.Hour)
		}
		a1 := w.product(sellerA, shopA.ID, "Celadon bowl", 3000, "", "ceramics")
		a2 := w.product(sellerA, shopA.ID, "Tea cup", 1500, "", "ceramics")
		bx := w.product(sellerB, shopB.ID, "Runner X", 9000, "", "sneakers")
		by := w.product(sellerB, shopB.ID, "Runner Y", 9500, "", "sneakers")
		c1 := w.product(sellerC, shopC.ID, "Stoneware vase", 4000, "", "ceramics")
		z := w.product(sellerC, shopC.ID, "Phone case", 900, "", "gadgets")
		var fillers []commerce.Product
		for i := range 4 {
			fillers = append(fillers, w.product(sellerC, shopC.ID, fmt.Sprintf("Odd thing %d", i), 500, "", "misc"))
		}
		var fresh []commerce.Product
		for i := range 12 {
			fresh = append(fresh, w.product(sellerN, shopN.ID, fmt.Sprintf("New thing %d", i), 700, "", "new"))
		}
		sA := w.stream(sellerA, shopA.ID, "Glaze night", true)
		sC := w.stream(sellerC, shopC.ID, "Clearance", true)
		sB := w.stream(sellerB, shopB.ID, "Drop tomorrow", false)

		viewer := w.account("viewer")
		if _, err := w.d.Follow(w.ctx, viewer, shopA.ID, 0); err != nil {
			t.Fatal(err)
		}
		w.view(viewer.ID, c1, 20)
		w.view(viewer.ID, a1, 1)
		w.buy(viewer.ID, 1, bx)
		for i := range 3 {
			u := w.account(fmt.Sprintf("crowd%d", i))
			w.buy(u.ID, int64(10+i), bx)
			w.buy(u.ID, int64(20+i), by)
			w.view(u.ID, z, 5)
			for j, f := range fillers {
				w.view(u.ID, f, 4-j)
			}
		}
		w.flush()

		items := w.feed(viewer, 40, 7)
		got := feedKeys(items)
		want := []string{
			streamKey(sA) + ":followed_live", streamKey(sC) + ":live",
			productKey(a1) + ":followed", productKey(a2) + ":followed",
			productKey(by) + ":related", productKey(c1) + ":hashtag",
			productKey(z) + ":popular",
		}
		if len(got) < 10 || !slices.Equal(got[:len(want)], want) {
			t.Fatalf("feed starts\n %v\nwant\n %v", got, want)
		}
		if items[9].Reason != discovery.ReasonExplore || items[9].Product == nil || items[9].Product.ShopID != shopN.ID {
			t.Errorf("slot 9 is %v, want an exploration item of the new seller", got[9])
		}
		for i, it := range items {
			switch {
			case itemKey(it) == productKey(bx):
				t.Errorf("item %d is the product the viewer already bought", i)
			case itemKey(it) == streamKey(sB):
				t.Errorf("item %d is a stream that is not live", i)
			case it.Product != nil && it.Product.ShopID == shopN.ID && i < 9:
				t.Errorf("item %d (%s) is a new seller's product before the first exploration slot", i, got[i])
			}
		}
		if len(fresh) == 0 {
			t.Fatal("no new seller products")
		}

		t.Run("an anonymous viewer gets live streams, then what is popular", func(t *testing.T) {
			items := w.feed(commerce.Account{}, 5, 20)
			got := feedKeys(items)
			want := []string{streamKey(sC) + ":live", streamKey(sA) + ":live", productKey(bx) + ":popular",
				productKey(by) + ":popular", productKey(c1) + ":popular"}
			if !slices.Equal(got, want) {
				t.Fatalf("anonymous feed starts %v, want %v", got, want)
			}
			for _, it := range w.feed(commerce.Account{}, 100, 50) {
				if it.Reason != discovery.ReasonLive && it.Reason != discovery.ReasonPopular && it.Reason != discovery.ReasonExplore {
					t.Errorf("anonymous feed has a personal reason: %s", itemKey(it)+":"+it.Reason)
				}
			}
		})

		t.Run("pages neither repeat nor skip items", func(t *testing.T) {
			one := feedKeys(w.feed(viewer, 30, 30))
			paged := feedKeys(w.feed(viewer, 30, 4))
			if !slices.Equal(one, paged) {
				t.Fatalf("paged feed\n %v\ndiffers from one page\n %v", paged, one)
			}
		})

		t.Run("bad cursors and limits are refused", func(t *testing.T) {
			for _, p := range []commerce.PageRequest{{Cursor: "nope"}, {Cursor: "0123456789abcdef.zzzzzz"}, {Limit: 101}, {Limit: -1}} {
				_, err := w.d.Feed(w.ctx, viewer, p)
				var e *commerce.Error
				if !errors.As(err, &e) || e.Status != 400 {
					t.Errorf("page %+v: got %v, want 400", p, err)
				}
			}
		})
	})
}

// TestFeedExplorationRate checks that exactly the set share of slots goes
// to new sellers, in the slots the formula names, and nowhere else.
func TestFeedExplorationRate(t *testing.T) {
	for _, eps := range []float64{0.1, 0.25} {
		t.Run(fmt.Sprintf("rate %v", eps), func(t *testing.T) {
			sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
				w := newDisc(t, db, discovery.Config{ExplorationRate: eps})
				prefix := fmt.Sprintf("r%d", int(eps*100))
				sellerO, shopO := w.shop(prefix+"-old", "Old hand")
				w.backdate(shopO.ID, 90*24*time.Hour)
				sellerN, shopN := w.shop(prefix+"-new", "Newcomer")
				crowd := w.account("crowd")
				for i := range 120 {
					p := w.product(sellerO, shopO.ID, fmt.Sprintf("Staple %d", i), 1000, "", "staple")
					w.view(crowd.ID, p, 1+i%3)
				}
				for i := range 40 {
					w.product(sellerN, shopN.ID, fmt.Sprintf("Debut %d", i), 1000, "", "debut")
				}
				w.flush()

				for _, viewer := range []commerce.Account{{}, w.account("viewer")} {
					items := w.feed(viewer, 100, 30)
					if len(items) != 100 {
						t.Fatalf("feed has %d items, want 100", len(items))
					}
					seen := map[string]bool{}
					explored := 0
					for p, it := range items {
						key := itemKey(it)
						if seen[key] {
							t.Errorf("%s appears twice", key)
						}
						seen[key] = true
						slot := int(float64(p+1)*eps+1e-9) > int(float64(p)*eps+1e-9)
						isNew := it.Product != nil && it.Product.ShopID == shopN.ID
						if slot != (it.Reason == discovery.ReasonExplore) || slot != isNew {
							t.Errorf("position %d: %s (%s), exploration slot %v", p, key, it.Reason, slot)
						}
						if it.Reason == discovery.ReasonExplore {
							explored++
						}
					}
					if want := int(100 * eps); explored != want {
						t.Errorf("viewer %d: %d exploration items in 100, want %d", viewer.ID, explored, want)
					}
				}
			})
		})
	}
}
