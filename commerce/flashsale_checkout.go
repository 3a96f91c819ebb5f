package commerce

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/liveshop/liveshop/commerce/internal/api"
)

// FlashCheckoutRequest pays for a reservation.
type FlashCheckoutRequest struct {
	ShippingAddress Address       `json:"shipping_address"`
	PaymentMethod   PaymentMethod `json:"payment_method"`
	// CouponCode is a live coupon of the sale's stream, optional.
	CouponCode string `json:"coupon_code,omitempty"`
}

// FlashCheckoutResult is the order a reservation became.
type FlashCheckoutResult struct {
	Order Order `json:"order"`
	// DiscountMinor is what the coupon took off the order's total (the
	// order's discount_minor, repeated for older clients).
	DiscountMinor int64 `json:"discount_minor"`
	// Replayed says the answer is the one stored for an earlier request
	// with the same Idempotency-Key.
	Replayed bool `json:"-"`
}

// Checkout turns the caller's reservation into a paid order. key is the
// Idempotency-Key (required).
//
// The order row is written first, linked to the reservation under a unique
// key (a retry or a concurrent request finds it instead of writing a second
// order); then the reservation is confirmed in the stock engine, so its
// units can no longer lapse while the card is charged; then the payment is
// authorized and captured. A declined or failed payment cancels the order
// and releases the units at once. If anything dies in between, a retry
// resumes from the order it finds.
func (f *FlashSales) Checkout(ctx context.Context, a Account, saleID, reservationID int64, key string, req FlashCheckoutRequest) (FlashCheckoutResult, error) {
	if a.ID == 0 {
		return FlashCheckoutResult{}, ErrUnauthenticated
	}
	if err := CheckIdempotencyKey(key); err != nil {
		return FlashCheckoutResult{}, err
	}
	addr, err := CleanAddress(req.ShippingAddress)
	if err != nil {
		return FlashCheckoutResult{}, err
	}
	req.ShippingAddress = addr
	if (req.PaymentMethod.CardNumber == "") == (req.PaymentMethod.Token == "") {
		return FlashCheckoutResult{}, Invalid("payment_method needs a card_number or a token")
	}
	if req.CouponCode != "" {
		if req.CouponCode, err = CleanCouponCode(req.CouponCode); err != nil {
			return FlashCheckoutResult{}, err
		}
	}
	hashed := req
	hashed.PaymentMethod = MaskedMethod(req.PaymentMethod)
	scope := fmt.Sprintf("flash-checkout:%d:%d", saleID, reservationID)

	res, replay, err := f.svc.Idempotent(ctx, a.ID, key, scope, hashed, func(ctx context.Context, resume *IdempotencyRecord) Outcome {
		if resume != nil && resume.ResourceID != 0 {
			o, err := f.svc.store.OrderByID(ctx, resume.ResourceID)
			if err != nil {
				return Outcome{Err: err, Committed: true, Unsettled: true}
			}
			fs, err := f.store.FlashSaleByID(ctx, saleID)
			if err != nil {
				return Outcome{Err: err, Committed: true, Unsettled: true}
			}
			return f.settle(ctx, a, fs, reservationID, o, req.PaymentMethod)
		}
		return f.checkout(ctx, a, key, saleID, reservationID, req)
	})
	switch {
	case err != nil:
		return FlashCheckoutResult{}, err
	case replay != nil:
		var out FlashCheckoutResult
		if err := DecodeReplay(replay, &out); err != nil {
			return FlashCheckoutResult{}, err
		}
		out.Replayed = true
		return out, nil
	case res.Err != nil:
		return FlashCheckoutResult{}, res.Err
	}
	return res.Value.(FlashCheckoutResult), nil
}

