package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/flash"
)

// The flash-sale part of the store: sales, the orders bought from them,
// the SQL baseline of the load generator. Orders are written into the shop
// API's tables (orders, order_lines, payments, order_events), so they show
// up, move through their state machine and get refunded like any other.

var _ flash.Store = (*DB)(nil)

const flashSaleColumns = `fs.id, fs.shop_id, fs.stream_id, fs.product_id, p.title, p.price_minor,
	COALESCE((SELECT pi.image_name FROM product_images pi WHERE pi.product_id = p.id ORDER BY pi.position LIMIT 1), ''),
	fs.price_minor, fs.currency, fs.quantity, fs.per_buyer_limit, fs.starts_at, fs.ends_at, fs.status, fs.end_reason,
	fs.ended_at, fs.reconciled_at, fs.sold, fs.created_by, fs.created_at, st.status`

const flashSaleFrom = ` FROM flash_sales fs JOIN products p ON p.id = fs.product_id JOIN streams st ON st.id = fs.stream_id`

func scanFlashSale(scan func(...any) error) (flash.Sale, error) {
	var f flash.Sale
	var image string
	var starts, ends, created int64
	var ended, reconciled sql.NullInt64
	err := scan(&f.ID, &f.ShopID, &f.StreamID, &f.ProductID, &f.Title, &f.ListPriceMinor, &image,
		&f.PriceMinor, &f.Currency, &f.Quantity, &f.PerBuyerLimit, &starts, &ends, &f.State, &f.EndReason,
		&ended, &reconciled, &f.Sold, &f.CreatedBy, &created, &f.StreamStatus)
	if err != nil {
		return f, err
	}
	if image != "" {
		f.ImageURL = commerce.ImageURL(image)
	}
	f.StartsAt, f.EndsAt, f.CreatedAt = fromMicros(starts), fromMicros(ends), fromMicros(created)
	if ended.Valid {
		t := fromMicros(ended.Int64)
		f.EndedAt = &t
	}
	if reconciled.Valid {
		t := fromMicros(reconciled.Int64)
		f.ReconciledAt = &t
	}
	return f, nil
}

func (c conn) flashSales(ctx context.Context, where string, args ...any) ([]flash.Sale, error) {
	return queryAll(ctx, c, scanFlashSale, "SELECT "+flashSaleColumns+flashSaleFrom+" WHERE "+where, args...)
}

// CreateFlashSale implements flash.Store.
func (db *DB) CreateFlashSale(ctx context.Context, f *flash.Sale) error {
	return db.inTx(ctx, func(tx conn) error {
		err := tx.get(ctx, `INSERT INTO flash_sales (shop_id, stream_id, product_id, price_minor, currency, quantity,
			per_buyer_limit, starts_at, ends_at, status, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?) RETURNING id`,
			[]any{f.ShopID, f.StreamID, f.ProductID, f.PriceMinor, f.Currency, f.Quantity, f.PerBuyerLimit,
				micros(f.StartsAt), micros(f.EndsAt), f.CreatedBy, micros(f.CreatedAt)}, &f.ID)
		if isUniqueViolation(err) {
			return flash.ErrSaleActive
		}
		if err != nil {
			return fmt.Errorf("insert flash sale: %w", err)
		}
		res, err := tx.exec(ctx, `UPDATE products SET stock = stock - ?, updated_at = ?
			WHERE id = ? AND stock >= ? AND status = 'active'`, f.Quantity, micros(f.CreatedAt), f.ProductID, f.Quantity)
		if err := tx.expectOne(res, err); errors.Is(err, commerce.ErrNotFound) {
			var stock int64
			var status string
			if err := tx.get(ctx, "SELECT stock, status FROM products WHERE id = ?", []any{f.ProductID}, &stock, &status); err != nil {
				return err
			}
			if status != commerce.ProductActive {
				return fmt.Errorf("%q: %w", f.Title, commerce.ErrProductUnavailable)
			}
			return commerce.OutOfStock(f.Title, stock)
		} else if err != nil {
			return err
		}
		return nil
	})
}

// FlashSaleByID implements flash.Store.
func (db *DB) FlashSaleByID(ctx context.Context, id int64) (flash.Sale, error) {
	return scanFlashSale(func(dest ...any) error {
		return db.get(ctx, "SELECT "+flashSaleColumns+flashSaleFrom+" WHERE fs.id = ?", []any{id}, dest...)
	})
}

