// Package bus carries a message to every node: in process for one node,
// Redis pub/sub for many. The buses the commerce packages own (go-live
// alerts, session evictions) are these two, typed.
package bus

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is returned by a closed bus.
var ErrClosed = errors.New("bus closed")

// Fanout hands each message to every subscriber of this process.
type Fanout[T any] struct {
	mu     sync.RWMutex
	next   int
	subs   map[int]func(T)
	closed bool
}

func NewFanout[T any]() Fanout[T] { return Fanout[T]{subs: map[int]func(T){}} }

// Subscribe calls fn with every message from now on, on the bus's
// goroutine: fn must return at once. unsubscribe stops the calls; after it
// returns fn is not called.
func (f *Fanout[T]) Subscribe(fn func(T)) (unsubscribe func(), err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, ErrClosed
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
func (f *Fanout[T]) deliver(v T) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return ErrClosed
	}
	for _, fn := range f.subs {
		fn(v)
	}
	return nil
}

// shut drops every subscriber and refuses new ones; it reports whether
// the bus was open.
func (f *Fanout[T]) shut() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.closed = true
	f.subs = map[int]func(T){}
	return true
}

// Memory is the single-node bus: Publish calls every subscriber in the
// caller's goroutine.
type Memory[T any] struct{ Fanout[T] }

func NewMemory[T any]() Memory[T] { return Memory[T]{NewFanout[T]()} }

// Publish sends v to every subscriber.
func (b *Memory[T]) Publish(_ context.Context, v T) error { return b.deliver(v) }

// Close stops the bus; subscribers hear nothing more.
func (b *Memory[T]) Close() error {
	b.shut()
	return nil
}
