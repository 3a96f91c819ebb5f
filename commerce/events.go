package commerce

import (
	"context"
	"log/slog"
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

type eventsBox struct{ e OrderEvents }

// SetOrderEvents installs the receiver of order events (nil for none). It
// may be called at any time; events emitted before go nowhere.
func (s *Service) SetOrderEvents(e OrderEvents) {
	if e == nil {
		s.events.Store(nil)
		return
	}
	s.events.Store(&eventsBox{e})
}

func (s *Service) emit(ctx context.Context, typ OrderEventType, o Order, actor int64) {
	box := s.events.Load()
	if box == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("order event receiver panicked", "event", string(typ), "order", o.ID, slog.Any("panic", r))
		}
	}()
	box.e.OrderEvent(context.WithoutCancel(ctx), OrderEvent{Type: typ, Order: o, ActorID: actor, At: s.now().UTC()})
}
