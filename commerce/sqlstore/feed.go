package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/discovery"
)

// exploreScan bounds the newest active products NewSellerProducts looks
// through: new sellers' products are new too, and the query stays one short
// index range however large the catalogue.
const exploreScan = 5000

// noHeatSQL is commerce.NoHeat, typed the same on both databases.
const noHeatSQL = "CAST(-1e18 AS DOUBLE PRECISION)"

func (c conn) itemHeats(ctx context.Context, q string, args ...any) ([]discovery.ItemHeat, error) {
	return queryAll(ctx, c, func(scan func(...any) error) (discovery.ItemHeat, error) {
		var ih discovery.ItemHeat
		err := scan(&ih.Item.Kind, &ih.Item.ID, &ih.ShopID, &ih.Heat)
		return ih, err
	}, q, args...)
}

// ViewerProfile implements commerce.FeedStore: three short index ranges
// in one statement, so a feed costs one round trip for the viewer.
func (db *DB) ViewerProfile(ctx context.Context, accountID int64, tags, follows int, since time.Time, recent int) (discovery.ViewerProfile, error) {
	var p discovery.ViewerProfile
	rows, err := db.query(ctx, `SELECT 1, 0, 0, heat, 0, 0, tag FROM
			(SELECT tag, heat FROM discovery_affinity WHERE account_id = ? ORDER BY heat DESC LIMIT ?) t
		UNION ALL SELECT 2, shop_id, 0, 0, created_at, 0, '' FROM
			(SELECT shop_id, created_at FROM follows WHERE account_id = ? ORDER BY created_at DESC LIMIT ?) f
		UNION ALL SELECT 3, kind, item_id, strength, at, bought_at, '' FROM
			(SELECT kind, item_id, strength, at, bought_at FROM discovery_recent
			 WHERE account_id = ? AND at >= ? ORDER BY at DESC LIMIT ?) r`,
		accountID, tags, accountID, follows, accountID, micros(since), recent)
	if err != nil {
		return p, err
	}
	defer rows.Close()
	type followed struct{ shop, at int64 }
	var fs []followed
	for rows.Next() {
		var part, a, b, at, bought int64
		var f float64
		var tag string
		if err := rows.Scan(&part, &a, &b, &f, &at, &bought, &tag); err != nil {
			return p, err
		}
		switch part {
		case 1:
			p.Tags = append(p.Tags, discovery.TagHeat{Tag: tag, Heat: f})
		case 2:
			fs = append(fs, followed{a, at})
		case 3:
			p.Recent = append(p.Recent, discovery.RecentItem{Item: discovery.ItemRef{Kind: int(a), ID: b}, Strength: f,
				At: fromMicros(at), BoughtAt: timeOrZero(bought)})
		}
	}
	if err := rows.Err(); err != nil {
		return p, err
	}
	// A UNION keeps no order: restore each part's.
	slices.SortStableFunc(p.Tags, func(x, y discovery.TagHeat) int { return cmp.Compare(y.Heat, x.Heat) })
	slices.SortStableFunc(fs, func(x, y followed) int { return cmp.Or(cmp.Compare(y.at, x.at), cmp.Compare(y.shop, x.shop)) })
	slices.SortStableFunc(p.Recent, func(x, y discovery.RecentItem) int { return y.At.Compare(x.At) })
	for _, f := range fs {
		p.Follows = append(p.Follows, f.shop)
	}
	return p, nil
}

func (c conn) tagHeats(ctx context.Context, q string, args ...any) ([]discovery.TagHeat, error) {
	return queryAll(ctx, c, func(scan func(...any) error) (discovery.TagHeat, error) {
		var t discovery.TagHeat
		err := scan(&t.Tag, &t.Heat)
		return t, err
	}, q, args...)
}

// PopularItems implements commerce.FeedStore.
func (db *DB) PopularItems(ctx context.Context, kind int, limit int) ([]discovery.ItemHeat, error) {
	return db.itemHeats(ctx, "SELECT kind, item_id, shop_id, heat FROM discovery_items WHERE kind = ? ORDER BY heat DESC LIMIT ?", kind, limit)
}

// TagItems implements commerce.FeedStore. The shop is not known here
// (0); the feed reads it with the product's facts.
func (db *DB) TagItems(ctx context.Context, tag string, kind int, limit int) ([]discovery.ItemHeat, error) {
	return db.itemHeats(ctx, `SELECT kind, item_id, 0, heat FROM discovery_item_tags
		WHERE tag = ? AND kind = ? ORDER BY heat DESC, item_id DESC LIMIT ?`, tag, kind, limit)
}

