package discovery_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/discovery"
	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

func productIDs(ps []discovery.ProductSummary) []int64 {
	out := make([]int64, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func TestSearch(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newDisc(t, db, discovery.Config{})
		seller, shop := w.shop("mara-ceramics", "Mara Ceramics")
		other, shop2 := w.shop("wheel", "Potter's wheel")
		if _, err := w.svc.UpdateShop(w.ctx, other, shop2.ID, commerce.ShopPatch{Description: ptr("Ceramics classes every week")}); err != nil {
			t.Fatal(err)
		}
		mug := w.product(seller, shop.ID, "Ceramic mug", 1200, "")
		cup := w.product(seller, shop.ID, "Plain cup", 900, "", "ceramic")
		vase := w.product(seller, shop.ID, "Tall vase", 4000, "A hand thrown ceramic piece")
		w.product(seller, shop.ID, "Steel spoon", 300, "")
		draft := w.product(seller, shop.ID, "Ceramic secret", 300, "")
		if _, err := w.svc.UpdateProduct(w.ctx, seller, draft.ID, commerce.ProductPatch{Status: ptr(commerce.ProductDraft)}); err != nil {
			t.Fatal(err)
		}
		search := func(q string) []int64 {
			t.Helper()
			ps, _, err := w.d.SearchProducts(w.ctx, q, commerce.PageRequest{Limit: 50})
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			return productIDs(ps)
		}

		t.Run("ranks title over hashtag over description, and leaves drafts out", func(t *testing.T) {
			want := []int64{mug.ID, cup.ID, vase.ID}
			for _, q := range []string{"ceramic", "CERAMIC", "cera", "#ceramic", "ceramics", "the ceramics"} {
				if got := search(q); !slices.Equal(got, want) {
					t.Errorf("search %q = %v, want %v", q, got, want)
				}
			}
		})

		t.Run("every term must match", func(t *testing.T) {
			if got := search("ceramic mug"); !slices.Equal(got, []int64{mug.ID}) {
				t.Errorf("got %v, want only the mug", got)
			}
			if got := search("ceramic zebra"); len(got) != 0 {
				t.Errorf("got %v, want nothing", got)
			}
		})

		t.Run("English words match their other forms, and prefixes still match", func(t *testing.T) {
			linen := w.product(seller, shop.ID, "The linen shirt", 2500, "")
			tees := w.product(seller, shop.ID, "Two cotton shirts", 1800, "")
			jacket := w.product(seller, shop.ID, "Running jacket", 6000, "")
			tee := w.product(seller, shop.ID, "Morning run tee", 1500, "")
			shirts := []int64{tees.ID, linen.ID}
			for q, want := range map[string][]int64{
				"shirt": shirts, "shirts": shirts, "SHIRTS": shirts, "sh": shirts, "shi": shirts, "the shirts": shirts,
				"cotton shirt": {tees.ID}, "linen shirts": {linen.ID},
				"run": {tee.ID, jacket.ID}, "running": {tee.ID, jacket.ID}, "runs": {tee.ID, jacket.ID},
				"running jackets": {jacket.ID}, "ru": {tee.ID, jacket.ID},
			} {
				got := search(q)
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("search %q = %v, want %v", q, got, want)
				}
			}
		})

		t.Run("stop words alone find nothing, and never error", func(t *testing.T) {
			for _, q := range []string{"the", "The", "a", "and the of", "it's", "to be or not to be", "THE!"} {
				if got := search(q); len(got) != 0 {
					t.Errorf("search %q = %v, want nothing", q, got)
				}
				res, err := w.d.Search(w.ctx, q, 10)
				if err != nil || len(res.Products)+len(res.Shops)+len(res.Streams) != 0 {
					t.Errorf("search all %q = %+v, %v; want nothing", q, res, err)
				}
			}
		})

		t.Run("operators and punctuation never error or inject", func(t *testing.T) {
			hostile := []string{`"`, `*`, `"ceramic`, `ceramic"*`, `NEAR(ceramic mug)`, `ceramic OR zebra`, `-ceramic`,
				`ceramic:*`, `'); DROP TABLE products;--`, `!!!`, `&|!():*`, `\`, `%_%`, `cer%`, `NOT ceramic`, `AND`,
				"ceramic\x00mug", `{ceramic}`, `title:ceramic`, `^ceramic`, `ceramic + mug`, `😀 ceramic`,
				strings.Repeat("ceramic ", 2000), strings.Repeat("x", 10000), `a:* & b`, `<->`, `$1`, `?`}
			for _, q := range hostile {
				if _, _, err := w.d.SearchProducts(w.ctx, q, commerce.PageRequest{}); err != nil {
					t.Errorf("products %q: %v", q, err)
				}
				if _, _, err := w.d.SearchShops(w.ctx, q, commerce.PageRequest{}); err != nil {
					t.Errorf("shops %q: %v", q, err)
				}
				if _, _, err := w.d.SearchStreams(w.ctx, q, commerce.PageRequest{}); err != nil {
					t.Errorf("streams %q: %v", q, err)
				}
			}
			if got := search(`-ceramic`); len(got) != 3 {
				t.Errorf(`"-ceramic" is the word ceramic: got %v`, got)
			}
			if got := search(`'); DROP TABLE products;--`); len(got) != 0 {
				t.Errorf("got %v", got)
			}
			if got := search("ceramic"); len(got) != 3 {
				t.Errorf("products are gone after hostile queries: %v", got)
			}
		})

		t.Run("a renamed product is found by its new name at once", func(t *testing.T) {
			if _, err := w.svc.UpdateProduct(w.ctx, seller, vase.ID, commerce.ProductPatch{Title: ptr("Tall amphora")}); err != nil {
				t.Fatal(err)
			}
			if got := search("amphora"); !slices.Equal(got, []int64{vase.ID}) {
				t.Errorf("search amphora = %v", got)
			}
			if got := search("vase"); len(got) != 0 {
				t.Errorf("the old title still matches: %v", got)
			}
		})

		t.Run("shops rank by name before description", func(t *testing.T) {
			hits, _, err := w.d.SearchShops(w.ctx, "ceramics", commerce.PageRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != 2 || hits[0].ID != shop.ID || hits[1].ID != shop2.ID {
				t.Fatalf("shops %+v", hits)
			}
		})

		t.Run("streams list live first, then scheduled, then ended", func(t *testing.T) {
			ended := w.stream(seller, shop.ID, "Ceramic show last week", true)
			if err := w.svc.MarkStreamEnded(w.ctx, ended.ID); err != nil {
				t.Fatal(err)
			}
			soon := w.stream(seller, shop.ID, "Ceramic show tomorrow", false)
			live := w.stream(other, shop2.ID, "Ceramic show now", true, "pottery")
			for _, q := range []string{"ceramic show", "ceramics shows"} {
				got, _, err := w.d.SearchStreams(w.ctx, q, commerce.PageRequest{})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 3 || got[0].ID != live.ID || got[1].ID != soon.ID || got[2].ID != ended.ID {
					t.Fatalf("streams for %q: %+v", q, got)
				}
			}
			tagged, err := w.d.HashtagStreams(w.ctx, "#Pottery", 10)
			if err != nil || len(tagged) != 1 || tagged[0].ID != live.ID {
				t.Fatalf("hashtag streams %+v, %v", tagged, err)
			}
		})

		t.Run("pages through many results without repeats", func(t *testing.T) {
			want := map[int64]bool{}
			for i := range 25 {
				want[w.product(seller, shop.ID, fmt.Sprintf("Widget %d", i), 100, "").ID] = true
			}
			got := map[int64]bool{}
			cursor, pages := "", 0
			for {
				ps, next, err := w.d.SearchProducts(w.ctx, "widget", commerce.PageRequest{Cursor: cursor, Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, p := range ps {
					if got[p.ID] || !want[p.ID] {
						t.Fatalf("page %d: product %d repeated or unexpected", pages, p.ID)
					}
					got[p.ID] = true
				}
				if next == "" {
					break
				}
				cursor = next
			}
			if pages != 3 || len(got) != 25 {
				t.Fatalf("%d pages, %d products", pages, len(got))
			}
		})

		t.Run("hashtag pages list tagged products, unknown tags are empty", func(t *testing.T) {
			ps, _, err := w.d.HashtagProducts(w.ctx, "Ceramic", commerce.PageRequest{})
			if err != nil || !slices.Equal(productIDs(ps), []int64{cup.ID}) {
				t.Fatalf("#ceramic = %v, %v", productIDs(ps), err)
			}
			for _, tag := range []string{"nothing", "#$%", "", strings.Repeat("a", 300), "a b"} {
				ps, next, err := w.d.HashtagProducts(w.ctx, tag, commerce.PageRequest{})
				if err != nil || len(ps) != 0 || next != "" {
					t.Errorf("#%q = %v, %q, %v; want an empty page", tag, ps, next, err)
				}
			}
		})

		t.Run("trending hashtags follow interactions and complete prefixes", func(t *testing.T) {
			w.view(0, cup, 3)
			w.flush()
			tags, err := w.d.TrendingTags(w.ctx, "", 10)
			if err != nil || len(tags) == 0 || tags[0].Tag != "ceramic" || tags[0].Score <= 0 {
				t.Fatalf("trending %+v, %v", tags, err)
			}
			for prefix, want := range map[string]int{"cer": 1, "#CER": 1, "zz": 0, "%": 0, "_": 0, "!!": 0} {
				tags, err := w.d.TrendingTags(w.ctx, prefix, 10)
				if err != nil || len(tags) != want {
					t.Errorf("prefix %q: %+v, %v", prefix, tags, err)
				}
			}
		})
	})
}

func ptr[T any](v T) *T { return &v }
