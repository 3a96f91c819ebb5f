package commerce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/api"
	"github.com/liveshop/liveshop/commerce/payments"
)

// CheckoutRequest is what the buyer sends to turn a cart, or products
// bought directly, into an order.
//
// Checkout makes one order per shop: an order has one seller, one currency,
// one shipment and one payment. ShopID picks the shop whose cart lines to
// buy; it may be left out when the cart holds one shop's products only. The
// other shops' lines stay in the cart for another checkout.
type CheckoutRequest struct {
	ShopID int64 `json:"shop_id,omitempty"`
	// Items, when given, are bought instead of the cart's lines ("Buy now"
	// on the watch page): products of one shop, at their current prices.
	// The cart is not touched, not even when a refused payment cancels the
	// order.
	Items []CheckoutItem `json:"items,omitempty"`
	// StreamID credits the order to the live stream it was placed from.
	StreamID        int64         `json:"stream_id,omitempty"`
	ShippingAddress Address       `json:"shipping_address"`
	PaymentMethod   PaymentMethod `json:"payment_method"`
	// CouponCode is a live coupon offered in StreamID, which it then needs;
	// optional. The rules are the flash-sale checkout's (see couponFor).
	CouponCode string `json:"coupon_code,omitempty"`
}

// CheckoutResult is a checkout's order. Replayed says the answer is the one
// stored for an earlier request with the same Idempotency-Key.
type CheckoutResult struct {
	Order    Order
	Replayed bool
}

// paymentTimeout bounds the payment phase of a checkout, which runs on even
// if the client hangs up, so an order is not left half paid.
const paymentTimeout = 30 * time.Second

func CleanAddress(a Address) (Address, error) {
	var err error
	fields := []struct {
		name     string
		v        *string
		max      int
		required bool
	}{
		{"shipping_address.name", &a.Name, 100, true},
		{"shipping_address.line1", &a.Line1, 200, true},
		{"shipping_address.line2", &a.Line2, 200, false},
		{"shipping_address.city", &a.City, 100, true},
		{"shipping_address.region", &a.Region, 100, false},
		{"shipping_address.postal_code", &a.PostalCode, 20, true},
		{"shipping_address.phone", &a.Phone, 30, false},
	}
	for _, f := range fields {
		if f.required {
			*f.v, err = api.CleanText(f.name, *f.v, f.max)
		} else {
			*f.v, err = cleanText(f.name, *f.v, f.max)
		}
		if err != nil {
			return Address{}, err
		}
		if strings.ContainsAny(*f.v, "\n\t") {
			return Address{}, Invalid("%s must be one line", f.name)
		}
	}
	a.Country = strings.ToUpper(strings.TrimSpace(a.Country))
	if len(a.Country) != 2 || a.Country[0] < 'A' || a.Country[0] > 'Z' || a.Country[1] < 'A' || a.Country[1] > 'Z' {
		return Address{}, Invalid("shipping_address.country must be an ISO 3166-1 alpha-2 code such as US or JP")
	}
	return a, nil
}

// MaskedMethod is the payment method as it is hashed for idempotency: a card
// number is reduced to its length and last digits, so no card number, not
// even hashed, is stored.
func MaskedMethod(m PaymentMethod) PaymentMethod {
	if d, ok := payments.CardDigits(m.CardNumber); ok {
		m.CardNumber = fmt.Sprintf("%d:%s", len(d), d[len(d)-4:])
	}
	return m
}

