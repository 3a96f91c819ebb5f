package discovery

import (
	"context"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/internal/api"
)

// Search and hashtags
//
// Text search covers products (title, hashtags, description), shops (name,
// handle, description) and streams (title, hashtags, description), with
// PostgreSQL's full-text search or SQLite's FTS5, both stemming English
// words ("shirts" finds "Shirt", "running" finds "run"). A query is reduced
// to at most 8 terms — runs of letters and digits, lower-cased, without
// English stop words ("the", "and", ...) — and each term of two or more
// characters matches as a prefix of a stemmed word ("sneak" finds
// "sneakers"); every term must match. Operators, quotes and punctuation
// only separate terms, so no query can error or inject. Products rank by relevance
// (title above hashtags above description), then popularity; streams
// live first, then scheduled, then ended, each by relevance; shops by
// relevance, then followers.

const (
	maxSearchTerms     = 8
	maxSearchTermRunes = 50
	maxSearchQueryLen  = 500
	// maxSearchOffset bounds how deep relevance-ranked lists page.
	maxSearchOffset = 1000
)

// SearchQuery is a search the store runs: every term must match (as a
// prefix when Prefix[i]).
type SearchQuery struct {
	Terms  []string
	Prefix []bool
	Offset int
	Limit  int
}

// ShopHit is a shop in search results.
type ShopHit struct {
	ID          int64  `json:"id"`
	Handle      string `json:"handle"`
	Name        string `json:"name"`
	Description string `json:"description"`
	LogoURL     string `json:"logo_url,omitempty"`
	Followers   int64  `json:"followers"`
}

// TrendingTag is a hashtag and how hot it is now (the decayed sum of the
// interactions with what carries it).
type TrendingTag struct {
	Tag   string  `json:"tag"`
	Score float64 `json:"score"`
}

// SearchStore runs searches and hashtag listings.
type SearchStore interface {
	SearchProducts(ctx context.Context, q SearchQuery) ([]ProductSummary, error)
	SearchShops(ctx context.Context, q SearchQuery) ([]ShopHit, error)
	SearchStreams(ctx context.Context, q SearchQuery) ([]StreamSummary, error)
	// HashtagProducts lists the active products with tag, hottest first.
	HashtagProducts(ctx context.Context, tag string, offset, limit int) ([]ProductSummary, error)
	// HashtagStreams lists the live and scheduled streams with tag, live
	// first, then by schedule.
	HashtagStreams(ctx context.Context, tag string, limit int) ([]StreamSummary, error)
	// TrendingTags returns the hottest hashtags starting with prefix.
	TrendingTags(ctx context.Context, prefix string, limit int) ([]TagHeat, error)
}

// stopWords are PostgreSQL's English stop words (tsearch_data/english.stop),
// which its 'english' configuration leaves out of documents and queries.
// Dropping them here too makes SQLite (whose porter tokenizer indexes them)
// answer alike: "the shirt" finds "Blue shirt", and "the" alone finds
// nothing rather than everything.
var stopWords = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, w := range strings.Fields(`i me my myself we our ours ourselves you your yours yourself yourselves
		he him his himself she her hers herself it its itself they them their theirs themselves what which who
		whom this that these those am is are was were be been being have has had having do does did doing a an
		the and but if or because as until while of at by for with about against between into through during
		before after above below to from up down in out on off over under again further then once here there
		when where why how all any both each few more most other some such no nor not only own same so than too
		very s t can will just don should now`) {
		m[w] = struct{}{}
	}
	return m
}()

// searchQuery turns free text into a SearchQuery (no terms: nothing to find).
func searchQuery(text string) SearchQuery {
	if len(text) > maxSearchQueryLen {
		text = text[:maxSearchQueryLen]
	}
	var q SearchQuery
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if len(q.Terms) == maxSearchTerms {
			break
		}
		if _, stop := stopWords[w]; stop {
			continue
		}
		if utf8.RuneCountInString(w) > maxSearchTermRunes {
			w = string([]rune(w)[:maxSearchTermRunes])
		}
		q.Terms = append(q.Terms, w)
		q.Prefix = append(q.Prefix, utf8.RuneCountInString(w) >= 2)
	}
	return q
}

// offsetPage reads a page whose cursor is an offset into a ranked list.
func offsetPage(p commerce.PageRequest, maxOffset int) (offset, limit int, err error) {
	limit = p.Limit
	switch {
	case limit == 0:
		limit = api.DefaultPageSize
	case limit < 0 || limit > api.MaxPageSize:
		return 0, 0, commerce.BadRequest("limit must be between 1 and %d", api.MaxPageSize)
	}
	if p.Cursor != "" {
		n, err := strconv.ParseInt(p.Cursor, 36, 32)
		if err != nil || n <= 0 || n > int64(maxOffset) {
			return 0, 0, commerce.BadRequest("cursor is not one this API returned")
		}
		offset = int(n)
	}
	return offset, limit, nil
}

