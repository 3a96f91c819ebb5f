package sqlstore

import (
	"context"
	"errors"

	"github.com/liveshop/liveshop/commerce"
)

// CartLines implements commerce.CartStore.
func (db *DB) CartLines(ctx context.Context, accountID int64) ([]commerce.CartLine, error) {
	rows, err := db.query(ctx, `SELECT c.product_id, p.shop_id, s.name, p.title,
			COALESCE((SELECT pi.image_name FROM product_images pi WHERE pi.product_id = p.id ORDER BY pi.position LIMIT 1), ''),
			c.quantity, c.unit_price_minor, p.price_minor, p.currency, p.status, p.stock, c.added_at
		FROM cart_lines c JOIN products p ON p.id = c.product_id JOIN shops s ON s.id = p.shop_id
		WHERE c.account_id = ? ORDER BY c.added_at, c.product_id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commerce.CartLine
	for rows.Next() {
		var l commerce.CartLine
		var image string
		var added int64
		if err := rows.Scan(&l.ProductID, &l.ShopID, &l.ShopName, &l.Title, &image, &l.Quantity, &l.UnitPriceMinor,
			&l.CurrentPriceMinor, &l.Currency, &l.Status, &l.Stock, &added); err != nil {
			return nil, err
		}
		l.ImageURL = commerce.ImageURL(image)
		l.AddedAt = fromMicros(added)
		out = append(out, l)
	}
	return out, rows.Err()
}

// AddCartLine implements commerce.CartStore.
func (db *DB) AddCartLine(ctx context.Context, accountID int64, l commerce.CartLine, maxLines int) error {
	return db.inTx(ctx, func(tx conn) error {
		var have int
		err := tx.get(ctx, "SELECT 1 FROM cart_lines WHERE account_id = ? AND product_id = ?", []any{accountID, l.ProductID}, &have)
		if errors.Is(err, commerce.ErrNotFound) {
			var n int
			if err := tx.get(ctx, "SELECT COUNT(*) FROM cart_lines WHERE account_id = ?", []any{accountID}, &n); err != nil {
				return err
			}
			if n >= maxLines {
				return commerce.ErrCartFull
			}
		} else if err != nil {
			return err
		}
		return tx.addCartLine(ctx, accountID, l.ProductID, l.Quantity, l.UnitPriceMinor, l.Currency, micros(l.AddedAt))
	})
}

// addCartLine inserts a line or adds to the quantity of the one there,
// which keeps its price.
func (c conn) addCartLine(ctx context.Context, accountID, productID, quantity, price int64, currency string, at int64) error {
	_, err := c.exec(ctx, `INSERT INTO cart_lines (account_id, product_id, quantity, unit_price_minor, currency, added_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (account_id, product_id) DO UPDATE SET quantity = cart_lines.quantity + excluded.quantity`,
		accountID, productID, quantity, price, currency, at)
	return err
}

// SetCartQuantity implements commerce.CartStore.
func (db *DB) SetCartQuantity(ctx context.Context, accountID, productID, quantity int64) error {
	return db.expectOne(db.exec(ctx, "UPDATE cart_lines SET quantity = ? WHERE account_id = ? AND product_id = ?",
		quantity, accountID, productID))
}

// RemoveCartLine implements commerce.CartStore.
func (db *DB) RemoveCartLine(ctx context.Context, accountID, productID int64) error {
	return db.expectOne(db.exec(ctx, "DELETE FROM cart_lines WHERE account_id = ? AND product_id = ?", accountID, productID))
}

// RepriceCart implements commerce.CartStore.
func (db *DB) RepriceCart(ctx context.Context, accountID, shopID int64) error {
	_, err := db.exec(ctx, `UPDATE cart_lines SET unit_price_minor = (SELECT p.price_minor FROM products p WHERE p.id = cart_lines.product_id)
		WHERE account_id = ? AND product_id IN (SELECT id FROM products WHERE shop_id = ?)`, accountID, shopID)
	return err
}
