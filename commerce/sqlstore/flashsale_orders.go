package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/flash"
)

// errFlashOrderExists rolls back a CreateFlashOrder that found the
// reservation's order already written.
var errFlashOrderExists = errors.New("reservation has an order")

// CreateFlashOrder implements flash.Store. The order, its line,
// its pending payment, its first timeline entry, the link to the
// reservation and the coupon redemption are written in one transaction; the
// link's primary key (sale, reservation) makes a second order for the same
// reservation impossible, whoever writes it.
func (db *DB) CreateFlashOrder(ctx context.Context, in flash.NewSaleOrder) (commerce.Order, bool, error) {
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
		id, err = tx.insertOrder(ctx, orderRow{buyerID: r.BuyerID, shopID: fs.ShopID, streamID: fs.StreamID,
			source: commerce.OrderSourceFlashSale, currency: fs.Currency, shipping: in.Shipping,
			lines:   []commerce.OrderLine{{ProductID: fs.ProductID, Title: fs.Title, UnitPriceMinor: fs.PriceMinor, Quantity: r.Quantity}},
			payment: commerce.Payment{Provider: in.Provider}, coupon: in.Coupon, note: fmt.Sprintf("flash sale %d", fs.ID),
			idempotencyKey: in.IdempotencyKey, at: micros(in.At)})
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO flash_sale_orders (sale_id, reservation_id, order_id, buyer_id, quantity, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, fs.ID, r.ID, id, r.BuyerID, r.Quantity, micros(in.At))
		if isUniqueViolation(err) {
			id = 0
			return errFlashOrderExists
		}
		return err
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

// FlashOrderByReservation implements flash.Store.
func (db *DB) FlashOrderByReservation(ctx context.Context, saleID, reservationID int64) (flash.SaleOrder, error) {
	var f flash.SaleOrder
	err := db.get(ctx, `SELECT sale_id, reservation_id, order_id, buyer_id, quantity FROM flash_sale_orders
		WHERE sale_id = ? AND reservation_id = ?`, []any{saleID, reservationID},
		&f.SaleID, &f.ReservationID, &f.OrderID, &f.BuyerID, &f.Quantity)
	return f, err
}

// AbandonedFlashCheckouts implements flash.Store. Flash
// checkout keys are scoped "flash-checkout:SALE:RESERVATION"; the range on
// scope (":" < ";") uses the open-keys index like the shop checkout's sweep.
func (db *DB) AbandonedFlashCheckouts(ctx context.Context, lockedBefore time.Time, limit int) ([]commerce.IdempotencyRecord, error) {
	return db.abandonedKeys(ctx, "scope >= 'flash-checkout:' AND scope < 'flash-checkout;'", nil, lockedBefore, limit)
}
