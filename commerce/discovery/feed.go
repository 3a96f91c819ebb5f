package discovery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/internal/api"
)

// Weights of the feed formula (see above).
const (
	feedWeightPopular    = 0.5
	feedWeightAffinity   = 1.0
	feedWeightFollowed   = 1.0
	feedWeightRelated    = 1.0
	feedWeightLive       = 3.0
	feedWeightFollowLive = 10.0
	feedBoughtWindow     = 30 * 24 * time.Hour
	feedFollowsRead      = 500
)

// Why an item is in the feed: its largest term, or exploration.
const (
	ReasonFollowedLive = "followed_live"
	ReasonLive         = "live"
	ReasonFollowed     = "followed"
	ReasonHashtag      = "hashtag"
	ReasonRelated      = "related"
	ReasonPopular      = "popular"
	ReasonExplore      = "explore"
)

// FeedItem is one entry of a feed: a product or a live stream.
type FeedItem struct {
	// Type is "product" or "stream".
	Type string `json:"type"`
	// Reason says why it is here (followed_live, live, followed, hashtag,
	// related, popular, explore).
	Reason  string          `json:"reason"`
	Score   float64         `json:"score"`
	Product *ProductSummary `json:"product,omitempty"`
	Stream  *StreamSummary  `json:"stream,omitempty"`
}

// rankedItem is an item in a ranked feed, before its details are attached.
// It holds no pointers, so ranking a thousand of them is a cheap sort.
type rankedItem struct {
	Item   ItemRef
	Score  float64
	Reason reason
}

// reason is a Reason* as a small number.
type reason uint8

const (
	reasonPopular reason = iota
	reasonFollowedLive
	reasonLive
	reasonFollowed
	reasonHashtag
	reasonRelated
	reasonExplore
)

var reasonNames = [...]string{reasonPopular: ReasonPopular, reasonFollowedLive: ReasonFollowedLive, reasonLive: ReasonLive,
	reasonFollowed: ReasonFollowed, reasonHashtag: ReasonHashtag, reasonRelated: ReasonRelated, reasonExplore: ReasonExplore}

func (r reason) String() string { return reasonNames[r] }

// viewerProfile is what the feed knows about one viewer.
type viewerProfile struct {
	affinity map[string]float64 // decayed, strongest hashtags only
	maxTag   float64
	follows  map[int64]bool
	recent   []int64 // most recently followed shops first
	seeds    []RecentItem
	bought   map[int64]bool
}

func (d *Service) profile(ctx context.Context, accountID int64, now time.Time) (viewerProfile, error) {
	p := viewerProfile{affinity: map[string]float64{}, follows: map[int64]bool{}, bought: map[int64]bool{}}
	if accountID == 0 {
		return p, nil
	}
	vp, err := d.store.ViewerProfile(ctx, accountID, feedTags, feedFollowsRead, now.Add(-feedBoughtWindow), 2*recentSeeds)
	if err != nil {
		return p, err
	}
	for _, t := range vp.Tags {
		v := decayed(t.Heat, now, d.cfg.AffinityHalfLife)
		p.affinity[t.Tag] = v
		p.maxTag = max(p.maxTag, v)
	}
	p.recent = vp.Follows
	for _, id := range p.recent {
		p.follows[id] = true
	}
	for i, r := range vp.Recent {
		if i < recentSeeds {
			p.seeds = append(p.seeds, r)
		}
		if r.Item.Kind == ItemProduct && !r.BoughtAt.IsZero() && now.Sub(r.BoughtAt) < feedBoughtWindow {
			p.bought[r.Item.ID] = true
		}
	}
	return p, nil
}

// feedCand is a candidate while it is being scored.
type feedCand struct {
	item  ItemRef
	shop  int64
	heat  float64
	tags  []string
	live  bool
	co    float64
	pop   float64
	score float64
	drop  bool
}

// feedCands is the candidate set: a slice (cheap to walk) and an index,
// with the facts of the viewer's own candidates. Feeds reuse them through
// a pool, which spares the garbage collector most of a feed's allocations.
type feedCands struct {
	list  []feedCand
	at    map[ItemRef]int
	facts map[int64]FeedProduct
}

