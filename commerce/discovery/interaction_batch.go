package discovery

import (
	"cmp"
	"context"
	"slices"
	"time"
)

const (
	// recentSeeds is how many of a viewer's strongest recent items feed
	// co-occurrence and the feed's "also bought" candidates.
	recentSeeds = 20
	// recentWindow is how far back those items may go.
	recentWindow = 30 * 24 * time.Hour
	maxSourceLen = 32
)

// buildBatch checks the interactions against what exists (unknown products
// and streams are dropped, a stream of another shop is forgotten), fills
// in shops, credits carts and purchases to a stream, and works out the
// score changes.
func (d *Service) buildBatch(ctx context.Context, raw []Interaction) (InteractionBatch, error) {
	evs := coalesceLikes(raw)
	var productIDs, streamIDs []int64
	for _, ev := range evs {
		if ev.ProductID != 0 {
			productIDs = append(productIDs, ev.ProductID)
		}
		if ev.StreamID != 0 {
			streamIDs = append(streamIDs, ev.StreamID)
		}
	}
	pf, sf, err := d.store.ItemFacts(ctx, uniq(productIDs), uniq(streamIDs))
	if err != nil {
		return InteractionBatch{}, err
	}
	kept := make([]Interaction, 0, len(evs))
	for _, ev := range evs {
		if len(ev.Source) > maxSourceLen {
			ev.Source = ev.Source[:maxSourceLen]
		}
		var shop int64
		switch {
		case ev.ProductID != 0:
			f, ok := pf[ev.ProductID]
			if !ok {
				continue
			}
			shop = f.ShopID
		case ev.StreamID != 0:
			f, ok := sf[ev.StreamID]
			if !ok {
				continue
			}
			shop = f.ShopID
		default:
			shop = ev.ShopID
		}
		if shop == 0 || ev.ShopID != 0 && ev.ShopID != shop {
			continue
		}
		ev.ShopID = shop
		if ev.StreamID != 0 && ev.ProductID != 0 {
			if f, ok := sf[ev.StreamID]; !ok || f.ShopID != shop {
				ev.StreamID = 0
			}
		}
		kept = append(kept, ev)
	}
	for i := range kept {
		ev := &kept[i]
		if (ev.Kind == InteractionCart || ev.Kind == InteractionPurchase) && ev.StreamID == 0 && ev.AccountID != 0 {
			if ev.StreamID, err = d.lastTouch(ctx, kept, *ev); err != nil {
				return InteractionBatch{}, err
			}
		}
	}
	b := InteractionBatch{Events: kept}
	if err := d.scoreChanges(ctx, &b, pf, sf); err != nil {
		return InteractionBatch{}, err
	}
	return b, nil
}

// coalesceLikes sums like taps per stream and viewer: a busy room sends
// many small like commands, and one row per viewer per batch says the same.
func coalesceLikes(evs []Interaction) []Interaction {
	type key struct{ stream, account int64 }
	at := map[key]int{}
	out := make([]Interaction, 0, len(evs))
	for _, ev := range evs {
		if ev.Kind != InteractionLike {
			out = append(out, ev)
			continue
		}
		k := key{ev.StreamID, ev.AccountID}
		if i, ok := at[k]; ok {
			out[i].Quantity += ev.Quantity
			if ev.At.After(out[i].At) {
				out[i].At = ev.At
			}
			continue
		}
		at[k] = len(out)
		out = append(out, ev)
	}
	return out
}

func uniq(ids []int64) []int64 {
	slices.Sort(ids)
	return slices.Compact(ids)
}

// isStreamTouch reports whether ev puts its viewer "at" a stream for
// attribution: joining its room, watching it, clicking one of its cards.
func isStreamTouch(ev Interaction) bool {
	switch ev.Kind {
	case InteractionWatchStart, InteractionWatch, InteractionClick:
		return ev.StreamID != 0
	}
	return false
}

// lastTouch finds the stream to credit a cart or purchase to: the latest
// stream of the same shop the viewer joined, watched or clicked in within
// AttributionWindow, looking at the batch first and then the log.
func (d *Service) lastTouch(ctx context.Context, batch []Interaction, ev Interaction) (int64, error) {
	since := ev.At.Add(-d.cfg.AttributionWindow)
	var best Interaction
	for _, t := range batch {
		if t.AccountID == ev.AccountID && t.ShopID == ev.ShopID && isStreamTouch(t) &&
			!t.At.After(ev.At) && !t.At.Before(since) && (best.StreamID == 0 || t.At.After(best.At)) {
			best = t
		}
	}
	if best.StreamID != 0 {
		return best.StreamID, nil
	}
	return d.store.LastStreamTouch(ctx, ev.AccountID, ev.ShopID, since, ev.At)
}

