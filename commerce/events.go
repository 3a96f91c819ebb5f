package commerce

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// OrderEventType names what happened to an order.
type OrderEventType string

// Order events, emitted after the change is committed.
const (
	OrderPaidEvent      OrderEventType = "order.paid"
	OrderShippedEvent   OrderEventType = "order.shipped"
	OrderDeliveredEvent OrderEventType = "order.delivered"
	OrderCancelledEvent OrderEventType = "order.cancelled"
	OrderRefundedEvent  OrderEventType = "order.refunded"
)

// OrderEvent tells other parts of Liveshop (the room's "just bought" ticker,
// analytics) about an order without commerce knowing them.
type OrderEvent struct {
	Type OrderEventType
	// Order is the order as it is after the change, with its lines.
	Order   Order
	ActorID int64
	At      time.Time
}

// OrderEvents receives order events. cmd/liveshop adapts rooms and
// analytics to it. OrderEvent is called synchronously after the commit, on
// the request's goroutine: implementations must return quickly (hand off to
// a bounded queue) and must not fail the order, which is already final.
type OrderEvents interface {
	OrderEvent(ctx context.Context, e OrderEvent)
}

// SetOrderEvents installs the receiver of order events (nil for none). It
// may be called at any time; events emitted before go nowhere.
func (s *Service) SetOrderEvents(e OrderEvents) { s.events.set(e) }

// Activity hears what shoppers and sellers do whose consequences the core
// does not own: an add-to-cart (the feed's signals), a stream going live
// (followers' alerts). Discovery implements it.
type Activity interface {
	AddedToCart(a Account, p Product, quantity int64)
	StreamWentLive(ctx context.Context, streamID int64)
}

// SetActivity installs the receiver of shopper activity (nil for none).
func (s *Service) SetActivity(a Activity) { s.activity.set(a) }

// noteAddedToCart tells the activity receiver of an add-to-cart.
func (s *Service) noteAddedToCart(a Account, p Product, quantity int64) {
	if r, ok := s.activity.get(); ok {
		r.AddedToCart(a, p, quantity)
	}
}

// noteStreamLive tells the activity receiver that a stream went live.
func (s *Service) noteStreamLive(ctx context.Context, streamID int64) {
	if r, ok := s.activity.get(); ok {
		r.StreamWentLive(context.WithoutCancel(ctx), streamID)
	}
}

// hook holds a receiver that cmd/liveshop may install, replace or remove
// (nil) at any time, while requests use it.
type hook[T any] struct{ p atomic.Pointer[T] }

func (h *hook[T]) set(v T) {
	if any(v) == nil {
		h.p.Store(nil)
		return
	}
	h.p.Store(&v)
}

// get returns the receiver, if one is installed.
func (h *hook[T]) get() (T, bool) {
	if p := h.p.Load(); p != nil {
		return *p, true
	}
	var none T
	return none, false
}

func (s *Service) emit(ctx context.Context, typ OrderEventType, o Order, actor int64) {
	receiver, ok := s.events.get()
	if !ok {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("order event receiver panicked", "event", string(typ), "order", o.ID, slog.Any("panic", r))
		}
	}()
	receiver.OrderEvent(context.WithoutCancel(ctx), OrderEvent{Type: typ, Order: o, ActorID: actor, At: s.now().UTC()})
}
