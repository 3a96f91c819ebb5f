package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

const couponColumns = "id, shop_id, stream_id, code, kind, value, currency, max_uses, used, created_by, created_at"

func (c conn) coupons(ctx context.Context, where string, args ...any) ([]commerce.Coupon, error) {
	rows, err := c.query(ctx, "SELECT "+couponColumns+" FROM coupons WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commerce.Coupon
	for rows.Next() {
		var cp commerce.Coupon
		var created int64
		if err := rows.Scan(&cp.ID, &cp.ShopID, &cp.StreamID, &cp.Code, &cp.Kind, &cp.Value, &cp.Currency,
			&cp.MaxUses, &cp.Used, &cp.CreatedBy, &created); err != nil {
			return nil, err
		}
		cp.CreatedAt = fromMicros(created)
		out = append(out, cp)
	}
	return out, rows.Err()
}

// CreateCoupon implements commerce.CouponStore.
func (db *DB) CreateCoupon(ctx context.Context, cp *commerce.Coupon) error {
	err := db.get(ctx, `INSERT INTO coupons (shop_id, stream_id, code, kind, value, currency, max_uses, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		[]any{cp.ShopID, cp.StreamID, cp.Code, cp.Kind, cp.Value, cp.Currency, cp.MaxUses, cp.CreatedBy, micros(cp.CreatedAt)}, &cp.ID)
	if isUniqueViolation(err) {
		return commerce.ErrCouponExists
	}
	return err
}

// CouponsByCode implements commerce.CouponStore.
func (db *DB) CouponsByCode(ctx context.Context, shopID int64, code string) ([]commerce.Coupon, error) {
	return db.coupons(ctx, "shop_id = ? AND code = ? ORDER BY id", shopID, code)
}

// CouponsOfStream implements commerce.CouponStore.
func (db *DB) CouponsOfStream(ctx context.Context, streamID int64) ([]commerce.Coupon, error) {
	return db.coupons(ctx, "stream_id = ? ORDER BY id", streamID)
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

// releaseCoupon undoes the coupon redemption of an order, if it had one,
// so the buyer may use the coupon again.
func (c conn) releaseCoupon(ctx context.Context, orderID int64) error {
	var couponID int64
	err := c.get(ctx, "SELECT coupon_id FROM coupon_redemptions WHERE order_id = ?", []any{orderID}, &couponID)
	if errors.Is(err, commerce.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := c.exec(ctx, "DELETE FROM coupon_redemptions WHERE order_id = ?", orderID); err != nil {
		return err
	}
	_, err = c.exec(ctx, "UPDATE coupons SET used = used - 1 WHERE id = ? AND used > 0", couponID)
	return err
}

// ShowNameInPurchases implements commerce.CouponStore.
func (db *DB) ShowNameInPurchases(ctx context.Context, accountID int64) (bool, error) {
	var show bool
	err := db.get(ctx, "SELECT show_name FROM purchase_privacy WHERE account_id = ?", []any{accountID}, &show)
	if errors.Is(err, commerce.ErrNotFound) {
		return false, nil
	}
	return show, err
}

// SetShowNameInPurchases implements commerce.CouponStore.
func (db *DB) SetShowNameInPurchases(ctx context.Context, accountID int64, show bool, at time.Time) error {
	_, err := db.exec(ctx, `INSERT INTO purchase_privacy (account_id, show_name, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET show_name = excluded.show_name, updated_at = excluded.updated_at`,
		accountID, show, micros(at))
	return err
}