// scoreChanges adds to b the popularity of items and hashtags, the
// viewers' hashtag affinity, their recent strong items and the
// co-occurrence pairs those imply.
func (d *Service) scoreChanges(ctx context.Context, b *InteractionBatch, pf, sf map[int64]ItemFacts) error {
	items := map[ItemRef]HeatDelta{}
	tags := map[string]float64{}
	type affKey struct {
		account int64
		tag     string
	}
	aff := map[affKey]float64{}
	var strongAccounts []int64
	for _, ev := range b.Events {
		ref, ok := ev.item()
		w := ev.weight()
		if !ok || w <= 0 {
			continue
		}
		facts := pf[ref.ID]
		if ref.Kind == ItemStream {
			facts = sf[ref.ID]
		}
		h := heatOf(w, ev.At, d.cfg.PopularityHalfLife)
		if cur, ok := items[ref]; ok {
			cur.Heat = logAdd(cur.Heat, h)
			items[ref] = cur
		} else {
			items[ref] = HeatDelta{Item: ref, ShopID: ev.ShopID, Heat: h}
		}
		share := w / float64(max(1, len(facts.Tags)))
		for _, t := range facts.Tags {
			tags[t] = logAdd(valueOr(tags, t), heatOf(share, ev.At, d.cfg.PopularityHalfLife))
			if ev.AccountID != 0 {
				k := affKey{ev.AccountID, t}
				aff[k] = logAdd(valueOr(aff, k), heatOf(share, ev.At, d.cfg.AffinityHalfLife))
			}
		}
		if ev.AccountID != 0 && ev.strength() > 0 {
			strongAccounts = append(strongAccounts, ev.AccountID)
		}
	}
	for _, h := range items {
		b.Items = append(b.Items, h)
	}
	slices.SortFunc(b.Items, func(x, y HeatDelta) int { return cmpRef(x.Item, y.Item) })
	for t, h := range tags {
		b.Tags = append(b.Tags, TagHeatDelta{Tag: t, Heat: h})
	}
	slices.SortFunc(b.Tags, func(x, y TagHeatDelta) int { return cmp.Compare(x.Tag, y.Tag) })
	for k, h := range aff {
		b.Affinity = append(b.Affinity, TagHeatDelta{AccountID: k.account, Tag: k.tag, Heat: h})
	}
	slices.SortFunc(b.Affinity, func(x, y TagHeatDelta) int {
		return cmp.Or(cmp.Compare(x.AccountID, y.AccountID), cmp.Compare(x.Tag, y.Tag))
	})
	if len(strongAccounts) == 0 {
		return nil
	}
	recent, err := d.store.RecentItems(ctx, uniq(strongAccounts), d.now().Add(-recentWindow), recentSeeds)
	if err != nil {
		return err
	}
	d.pairChanges(b, recent)
	return nil
}

// pairChanges records each strong interaction as a recent item of its
// viewer and, when the item is new to them, pairs it with their other
// recent items both ways ("viewers who watched or bought X also bought Y").
func (d *Service) pairChanges(b *InteractionBatch, recent map[int64][]RecentItem) {
	type recentKey struct {
		account int64
		item    ItemRef
	}
	type pairKey struct{ a, b ItemRef }
	rec := map[recentKey]RecentItem{}
	pairs := map[pairKey]float64{}
	for _, ev := range b.Events {
		ref, ok := ev.item()
		s := ev.strength()
		if !ok || s <= 0 || ev.AccountID == 0 {
			continue
		}
		seeds := recent[ev.AccountID]
		known := slices.ContainsFunc(seeds, func(r RecentItem) bool { return r.Item == ref })
		if !known {
			for _, seed := range seeds {
				h := heatOf(min(seed.Strength, s), ev.At, d.cfg.PairHalfLife)
				for _, k := range []pairKey{{seed.Item, ref}, {ref, seed.Item}} {
					pairs[k] = logAdd(valueOr(pairs, k), h)
				}
			}
			seeds = append([]RecentItem{{Item: ref, Strength: s, At: ev.At}}, seeds...)
			recent[ev.AccountID] = seeds[:min(len(seeds), recentSeeds)]
		}
		k := recentKey{ev.AccountID, ref}
		r := rec[k]
		r.Item = ref
		r.Strength = max(r.Strength, s)
		if ev.At.After(r.At) {
			r.At = ev.At
		}
		if ev.Kind == InteractionPurchase && ev.At.After(r.BoughtAt) {
			r.BoughtAt = ev.At
		}
		rec[k] = r
	}
	keys := make([]recentKey, 0, len(rec))
	for k := range rec {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y recentKey) int {
		return cmp.Or(cmp.Compare(x.account, y.account), cmpRef(x.item, y.item))
	})
	for _, k := range keys {
		b.Recent = append(b.Recent, rec[k])
		b.RecentOwners = append(b.RecentOwners, k.account)
	}
	for k, h := range pairs {
		b.Pairs = append(b.Pairs, PairDelta{A: k.a, B: k.b, Heat: h})
	}
	slices.SortFunc(b.Pairs, func(x, y PairDelta) int { return cmp.Or(cmpRef(x.A, y.A), cmpRef(x.B, y.B)) })
}

func cmpRef(a, b ItemRef) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID))
}

// valueOr returns m[k], or NoHeat when absent.
func valueOr[K comparable](m map[K]float64, k K) float64 {
	if v, ok := m[k]; ok {
		return v
	}
	return NoHeat
}
