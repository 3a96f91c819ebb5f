package flash

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/internal/api"
)

// CheckoutRequest pays for a reservation.
type CheckoutRequest struct {
	ShippingAddress commerce.Address       `json:"shipping_address"`
	PaymentMethod   commerce.PaymentMethod `json:"payment_method"`
	// CouponCode is a live coupon of the sale's stream, optional.
	CouponCode string `json:"coupon_code,omitempty"`
}

// CheckoutResult is the order a reservation became.
type CheckoutResult struct {
	Order commerce.Order `json:"order"`
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
func (f *Service) Checkout(ctx context.Context, a commerce.Account, saleID, reservationID int64, key string, req CheckoutRequest) (CheckoutResult, error) {
	if a.ID == 0 {
		return CheckoutResult{}, commerce.ErrUnauthenticated
	}
	if err := commerce.CheckIdempotencyKey(key); err != nil {
		return CheckoutResult{}, err
	}
	addr, err := commerce.CleanAddress(req.ShippingAddress)
	if err != nil {
		return CheckoutResult{}, err
	}
	req.ShippingAddress = addr
	if (req.PaymentMethod.CardNumber == "") == (req.PaymentMethod.Token == "") {
		return CheckoutResult{}, commerce.Invalid("payment_method needs a card_number or a token")
	}
	if req.CouponCode != "" {
		if req.CouponCode, err = commerce.CleanCouponCode(req.CouponCode); err != nil {
			return CheckoutResult{}, err
		}
	}
	hashed := req
	hashed.PaymentMethod = commerce.MaskedMethod(req.PaymentMethod)
	scope := fmt.Sprintf("flash-checkout:%d:%d", saleID, reservationID)

	res, replay, err := f.svc.Idempotent(ctx, a.ID, key, scope, hashed, func(ctx context.Context, resume *commerce.IdempotencyRecord) commerce.Outcome {
		if resume != nil && resume.ResourceID != 0 {
			o, err := f.store.OrderByID(ctx, resume.ResourceID)
			if err != nil {
				return commerce.Outcome{Err: err, Committed: true, Unsettled: true}
			}
			fs, err := f.store.FlashSaleByID(ctx, saleID)
			if err != nil {
				return commerce.Outcome{Err: err, Committed: true, Unsettled: true}
			}
			return f.settle(ctx, a, fs, reservationID, o, req.PaymentMethod)
		}
		return f.checkout(ctx, a, key, saleID, reservationID, req)
	})
	switch {
	case err != nil:
		return CheckoutResult{}, err
	case replay != nil:
		var out CheckoutResult
		if err := commerce.DecodeReplay(replay, &out); err != nil {
			return CheckoutResult{}, err
		}
		out.Replayed = true
		return out, nil
	case res.Err != nil:
		return CheckoutResult{}, res.Err
	}
	return res.Value.(CheckoutResult), nil
}

func (f *Service) checkout(ctx context.Context, a commerce.Account, key string, saleID, reservationID int64, req CheckoutRequest) commerce.Outcome {
	fs, err := f.store.FlashSaleByID(ctx, saleID)
	if err != nil {
		return commerce.Outcome{Err: err}
	}
	// A reservation that already has an order: pay for it again is an
	// error, an interrupted one is resumed.
	if link, err := f.store.FlashOrderByReservation(ctx, saleID, reservationID); err == nil {
		if link.BuyerID != a.ID {
			return commerce.Outcome{Err: ErrReservationNotFound}
		}
		return f.resume(ctx, a, fs, link, req.PaymentMethod)
	} else if !errors.Is(err, commerce.ErrNotFound) {
		return commerce.Outcome{Err: err}
	}
	r, err := f.engine.Reservation(ctx, saleID, reservationID)
	if errors.Is(err, ErrStockUnknown) {
		if _, err = f.restore(ctx, fs); err == nil {
			r, err = f.engine.Reservation(ctx, saleID, reservationID)
		}
	}
	if err != nil {
		return commerce.Outcome{Err: err}
	}
	switch {
	case r.BuyerID != a.ID:
		return commerce.Outcome{Err: ErrReservationNotFound}
	case r.State == ReservationExpired:
		return commerce.Outcome{Err: ErrReservationExpired}
	case r.State == ReservationReleased:
		return commerce.Outcome{Err: ErrReservationReleased}
	case r.State == ReservationSold:
		return commerce.Outcome{Err: commerce.ErrAlreadyPaid}
	}
	in := NewSaleOrder{Sale: fs, Reservation: r, Shipping: req.ShippingAddress, Provider: f.svc.Config().Payments.Name(),
		IdempotencyKey: key, At: f.now()}
	if req.CouponCode != "" {
		c, err := f.svc.CouponFor(ctx, fs.ShopID, fs.StreamID, req.CouponCode)
		if err != nil {
			return commerce.Outcome{Err: err}
		}
		in.Coupon = &c
	}
	o, created, err := f.store.CreateFlashOrder(ctx, in)
	if err != nil {
		return commerce.Outcome{Err: err}
	}
	if !created {
		// A concurrent checkout of the same reservation won the race.
		link, err := f.store.FlashOrderByReservation(ctx, saleID, reservationID)
		if err != nil {
			return commerce.Outcome{Err: err}
		}
		return f.resume(ctx, a, fs, link, req.PaymentMethod)
	}
	f.metrics.OrderCreated()
	if o.Status != commerce.OrderAwaitingPayment {
		// Between writing the order and reading it back, a concurrent
		// checkout of the reservation found it and settled it: that one
		// answers for it, this one (whose key records the order) for good.
		out := settledElsewhere(o)
		out.Committed = true
		return out
	}
	return f.settle(ctx, a, fs, reservationID, o, req.PaymentMethod)
}

// resume answers a checkout of a reservation whose order exists.
func (f *Service) resume(ctx context.Context, a commerce.Account, fs Sale, link SaleOrder, method commerce.PaymentMethod) commerce.Outcome {
	o, err := f.store.OrderByID(ctx, link.OrderID)
	if err != nil {
		return commerce.Outcome{Err: err}
	}
	if o.Status == commerce.OrderAwaitingPayment {
		return f.settle(ctx, a, fs, link.ReservationID, o, method)
	}
	return settledElsewhere(o)
}

// settledElsewhere answers a checkout of a reservation whose order another
// request settled: paid already, or why it was cancelled.
func settledElsewhere(o commerce.Order) commerce.Outcome {
	if commerce.UnpaidCancelled(o) {
		return commerce.Outcome{Err: cancelledAnswer(o)}
	}
	return commerce.Outcome{Err: commerce.ErrAlreadyPaid}
}

// cancelledAnswer says why an unpaid flash order was cancelled.
func cancelledAnswer(o commerce.Order) error {
	switch {
	case o.Payment.FailureCode == "reservation_expired":
		return ErrReservationExpired
	case o.Payment.FailureCode == "reservation_lost":
		return ErrReservationLost
	case o.Payment.Status == commerce.PaymentDeclined:
		return flashPaymentErr(&commerce.PaymentError{Code: o.Payment.FailureCode, Declined: true})
	case o.Payment.Status == commerce.PaymentFailed, o.Payment.Status == commerce.PaymentVoided:
		return flashPaymentErr(&commerce.PaymentError{Code: o.Payment.FailureCode})
	}
	return ErrReservationReleased
}

// settle confirms the reservation and takes the payment of its order
// through the one payment pipeline (pay), resuming wherever an interrupted
// run stopped; method is zero for a sweeper.
func (f *Service) settle(ctx context.Context, a commerce.Account, fs Sale, reservationID int64, o commerce.Order, method commerce.PaymentMethod) commerce.Outcome {
	return f.svc.Pay(ctx, o, method, f.flow(a, fs, reservationID))
}

// flow is the payment pipeline of the order of reservation reservationID
// in sale fs, bought by a: the reservation is confirmed before the
// authorization, a cancellation gives the units back through the sale, a
// payment is told to the room.
func (f *Service) flow(a commerce.Account, fs Sale, reservationID int64) commerce.PaymentFlow {
	return commerce.PaymentFlow{
		Prepare: func(ctx context.Context, o commerce.Order) error {
			err := f.confirm(ctx, fs, reservationID, o)
			switch {
			case errors.Is(err, ErrReservationExpired):
				return &commerce.Refusal{Code: "reservation_expired", Answer: err}
			case errors.Is(err, ErrReservationReleased):
				return &commerce.Refusal{Code: "reservation_released", Answer: err}
			case errors.Is(err, ErrSoldOut):
				return &commerce.Refusal{Code: "reservation_lost", Answer: ErrReservationLost}
			}
			return err
		},
		Cancellation: func(t *commerce.Transition) {
			t.FlashSaleID, t.ReturnStock, t.Event = fs.ID, false, "flash_order_cancelled"
		},
		Cancelled: func(ctx context.Context, o commerce.Order) { f.release(ctx, fs, reservationID, o) },
		Paid:      func(ctx context.Context, o commerce.Order) { f.paid(ctx, a, fs, o) },
		Refused:   cancelledAnswer,
		Answer: func(o commerce.Order) any {
			return CheckoutResult{Order: o, DiscountMinor: o.DiscountMinor}
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
func (f *Service) confirm(ctx context.Context, fs Sale, reservationID int64, o commerce.Order) error {
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
func (f *Service) cancelFlashOrder(ctx context.Context, fs Sale, o commerce.Order, reservationID int64, code, note string) error {
	flow := f.flow(commerce.Account{}, fs, reservationID)
	t := commerce.UnpaidCancellation(o, "", code, note)
	flow.Cancellation(&t)
	cancelled, err := f.svc.TransitionOrder(ctx, o, t, "")
	if errors.Is(err, commerce.ErrOrderChanged) {
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
func (f *Service) release(ctx context.Context, fs Sale, reservationID int64, o commerce.Order) {
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
func (f *Service) paid(ctx context.Context, a commerce.Account, fs Sale, o commerce.Order) {
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
	var pe *commerce.PaymentError
	if errors.As(err, &pe) && pe.Declined {
		return api.New(402, "payment_declined", fmt.Sprintf("the payment was declined (%s); the units went back on sale, reserve again to retry with another card", pe.Code))
	}
	return api.New(503, "payment_unavailable", "the payment processor is not answering; nothing was charged and the units went back on sale")
}