// ShopProducts implements commerce.FeedStore.
func (db *DB) ShopProducts(ctx context.Context, shopID int64, limit int) ([]discovery.ItemHeat, error) {
	hot, err := db.itemHeats(ctx, `SELECT kind, item_id, shop_id, heat FROM discovery_items
		WHERE shop_id = ? AND kind = 1 ORDER BY heat DESC LIMIT ?`, shopID, limit)
	if err != nil {
		return nil, err
	}
	fresh, err := db.itemHeats(ctx, `SELECT 1, id, shop_id, `+noHeatSQL+` FROM products
		WHERE shop_id = ? AND status = 'active' ORDER BY id DESC LIMIT ?`, shopID, limit)
	return append(hot, fresh...), err
}

// Neighbors implements commerce.FeedStore.
func (db *DB) Neighbors(ctx context.Context, item discovery.ItemRef, limit int) ([]discovery.ItemHeat, error) {
	return db.itemHeats(ctx, `SELECT b_kind, b_id, 0, heat FROM discovery_pairs
		WHERE a_kind = ? AND a_id = ? ORDER BY heat DESC LIMIT ?`, item.Kind, item.ID, limit)
}

// LiveStreams implements commerce.FeedStore.
func (db *DB) LiveStreams(ctx context.Context, limit int) ([]discovery.LiveStream, error) {
	rows, err := db.query(ctx, "SELECT "+streamSummaryColumns+`, COALESCE(d.heat, `+noHeatSQL+`), s.created_at
		FROM streams st JOIN shops s ON s.id = st.shop_id
		LEFT JOIN discovery_items d ON d.kind = 2 AND d.item_id = st.id
		WHERE st.status = 'live' ORDER BY COALESCE(d.heat, `+noHeatSQL+`) DESC, st.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []discovery.LiveStream
	for rows.Next() {
		var ls discovery.LiveStream
		var scheduled, shopCreated int64
		var started sql.NullInt64
		var tags string
		if err := rows.Scan(&ls.ID, &ls.ShopID, &ls.ShopHandle, &ls.ShopName, &ls.Title, &ls.Status, &scheduled,
			&started, &tags, &ls.Heat, &shopCreated); err != nil {
			return nil, err
		}
		ls.ScheduledAt, ls.ShopCreatedAt = fromMicros(scheduled), fromMicros(shopCreated)
		if started.Valid {
			t := fromMicros(started.Int64)
			ls.StartedAt = &t
		}
		ls.Hashtags = splitTags(tags)
		out = append(out, ls)
	}
	return out, rows.Err()
}

// NewSellerProducts implements commerce.FeedStore.
func (db *DB) NewSellerProducts(ctx context.Context, since time.Time, limit int) ([]discovery.ItemHeat, error) {
	return db.itemHeats(ctx, `SELECT 1, p.id, p.shop_id, `+noHeatSQL+` FROM
		(SELECT id, shop_id FROM products WHERE status = 'active' ORDER BY id DESC LIMIT ?) p
		JOIN shops s ON s.id = p.shop_id WHERE s.created_at >= ? ORDER BY p.id DESC LIMIT ?`,
		exploreScan, micros(since), limit)
}

// productSummaryColumns are what scanProductSummary reads; the query
// joins products p with shops s.
const productSummaryColumns = `p.id, p.shop_id, s.handle, s.name, p.title, p.price_minor, p.currency, p.stock, p.hashtags,
	(SELECT i.image_name FROM product_images i WHERE i.product_id = p.id ORDER BY i.position LIMIT 1)`

// scanProductSummary scans productSummaryColumns followed by extra.
func scanProductSummary(scan func(...any) error, extra ...any) (discovery.ProductSummary, error) {
	var p discovery.ProductSummary
	var tags string
	var image sql.NullString
	err := scan(append([]any{&p.ID, &p.ShopID, &p.ShopHandle, &p.ShopName, &p.Title, &p.PriceMinor, &p.Currency,
		&p.Stock, &tags, &image}, extra...)...)
	p.Hashtags = splitTags(tags)
	if image.String != "" {
		p.ImageURL = commerce.ImageURL(image.String)
	}
	return p, err
}

// FeedProducts implements commerce.FeedStore.
func (db *DB) FeedProducts(ctx context.Context, ids []int64) ([]discovery.FeedProduct, error) {
	var out []discovery.FeedProduct
	err := eachChunk(toAny(ids), inChunk, func(ids []any) error {
		rows, err := db.query(ctx, "SELECT "+productSummaryColumns+`, p.status, COALESCE(d.heat, `+noHeatSQL+`), s.created_at
			FROM products p JOIN shops s ON s.id = p.shop_id
			LEFT JOIN discovery_items d ON d.kind = 1 AND d.item_id = p.id
			WHERE p.id IN (`+placeholders(len(ids))+")", ids...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var f discovery.FeedProduct
			var shopCreated int64
			if f.ProductSummary, err = scanProductSummary(rows.Scan, &f.Status, &f.Heat, &shopCreated); err != nil {
				return err
			}
			f.ShopCreatedAt = fromMicros(shopCreated)
			out = append(out, f)
		}
		return rows.Err()
	})
	return out, err
}
