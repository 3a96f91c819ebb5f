package commerce

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/api"
)

// Order (fulfilment) statuses. Payment has its own statuses (Payment*),
// because "the money" and "the parcel" move independently: a refunded
// payment can belong to a delivered order, a captured one to a cancelled
// order whose refund is still to come.
const (
	OrderAwaitingPayment = "awaiting_payment"
	OrderPaid            = "paid"
	OrderShipped         = "shipped"
	OrderDelivered       = "delivered"
	OrderCancelled       = "cancelled"
	OrderRefunded        = "refunded"
)

// orderTransitions is the order state machine: the statuses each status may
// move to. Every change goes through checkTransition; anything else is
// ErrIllegalTransition (409) and changes nothing.
//
//	awaiting_payment → paid → shipped → delivered → refunded
//	awaiting_payment → cancelled (payment declined or failed; stock returned)
//	paid → cancelled → refunded (seller cancels; stock returned, money back)
var orderTransitions = map[string][]string{
	OrderAwaitingPayment: {OrderPaid, OrderCancelled},
	OrderPaid:            {OrderShipped, OrderCancelled},
	OrderShipped:         {OrderDelivered},
	OrderDelivered:       {OrderRefunded},
	OrderCancelled:       {OrderRefunded},
}

// CanTransition reports whether the state machine allows from → to.
func CanTransition(from, to string) bool {
	return slices.Contains(orderTransitions[from], to)
}

// ErrIllegalTransition is returned for a status change the state machine
// does not allow.
func illegalTransition(from, to string) error {
	return api.New(409, "illegal_transition", fmt.Sprintf("an order that is %s cannot become %s", from, to))
}

// Where an order came from. A declined payment puts only a cart order's
// lines back in the cart: a "Buy now" never touched the cart, and a flash
// order's units go back to its sale.
const (
	OrderSourceCart      = "cart"
	OrderSourceBuyNow    = "buy_now"
	OrderSourceFlashSale = "flash_sale"
)

// ErrOrderChanged means another request changed the order first.
var ErrOrderChanged = api.New(409, "order_changed", "the order changed meanwhile; reload it and try again")

// Address is where an order is shipped.
type Address struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postal_code"`
	// Country is an ISO 3166-1 alpha-2 code.
	Country string `json:"country"`
	Phone   string `json:"phone,omitempty"`
}

// OrderLine is one product of an order at the price it was sold for.
type OrderLine struct {
	ProductID      int64  `json:"product_id"`
	Title          string `json:"title"`
	UnitPriceMinor int64  `json:"unit_price_minor"`
	Quantity       int64  `json:"quantity"`
	LineTotalMinor int64  `json:"line_total_minor"`
}

// Payment is the money side of an order.
type Payment struct {
	Provider    string `json:"provider"`
	Status      string `json:"status"`
	AmountMinor int64  `json:"amount_minor"`
	Currency    string `json:"currency"`
	CardBrand   string `json:"card_brand,omitempty"`
	CardLast4   string `json:"card_last4,omitempty"`
	// Reference is the processor's ID of the authorization.
	Reference   string `json:"reference,omitempty"`
	FailureCode string `json:"failure_code,omitempty"`
}

// TimelineEntry records one change of an order: its status or its payment,
// when, and by whom (actor role "system" for the server itself).
type TimelineEntry struct {
	At            time.Time `json:"at"`
	Event         string    `json:"event"`
	Status        string    `json:"status"`
	PaymentStatus string    `json:"payment_status"`
	ActorID       int64     `json:"actor_id,omitempty"`
	ActorRole     string    `json:"actor_role"`
	Note          string    `json:"note,omitempty"`
}

