package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/liveshop/liveshop/commerce"
)

const productColumns = `p.id, p.shop_id, p.title, p.description, p.price_minor, p.currency, p.stock, p.status,
	p.hashtags, p.rating_count, p.rating_sum, p.created_at, p.updated_at`

func scanProduct(scan func(...any) error) (commerce.Product, error) {
	var p commerce.Product
	var tags string
	var sum, created, updated int64
	err := scan(&p.ID, &p.ShopID, &p.Title, &p.Description, &p.PriceMinor, &p.Currency, &p.Stock, &p.Status,
		&tags, &p.Rating.Count, &sum, &created, &updated)
	p.Hashtags = splitTags(tags)
	if p.Rating.Count > 0 {
		p.Rating.Average = float64(sum) / float64(p.Rating.Count)
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	p.Images = []commerce.Image{}
	return p, err
}

func splitTags(s string) []string {
	f := strings.Fields(s)
	if f == nil {
		f = []string{}
	}
	return f
}

// searchText is what the simple text filter matches: lower-cased title,
// description and hashtags (lower-cased in Go so both databases agree on
// non-ASCII letters).
func searchText(title, description string, tags []string) string {
	return strings.ToLower(title + "\n" + description + "\n#" + strings.Join(tags, " #"))
}

// likePattern escapes a word for LIKE ... ESCAPE '\'.
func likePattern(word string) string {
	r := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)
	return "%" + r.Replace(word) + "%"
}

// forUpdate locks selected rows on PostgreSQL; SQLite transactions hold the
// database write lock from their start, so it needs none.
func (c conn) forUpdate() string { return c.forUpdateOf("") }

// forUpdateOf locks only the rows of the named tables of a join (aliases).
func (c conn) forUpdateOf(tables string) string {
	switch {
	case c.dialect != Postgres:
		return ""
	case tables == "":
		return " FOR UPDATE"
	}
	return " FOR UPDATE OF " + tables
}

func (c conn) replaceProductTags(ctx context.Context, productID int64, tags []string) error {
	if _, err := c.exec(ctx, "DELETE FROM product_hashtags WHERE product_id = ?", productID); err != nil {
		return err
	}
	for _, t := range tags {
		if _, err := c.exec(ctx, "INSERT INTO product_hashtags (tag, product_id) VALUES (?, ?)", t, productID); err != nil {
			return err
		}
	}
	return nil
}