func (f *FlashSales) checkout(ctx context.Context, a Account, key string, saleID, reservationID int64, req FlashCheckoutRequest) Outcome {
	fs, err := f.store.FlashSaleByID(ctx, saleID)
	if err != nil {
		return Outcome{Err: err}
	}
	// A reservation that already has an order: pay for it again is an
	// error, an interrupted one is resumed.
	if link, err := f.store.FlashOrderByReservation(ctx, saleID, reservationID); err == nil {
		if link.BuyerID != a.ID {
			return Outcome{Err: ErrReservationNotFound}
		}
		return f.resume(ctx, a, fs, link, req.PaymentMethod)
	} else if !errors.Is(err, ErrNotFound) {
		return Outcome{Err: err}
	}
	r, err := f.engine.Reservation(ctx, saleID, reservationID)
	if errors.Is(err, ErrStockUnknown) {
		if _, err = f.restore(ctx, fs); err == nil {
			r, err = f.engine.Reservation(ctx, saleID, reservationID)
		}
	}
	if err != nil {
		return Outcome{Err: err}
	}
	switch {
	case r.BuyerID != a.ID:
		return Outcome{Err: ErrReservationNotFound}
	case r.State == ReservationExpired:
		return Outcome{Err: ErrReservationExpired}
	case r.State == ReservationReleased:
		return Outcome{Err: ErrReservationReleased}
	case r.State == ReservationSold:
		return Outcome{Err: ErrAlreadyPaid}
	}
	in := NewFlashOrder{Sale: fs, Reservation: r, Shipping: req.ShippingAddress, Provider: f.svc.cfg.Payments.Name(),
		IdempotencyKey: key, At: f.now()}
	if req.CouponCode != "" {
		c, err := f.svc.CouponFor(ctx, fs.ShopID, fs.StreamID, req.CouponCode)
		if err != nil {
			return Outcome{Err: err}
		}
		in.Coupon = &c
	}
	o, created, err := f.store.CreateFlashOrder(ctx, in)
	if err != nil {
		return Outcome{Err: err}
	}
	if !created {
		// A concurrent checkout of the same reservation won the race.
		link, err := f.store.FlashOrderByReservation(ctx, saleID, reservationID)
		if err != nil {
			return Outcome{Err: err}
		}
		return f.resume(ctx, a, fs, link, req.PaymentMethod)
	}
	f.metrics.OrderCreated()
	return f.settle(ctx, a, fs, reservationID, o, req.PaymentMethod)
}

// resume answers a checkout of a reservation whose order exists.
func (f *FlashSales) resume(ctx context.Context, a Account, fs FlashSale, link FlashOrder, method PaymentMethod) Outcome {
	o, err := f.svc.store.OrderByID(ctx, link.OrderID)
	if err != nil {
		return Outcome{Err: err}
	}
	switch {
	case o.Status == OrderAwaitingPayment:
		return f.settle(ctx, a, fs, link.ReservationID, o, method)
	case UnpaidCancelled(o):
		return Outcome{Err: cancelledAnswer(o)}
	}
	return Outcome{Err: ErrAlreadyPaid}
}

// UnpaidCancelled reports an order cancelled before any money was taken.
func UnpaidCancelled(o Order) bool {
	return o.Status == OrderCancelled && o.Payment.Status != PaymentCaptured && o.Payment.Status != PaymentRefunded
}

// cancelledAnswer says why an unpaid flash order was cancelled.
func cancelledAnswer(o Order) error {
	switch {
	case o.Payment.FailureCode == "reservation_expired":
		return ErrReservationExpired
	case o.Payment.FailureCode == "reservation_lost":
		return ErrReservationLost
	case o.Payment.Status == PaymentDeclined:
		return flashPaymentErr(&PaymentError{Code: o.Payment.FailureCode, Declined: true})
	case o.Payment.Status == PaymentFailed, o.Payment.Status == PaymentVoided:
		return flashPaymentErr(&PaymentError{Code: o.Payment.FailureCode})
	}
	return ErrReservationReleased
}

// settle confirms the reservation and takes the payment of its order
// through the one payment pipeline (pay), resuming wherever an interrupted
// run stopped; method is zero for a sweeper.
func (f *FlashSales) settle(ctx context.Context, a Account, fs FlashSale, reservationID int64, o Order, method PaymentMethod) Outcome {
	return f.svc.Pay(ctx, o, method, f.flow(a, fs, reservationID))
}

// flow is the payment pipeline of the order of reservation reservationID
// in sale fs, bought by a: the reservation is confirmed before the
// authorization, a cancellation gives the units back through the sale, a
// payment is told to the room.
func (f *FlashSales) flow(a Account, fs FlashSale, reservationID int64) PaymentFlow {
	return PaymentFlow{
		Prepare: func(ctx context.Context, o Order) error {
			err := f.confirm(ctx, fs, reservationID, o)
			switch {
			case errors.Is(err, ErrReservationExpired):
				return &Refusal{"reservation_expired", err}
			case errors.Is(err, ErrReservationReleased):
				return &Refusal{"reservation_released", err}
			case errors.Is(err, ErrSoldOut):
				return &Refusal{"reservation_lost", ErrReservationLost}
			}
			return err
		},
		Cancellation: func(t *Transition) {
			t.FlashSaleID, t.ReturnStock, t.Event = fs.ID, false, "flash_order_cancelled"
		},
		Cancelled: func(ctx context.Context, o Order) { f.release(ctx, fs, reservationID, o) },
		Paid:      func(ctx context.Context, o Order) { f.paid(ctx, a, fs, o) },
		Refused:   cancelledAnswer,
		Answer: func(o Order) any {
			return FlashCheckoutResult{Order: o, DiscountMinor: o.DiscountMinor}
		},
	}
}