// Order is a purchase from one shop, in the shop's currency.
type Order struct {
	ID        int64  `json:"id"`
	BuyerID   int64  `json:"buyer_id"`
	BuyerName string `json:"buyer_name"`
	ShopID    int64  `json:"shop_id"`
	ShopName  string `json:"shop_name"`
	// StreamID is the live stream the order was placed from, if any.
	StreamID int64  `json:"stream_id,omitempty"`
	Status   string `json:"status"`
	Currency string `json:"currency"`
	// SubtotalMinor is what the lines cost; DiscountMinor is what the live
	// coupon CouponCode took off it; TotalMinor is what the buyer pays.
	SubtotalMinor int64  `json:"subtotal_minor"`
	DiscountMinor int64  `json:"discount_minor"`
	CouponCode    string `json:"coupon_code,omitempty"`
	TotalMinor    int64  `json:"total_minor"`
	// Source is cart, buy_now or flash_sale (OrderSource*).
	Source         string          `json:"source"`
	Lines          []OrderLine     `json:"lines"`
	Shipping       Address         `json:"shipping_address"`
	Carrier        string          `json:"carrier,omitempty"`
	TrackingNumber string          `json:"tracking_number,omitempty"`
	Payment        Payment         `json:"payment"`
	Timeline       []TimelineEntry `json:"timeline,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

// NewOrder is what PlaceOrder turns a shop's cart lines, or Items, into.
type NewOrder struct {
	BuyerID  int64
	ShopID   int64
	StreamID int64
	// Items, when not nil, are bought instead of the cart's lines, and the
	// cart is left alone (a Buy now).
	Items    []CheckoutItem
	Shipping Address
	// Payment carries provider, card brand and last digits; the store sets
	// amount, currency and status pending.
	Payment Payment
	// Coupon, when not nil, is a live coupon redeemed in the order's
	// transaction (see CouponStore); its discount is taken off the total
	// the store prices.
	Coupon *Coupon
	// IdempotencyKey, when set, is the buyer's key row that the new order is
	// linked to in the same transaction, so a retry finds it.
	IdempotencyKey string
	At             time.Time
}

// Transition is one recorded change of an order.
type Transition struct {
	OrderID int64
	// From is the status the order must still have; To is the new one
	// (equal to From for a payment-only change).
	From, To string
	// FromPayment, when set, is the payment status the order must still
	// have (transition sets it from the order it was given).
	FromPayment string
	// PaymentStatus, PaymentRef and FailureCode change the payment when set.
	PaymentStatus string
	PaymentRef    string
	FailureCode   string
	CardBrand     string
	CardLast4     string
	// Carrier and TrackingNumber are set on shipping.
	Carrier, TrackingNumber string
	// ReturnStock puts the order's units back on sale; RestoreCart puts its
	// lines back into the buyer's cart (after a declined payment).
	ReturnStock bool
	RestoreCart bool
	// FlashSaleID, for an unpaid flash order, decides ReturnStock in the
	// transaction: its units go back to the product only if the sale was
	// reconciled already, and the sale's sold count, which counted the
	// order while it was being paid, drops by them (before, they go back
	// to the sale, and the reconciliation returns what was not sold).
	FlashSaleID int64
	// ReleaseCoupon gives the order's coupon use back to the buyer (an
	// order cancelled before any money was taken).
	ReleaseCoupon bool
	Event         string
	ActorID       int64
	ActorRole     string
	Note          string
	At            time.Time
}

// OrderQuery selects orders for a listing.
type OrderQuery struct {
	BuyerID  int64
	ShopID   int64
	Statuses []string
	BeforeID int64
	Limit    int
}

// OrderStore keeps orders, their lines, payments and timelines.
type OrderStore interface {
	// PlaceOrder turns the buyer's cart lines of one shop (or in.Items of
	// that shop, leaving the cart alone) into an order, in one
	// transaction: re-price (ErrPriceChanged when a price moved, or is not
	// an item's UnitPriceMinor), take the stock (OutOfStock when short;
	// never below zero), insert the order, its lines, its pending payment
	// and the first timeline entry, redeem the coupon (its errors when it no
	// longer applies), empty those cart lines and link the idempotency key.
	// ErrEmptyCart without lines; a concurrent checkout of the same cart
	// waits for this one and then finds it empty (ErrEmptyCart) or changed
	// (ErrCartChanged), never buys the same lines twice.
	PlaceOrder(ctx context.Context, in NewOrder) (Order, error)
	// OrderByID returns an order with lines, payment and timeline.
	OrderByID(ctx context.Context, id int64) (Order, error)
	// ListOrders returns orders newest first, with lines and payment.
	ListOrders(ctx context.Context, q OrderQuery) ([]Order, error)
	// TransitionOrder applies t in one transaction; ErrOrderChanged when
	// the order is no longer in t.From.
	TransitionOrder(ctx context.Context, t Transition) error
	// OrphanOrders returns up to limit orders still awaiting payment, last
	// changed before updatedBefore, that no unfinished Idempotency-Key
	// leads to: the checkout that placed each is gone, so no retry will
	// settle it. flash picks flash-sale orders (with their sale and
	// reservation) or the others.
	OrphanOrders(ctx context.Context, flash bool, updatedBefore time.Time, limit int) ([]OrphanOrder, error)
}

// OrphanOrder is an order awaiting payment that no checkout request leads
// to any more; SaleID and ReservationID are set for a flash-sale order.
type OrphanOrder struct {
	OrderID, BuyerID, SaleID, ReservationID int64
}

// Errors about orders and checkout.
var (
	// ErrEmptyCart means there is nothing (of that shop) to check out.
	ErrEmptyCart = api.New(422, "empty_cart", "the cart holds nothing to check out")
	// ErrPriceChanged means a price changed since the product was put in the
	// cart; the cart now shows the new prices, and checking out again
	// accepts them.
	ErrPriceChanged = api.New(409, "price_changed", "a price in your cart changed; review the cart and check out again")
	// ErrCartChanged means the cart changed while it was being checked out
	// (another checkout or an edit took lines); nothing was bought.
	ErrCartChanged = api.New(409, "cart_changed", "your cart changed while checking out; review it and check out again")
)

// Actor roles recorded on the timeline.
const (
	actorBuyer  = "buyer"
	actorSeller = "seller"
	actorAdmin  = "admin"
	actorSystem = "system"
)

// orderFor loads an order the caller may see: its buyer, or the seller of
// its shop, or an admin. Everyone else gets ErrNotFound, so order IDs do
// not reveal what exists.
func (s *Service) orderFor(ctx context.Context, a Account, id int64) (Order, Role, error) {
	if a.ID == 0 {
		return Order{}, "", ErrUnauthenticated
	}
	o, err := s.store.OrderByID(ctx, id)
	if err != nil {
		return Order{}, "", err
	}
	if a.Admin {
		return o, RoleAdmin, nil
	}
	shop, err := s.store.ShopByID(ctx, o.ShopID)
	if err != nil {
		return Order{}, "", err
	}
	if shop.OwnerID == a.ID {
		return o, RoleSeller, nil
	}
	if o.BuyerID == a.ID {
		return o, RoleViewer, nil
	}
	return Order{}, "", ErrNotFound
}

// Order returns an order with its tracking timeline, to its buyer, its
// shop's seller or an admin.
func (s *Service) Order(ctx context.Context, a Account, id int64) (Order, error) {
	o, _, err := s.orderFor(ctx, a, id)
	return o, err
}

// Orders lists the caller's own orders, newest first.
func (s *Service) Orders(ctx context.Context, a Account, p PageRequest) ([]Order, string, error) {
	before, limit, err := p.Parse()
	if err != nil {
		return nil, "", err
	}
	orders, err := s.store.ListOrders(ctx, OrderQuery{BuyerID: a.ID, BeforeID: before, Limit: limit + 1})
	if err != nil {
		return nil, "", err
	}
	orders, next := api.CutPage(orders, limit, func(o Order) int64 { return o.ID })
	return orders, next, nil
}

// ShopOrders lists a shop's orders for its seller or an admin, optionally
// only those in one status.
func (s *Service) ShopOrders(ctx context.Context, a Account, shopID int64, status string, p PageRequest) ([]Order, string, error) {
	if _, err := s.RequireSeller(ctx, a, shopID); err != nil {
		return nil, "", err
	}
	before, limit, err := p.Parse()
	if err != nil {
		return nil, "", err
	}
	q := OrderQuery{ShopID: shopID, BeforeID: before, Limit: limit + 1}
	if status != "" {
		if _, known := orderTransitions[status]; !known && status != OrderRefunded {
			return nil, "", BadRequest("unknown order status %q", status)
		}
		q.Statuses = []string{status}
	}
	orders, err := s.store.ListOrders(ctx, q)
	if err != nil {
		return nil, "", err
	}
	orders, next := api.CutPage(orders, limit, func(o Order) int64 { return o.ID })
	return orders, next, nil
}

// sellerOrder loads an order for a seller action and returns the actor role
// to record.
func (s *Service) sellerOrder(ctx context.Context, a Account, id int64) (Order, string, error) {
	o, role, err := s.orderFor(ctx, a, id)
	if err != nil {
		return Order{}, "", err
	}
	switch role {
	case RoleAdmin:
		return o, actorAdmin, nil
	case RoleSeller:
		return o, actorSeller, nil
	}
	return Order{}, "", api.New(403, ErrForbidden.Code, "only the shop's seller may do this")
}

// TransitionOrder checks the state machine, applies t, emits the event and
// returns the order as it is now.
func (s *Service) TransitionOrder(ctx context.Context, o Order, t Transition, event OrderEventType) (Order, error) {
	// Staying in a status is only for payment-only changes (authorized).
	if t.To == o.Status && t.PaymentStatus == "" || t.To != o.Status && !CanTransition(o.Status, t.To) {
		return Order{}, illegalTransition(o.Status, t.To)
	}
	t.OrderID, t.From, t.FromPayment = o.ID, o.Status, o.Payment.Status
	if t.At.IsZero() {
		t.At = s.now()
	}
	if err := s.store.TransitionOrder(ctx, t); err != nil {
		return Order{}, fmt.Errorf("order %d %s → %s: %w", o.ID, t.From, t.To, err)
	}
	if t.ReturnStock || t.FlashSaleID != 0 {
		s.StockChanged(o.ShopID, orderProducts(o)...)
	}
	o, err := s.store.OrderByID(ctx, o.ID)
	if err != nil {
		return Order{}, err
	}
	if event != "" {
		s.emit(ctx, event, o, t.ActorID)
	}
	return o, nil
}

const (
	maxCarrierRunes  = 60
	maxTrackingRunes = 80
)

// ShipOrder marks a paid order shipped with its carrier and tracking number.
func (s *Service) ShipOrder(ctx context.Context, a Account, id int64, carrier, tracking string) (Order, error) {
	o, actor, err := s.sellerOrder(ctx, a, id)
	if err != nil {
		return Order{}, err
	}
	if carrier, err = api.CleanText("carrier", carrier, maxCarrierRunes); err != nil {
		return Order{}, err
	}
	if tracking, err = api.CleanText("tracking_number", tracking, maxTrackingRunes); err != nil {
		return Order{}, err
	}
	if strings.ContainsAny(tracking, "\n\t") {
		return Order{}, Invalid("tracking_number must be one line")
	}
	return s.TransitionOrder(ctx, o, Transition{To: OrderShipped, Carrier: carrier, TrackingNumber: tracking,
		Event: "shipped", ActorID: a.ID, ActorRole: actor, Note: carrier + " " + tracking}, OrderShippedEvent)
}

// DeliverOrder marks a shipped order delivered.
func (s *Service) DeliverOrder(ctx context.Context, a Account, id int64) (Order, error) {
	o, actor, err := s.sellerOrder(ctx, a, id)
	if err != nil {
		return Order{}, err
	}
	return s.TransitionOrder(ctx, o, Transition{To: OrderDelivered, Event: "delivered", ActorID: a.ID, ActorRole: actor}, OrderDeliveredEvent)
}