// CreateProduct implements commerce.ProductStore.
func (db *DB) CreateProduct(ctx context.Context, p *commerce.Product) error {
	return db.inTx(ctx, func(tx conn) error {
		err := tx.get(ctx, `INSERT INTO products (shop_id, title, description, price_minor, currency, stock, status,
			hashtags, search_text, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			[]any{p.ShopID, p.Title, p.Description, p.PriceMinor, p.Currency, p.Stock, p.Status,
				strings.Join(p.Hashtags, " "), searchText(p.Title, p.Description, p.Hashtags), micros(p.CreatedAt), micros(p.UpdatedAt)}, &p.ID)
		if err != nil {
			return fmt.Errorf("insert product: %w", err)
		}
		return tx.replaceProductTags(ctx, p.ID, p.Hashtags)
	})
}

// ProductByID implements commerce.ProductStore.
func (db *DB) ProductByID(ctx context.Context, id int64) (commerce.Product, error) {
	p, err := scanProduct(func(dest ...any) error {
		return db.get(ctx, "SELECT "+productColumns+" FROM products p WHERE p.id = ?", []any{id}, dest...)
	})
	if err != nil {
		return commerce.Product{}, err
	}
	ps := []commerce.Product{p}
	if err := db.attachImages(ctx, ps); err != nil {
		return commerce.Product{}, err
	}
	return ps[0], nil
}

// attachImages loads the images of ps with one query.
func (c conn) attachImages(ctx context.Context, ps []commerce.Product) error {
	if len(ps) == 0 {
		return nil
	}
	ids := make([]any, len(ps))
	at := make(map[int64]int, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
		at[p.ID] = i
	}
	rows, err := c.query(ctx, `SELECT pi.product_id, i.name, i.content_type, i.size, i.width, i.height
		FROM product_images pi JOIN images i ON i.name = pi.image_name
		WHERE pi.product_id IN (`+placeholders(len(ids))+`) ORDER BY pi.product_id, pi.position`, ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var pid int64
		var img commerce.Image
		if err := rows.Scan(&pid, &img.Name, &img.ContentType, &img.Size, &img.Width, &img.Height); err != nil {
			return err
		}
		img.URL = commerce.ImageURL(img.Name)
		ps[at[pid]].Images = append(ps[at[pid]].Images, img)
	}
	return rows.Err()
}

// UpdateProduct implements commerce.ProductStore.
// The stock changes in the UPDATE itself, under its condition, so a
// checkout taking units at the same time is never overwritten.
func (db *DB) UpdateProduct(ctx context.Context, p commerce.Product, stock commerce.StockEdit) error {
	return db.inTx(ctx, func(tx conn) error {
		q := `UPDATE products SET title = ?, description = ?, price_minor = ?, status = ?, hashtags = ?, search_text = ?, updated_at = ?`
		args := []any{p.Title, p.Description, p.PriceMinor, p.Status, strings.Join(p.Hashtags, " "),
			searchText(p.Title, p.Description, p.Hashtags), micros(p.UpdatedAt)}
		where, wargs := " WHERE id = ?", []any{p.ID}
		switch {
		case stock.Set != nil:
			q += ", stock = ?"
			args = append(args, *stock.Set)
			if stock.Expected != nil {
				where += " AND stock = ?"
				wargs = append(wargs, *stock.Expected)
			}
		case stock.Delta != 0:
			q += ", stock = stock + ?"
			args = append(args, stock.Delta)
			where += " AND stock + ? BETWEEN 0 AND ?"
			wargs = append(wargs, stock.Delta, commerce.MaxStock)
		}
		err := tx.expectOne(tx.exec(ctx, q+where, append(args, wargs...)...))
		if errors.Is(err, commerce.ErrNotFound) && len(wargs) > 1 {
			var one int
			if err := tx.get(ctx, "SELECT 1 FROM products WHERE id = ?", []any{p.ID}, &one); err != nil {
				return err
			}
			return commerce.ErrStockChanged
		}
		if err != nil {
			return err
		}
		return tx.replaceProductTags(ctx, p.ID, p.Hashtags)
	})
}

// AddProductImage implements commerce.ProductStore.
func (db *DB) AddProductImage(ctx context.Context, productID int64, img commerce.Image, max int) error {
	return db.inTx(ctx, func(tx conn) error {
		var one int
		if err := tx.get(ctx, "SELECT 1 FROM products WHERE id = ?"+tx.forUpdate(), []any{productID}, &one); err != nil {
			return err
		}
		var n int
		var last sql.NullInt64
		if err := tx.get(ctx, "SELECT COUNT(*), MAX(position) FROM product_images WHERE product_id = ?", []any{productID}, &n, &last); err != nil {
			return err
		}
		if n >= max {
			return commerce.ErrTooManyImages
		}
		_, err := tx.exec(ctx, "INSERT INTO product_images (product_id, image_name, position) VALUES (?, ?, ?)",
			productID, img.Name, last.Int64+1)
		return err
	})
}

// RemoveProductImage implements commerce.ProductStore.
func (db *DB) RemoveProductImage(ctx context.Context, productID int64, name string) error {
	return db.expectOne(db.exec(ctx, "DELETE FROM product_images WHERE product_id = ? AND image_name = ?", productID, name))
}

// ListProducts implements commerce.ProductStore.
func (db *DB) ListProducts(ctx context.Context, q commerce.ProductQuery) ([]commerce.Product, error) {
	var b strings.Builder
	var args []any
	b.WriteString("SELECT " + productColumns + " FROM products p")
	if q.Hashtag != "" {
		b.WriteString(" JOIN product_hashtags h ON h.product_id = p.id AND h.tag = ?")
		args = append(args, q.Hashtag)
	}
	b.WriteString(" WHERE p.status IN (" + placeholders(len(q.Statuses)) + ")")
	for _, s := range q.Statuses {
		args = append(args, s)
	}
	if q.ShopID != 0 {
		b.WriteString(" AND p.shop_id = ?")
		args = append(args, q.ShopID)
	}
	for _, w := range q.Text {
		b.WriteString(` AND p.search_text LIKE ? ESCAPE '\'`)
		args = append(args, likePattern(w))
	}
	before := q.BeforeID
	if before <= 0 {
		before = maxID
	}
	b.WriteString(" AND p.id < ? ORDER BY p.id DESC LIMIT ?")
	args = append(args, before, q.Limit)

	rows, err := db.query(ctx, b.String(), args...)
	if err != nil {
		return nil, err
	}
	var out []commerce.Product
	for rows.Next() {
		p, err := scanProduct(rows.Scan)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, db.attachImages(ctx, out)
}