// Checkout buys the caller's cart lines of one shop, or the request's Items:
// it re-prices and takes the stock in one transaction that creates the
// order, then authorizes and captures the payment. key is the
// Idempotency-Key (required).
//
// Outcomes: 201 with the paid order; 402 payment_declined or 503
// payment_unavailable with the order cancelled, its stock returned and its
// lines back in the cart (check out again with another card and a new
// key); 409 out_of_stock or price_changed, 422 empty_cart, the coupon's
// refusals (coupon_not_live, coupon_used_up...) and other validation
// errors with nothing written.
func (s *Service) Checkout(ctx context.Context, a Account, key string, req CheckoutRequest) (CheckoutResult, error) {
	if a.ID == 0 {
		return CheckoutResult{}, ErrUnauthenticated
	}
	if err := CheckIdempotencyKey(key); err != nil {
		return CheckoutResult{}, err
	}
	addr, err := CleanAddress(req.ShippingAddress)
	if err != nil {
		return CheckoutResult{}, err
	}
	req.ShippingAddress = addr
	if (req.PaymentMethod.CardNumber == "") == (req.PaymentMethod.Token == "") {
		return CheckoutResult{}, Invalid("payment_method needs a card_number or a token")
	}
	if req.Items != nil {
		if req.Items, err = cleanItems(req.Items); err != nil {
			return CheckoutResult{}, err
		}
	}
	if req.CouponCode != "" {
		if req.CouponCode, err = CleanCouponCode(req.CouponCode); err != nil {
			return CheckoutResult{}, err
		}
		if req.StreamID == 0 {
			return CheckoutResult{}, Invalid("coupon_code needs stream_id, the live stream the coupon was offered in")
		}
	}
	hashed := req
	hashed.PaymentMethod = MaskedMethod(req.PaymentMethod)

	res, replay, err := s.Idempotent(ctx, a.ID, key, "checkout", hashed, func(ctx context.Context, resume *IdempotencyRecord) Outcome {
		if resume != nil && resume.ResourceID != 0 {
			o, err := s.store.OrderByID(ctx, resume.ResourceID)
			if err != nil {
				return Outcome{Err: err, Committed: true, Unsettled: true}
			}
			return s.settlePayment(ctx, o, req.PaymentMethod)
		}
		o, err := s.placeOrder(ctx, a, key, req)
		if err != nil {
			return Outcome{Err: err}
		}
		return s.settlePayment(ctx, o, req.PaymentMethod)
	})
	switch {
	case err != nil:
		return CheckoutResult{}, err
	case replay != nil:
		var o Order
		if err := DecodeReplay(replay, &o); err != nil {
			return CheckoutResult{}, err
		}
		return CheckoutResult{Order: o, Replayed: true}, nil
	case res.Err != nil:
		return CheckoutResult{}, res.Err
	}
	return CheckoutResult{Order: res.Value.(Order)}, nil
}

// placeOrder picks the shop and creates the order with its stock taken.
func (s *Service) placeOrder(ctx context.Context, a Account, key string, req CheckoutRequest) (Order, error) {
	shopID := req.ShopID
	if req.Items != nil {
		var err error
		if shopID, err = s.itemsShop(ctx, a, shopID, req.Items); err != nil {
			return Order{}, err
		}
	}
	if shopID == 0 {
		lines, err := s.store.CartLines(ctx, a.ID)
		if err != nil {
			return Order{}, err
		}
		for _, l := range lines {
			if shopID != 0 && l.ShopID != shopID {
				return Order{}, api.New(422, "choose_shop", "the cart holds products of several shops; give shop_id to check out one shop's products (one order per shop)")
			}
			shopID = l.ShopID
		}
		if shopID == 0 {
			return Order{}, ErrEmptyCart
		}
	}
	if req.StreamID != 0 {
		st, err := s.store.StreamByID(ctx, req.StreamID)
		if errors.Is(err, ErrNotFound) || err == nil && st.ShopID != shopID {
			return Order{}, Invalid("stream %d is not a stream of shop %d", req.StreamID, shopID)
		}
		if err != nil {
			return Order{}, err
		}
	}
	in := NewOrder{
		BuyerID: a.ID, ShopID: shopID, StreamID: req.StreamID, Items: req.Items, Shipping: req.ShippingAddress,
		Payment:        Payment{Provider: s.cfg.Payments.Name()},
		IdempotencyKey: key, At: s.now(),
	}
	if req.CouponCode != "" {
		c, err := s.CouponFor(ctx, shopID, req.StreamID, req.CouponCode)
		if err != nil {
			return Order{}, err
		}
		in.Coupon = &c
	}
	o, err := s.store.PlaceOrder(ctx, in)
	if err == nil {
		s.StockChanged(o.ShopID, orderProducts(o)...)
	}
	if errors.Is(err, ErrPriceChanged) {
		if in.Items != nil {
			return Order{}, ErrItemPriceChanged
		}
		if rerr := s.store.RepriceCart(ctx, a.ID, shopID); rerr != nil {
			return Order{}, fmt.Errorf("reprice cart: %w", rerr)
		}
	}
	if err != nil {
		return Order{}, err
	}
	return o, nil
}

