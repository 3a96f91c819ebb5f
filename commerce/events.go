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

// Activity hears what shoppers and sellers do whose consequences the core
// does not own: an add-to-cart (the feed's signals), a stream going live
// (followers' alerts). Discovery implements it.
type Activity interface {
	AddedToCart(a Account, p Product, quantity int64)
	StreamWentLive(ctx context.Context, streamID int64)
}

// noteAddedToCart tells the activity receiver of an add-to-cart.
func (s *Service) noteAddedToCart(a Account, p Product, quantity int64) {
	if r := s.news.listeners().Activity; r != nil {
		r.AddedToCart(a, p, quantity)
	}
}

// noteStreamLive tells the activity receiver that a stream went live.
func (s *Service) noteStreamLive(ctx context.Context, streamID int64) {
	if r := s.news.listeners().Activity; r != nil {
		r.StreamWentLive(context.WithoutCancel(ctx), streamID)
	}
}

// Listeners are the parts of Liveshop the core tells what happened without
// knowing them; any may be nil.
type Listeners struct {
	Orders    OrderEvents       // an order was paid, shipped, ... (discovery)
	Activity  Activity          // add-to-carts and go-lives (discovery)
	Stock     StockNotifier     // a product's stock, for pinned cards (rooms)
	StreamEnd StreamEndNotifier // a seller ended a stream (video and rooms)
	StreamKey StreamKeyNotifier // a seller rotated a stream key (video)
}

// Events carries the core's news to its Listeners. The listeners are built
// on the Service, so they cannot be given to New; New takes the Events and
// cmd/liveshop connects every listener at once when they exist. News before
// Connect or after Disconnect goes nowhere.
type Events struct{ l atomic.Pointer[Listeners] }

// Connect sends the core's news to l from now on.
func (e *Events) Connect(l Listeners) { e.l.Store(&l) }

// Disconnect stops the news (before the listeners close).
func (e *Events) Disconnect() { e.l.Store(nil) }

func (e *Events) listeners() Listeners {
	if p := e.l.Load(); p != nil {
		return *p
	}
	return Listeners{}
}

func (s *Service) emit(ctx context.Context, typ OrderEventType, o Order, actor int64) {
	receiver := s.news.listeners().Orders
	if receiver == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("order event receiver panicked", "event", string(typ), "order", o.ID, slog.Any("panic", r))
		}
	}()
	receiver.OrderEvent(context.WithoutCancel(ctx), OrderEvent{Type: typ, Order: o, ActorID: actor, At: s.now().UTC()})
}
