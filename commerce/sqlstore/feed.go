package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

// exploreScan bounds the newest active products NewSellerProducts looks
// through: new sellers' products are new too, and the query stays one short
// index range however large the catalogue.
const exploreScan = 5000

// noHeatSQL is commerce.NoHeat, typed the same on both databases.
const noHeatSQL = "CAST(-1e18 AS DOUBLE PRECISION)"

func (c conn) itemHeats(ctx context.Context, q string, args ...any) ([]commerce.ItemHeat, error) {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commerce.ItemHeat
	for rows.Next() {
		var ih commerce.ItemHeat
		if err := rows.Scan(&ih.Item.Kind, &ih.Item.ID, &ih.ShopID, &ih.Heat); err != nil {
			return nil, err
		}
		out = append(out, ih)
	}
	return out, rows.Err()
}

// ViewerTags implements commerce.FeedStore.
func (db *DB) ViewerTags(ctx context.Context, accountID int64, limit int) ([]commerce.TagHeat, error) {
	return db.tagHeats(ctx, "SELECT tag, heat FROM discovery_affinity WHERE account_id = ? ORDER BY heat DESC LIMIT ?", accountID, limit)
}

func (c conn) tagHeats(ctx context.Context, q string, args ...any) ([]commerce.TagHeat, error) {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commerce.TagHeat
	for rows.Next() {
		var t commerce.TagHeat
		if err := rows.Scan(&t.Tag, &t.Heat); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// PopularItems implements commerce.FeedStore.
func (db *DB) PopularItems(ctx context.Context, kind int, limit int) ([]commerce.ItemHeat, error) {
	return db.itemHeats(ctx, "SELECT kind, item_id, shop_id, heat FROM discovery_items WHERE kind = ? ORDER BY heat DESC LIMIT ?", kind, limit)
}

// TagItems implements commerce.FeedStore. The shop is not known here
// (0); the feed reads it with the product's facts.
func (db *DB) TagItems(ctx context.Context, tag string, kind int, limit int) ([]commerce.ItemHeat, error) {
	return db.itemHeats(ctx, `SELECT kind, item_id, 0, heat FROM discovery_item_tags
		WHERE tag = ? AND kind = ? ORDER BY heat DESC, item_id DESC LIMIT ?`, tag, kind, limit)
}

// ShopProducts implements commerce.FeedStore.
func (db *DB) ShopProducts(ctx context.Context, shopID int64, limit int) ([]commerce.ItemHeat, error) {
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
func (db *DB) Neighbors(ctx context.Context, item commerce.ItemRef, limit int) ([]commerce.ItemHeat, error) {
	return db.itemHeats(ctx, `SELECT b_kind, b_id, 0, heat FROM discovery_pairs
		WHERE a_kind = ? AND a_id = ? ORDER BY heat DESC LIMIT ?`, item.Kind, item.ID, limit)
}

// LiveStreams implements commerce.FeedStore.
func (db *DB) LiveStreams(ctx context.Context, limit int) ([]commerce.LiveStream, error) {
	rows, err := db.query(ctx, "SELECT "+streamSummaryColumns+`, COALESCE(d.heat, `+noHeatSQL+`), s.created_at
		FROM streams st JOIN shops s ON s.id = st.shop_id
		LEFT JOIN discovery_items d ON d.kind = 2 AND d.item_id = st.id
		WHERE st.status = 'live' ORDER BY COALESCE(d.heat, `+noHeatSQL+`) DESC, st.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commerce.LiveStream
	for rows.Next() {
		var ls commerce.LiveStream
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
func (db *DB) NewSellerProducts(ctx context.Context, since time.Time, limit int) ([]commerce.ItemHeat, error) {
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
func scanProductSummary(scan func(...any) error, extra ...any) (commerce.ProductSummary, error) {
	var p commerce.ProductSummary
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
func (db *DB) FeedProducts(ctx context.Context, ids []int64) ([]commerce.FeedProduct, error) {
	var out []commerce.FeedProduct
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
			var f commerce.FeedProduct
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
