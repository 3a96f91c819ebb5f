package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

// errFlashOrderExists rolls back a CreateFlashOrder that found the
// reservation's order already written.
var errFlashOrderExists = errors.New("reservation has an order")

// CreateFlashOrder implements commerce.FlashSaleStore. The order, its line,
// its pending payment, its first timeline entry, the link to the
// reservation and the coupon redemption are written in one transaction; the
// link's primary key (sale, reservation) makes a second order for the same
// reservation impossible, whoever writes it.
func (db *DB) CreateFlashOrder(ctx context.Context, in commerce.NewFlashOrder) (commerce.Order, bool, error) {
	fs, r := in.Sale, in.Reservation
	var id int64
	err := db.inTx(ctx, func(tx conn) error {
		err := tx.get(ctx, "SELECT order_id FROM flash_sale_orders WHERE sale_id = ? AND reservation_id = ?",
			[]any{fs.ID, r.ID}, &id)
		if err == nil {
			return errFlashOrderExists
		}
		if !errors.Is(err, commerce.ErrNotFound) {
			return err
		}
		total := fs.PriceMinor*r.Quantity - in.DiscountMinor
		addr, err := json.Marshal(in.Shipping)
		if err != nil {
			return err
		}
		at := micros(in.At)
		if err := tx.get(ctx, `INSERT INTO orders (buyer_id, shop_id, stream_id, status, currency, total_minor, shipping_address, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			[]any{r.BuyerID, fs.ShopID, fs.StreamID, commerce.OrderAwaitingPayment, fs.Currency, total, string(addr), at, at}, &id); err != nil {
			return fmt.Errorf("insert order: %w", err)
		}
		if _, err := tx.exec(ctx, `INSERT INTO order_lines (order_id, product_id, title, unit_price_minor, quantity) VALUES (?, ?, ?, ?, ?)`,
			id, fs.ProductID, fs.Title, fs.PriceMinor, r.Quantity); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO payments (order_id, provider, status, amount_minor, currency, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, id, in.Provider, commerce.PaymentPending, total, fs.Currency, at); err != nil {
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO flash_sale_orders (sale_id, reservation_id, order_id, buyer_id, quantity, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, fs.ID, r.ID, id, r.BuyerID, r.Quantity, at)
		if isUniqueViolation(err) {
			id = 0
			return errFlashOrderExists
		}
		if err != nil {
			return err
		}
		note := fmt.Sprintf("flash sale %d", fs.ID)
		if c := in.Coupon; c != nil {
			if err := tx.redeemCoupon(ctx, *c, r.BuyerID, id, in.DiscountMinor, at); err != nil {
				return err
			}
			note += fmt.Sprintf(", coupon %s (-%d)", c.Code, in.DiscountMinor)
		}
		if err := tx.addTimeline(ctx, id, "placed", commerce.OrderAwaitingPayment, r.BuyerID, "buyer", note, at); err != nil {
			return err
		}
		if in.IdempotencyKey != "" {
			if _, err := tx.exec(ctx, "UPDATE idempotency_keys SET resource_id = ? WHERE account_id = ? AND idem_key = ?",
				id, r.BuyerID, in.IdempotencyKey); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errFlashOrderExists) {
		if id == 0 {
			link, err := db.FlashOrderByReservation(ctx, fs.ID, r.ID)
			if err != nil {
				return commerce.Order{}, false, err
			}
			id = link.OrderID
		}
		o, err := db.OrderByID(ctx, id)
		return o, false, err
	}
	if err != nil {
		return commerce.Order{}, false, err
	}
	o, err := db.OrderByID(ctx, id)
	return o, true, err
}

// redeemCoupon takes one use of the coupon for the buyer's order, checking
// again, inside the order's transaction, that its stream is live, that uses
// are left and that the buyer has not used it.
func (c conn) redeemCoupon(ctx context.Context, cp commerce.Coupon, buyerID, orderID, discount, at int64) error {
	var status string
	if err := c.get(ctx, "SELECT status FROM streams WHERE id = ?", []any{cp.StreamID}, &status); err != nil {
		return err
	}
	if status != commerce.StreamLive {
		return commerce.ErrCouponNotLive
	}
	res, err := c.exec(ctx, "UPDATE coupons SET used = used + 1 WHERE id = ? AND used < max_uses", cp.ID)
	if err := c.expectOne(res, err); errors.Is(err, commerce.ErrNotFound) {
		return commerce.ErrCouponUsedUp
	} else if err != nil {
		return err
	}
	_, err = c.exec(ctx, `INSERT INTO coupon_redemptions (coupon_id, buyer_id, order_id, discount_minor, created_at)
		VALUES (?, ?, ?, ?, ?)`, cp.ID, buyerID, orderID, discount, at)
	if isUniqueViolation(err) {
		return commerce.ErrCouponAlreadyUsed
	}
	return err
}

// FlashOrderByReservation implements commerce.FlashSaleStore.
func (db *DB) FlashOrderByReservation(ctx context.Context, saleID, reservationID int64) (commerce.FlashOrder, error) {
	var f commerce.FlashOrder
	err := db.get(ctx, `SELECT sale_id, reservation_id, order_id, buyer_id, quantity FROM flash_sale_orders
		WHERE sale_id = ? AND reservation_id = ?`, []any{saleID, reservationID},
		&f.SaleID, &f.ReservationID, &f.OrderID, &f.BuyerID, &f.Quantity)
	return f, err
}

// AbandonedFlashCheckouts implements commerce.FlashSaleStore. Flash
// checkout keys are scoped "flash-checkout:SALE:RESERVATION"; the range on
// scope (":" < ";") uses the open-keys index like the shop checkout's sweep.
func (db *DB) AbandonedFlashCheckouts(ctx context.Context, lockedBefore time.Time, limit int) ([]commerce.IdempotencyRecord, error) {
	rows, err := db.query(ctx, `SELECT account_id, idem_key, scope, request_hash, resource_id, locked_until, created_at
		FROM idempotency_keys WHERE scope >= 'flash-checkout:' AND scope < 'flash-checkout;'
		AND NOT done AND resource_id <> 0 AND locked_until < ? ORDER BY locked_until LIMIT ?`, micros(lockedBefore), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commerce.IdempotencyRecord
	for rows.Next() {
		var r commerce.IdempotencyRecord
		var locked, created int64
		if err := rows.Scan(&r.AccountID, &r.Key, &r.Scope, &r.RequestHash, &r.ResourceID, &locked, &created); err != nil {
			return nil, err
		}
		r.LockedUntil, r.CreatedAt = fromMicros(locked), fromMicros(created)
		out = append(out, r)
	}
	return out, rows.Err()
}