// settlePayment takes a shop order (cart or Buy now) from awaiting_payment
// to paid, or to cancelled with its stock (and, for a cart, its lines) back
// when the payment is refused, through the one payment pipeline (pay).
func (s *Service) settlePayment(ctx context.Context, o Order, method PaymentMethod) Outcome {
	return s.Pay(ctx, o, method, shopFlow)
}

// shopFlow is the payment pipeline of cart and Buy now orders: nothing
// before the authorization, the default cancellation and answer.
var shopFlow = PaymentFlow{Refused: shopRefused}

// UnpaidCancellation cancels an order before any money was taken (a
// refused payment, an abandoned checkout): its stock goes back on sale, its
// coupon use back to the buyer and, for a cart order, its lines back into
// the cart.
func UnpaidCancellation(o Order, paymentStatus, failureCode, note string) Transition {
	event := "payment_" + paymentStatus
	if paymentStatus == "" {
		event = "cancelled_unpaid"
	}
	return Transition{To: OrderCancelled, PaymentStatus: paymentStatus, FailureCode: failureCode,
		ReturnStock: true, RestoreCart: o.Source == OrderSourceCart, ReleaseCoupon: true,
		Event: event, ActorRole: actorSystem, Note: note}
}

// shopRefused is the answer for a shop order cancelled before any money
// moved.
func shopRefused(o Order) error {
	if o.Payment.Status == PaymentDeclined {
		return api.New(402, "payment_declined", fmt.Sprintf("the payment was declined (%s); nothing was charged and the cart is as it was: try another card", o.Payment.FailureCode))
	}
	return paymentErr(errors.New(o.Payment.FailureCode))
}

// CancelOrder cancels a paid order that has not shipped (seller or admin):
// its stock goes back on sale and the payment is refunded. key is the
// Idempotency-Key (required). If the refund fails the order stays cancelled
// with the payment captured; retrying with the same key (or RefundOrder)
// finishes it.
func (s *Service) CancelOrder(ctx context.Context, a Account, id int64, key, reason string) (Order, error) {
	if _, _, err := s.sellerOrder(ctx, a, id); err != nil {
		return Order{}, err
	}
	reason, err := cleanText("reason", reason, 500)
	if err != nil {
		return Order{}, err
	}
	scope := fmt.Sprintf("order-cancel:%d", id)
	return s.orderMoneyOp(ctx, a, key, scope, reason, func(ctx context.Context, resume *IdempotencyRecord) Outcome {
		o, actor, err := s.sellerOrder(ctx, a, id)
		if err != nil {
			return Outcome{Err: err}
		}
		switch {
		case o.Status == OrderPaid:
			o, err = s.TransitionOrder(ctx, o, Transition{To: OrderCancelled, ReturnStock: true, Event: "cancelled",
				ActorID: a.ID, ActorRole: actor, Note: reason}, OrderCancelledEvent)
			if err != nil {
				return Outcome{Err: err}
			}
		case o.Status == OrderCancelled && o.Payment.Status == PaymentCaptured && resume != nil:
			// an earlier attempt cancelled; finish its refund
		case o.Status == OrderAwaitingPayment:
			return Outcome{Err: ErrPaymentInProgress}
		default:
			return Outcome{Err: illegalTransition(o.Status, OrderCancelled)}
		}
		res := s.refund(ctx, o, a.ID, actor, reason)
		res.Committed = true
		return res
	})
}

// RefundOrder refunds a delivered order, or a cancelled one whose refund
// did not go through (seller or admin). key is the Idempotency-Key.
func (s *Service) RefundOrder(ctx context.Context, a Account, id int64, key, reason string) (Order, error) {
	if _, _, err := s.sellerOrder(ctx, a, id); err != nil {
		return Order{}, err
	}
	reason, err := cleanText("reason", reason, 500)
	if err != nil {
		return Order{}, err
	}
	scope := fmt.Sprintf("order-refund:%d", id)
	return s.orderMoneyOp(ctx, a, key, scope, reason, func(ctx context.Context, _ *IdempotencyRecord) Outcome {
		o, actor, err := s.sellerOrder(ctx, a, id)
		if err != nil {
			return Outcome{Err: err}
		}
		if o.Status == OrderRefunded {
			return Outcome{Err: ErrAlreadyRefunded}
		}
		if !CanTransition(o.Status, OrderRefunded) {
			return Outcome{Err: illegalTransition(o.Status, OrderRefunded)}
		}
		if o.Payment.Status != PaymentCaptured {
			return Outcome{Err: Conflict("nothing_to_refund", "the order's payment is %s; there is nothing to refund", o.Payment.Status)}
		}
		return s.refund(ctx, o, a.ID, actor, reason)
	})
}

