package sqlstore

import (
	"context"
	"strings"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/discovery"
)

// The PostgreSQL tsvector expressions of migration 0055 (the 'english'
// configuration: stemmed, without stop words); queries repeat them exactly
// so the planner uses the GIN indexes, and parse the query with the same
// configuration, so "running:*" becomes 'run':*.
const (
	productVector = `(setweight(to_tsvector('english', p.title), 'A') || setweight(to_tsvector('english', p.hashtags), 'B') || setweight(to_tsvector('english', p.description), 'C'))`
	shopVector    = `(setweight(to_tsvector('english', s.name), 'A') || setweight(to_tsvector('english', s.handle), 'A') || setweight(to_tsvector('english', s.description), 'C'))`
	streamVector  = `(setweight(to_tsvector('english', st.title), 'A') || setweight(to_tsvector('english', st.hashtags), 'B') || setweight(to_tsvector('english', st.description), 'C'))`
	tsQuery       = `to_tsquery('english', ?1)`
)

// matchQuery renders the terms in the database's query syntax. Terms are
// letters and digits only (commerce.searchQuery), and are quoted for FTS5
// besides, so nothing in them is an operator.
func (c conn) matchQuery(q discovery.SearchQuery) string {
	parts := make([]string, len(q.Terms))
	for i, t := range q.Terms {
		if c.dialect == Postgres {
			parts[i] = t
			if q.Prefix[i] {
				parts[i] += ":*"
			}
			continue
		}
		parts[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
		if q.Prefix[i] {
			parts[i] += "*"
		}
	}
	if c.dialect == Postgres {
		return strings.Join(parts, " & ")
	}
	return strings.Join(parts, " ")
}

// productSearchSQL finds active products matching ?1 (matchQuery), ranked, LIMIT ?2 OFFSET ?3.
func productSearchSQL(d Dialect) string {
	if d == Postgres {
		return numbered(d, "SELECT "+productSummaryColumns+` FROM products p JOIN shops s ON s.id = p.shop_id
			LEFT JOIN discovery_items d ON d.kind = 1 AND d.item_id = p.id
			WHERE `+productVector+` @@ `+tsQuery+` AND p.status = 'active'
			ORDER BY ts_rank(`+productVector+`, `+tsQuery+`) DESC,
				COALESCE(d.heat, `+noHeatSQL+`) DESC, p.id DESC LIMIT ?2 OFFSET ?3`)
	}
	return numbered(d, "SELECT "+productSummaryColumns+` FROM product_search
		JOIN products p ON p.id = product_search.rowid JOIN shops s ON s.id = p.shop_id
		LEFT JOIN discovery_items d ON d.kind = 1 AND d.item_id = p.id
		WHERE product_search MATCH ?1 AND p.status = 'active'
		ORDER BY bm25(product_search, 10.0, 5.0, 1.0), COALESCE(d.heat, `+noHeatSQL+`) DESC, p.id DESC
		LIMIT ?2 OFFSET ?3`)
}

// SearchProducts implements commerce.SearchStore.
func (db *DB) SearchProducts(ctx context.Context, q discovery.SearchQuery) ([]discovery.ProductSummary, error) {
	return queryAll(ctx, db.conn, productSummary, productSearchSQL(db.dialect), db.matchQuery(q), q.Limit, q.Offset)
}

// numbered turns ?N placeholders (used where an argument repeats) into the
// dialect's form: $N for PostgreSQL, ?N for SQLite (which takes both).
func numbered(d Dialect, q string) string {
	if d == Postgres {
		return strings.NewReplacer("?1", "$1", "?2", "$2", "?3", "$3").Replace(q)
	}
	return q
}

// shopSearchSQL finds shops matching ?1 (matchQuery), ranked, LIMIT ?2 OFFSET ?3.
func shopSearchSQL(d Dialect) string {
	if d == Postgres {
		return numbered(d, `SELECT s.id, s.handle, s.name, s.description, s.logo_image, COALESCE(c.followers, 0)
			FROM shops s LEFT JOIN shop_follower_counts c ON c.shop_id = s.id
			WHERE `+shopVector+` @@ `+tsQuery+`
			ORDER BY ts_rank(`+shopVector+`, `+tsQuery+`) DESC, COALESCE(c.followers, 0) DESC, s.id DESC
			LIMIT ?2 OFFSET ?3`)
	}
	return numbered(d, `SELECT s.id, s.handle, s.name, s.description, s.logo_image, COALESCE(c.followers, 0)
		FROM shop_search JOIN shops s ON s.id = shop_search.rowid
		LEFT JOIN shop_follower_counts c ON c.shop_id = s.id
		WHERE shop_search MATCH ?1
		ORDER BY bm25(shop_search, 10.0, 10.0, 1.0), COALESCE(c.followers, 0) DESC, s.id DESC
		LIMIT ?2 OFFSET ?3`)
}

// SearchShops implements commerce.SearchStore.
func (db *DB) SearchShops(ctx context.Context, q discovery.SearchQuery) ([]discovery.ShopHit, error) {
	rows, err := db.query(ctx, shopSearchSQL(db.dialect), db.matchQuery(q), q.Limit, q.Offset)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []discovery.ShopHit
	for rows.Next() {
		var h discovery.ShopHit
		var logo string
		if err := rows.Scan(&h.ID, &h.Handle, &h.Name, &h.Description, &logo, &h.Followers); err != nil {
			return nil, err
		}
		if logo != "" {
			h.LogoURL = commerce.ImageURL(logo)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

const streamStatusOrder = "CASE st.status WHEN 'live' THEN 0 WHEN 'scheduled' THEN 1 ELSE 2 END"

// streamSearchSQL finds streams matching ?1 (matchQuery), ranked, LIMIT ?2 OFFSET ?3.
func streamSearchSQL(d Dialect) string {
	if d == Postgres {
		return numbered(d, "SELECT "+streamSummaryColumns+` FROM streams st JOIN shops s ON s.id = st.shop_id
			WHERE `+streamVector+` @@ `+tsQuery+`
			ORDER BY `+streamStatusOrder+`, ts_rank(`+streamVector+`, `+tsQuery+`) DESC, st.id DESC
			LIMIT ?2 OFFSET ?3`)
	}
	return numbered(d, "SELECT "+streamSummaryColumns+` FROM stream_search
		JOIN streams st ON st.id = stream_search.rowid JOIN shops s ON s.id = st.shop_id
		WHERE stream_search MATCH ?1
		ORDER BY `+streamStatusOrder+`, bm25(stream_search, 10.0, 5.0, 1.0), st.id DESC
		LIMIT ?2 OFFSET ?3`)
}

// SearchStreams implements commerce.SearchStore.
func (db *DB) SearchStreams(ctx context.Context, q discovery.SearchQuery) ([]discovery.StreamSummary, error) {
	return db.streamSummaries(ctx, streamSearchSQL(db.dialect), db.matchQuery(q), q.Limit, q.Offset)
}

// HashtagProducts implements commerce.SearchStore.
func (db *DB) HashtagProducts(ctx context.Context, tag string, offset, limit int) ([]discovery.ProductSummary, error) {
	return queryAll(ctx, db.conn, productSummary, "SELECT "+productSummaryColumns+` FROM discovery_item_tags t
		JOIN products p ON p.id = t.item_id JOIN shops s ON s.id = p.shop_id
		WHERE t.tag = ? AND t.kind = 1 AND p.status = 'active'
		ORDER BY t.heat DESC, t.item_id DESC LIMIT ? OFFSET ?`, tag, limit, offset)
}

// productSummary reads a product summary row with nothing after it.
func productSummary(scan func(...any) error) (discovery.ProductSummary, error) {
	return scanProductSummary(scan)
}

// HashtagStreams implements commerce.SearchStore.
func (db *DB) HashtagStreams(ctx context.Context, tag string, limit int) ([]discovery.StreamSummary, error) {
	return db.streamSummaries(ctx, "SELECT "+streamSummaryColumns+` FROM stream_hashtags h
		JOIN streams st ON st.id = h.stream_id JOIN shops s ON s.id = st.shop_id
		WHERE h.tag = ? AND st.status IN ('live', 'scheduled')
		ORDER BY `+streamStatusOrder+`, st.scheduled_at, st.id LIMIT ?`, tag, limit)
}

// TrendingTags implements commerce.SearchStore.
func (db *DB) TrendingTags(ctx context.Context, prefix string, limit int) ([]discovery.TagHeat, error) {
	if prefix == "" {
		return db.tagHeats(ctx, "SELECT tag, heat FROM discovery_tags ORDER BY heat DESC, tag LIMIT ?", limit)
	}
	return db.tagHeats(ctx, `SELECT tag, heat FROM discovery_tags WHERE tag LIKE ? ESCAPE '\'
		ORDER BY heat DESC, tag LIMIT ?`, strings.TrimPrefix(likePattern(prefix), "%"), limit)
}
