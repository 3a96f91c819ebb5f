package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

// nullID stores 0 as NULL for optional references.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

type placeLine struct {
	productID, quantity, cartPrice, price, stock int64
	currency, status, title                      string
}

// PlaceOrder implements commerce.OrderStore. A cart's lines are read with
// FOR UPDATE on PostgreSQL, so a second checkout of the same cart waits for
// the first and then finds the lines gone (an empty cart), and deleting them
// must remove every line read. Stock is taken with
// "UPDATE ... SET stock = stock - n WHERE stock >= n": on PostgreSQL the row
// lock makes a concurrent buyer wait and re-check the condition against the
// committed stock; on SQLite the transaction holds the write lock. Lines are
// taken in product ID order, so two orders never wait on each other in a
// cycle. The CHECK (stock >= 0) constraint backs it up.
func (db *DB) PlaceOrder(ctx context.Context, in commerce.NewOrder) (commerce.Order, error) {
	var id int64
	err := db.inTx(ctx, func(tx conn) error {
		lines, err := tx.placeLines(ctx, in)
		if err != nil {
			return err
		}
		if len(lines) == 0 {
			return commerce.ErrEmptyCart
		}
		currency := lines[0].currency
		for _, l := range lines {
			switch {
			case l.status != commerce.ProductActive:
				return fmt.Errorf("%q: %w", l.title, commerce.ErrProductUnavailable)
			case l.price != l.cartPrice:
				return commerce.ErrPriceChanged
			case l.currency != currency:
				return commerce.Invalid("the products are priced in different currencies")
			case l.quantity > l.stock:
				return commerce.OutOfStock(l.title, l.stock)
			}
		}
		for _, l := range lines {
			res, err := tx.exec(ctx, `UPDATE products SET stock = stock - ?
				WHERE id = ? AND stock >= ? AND status = 'active' AND price_minor = ?`, l.quantity, l.productID, l.quantity, l.price)
			if err := tx.expectOne(res, err); errors.Is(err, commerce.ErrNotFound) {
				// Changed since the read above; say how.
				var now placeLine
				if err := tx.get(ctx, "SELECT stock, status, price_minor FROM products WHERE id = ?", []any{l.productID},
					&now.stock, &now.status, &now.price); err != nil {
					return err
				}
				switch {
				case now.status != commerce.ProductActive:
					return fmt.Errorf("%q: %w", l.title, commerce.ErrProductUnavailable)
				case now.price != l.price:
					return commerce.ErrPriceChanged
				}
				return commerce.OutOfStock(l.title, now.stock)
			} else if err != nil {
				return err
			}
		}
		ids := make([]any, 0, len(lines)+1)
		ids = append(ids, in.BuyerID)
		source := commerce.OrderSourceCart
		if in.Items != nil {
			source = commerce.OrderSourceBuyNow
		}
		row := orderRow{buyerID: in.BuyerID, shopID: in.ShopID, streamID: in.StreamID, source: source,
			currency: currency, shipping: in.Shipping, payment: in.Payment, coupon: in.Coupon,
			idempotencyKey: in.IdempotencyKey, at: micros(in.At)}
		for _, l := range lines {
			row.lines = append(row.lines, commerce.OrderLine{ProductID: l.productID, Title: l.title, UnitPriceMinor: l.price, Quantity: l.quantity})
			ids = append(ids, l.productID)
		}
		if id, err = tx.insertOrder(ctx, row); err != nil || in.Items != nil {
			return err
		}
		// The lines were locked when read; all of them must still be there.
		res, err := tx.exec(ctx, "DELETE FROM cart_lines WHERE account_id = ? AND product_id IN ("+placeholders(len(ids)-1)+")", ids...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != int64(len(lines)) {
			return commerce.ErrCartChanged
		}
		return nil
	})
	if err != nil {
		return commerce.Order{}, err
	}
	return db.OrderByID(ctx, id)
}

// placeLines reads what an order buys with the products as they are now:
// the buyer's cart lines of the shop at the prices they were added at, or
// the items at the prices the buyer was shown (the current ones when not
// given).
func (c conn) placeLines(ctx context.Context, in commerce.NewOrder) ([]placeLine, error) {
	const cols = "p.id, p.price_minor, p.stock, p.currency, p.status, p.title"
	var rows *sql.Rows
	var err error
	if in.Items == nil {
		rows, err = c.query(ctx, `SELECT `+cols+`, c.quantity, c.unit_price_minor
			FROM cart_lines c JOIN products p ON p.id = c.product_id
			WHERE c.account_id = ? AND p.shop_id = ? ORDER BY c.product_id`+c.forUpdateOf("c"), in.BuyerID, in.ShopID)
	} else {
		args := []any{in.ShopID}
		for _, it := range in.Items {
			args = append(args, it.ProductID)
		}
		rows, err = c.query(ctx, `SELECT `+cols+`, 0, 0 FROM products p
			WHERE p.shop_id = ? AND p.id IN (`+placeholders(len(in.Items))+`) ORDER BY p.id`, args...)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var lines []placeLine
	for rows.Next() {
		var l placeLine
		if err := rows.Scan(&l.productID, &l.price, &l.stock, &l.currency, &l.status, &l.title, &l.quantity, &l.cartPrice); err != nil {
			return nil, err
		}
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil || in.Items == nil {
		return lines, err
	}
	if len(lines) != len(in.Items) {
		return nil, commerce.Invalid("the items are not all products of shop %d", in.ShopID)
	}
	for i := range lines {
		l := &lines[i]
		for _, it := range in.Items {
			if it.ProductID == l.productID {
				l.quantity, l.cartPrice = it.Quantity, cmp.Or(it.UnitPriceMinor, l.price)
			}
		}
	}
	return lines, nil
}

// orderRow is an order about to be written, whatever it was bought with:
// its lines at the prices they sell for, and the coupon to redeem.
type orderRow struct {
	buyerID, shopID, streamID int64
	source, currency          string
	shipping                  commerce.Address
	lines                     []commerce.OrderLine
	// payment carries the provider (and card brand and last digits).
	payment        commerce.Payment
	coupon         *commerce.Coupon
	note           string // on the "placed" timeline entry
	idempotencyKey string
	at             int64
}

// insertOrder writes an order awaiting payment in the caller's transaction
// (which has taken its units): the order with its subtotal, the coupon's
// discount and the total, its lines, its pending payment, the coupon's
// redemption, the first timeline entry and the link from the buyer's
// idempotency key. Cart, Buy now and flash-sale checkouts all create their
// orders here, so a coupon prices and redeems the same way in each.
func (c conn) insertOrder(ctx context.Context, r orderRow) (int64, error) {
	var subtotal, discount int64
	for _, l := range r.lines {
		subtotal += l.UnitPriceMinor * l.Quantity
	}
	note, code := r.note, ""
	if cp := r.coupon; cp != nil {
		if cp.Kind == commerce.CouponFixed && cp.Currency != r.currency {
			return 0, commerce.Invalid("coupon %s takes %s off, but the order is in %s", cp.Code, cp.Currency, r.currency)
		}
		discount, code = cp.Discount(subtotal), cp.Code
		note = strings.TrimPrefix(fmt.Sprintf("%s, coupon %s (-%s)", note, cp.Code, commerce.FormatMoney(discount, r.currency)), ", ")
	}
	total := subtotal - discount
	addr, err := json.Marshal(r.shipping)
	if err != nil {
		return 0, err
	}
	var id int64
	if err := c.get(ctx, `INSERT INTO orders (buyer_id, shop_id, stream_id, status, currency, total_minor, discount_minor, coupon_code, source,
		shipping_address, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		[]any{r.buyerID, r.shopID, nullID(r.streamID), commerce.OrderAwaitingPayment, r.currency, total, discount, code, r.source,
			string(addr), r.at, r.at}, &id); err != nil {
		return 0, fmt.Errorf("insert order: %w", err)
	}
	for _, l := range r.lines {
		if _, err := c.exec(ctx, `INSERT INTO order_lines (order_id, product_id, title, unit_price_minor, quantity) VALUES (?, ?, ?, ?, ?)`,
			id, l.ProductID, l.Title, l.UnitPriceMinor, l.Quantity); err != nil {
			return 0, err
		}
	}
	if _, err := c.exec(ctx, `INSERT INTO payments (order_id, provider, status, amount_minor, currency, card_brand, card_last4, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, r.payment.Provider, commerce.PaymentPending, total, r.currency,
		r.payment.CardBrand, r.payment.CardLast4, r.at); err != nil {
		return 0, err
	}
	if r.coupon != nil {
		if err := c.redeemCoupon(ctx, *r.coupon, r.buyerID, id, discount, r.at); err != nil {
			return 0, err
		}
	}
	if err := c.addTimeline(ctx, id, "placed", commerce.OrderAwaitingPayment, r.buyerID, "buyer", note, r.at); err != nil {
		return 0, err
	}
	if r.idempotencyKey != "" {
		if _, err := c.exec(ctx, "UPDATE idempotency_keys SET resource_id = ? WHERE account_id = ? AND idem_key = ?",
			id, r.buyerID, r.idempotencyKey); err != nil {
			return 0, err
		}
	}
	return id, nil
}

func (c conn) addTimeline(ctx context.Context, orderID int64, event, status string, actorID int64, role, note string, at int64) error {
	_, err := c.exec(ctx, `INSERT INTO order_events (order_id, event, status, payment_status, actor_id, actor_role, note, created_at)
		VALUES (?, ?, ?, (SELECT status FROM payments WHERE order_id = ?), ?, ?, ?, ?)`,
		orderID, event, status, orderID, nullID(actorID), role, note, at)
	return err
}

const orderColumns = `o.id, o.buyer_id, a.name, o.shop_id, s.name, o.stream_id, o.status, o.currency, o.total_minor,
	o.discount_minor, o.coupon_code, o.source, o.shipping_address, o.carrier, o.tracking_number, o.created_at, o.updated_at,
	py.provider, py.status, py.amount_minor, py.currency, py.card_brand, py.card_last4, py.reference, py.failure_code`

const orderFrom = ` FROM orders o JOIN accounts a ON a.id = o.buyer_id JOIN shops s ON s.id = o.shop_id
	JOIN payments py ON py.order_id = o.id`

func scanOrder(scan func(...any) error) (commerce.Order, error) {
	var o commerce.Order
	var stream sql.NullInt64
	var addr string
	var created, updated int64
	p := &o.Payment
	err := scan(&o.ID, &o.BuyerID, &o.BuyerName, &o.ShopID, &o.ShopName, &stream, &o.Status, &o.Currency, &o.TotalMinor,
		&o.DiscountMinor, &o.CouponCode, &o.Source, &addr, &o.Carrier, &o.TrackingNumber, &created, &updated,
		&p.Provider, &p.Status, &p.AmountMinor, &p.Currency, &p.CardBrand, &p.CardLast4, &p.Reference, &p.FailureCode)
	if err != nil {
		return o, err
	}
	o.StreamID = stream.Int64
	o.SubtotalMinor = o.TotalMinor + o.DiscountMinor
	o.CreatedAt, o.UpdatedAt = fromMicros(created), fromMicros(updated)
	o.Lines = []commerce.OrderLine{}
	if err := json.Unmarshal([]byte(addr), &o.Shipping); err != nil {
		return o, fmt.Errorf("order %d shipping address: %w", o.ID, err)
	}
	return o, nil
}

// OrderByID implements commerce.OrderStore.
func (db *DB) OrderByID(ctx context.Context, id int64) (commerce.Order, error) {
	o, err := scanOrder(func(dest ...any) error {
		return db.get(ctx, "SELECT "+orderColumns+orderFrom+" WHERE o.id = ?", []any{id}, dest...)
	})
	if err != nil {
		return commerce.Order{}, err
	}
	os := []commerce.Order{o}
	if err := db.attachLines(ctx, os); err != nil {
		return commerce.Order{}, err
	}
	o = os[0]
	rows, err := db.query(ctx, `SELECT event, status, payment_status, actor_id, actor_role, note, created_at
		FROM order_events WHERE order_id = ? ORDER BY id`, id)
	if err != nil {
		return commerce.Order{}, err
	}
	defer rows.Close()
	o.Timeline = []commerce.TimelineEntry{}
	for rows.Next() {
		var e commerce.TimelineEntry
		var actor sql.NullInt64
		var at int64
		if err := rows.Scan(&e.Event, &e.Status, &e.PaymentStatus, &actor, &e.ActorRole, &e.Note, &at); err != nil {
			return commerce.Order{}, err
		}
		e.ActorID, e.At = actor.Int64, fromMicros(at)
		o.Timeline = append(o.Timeline, e)
	}
	return o, rows.Err()
}

func (c conn) attachLines(ctx context.Context, os []commerce.Order) error {
	if len(os) == 0 {
		return nil
	}
	ids := make([]any, len(os))
	at := make(map[int64]int, len(os))
	for i, o := range os {
		ids[i] = o.ID
		at[o.ID] = i
	}
	rows, err := c.query(ctx, `SELECT order_id, product_id, title, unit_price_minor, quantity FROM order_lines
		WHERE order_id IN (`+placeholders(len(ids))+`) ORDER BY order_id, product_id`, ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var oid int64
		var l commerce.OrderLine
		if err := rows.Scan(&oid, &l.ProductID, &l.Title, &l.UnitPriceMinor, &l.Quantity); err != nil {
			return err
		}
		l.LineTotalMinor = l.UnitPriceMinor * l.Quantity
		os[at[oid]].Lines = append(os[at[oid]].Lines, l)
	}
	return rows.Err()
}

// ListOrders implements commerce.OrderStore.
func (db *DB) ListOrders(ctx context.Context, q commerce.OrderQuery) ([]commerce.Order, error) {
	before := q.BeforeID
	if before <= 0 {
		before = maxID
	}
	where := []string{"o.id < ?"}
	args := []any{before}
	if q.BuyerID != 0 {
		where = append(where, "o.buyer_id = ?")
		args = append(args, q.BuyerID)
	}
	if q.ShopID != 0 {
		where = append(where, "o.shop_id = ?")
		args = append(args, q.ShopID)
	}
	if len(q.Statuses) > 0 {
		where = append(where, "o.status IN ("+placeholders(len(q.Statuses))+")")
		for _, s := range q.Statuses {
			args = append(args, s)
		}
	}
	rows, err := db.query(ctx, "SELECT "+orderColumns+orderFrom+" WHERE "+strings.Join(where, " AND ")+
		" ORDER BY o.id DESC LIMIT ?", append(args, q.Limit)...)
	if err != nil {
		return nil, err
	}
	var out []commerce.Order
	for rows.Next() {
		o, err := scanOrder(rows.Scan)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, db.attachLines(ctx, out)
}

// TransitionOrder implements commerce.OrderStore.
func (db *DB) TransitionOrder(ctx context.Context, t commerce.Transition) error {
	at := micros(t.At)
	return db.inTx(ctx, func(tx conn) error {
		set := "status = ?, updated_at = ?"
		args := []any{t.To, at}
		if t.Carrier != "" || t.TrackingNumber != "" {
			set += ", carrier = ?, tracking_number = ?"
			args = append(args, t.Carrier, t.TrackingNumber)
		}
		res, err := tx.exec(ctx, "UPDATE orders SET "+set+" WHERE id = ? AND status = ?", append(args, t.OrderID, t.From)...)
		if err := tx.expectOne(res, err); errors.Is(err, commerce.ErrNotFound) {
			var one int
			if err := tx.get(ctx, "SELECT 1 FROM orders WHERE id = ?", []any{t.OrderID}, &one); err != nil {
				return err
			}
			return commerce.ErrOrderChanged
		} else if err != nil {
			return err
		}
		if t.FromPayment != "" || t.PaymentStatus != "" || t.PaymentRef != "" || t.FailureCode != "" || t.CardBrand != "" || t.CardLast4 != "" {
			// The payment, like the order, must still be as the caller saw
			// it: two requests settling one order both pass the order's
			// status check for a payment-only step, not this one.
			res, err := tx.exec(ctx, `UPDATE payments SET status = COALESCE(NULLIF(?, ''), status),
				reference = COALESCE(NULLIF(?, ''), reference), failure_code = COALESCE(NULLIF(?, ''), failure_code),
				card_brand = COALESCE(NULLIF(?, ''), card_brand), card_last4 = COALESCE(NULLIF(?, ''), card_last4), updated_at = ?
				WHERE order_id = ? AND (? = '' OR status = ?)`, t.PaymentStatus, t.PaymentRef, t.FailureCode, t.CardBrand, t.CardLast4, at,
				t.OrderID, t.FromPayment, t.FromPayment)
			if err := tx.expectOne(res, err); errors.Is(err, commerce.ErrNotFound) {
				return commerce.ErrOrderChanged
			} else if err != nil {
				return err
			}
		}
		if t.FlashSaleID != 0 {
			// The sale's row lock orders this with its reconciliation.
			var reconciled sql.NullInt64
			if err := tx.get(ctx, "SELECT reconciled_at FROM flash_sales WHERE id = ?"+tx.forUpdate(), []any{t.FlashSaleID}, &reconciled); err != nil {
				return err
			}
			t.ReturnStock = reconciled.Valid
			if t.ReturnStock {
				// The reconciliation counted the order as sold while it was
				// being paid; it was not.
				if _, err := tx.exec(ctx, `UPDATE flash_sales SET sold = sold -
					(SELECT COALESCE(SUM(quantity), 0) FROM order_lines WHERE order_id = ?) WHERE id = ?`, t.OrderID, t.FlashSaleID); err != nil {
					return err
				}
			}
		}
		if t.ReturnStock || t.RestoreCart {
			var o struct {
				buyer    int64
				currency string
			}
			if err := tx.get(ctx, "SELECT buyer_id, currency FROM orders WHERE id = ?", []any{t.OrderID}, &o.buyer, &o.currency); err != nil {
				return err
			}
			rows, err := tx.query(ctx, "SELECT product_id, quantity, unit_price_minor FROM order_lines WHERE order_id = ? ORDER BY product_id", t.OrderID)
			if err != nil {
				return err
			}
			var lines [][3]int64
			for rows.Next() {
				var l [3]int64
				if err := rows.Scan(&l[0], &l[1], &l[2]); err != nil {
					rows.Close()
					return err
				}
				lines = append(lines, l)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			// Cart lines before products, each in product order: the lock
			// order of PlaceOrder, so the two never wait on each other.
			for _, l := range lines {
				if t.RestoreCart {
					if err := tx.addCartLine(ctx, o.buyer, l[0], l[1], l[2], o.currency, at); err != nil {
						return err
					}
				}
			}
			for _, l := range lines {
				if t.ReturnStock {
					if _, err := tx.exec(ctx, "UPDATE products SET stock = stock + ? WHERE id = ?", l[1], l[0]); err != nil {
						return err
					}
				}
			}
		}
		if t.ReleaseCoupon {
			if err := tx.releaseCoupon(ctx, t.OrderID); err != nil {
				return err
			}
		}
		return tx.addTimeline(ctx, t.OrderID, t.Event, t.To, t.ActorID, t.ActorRole, t.Note, at)
	})
}

// OrphanOrders implements commerce.OrderStore.
func (db *DB) OrphanOrders(ctx context.Context, flash bool, updatedBefore time.Time, limit int) ([]commerce.OrphanOrder, error) {
	join := "LEFT JOIN flash_sale_orders f ON f.order_id = o.id WHERE f.order_id IS NULL AND"
	if flash {
		join = "JOIN flash_sale_orders f ON f.order_id = o.id WHERE"
	}
	rows, err := db.query(ctx, `SELECT o.id, o.buyer_id, COALESCE(f.sale_id, 0), COALESCE(f.reservation_id, 0)
		FROM orders o `+join+` o.status = 'awaiting_payment' AND o.updated_at < ?
		AND NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.resource_id = o.id AND k.resource_id <> 0 AND NOT k.done)
		ORDER BY o.updated_at LIMIT ?`, micros(updatedBefore), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commerce.OrphanOrder
	for rows.Next() {
		var o commerce.OrphanOrder
		if err := rows.Scan(&o.OrderID, &o.BuyerID, &o.SaleID, &o.ReservationID); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