// FlashSalesOfStream implements flash.Store.
func (db *DB) FlashSalesOfStream(ctx context.Context, streamID int64, limit int) ([]flash.Sale, error) {
	return db.flashSales(ctx, "fs.stream_id = ? ORDER BY fs.id DESC LIMIT ?", streamID, limit)
}

// UnsettledFlashSales implements flash.Store.
func (db *DB) UnsettledFlashSales(ctx context.Context) ([]flash.Sale, error) {
	return db.flashSales(ctx, "fs.reconciled_at IS NULL ORDER BY fs.id LIMIT 1000")
}

// EndFlashSale implements flash.Store.
func (db *DB) EndFlashSale(ctx context.Context, id int64, reason string, at time.Time) (bool, error) {
	res, err := db.exec(ctx, `UPDATE flash_sales SET status = 'ended', end_reason = ?, ended_at = ?
		WHERE id = ? AND status = 'active'`, reason, micros(at), id)
	if err := db.expectOne(res, err); errors.Is(err, commerce.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// soldFilter keeps the orders whose units count as sold: every flash order
// except those cancelled before any money was taken (payment declined,
// failed, voided, or never started because the reservation lapsed). A paid
// order the seller cancelled later stays sold: its cancellation returned
// the unit to the product's stock already.
const soldFilter = ` FROM flash_sale_orders f JOIN orders o ON o.id = f.order_id JOIN payments py ON py.order_id = o.id
	WHERE f.sale_id = ? AND NOT (o.status = 'cancelled' AND py.status IN ('pending', 'declined', 'failed', 'voided'))`

// SoldFlashOrders implements flash.Store.
func (db *DB) SoldFlashOrders(ctx context.Context, saleID int64) ([]flash.SaleOrder, error) {
	return queryAll(ctx, db.conn, func(scan func(...any) error) (flash.SaleOrder, error) {
		var f flash.SaleOrder
		err := scan(&f.SaleID, &f.ReservationID, &f.OrderID, &f.BuyerID, &f.Quantity)
		return f, err
	}, "SELECT f.sale_id, f.reservation_id, f.order_id, f.buyer_id, f.quantity"+soldFilter+" ORDER BY f.order_id", saleID)
}

// ReconcileFlashSale implements flash.Store. The sale's row is
// locked before the sold units are counted, so a cancellation of one of its
// orders (which locks the row too) either commits first and is not counted,
// or waits and then returns its unit to the product itself.
func (db *DB) ReconcileFlashSale(ctx context.Context, saleID int64, at time.Time) (sold int64, won bool, err error) {
	err = db.inTx(ctx, func(tx conn) error {
		won = false
		var quantity, productID int64
		err := tx.get(ctx, `SELECT quantity, product_id FROM flash_sales
			WHERE id = ? AND reconciled_at IS NULL AND status = 'ended'`+tx.forUpdate(), []any{saleID}, &quantity, &productID)
		if errors.Is(err, commerce.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if err := tx.get(ctx, "SELECT COALESCE(SUM(f.quantity), 0)"+soldFilter, []any{saleID}, &sold); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "UPDATE flash_sales SET reconciled_at = ?, sold = ? WHERE id = ?", micros(at), sold, saleID); err != nil {
			return err
		}
		won = true
		_, err = tx.exec(ctx, "UPDATE products SET stock = stock + ? WHERE id = ?", max(quantity-sold, 0), productID)
		return err
	})
	return sold, won && err == nil, err
}

// BaselineReserve implements flash.Store: one statement, the
// row lock of a plain SQL stock counter.
func (db *DB) BaselineReserve(ctx context.Context, saleID, n int64) (bool, error) {
	res, err := db.exec(ctx, "UPDATE flash_sale_baseline SET stock = stock - ? WHERE sale_id = ? AND stock >= ?", n, saleID, n)
	if err := db.expectOne(res, err); errors.Is(err, commerce.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// SetBaselineStock implements flash.Store.
func (db *DB) SetBaselineStock(ctx context.Context, saleID, stock int64) error {
	_, err := db.exec(ctx, `INSERT INTO flash_sale_baseline (sale_id, stock) VALUES (?, ?)
		ON CONFLICT (sale_id) DO UPDATE SET stock = excluded.stock`, saleID, stock)
	return err
}