// ErrReservationLost means the stock engine lost the reservation (Redis
// restarted empty) and its units went to other buyers before the order
// could claim them again; nothing was charged.
var ErrReservationLost = api.New(409, "reservation_lost", "your hold was lost in a server fault and the units sold meanwhile; nothing was charged")

// confirm marks the order's reservation sold in the engine so its units no
// longer lapse. SQL, which holds the order, is the record the engine
// follows: a sale the engine lost is restored from SQL (which registers
// this order's reservation), and a reservation it lost after that (the
// order was written while Redis restarted) is adopted from the order,
// taking units still on offer (ErrSoldOut when none are).
func (f *FlashSales) confirm(ctx context.Context, fs FlashSale, reservationID int64, o Order) error {
	_, _, err := f.engine.Confirm(ctx, fs.ID, reservationID)
	if errors.Is(err, ErrStockUnknown) {
		if _, err = f.restore(ctx, fs); err != nil {
			return err
		}
		_, _, err = f.engine.Confirm(ctx, fs.ID, reservationID)
	}
	if !errors.Is(err, ErrReservationNotFound) {
		return err
	}
	var qty int64
	for _, l := range o.Lines {
		qty += l.Quantity
	}
	f.log.Warn("the stock engine lost a reservation that has an order; adopting it", "sale", fs.ID, "reservation", reservationID, "order", o.ID)
	_, _, err = f.engine.Adopt(ctx, Reservation{SaleID: fs.ID, ID: reservationID, BuyerID: o.BuyerID, Quantity: qty})
	return err
}

// cancelFlashOrder cancels an unpaid flash order whose checkout never
// settled it (its reservation lapsed): the units go back to the sale (or,
// after the sale was reconciled, to the product), and the coupon may be
// used again.
func (f *FlashSales) cancelFlashOrder(ctx context.Context, fs FlashSale, o Order, reservationID int64, code, note string) error {
	flow := f.flow(Account{}, fs, reservationID)
	t := UnpaidCancellation(o, "", code, note)
	flow.Cancellation(&t)
	cancelled, err := f.svc.TransitionOrder(ctx, o, t, "")
	if errors.Is(err, ErrOrderChanged) {
		return nil // the sweeper or a retry settled it first
	}
	if err != nil {
		return err
	}
	flow.Cancelled(ctx, cancelled)
	return nil
}

// release gives the units of a cancelled order's reservation back to the
// stock engine and tells the room.
func (f *FlashSales) release(ctx context.Context, fs FlashSale, reservationID int64, o Order) {
	_, _, c, err := f.engine.Release(ctx, fs.ID, reservationID)
	if err != nil && !errors.Is(err, ErrStockUnknown) {
		// The order is cancelled, so SQL no longer counts the units; the
		// reconciliation at the sale's end puts the engine right.
		f.log.Warn("release units of cancelled order", "order", o.ID, slog.Any("error", err))
		return
	}
	f.news.stockChanged(fs, c)
}

// paid tells the room that someone bought, and ends the sale when its last
// unit is paid for.
func (f *FlashSales) paid(ctx context.Context, a Account, fs FlashSale, o Order) {
	privacy, err := f.svc.PurchasePrivacy(ctx, a)
	if err != nil {
		f.log.Warn("read purchase privacy", "account", a.ID, slog.Any("error", err))
	}
	show := privacy.ShowName
	var qty int64
	for _, l := range o.Lines {
		qty += l.Quantity
	}
	f.news.purchase(fs, PurchaseNotice{Buyer: tickerName(a, show), ProductID: fs.ProductID, ProductTitle: fs.Title, Quantity: qty})
	c, err := f.engine.Counts(ctx, fs.ID)
	if err == nil && c.Sold >= fs.Quantity && fs.State == "active" {
		if err := f.endSale(ctx, fs, SaleEndSoldOut); err != nil {
			f.log.Warn("end sold-out sale", "sale", fs.ID, slog.Any("error", err))
		}
	}
}

// flashPaymentErr is the answer to a refused payment of a flash order.
func flashPaymentErr(err error) error {
	var pe *PaymentError
	if errors.As(err, &pe) && pe.Declined {
		return api.New(402, "payment_declined", fmt.Sprintf("the payment was declined (%s); the units went back on sale, reserve again to retry with another card", pe.Code))
	}
	return api.New(503, "payment_unavailable", "the payment processor is not answering; nothing was charged and the units went back on sale")
}