func newFeedCands() any {
	return &feedCands{list: make([]feedCand, 0, 1024), at: make(map[ItemRef]int, 1024), facts: make(map[int64]FeedProduct, 512)}
}

// add returns the index of ref's candidate, adding it if new.
func (c *feedCands) add(ref ItemRef, shop int64) int {
	if i, ok := c.at[ref]; ok {
		return i
	}
	c.at[ref] = len(c.list)
	c.list = append(c.list, feedCand{item: ref, shop: shop})
	return len(c.list) - 1
}

// rank builds the viewer's ranked feed (accountID 0: anonymous).
func (d *Service) rank(ctx context.Context, accountID int64) ([]rankedItem, error) {
	start := time.Now()
	defer func() { d.m.feedTime.Observe(time.Since(start).Seconds()) }()
	now := d.now()
	g, err := d.feed.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	prof, err := d.profile(ctx, accountID, now)
	if err != nil {
		return nil, err
	}
	cands := d.feed.candPool.Get().(*feedCands)
	defer func() {
		cands.list = cands.list[:0]
		clear(cands.at)
		clear(cands.facts)
		d.feed.candPool.Put(cands)
	}()
	for _, ls := range g.live {
		i := cands.add(ItemRef{ItemStream, ls.ID}, ls.ShopID)
		c := &cands.list[i]
		c.heat, c.tags, c.live = ls.Heat, ls.Hashtags, true
	}
	var personal []int64
	addProducts := func(list []ItemHeat) {
		for _, ih := range list {
			if ih.Item.Kind != ItemProduct {
				continue
			}
			if _, ok := cands.at[ih.Item]; !ok {
				cands.add(ih.Item, ih.ShopID)
				if _, shared := g.facts[ih.Item.ID]; !shared {
					personal = append(personal, ih.Item.ID)
				}
			}
		}
	}
	addProducts(g.popular)
	for tag := range prof.affinity {
		list, err := d.feed.tagItems(ctx, tag)
		if err != nil {
			return nil, err
		}
		addProducts(list)
	}
	for _, shop := range prof.recent[:min(len(prof.recent), feedFollowedShops)] {
		list, err := d.feed.shopItems(ctx, shop)
		if err != nil {
			return nil, err
		}
		addProducts(list)
	}
	for _, seed := range prof.seeds {
		list, err := d.feed.neighbors(ctx, seed.Item)
		if err != nil {
			return nil, err
		}
		addProducts(list)
		for _, n := range list {
			if i, ok := cands.at[n.Item]; ok {
				cands.list[i].co += decayed(n.Heat, now, d.cfg.PairHalfLife)
			}
		}
	}
	facts := cands.facts
	if err := d.feed.productsInto(ctx, personal, facts); err != nil {
		return nil, err
	}
	showable := func(id int64) (FeedProduct, bool) {
		f, ok := g.facts[id]
		if !ok {
			f, ok = facts[id]
		}
		return f, ok && f.Status == commerce.ProductActive && f.Stock > 0 && !prof.bought[id]
	}
	for i := range cands.list {
		c := &cands.list[i]
		if c.item.Kind != ItemProduct {
			continue
		}
		f, ok := showable(c.item.ID)
		if !ok {
			c.drop = true
			continue
		}
		c.shop, c.heat, c.tags = f.ShopID, f.Heat, f.Hashtags
	}
	ranked := d.score(cands.list, prof, now)
	return d.explore(ranked, cands, g, prof, showable, accountID, now), nil
}