// nextOffset is the cursor after a page fetched with limit+1 rows.
func nextOffset(got, offset, limit, maxOffset int) string {
	if got <= limit || offset+limit > maxOffset {
		return ""
	}
	return strconv.FormatInt(int64(offset+limit), 36)
}

func searchPage[T any](ctx context.Context, text string, p commerce.PageRequest, run func(context.Context, SearchQuery) ([]T, error)) ([]T, string, error) {
	offset, limit, err := offsetPage(p, maxSearchOffset)
	if err != nil {
		return nil, "", err
	}
	q := searchQuery(text)
	if len(q.Terms) == 0 {
		return []T{}, "", nil
	}
	q.Offset, q.Limit = offset, limit+1
	items, err := run(ctx, q)
	if err != nil {
		return nil, "", err
	}
	next := nextOffset(len(items), offset, limit, maxSearchOffset)
	if items == nil {
		items = []T{}
	}
	return items[:min(len(items), limit)], next, nil
}

// SearchProducts finds active products.
func (d *Service) SearchProducts(ctx context.Context, text string, p commerce.PageRequest) ([]ProductSummary, string, error) {
	return searchPage(ctx, text, p, d.store.SearchProducts)
}

// SearchShops finds shops.
func (d *Service) SearchShops(ctx context.Context, text string, p commerce.PageRequest) ([]ShopHit, string, error) {
	return searchPage(ctx, text, p, d.store.SearchShops)
}

// SearchStreams finds streams, live ones first.
func (d *Service) SearchStreams(ctx context.Context, text string, p commerce.PageRequest) ([]StreamSummary, string, error) {
	return searchPage(ctx, text, p, d.store.SearchStreams)
}

// SearchResults is the first page of each kind of result.
type SearchResults struct {
	Query    string           `json:"query"`
	Products []ProductSummary `json:"products"`
	Shops    []ShopHit        `json:"shops"`
	Streams  []StreamSummary  `json:"streams"`
}

// Search returns the best limit products, shops and streams for text.
func (d *Service) Search(ctx context.Context, text string, limit int) (SearchResults, error) {
	out := SearchResults{Query: strings.Join(searchQuery(text).Terms, " ")}
	var err error
	p := commerce.PageRequest{Limit: limit}
	if out.Products, _, err = d.SearchProducts(ctx, text, p); err != nil {
		return out, err
	}
	if out.Shops, _, err = d.SearchShops(ctx, text, p); err != nil {
		return out, err
	}
	out.Streams, _, err = d.SearchStreams(ctx, text, p)
	return out, err
}

// cleanTag normalises a hashtag from a URL; ok is false for one that no
// product could carry.
func cleanTag(tag string) (string, bool) {
	tags, err := commerce.CleanHashtags([]string{tag})
	if err != nil || len(tags) != 1 {
		return "", false
	}
	return tags[0], true
}

// HashtagProducts lists the active products with a hashtag, hottest first.
// An unknown or impossible hashtag is an empty page, not an error.
func (d *Service) HashtagProducts(ctx context.Context, tag string, p commerce.PageRequest) ([]ProductSummary, string, error) {
	offset, limit, err := offsetPage(p, maxSearchOffset)
	if err != nil {
		return nil, "", err
	}
	t, ok := cleanTag(tag)
	if !ok {
		return []ProductSummary{}, "", nil
	}
	items, err := d.store.HashtagProducts(ctx, t, offset, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := nextOffset(len(items), offset, limit, maxSearchOffset)
	if items == nil {
		items = []ProductSummary{}
	}
	return items[:min(len(items), limit)], next, nil
}

// HashtagStreams lists the live and upcoming streams with a hashtag.
func (d *Service) HashtagStreams(ctx context.Context, tag string, limit int) ([]StreamSummary, error) {
	if limit <= 0 || limit > api.MaxPageSize {
		return nil, commerce.BadRequest("limit must be between 1 and %d", api.MaxPageSize)
	}
	t, ok := cleanTag(tag)
	if !ok {
		return []StreamSummary{}, nil
	}
	out, err := d.store.HashtagStreams(ctx, t, limit)
	if out == nil {
		out = []StreamSummary{}
	}
	return out, err
}

// TrendingTags lists the hottest hashtags, optionally those starting with
// prefix (for completion).
func (d *Service) TrendingTags(ctx context.Context, prefix string, limit int) ([]TrendingTag, error) {
	if limit <= 0 || limit > api.MaxPageSize {
		return nil, commerce.BadRequest("limit must be between 1 and %d", api.MaxPageSize)
	}
	prefix = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(prefix), "#"))
	if prefix != "" {
		if _, ok := cleanTag(prefix); !ok {
			return []TrendingTag{}, nil
		}
	}
	tags, err := d.store.TrendingTags(ctx, prefix, limit)
	if err != nil {
		return nil, err
	}
	now := d.now()
	out := make([]TrendingTag, 0, len(tags))
	for _, t := range tags {
		out = append(out, TrendingTag{Tag: t.Tag, Score: math.Round(decayed(t.Heat, now, d.cfg.PopularityHalfLife)*1000) / 1000})
	}
	return out, nil
}
