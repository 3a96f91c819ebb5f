package discovery

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ProductSummary is a product as lists show it: the feed, search results,
// hashtag pages.
type ProductSummary struct {
	ID         int64    `json:"id"`
	ShopID     int64    `json:"shop_id"`
	ShopHandle string   `json:"shop_handle"`
	ShopName   string   `json:"shop_name"`
	Title      string   `json:"title"`
	PriceMinor int64    `json:"price_minor"`
	Currency   string   `json:"currency"`
	ImageURL   string   `json:"image_url,omitempty"`
	Stock      int64    `json:"stock"`
	Hashtags   []string `json:"hashtags"`
}

// StreamSummary is a stream as lists show it.
type StreamSummary struct {
	ID          int64      `json:"id"`
	ShopID      int64      `json:"shop_id"`
	ShopHandle  string     `json:"shop_handle"`
	ShopName    string     `json:"shop_name"`
	Title       string     `json:"title"`
	Status      string     `json:"status"`
	ScheduledAt time.Time  `json:"scheduled_at"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	Hashtags    []string   `json:"hashtags"`
}

// FeedProduct is a product with what ranking needs beside its summary.
type FeedProduct struct {
	ProductSummary
	Status        string
	Heat          float64
	ShopCreatedAt time.Time
}

// LiveStream is a live stream with its heat and its shop's age.
type LiveStream struct {
	StreamSummary
	Heat          float64
	ShopCreatedAt time.Time
}

// ItemHeat is an item with a heat: its popularity, or for neighbours the
// heat of the pair.
type ItemHeat struct {
	Item   ItemRef
	ShopID int64
	Heat   float64
}

// ViewerProfile is what the store knows of one viewer's taste.
type ViewerProfile struct {
	Tags    []TagHeat
	Follows []int64
	Recent  []RecentItem
}

// TagHeat is a hashtag with a heat: trending, or a viewer's affinity.
type TagHeat struct {
	Tag  string  `json:"tag"`
	Heat float64 `json:"-"`
}

// FeedStore answers the feed's candidate queries; every one reads a short
// index range.
type FeedStore interface {
	// ViewerProfile reads, in one round trip, the viewer's strongest
	// hashtags (at most tags), the shops they follow (at most follows,
	// newest follow first) and their strong items since since (at most
	// recent, newest first).
	ViewerProfile(ctx context.Context, accountID int64, tags, follows int, since time.Time, recent int) (ViewerProfile, error)
	// PopularItems returns the hottest items of a kind.
	PopularItems(ctx context.Context, kind int, limit int) ([]ItemHeat, error)
	// TagItems returns the hottest items of a kind carrying tag.
	TagItems(ctx context.Context, tag string, kind int, limit int) ([]ItemHeat, error)
	// ShopProducts returns a shop's hottest products and its newest active
	// ones, up to limit of each.
	ShopProducts(ctx context.Context, shopID int64, limit int) ([]ItemHeat, error)
	// Neighbors returns the items most often engaged with together with item.
	Neighbors(ctx context.Context, item ItemRef, limit int) ([]ItemHeat, error)
	// LiveStreams returns the streams live now, hottest first.
	LiveStreams(ctx context.Context, limit int) ([]LiveStream, error)
	// NewSellerProducts returns the newest active products of shops opened
	// since since.
	NewSellerProducts(ctx context.Context, since time.Time, limit int) ([]ItemHeat, error)
	// FeedProducts returns products by ID with their summary, status and
	// heat; unknown IDs are left out.
	FeedProducts(ctx context.Context, ids []int64) ([]FeedProduct, error)
}

// Bounds of the candidate sets, so a feed reads and scores at most about a
// thousand items whatever the catalogue and the viewer's history.
const (
	feedLiveLimit      = 200
	feedPopularLimit   = 300
	feedExploreLimit   = 300
	feedTags           = 8
	feedTagItems       = 30
	feedFollowedShops  = 20
	feedShopItems      = 8
	feedNeighbors      = 15
	feedCacheEntries   = 20000
	feedProductEntries = 50000
	feedListEntries    = 5000
	feedListTTL        = 10 * time.Minute
)

// feedGlobal is the part of every feed that is the same for everyone,
// refreshed in the background every CandidateTTL.
type feedGlobal struct {
	live    []LiveStream
	popular []ItemHeat
	explore []ItemHeat // products of new sellers
	// facts are the popular and exploration products' facts, read with
	// the snapshot so no feed looks them up again.
	facts map[int64]FeedProduct
	at    time.Time
}

// feedSources gathers candidates: the shared snapshot, and caches of the
// lists keyed by hashtag, shop and item.
type feedSources struct {
	d      *Service
	global atomic.Pointer[feedGlobal]
	wake   chan struct{}
	loadMu sync.Mutex // one first load at a time
	genMu  sync.Mutex // orders snapshot stores against forget
	tags   *feedCache[string, []ItemHeat]
	shops  *feedCache[int64, []ItemHeat]
	pairs  *feedCache[ItemRef, []ItemHeat]
	facts  *feedCache[int64, FeedProduct]
	ranked *feedCache[string, []rankedItem]
	// used says a feed read the snapshot since the last refresh; an idle
	// node does not refresh it.
	used atomic.Bool
	// candPool recycles the candidate sets of feeds (*feedCands).
	candPool sync.Pool
	// gen counts forget calls: a load that began before one does not
	// store its (older) snapshot.
	gen atomic.Int64
}

func newFeedSources(d *Service) *feedSources {
	ttl, now := d.cfg.CandidateTTL, d.cfg.Now
	return &feedSources{
		d: d, wake: make(chan struct{}, 1),
		tags:     newFeedCache[string, []ItemHeat](feedCacheEntries, ttl, now),
		shops:    newFeedCache[int64, []ItemHeat](feedCacheEntries, ttl, now),
		pairs:    newFeedCache[ItemRef, []ItemHeat](feedCacheEntries, ttl, now),
		facts:    newFeedCache[int64, FeedProduct](feedProductEntries, ttl*10, now),
		ranked:   newFeedCache[string, []rankedItem](feedListEntries, feedListTTL, now),
		candPool: sync.Pool{New: newFeedCands},
	}
}

// refreshSoon asks the background loop for a fresh snapshot now (a stream
// just went live).
func (f *feedSources) refreshSoon() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// forget drops every cached candidate list, so the next feed reads the
// store afresh.
func (f *feedSources) forget() {
	f.genMu.Lock()
	f.gen.Add(1)
	f.global.Store(nil)
	f.genMu.Unlock()
	f.tags.clear()
	f.shops.clear()
	f.pairs.clear()
	f.facts.clear()
}

// refreshLoop keeps the shared snapshot fresh while feeds are asked for,
// until the Service closes.
func (f *feedSources) refreshLoop() {
	t := time.NewTicker(f.d.cfg.CandidateTTL)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-f.wake:
		case <-f.d.quit:
			return
		}
		if !f.used.Swap(false) {
			// Nobody asked for a feed since the last refresh: drop the
			// snapshot instead of keeping it fresh; the next feed loads it.
			f.genMu.Lock()
			f.global.Store(nil)
			f.genMu.Unlock()
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := f.loadGlobal(ctx); err != nil {
			f.d.log.Warn("feed candidates not refreshed", slog.Any("error", err))
		}
		cancel()
	}
}

// snapshot returns the shared candidates, loading them on first use.
func (f *feedSources) snapshot(ctx context.Context) (*feedGlobal, error) {
	f.used.Store(true)
	if g := f.global.Load(); g != nil {
		return g, nil
	}
	f.loadMu.Lock()
	defer f.loadMu.Unlock()
	if g := f.global.Load(); g != nil {
		return g, nil
	}
	return f.loadGlobal(ctx)
}

func (f *feedSources) loadGlobal(ctx context.Context) (*feedGlobal, error) {
	gen := f.gen.Load()
	now := f.d.now()
	live, err := f.d.store.LiveStreams(ctx, feedLiveLimit)
	if err != nil {
		return nil, err
	}
	popular, err := f.d.store.PopularItems(ctx, ItemProduct, feedPopularLimit)
	if err != nil {
		return nil, err
	}
	var explore []ItemHeat
	if f.d.cfg.ExplorationRate > 0 {
		if explore, err = f.d.store.NewSellerProducts(ctx, now.Add(-f.d.cfg.NewSellerAge), feedExploreLimit); err != nil {
			return nil, err
		}
	}
	ids := make([]int64, 0, len(popular)+len(explore))
	for _, list := range [][]ItemHeat{popular, explore} {
		for _, ih := range list {
			ids = append(ids, ih.Item.ID)
		}
	}
	ps, err := f.d.store.FeedProducts(ctx, uniq(ids))
	if err != nil {
		return nil, err
	}
	facts := make(map[int64]FeedProduct, len(ps))
	for _, p := range ps {
		facts[p.ID] = p
	}
	g := &feedGlobal{live: live, popular: popular, explore: explore, facts: facts, at: now}
	f.genMu.Lock()
	if f.gen.Load() == gen {
		f.global.Store(g)
	}
	f.genMu.Unlock()
	return g, nil
}

// cached returns the list under key from c, loading and storing it on a miss.
func cached[K comparable](ctx context.Context, c *feedCache[K, []ItemHeat], key K, load func(context.Context) ([]ItemHeat, error)) ([]ItemHeat, error) {
	if v, ok := c.get(key); ok {
		return v, nil
	}
	v, err := load(ctx)
	if err != nil {
		return nil, err
	}
	c.put(key, v)
	return v, nil
}

func (f *feedSources) tagItems(ctx context.Context, tag string) ([]ItemHeat, error) {
	return cached(ctx, f.tags, tag, func(ctx context.Context) ([]ItemHeat, error) {
		return f.d.store.TagItems(ctx, tag, ItemProduct, feedTagItems)
	})
}

func (f *feedSources) shopItems(ctx context.Context, shopID int64) ([]ItemHeat, error) {
	return cached(ctx, f.shops, shopID, func(ctx context.Context) ([]ItemHeat, error) {
		return f.d.store.ShopProducts(ctx, shopID, feedShopItems)
	})
}

func (f *feedSources) neighbors(ctx context.Context, item ItemRef) ([]ItemHeat, error) {
	return cached(ctx, f.pairs, item, func(ctx context.Context) ([]ItemHeat, error) {
		return f.d.store.Neighbors(ctx, item, feedNeighbors)
	})
}

// products returns the facts of ids, from the cache where it can and from
// one store query for the rest.
func (f *feedSources) products(ctx context.Context, ids []int64) (map[int64]FeedProduct, error) {
	out := make(map[int64]FeedProduct, len(ids))
	return out, f.productsInto(ctx, ids, out)
}

// productsInto adds the facts of ids to out.
func (f *feedSources) productsInto(ctx context.Context, ids []int64, out map[int64]FeedProduct) error {
	missing := f.facts.getMany(ids, out)
	if len(missing) == 0 {
		return nil
	}
	ps, err := f.d.store.FeedProducts(ctx, missing)
	if err != nil {
		return err
	}
	for _, p := range ps {
		f.facts.put(p.ID, p)
		out[p.ID] = p
	}
	return nil
}