// score applies the formula and sorts, best first.
func (d *Service) score(cands []feedCand, prof viewerProfile, now time.Time) []rankedItem {
	var maxPop, maxCo float64
	for i := range cands {
		c := &cands[i]
		if c.drop {
			continue
		}
		c.pop = decayed(c.heat, now, d.cfg.PopularityHalfLife)
		maxPop = max(maxPop, c.pop)
		maxCo = max(maxCo, c.co)
	}
	out := make([]rankedItem, 0, len(cands))
	for i := range cands {
		c := &cands[i]
		if c.drop {
			continue
		}
		var pop, aff, fol, rel, live float64
		if maxPop > 0 {
			pop = math.Log1p(c.pop) / math.Log1p(maxPop)
		}
		if prof.maxTag > 0 {
			for _, t := range c.tags {
				aff += prof.affinity[t]
			}
			aff = min(1, aff/prof.maxTag)
		}
		if prof.follows[c.shop] {
			fol = 1
		}
		if maxCo > 0 {
			rel = c.co / maxCo
		}
		if c.live {
			live = 1
		}
		terms := [...]struct {
			v      float64
			reason reason
		}{
			{feedWeightFollowLive * fol * live, reasonFollowedLive},
			{feedWeightLive * live, reasonLive},
			{feedWeightFollowed * fol, reasonFollowed},
			{feedWeightAffinity * aff, reasonHashtag},
			{feedWeightRelated * rel, reasonRelated},
			{feedWeightPopular * pop, reasonPopular},
		}
		var total, best float64
		why := reasonPopular
		for _, t := range terms {
			total += t.v
			if t.v > best {
				best, why = t.v, t.reason
			}
		}
		c.score = total
		out = append(out, rankedItem{Item: c.item, Score: total, Reason: why})
	}
	slices.SortFunc(out, func(a, b rankedItem) int {
		switch {
		case a.Score != b.Score:
			if a.Score > b.Score {
				return -1
			}
			return 1
		case a.Item.Kind != b.Item.Kind:
			return b.Item.Kind - a.Item.Kind // streams first
		case a.Item.ID > b.Item.ID:
			return -1
		case a.Item.ID < b.Item.ID:
			return 1
		}
		return 0
	})
	return out
}

// explorationSlot reports whether feed position p (0-based) goes to an
// exploration item at rate eps.
func explorationSlot(p int, eps float64) bool {
	return math.Floor(float64(p+1)*eps+1e-9) > math.Floor(float64(p)*eps+1e-9)
}

// explore interleaves the exploration pool into the ranked list and cuts
// it to FeedSize.
func (d *Service) explore(ranked []rankedItem, cands *feedCands, g *feedGlobal, prof viewerProfile,
	showable func(int64) (FeedProduct, bool), accountID int64, now time.Time) []rankedItem {
	eps := d.cfg.ExplorationRate
	var pool []rankedItem
	if eps > 0 {
		since := now.Add(-d.cfg.NewSellerAge)
		for _, ls := range g.live {
			if !ls.ShopCreatedAt.Before(since) && !prof.follows[ls.ShopID] {
				pool = append(pool, rankedItem{Item: ItemRef{ItemStream, ls.ID}, Reason: reasonExplore})
			}
		}
		for _, ih := range g.explore {
			if f, ok := showable(ih.Item.ID); ok && !prof.follows[f.ShopID] {
				pool = append(pool, rankedItem{Item: ih.Item, Reason: reasonExplore})
			}
		}
		r := mrand.New(mrand.NewPCG(uint64(accountID), uint64(now.Unix()/3600)))
		r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
		for i := range pool {
			if j, ok := cands.at[pool[i].Item]; ok && !cands.list[j].drop {
				pool[i].Score = cands.list[j].score
			}
		}
	}
	out := make([]rankedItem, 0, min(d.cfg.FeedSize, len(ranked)+len(pool)))
	placed := make(map[ItemRef]bool, cap(out))
	ri, ei := 0, 0
	for p := 0; len(out) < d.cfg.FeedSize; p++ {
		if eps > 0 && explorationSlot(p, eps) {
			for ei < len(pool) && placed[pool[ei].Item] {
				ei++
			}
			if ei < len(pool) {
				out = append(out, pool[ei])
				placed[pool[ei].Item] = true
				continue
			}
		}
		for ri < len(ranked) && placed[ranked[ri].Item] {
			ri++
		}
		if ri == len(ranked) {
			// The ranked candidates ran out: the rest is exploration.
			for ei < len(pool) && placed[pool[ei].Item] {
				ei++
			}
			if ei == len(pool) {
				break
			}
			out = append(out, pool[ei])
			placed[pool[ei].Item] = true
			continue
		}
		out = append(out, ranked[ri])
		placed[ranked[ri].Item] = true
	}
	return out
}

