package commerce

import (
	"context"
	"errors"
	"sync"
)

// This file and bus_redis.go are the two ways a message reaches every node:
// in process for one node, Redis pub/sub for many. The buses commerce
// owns (go-live alerts, session evictions) are these two, typed.

// errBusClosed is returned by a closed bus.
var errBusClosed = errors.New("bus closed")

// fanout hands each message to every subscriber of this process.
type fanout[T any] struct {
	mu     sync.RWMutex
	next   int
	subs   map[int]func(T)
	closed bool
}

func newFanout[T any]() fanout[T] { return fanout[T]{subs: map[int]func(T){}} }

// Subscribe calls fn with every message from now on, on the bus's
// goroutine: fn must return at once. unsubscribe stops the calls; after it
// returns fn is not called.
func (f *fanout[T]) Subscribe(fn func(T)) (unsubscribe func(), err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, errBusClosed
	}
	id := f.next
	f.next++
	f.subs[id] = fn
	return func() {
		f.mu.Lock()
		delete(f.subs, id)
		f.mu.Unlock()
	}, nil
}

// deliver calls every subscriber with v.
func (f *fanout[T]) deliver(v T) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return errBusClosed
	}
	for _, fn := range f.subs {
		fn(v)
	}
	return nil
}

// shut drops every subscriber and refuses new ones; it reports whether
// the bus was open.
func (f *fanout[T]) shut() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.closed = true
	f.subs = map[int]func(T){}
	return true
}

// memoryBus is the single-node bus: Publish calls every subscriber in the
// caller's goroutine.
type memoryBus[T any] struct{ fanout[T] }

func newMemoryBus[T any]() memoryBus[T] { return memoryBus[T]{newFanout[T]()} }

// Publish sends v to every subscriber.
func (b *memoryBus[T]) Publish(_ context.Context, v T) error { return b.deliver(v) }

// Close stops the bus; subscribers hear nothing more.
func (b *memoryBus[T]) Close() error {
	b.shut()
	return nil
}
