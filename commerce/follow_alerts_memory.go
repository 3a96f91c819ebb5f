package commerce

import (
	"context"
	"errors"
	"sync"
)

// MemoryAlerts is the single-node AlertBus: Publish calls every
// subscriber in the caller's goroutine.
type MemoryAlerts struct {
	mu     sync.RWMutex
	next   int
	subs   map[int]func(Alert)
	closed bool
}

var _ AlertBus = (*MemoryAlerts)(nil)

// NewMemoryAlerts returns an empty in-process bus.
func NewMemoryAlerts() *MemoryAlerts { return &MemoryAlerts{subs: map[int]func(Alert){}} }

// errAlertsClosed is returned by a closed bus.
var errAlertsClosed = errors.New("alert bus closed")

// Publish implements AlertBus.
func (b *MemoryAlerts) Publish(_ context.Context, a Alert) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return errAlertsClosed
	}
	for _, fn := range b.subs {
		fn(a)
	}
	return nil
}

// Subscribe implements AlertBus.
func (b *MemoryAlerts) Subscribe(fn func(Alert)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errAlertsClosed
	}
	id := b.next
	b.next++
	b.subs[id] = fn
	return func() {
		b.mu.Lock()
		delete(b.subs, id)
		b.mu.Unlock()
	}, nil
}

// Close implements AlertBus.
func (b *MemoryAlerts) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.subs = map[int]func(Alert){}
	return nil
}