// FeedPage is one page of a viewer's feed.
type FeedPage struct {
	Items      []FeedItem `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// Feed returns a page of a's For You feed (the zero Account: anonymous).
// The first page ranks afresh; the cursor of the next pages names that
// ranking, kept for 10 minutes on the node, so pages neither repeat nor
// skip items while scores move. A cursor this node does not know (another
// node, expired) is served from a fresh ranking at the same position.
func (d *Service) Feed(ctx context.Context, a commerce.Account, p commerce.PageRequest) (FeedPage, error) {
	limit := p.Limit
	switch {
	case limit == 0:
		limit = api.DefaultPageSize
	case limit < 0 || limit > api.MaxPageSize:
		return FeedPage{}, commerce.BadRequest("limit must be between 1 and %d", api.MaxPageSize)
	}
	token, offset := "", 0
	if p.Cursor != "" {
		t, off, ok := strings.Cut(p.Cursor, ".")
		n, err := strconv.ParseInt(off, 36, 32)
		if !ok || err != nil || n <= 0 || n > int64(d.cfg.FeedSize) || len(t) != 16 {
			return FeedPage{}, commerce.BadRequest("cursor is not one this API returned")
		}
		token, offset = t, int(n)
	}
	key := strconv.FormatInt(a.ID, 36) + ":" + token
	ranked, ok := d.feed.ranked.get(key)
	if !ok || token == "" {
		var err error
		if ranked, err = d.rank(ctx, a.ID); err != nil {
			return FeedPage{}, err
		}
		if token == "" {
			token = newFeedToken()
			key = strconv.FormatInt(a.ID, 36) + ":" + token
		}
		d.feed.ranked.put(key, ranked)
	}
	end := min(len(ranked), offset+limit)
	page := FeedPage{Items: []FeedItem{}}
	if offset < end {
		items, err := d.hydrate(ctx, ranked[offset:end])
		if err != nil {
			return FeedPage{}, err
		}
		page.Items = items
	}
	if end < len(ranked) {
		page.NextCursor = token + "." + strconv.FormatInt(int64(end), 36)
	}
	return page, nil
}

func newFeedToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// hydrate attaches summaries; a stream that ended since the ranking, or a
// product that went away, is left out of the page.
func (d *Service) hydrate(ctx context.Context, items []rankedItem) ([]FeedItem, error) {
	g, err := d.feed.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	live := make(map[int64]*LiveStream, len(g.live))
	for i := range g.live {
		live[g.live[i].ID] = &g.live[i]
	}
	var ids []int64
	for _, it := range items {
		if _, shared := g.facts[it.Item.ID]; it.Item.Kind == ItemProduct && !shared {
			ids = append(ids, it.Item.ID)
		}
	}
	facts, err := d.feed.products(ctx, ids)
	if err != nil {
		return nil, err
	}

	out := make([]FeedItem, 0, len(items))
	for _, it := range items {
		fi := FeedItem{Reason: it.Reason.String(), Score: math.Round(it.Score*1e4) / 1e4}
		switch it.Item.Kind {
		case ItemStream:
			ls, ok := live[it.Item.ID]
			if !ok {
				continue
			}
			s := ls.StreamSummary
			fi.Type, fi.Stream = "stream", &s
		default:
			f, ok := g.facts[it.Item.ID]
			if !ok {
				f, ok = facts[it.Item.ID]
			}
			if !ok {
				continue
			}
			p := f.ProductSummary
			fi.Type, fi.Product = "product", &p
		}
		out = append(out, fi)
	}
	return out, nil
}

// LiveNow lists the streams live now for a: the shops a follows first,
// then the hottest.
func (d *Service) LiveNow(ctx context.Context, a commerce.Account, limit int) ([]StreamSummary, error) {
	if limit <= 0 || limit > api.MaxPageSize {
		return nil, commerce.BadRequest("limit must be between 1 and %d", api.MaxPageSize)
	}
	g, err := d.feed.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	follows := map[int64]bool{}
	if a.ID != 0 {
		ids, err := d.store.FollowedShopIDs(ctx, a.ID, feedFollowsRead)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			follows[id] = true
		}
	}
	out := make([]StreamSummary, 0, min(limit, len(g.live)))
	for _, pass := range []bool{true, false} {
		for _, ls := range g.live {
			if follows[ls.ShopID] == pass && len(out) < limit {
				out = append(out, ls.StreamSummary)
			}
		}
	}
	return out, nil
}
