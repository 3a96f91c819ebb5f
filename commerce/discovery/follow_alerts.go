package discovery

import "context"

// AlertBus carries go-live alerts to every node, so a follower is told
// whichever node their notification socket is open on. One implementation
// per deployment shape: MemoryAlerts for one node, RedisAlerts (pub/sub)
// for many; both pass the one contract test.
type AlertBus interface {
	// Publish sends a to the subscribers on every node.
	Publish(ctx context.Context, a Alert) error
	// Subscribe calls fn with every alert published from now on, on a bus
	// goroutine: fn must return at once (hand off to a bounded queue).
	// unsubscribe stops the calls; after it returns fn is not called.
	Subscribe(fn func(Alert)) (unsubscribe func(), err error)
	// Close stops the bus; subscribers hear nothing more.
	Close() error
}