func (s *Service) orderMoneyOp(ctx context.Context, a Account, key, scope, reason string,
	op func(ctx context.Context, resume *IdempotencyRecord) Outcome) (Order, error) {
	res, replay, err := s.Idempotent(ctx, a.ID, key, scope, map[string]string{"reason": reason}, op)
	switch {
	case err != nil:
		return Order{}, err
	case replay != nil:
		var o Order
		err := DecodeReplay(replay, &o)
		return o, err
	case res.Err != nil:
		return Order{}, res.Err
	}
	return res.Value.(Order), nil
}

// refund returns a captured payment and moves the order to refunded.
func (s *Service) refund(ctx context.Context, o Order, actorID int64, actor, reason string) Outcome {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), paymentTimeout)
	defer cancel()
	err := s.withRetries(ctx, func(ctx context.Context) error {
		return s.cfg.Payments.Refund(ctx, o.Payment.Reference, o.TotalMinor, fmt.Sprintf("order-%d-refund", o.ID))
	})
	if err != nil {
		s.log.Warn("refund failed", "order", o.ID, "error", err)
		return Outcome{Err: api.New(503, "refund_failed", "the refund did not go through; retry with the same Idempotency-Key"),
			Committed: true, Unsettled: true}
	}
	id := o.ID
	o, err = s.TransitionOrder(ctx, o, Transition{To: OrderRefunded, PaymentStatus: PaymentRefunded, Event: "refunded",
		ActorID: actorID, ActorRole: actor, Note: reason}, OrderRefundedEvent)
	if lost, ok := s.lostRace(ctx, id, err, shopFlow); ok {
		return lost
	}
	if err != nil {
		return Outcome{Err: unavailable(err), Committed: true, Unsettled: true}
	}
	return Outcome{Status: http.StatusOK, Value: o}
}

// Answers to a request that lost a race for an order to a concurrent one.
var (
	// ErrPaymentInProgress means another request is taking the order's
	// payment right now.
	ErrPaymentInProgress = api.New(409, "payment_in_progress", "the order's payment is being processed by another request; reload the order shortly")
	// ErrAlreadyRefunded means the order's payment was refunded already.
	ErrAlreadyRefunded = api.New(409, "already_refunded", "the order is refunded already")
)

// lostRace turns ErrOrderChanged from a payment step into the answer that
// fits what the concurrent request left: two checkouts of one reservation,
// two refunds of one order. Money moved once (the processor calls of both
// carry the same order-derived keys); this request only lost the race to
// record it, so its answer is a 409 the client can act on, not a failure,
// and its key is given back. ok is false for any other error.
func (s *Service) lostRace(ctx context.Context, orderID int64, err error, flow PaymentFlow) (Outcome, bool) {
	if !errors.Is(err, ErrOrderChanged) {
		return Outcome{}, false
	}
	o, gerr := s.store.OrderByID(ctx, orderID)
	if gerr != nil {
		return Outcome{}, false
	}
	s.log.Info("a concurrent request changed the order first", "order", orderID, "status", o.Status, "payment", o.Payment.Status)
	switch {
	case o.Status == OrderAwaitingPayment:
		return Outcome{Err: ErrPaymentInProgress}, true
	case o.Payment.Status == PaymentRefunded:
		return Outcome{Err: ErrAlreadyRefunded}, true
	case o.Payment.Status == PaymentCaptured:
		return Outcome{Err: ErrAlreadyPaid}, true
	case UnpaidCancelled(o):
		return Outcome{Err: s.answerFor(o, flow).Err}, true
	}
	return Outcome{Err: ErrOrderChanged}, true
}
