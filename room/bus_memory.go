package room

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
)

// MemoryBus is the single-node Bus: a ring buffer of recent messages per
// room, delivered synchronously to subscribers under the room's lock so
// every subscriber sees one order. Its numbering lives as long as the bus
// (the process), so every bus has an epoch of its own: a client that
// resumes after a restart with the old epoch is told to start afresh.
type MemoryBus struct {
	size   int
	epoch  string
	mu     sync.Mutex
	rooms  map[int64]*memRoom
	closed bool
}

type memRoom struct {
	mu   sync.Mutex
	seq  uint64
	ring []Message // ring[(seq-1) % size]
	subs map[*memSub]struct{}
}

type memSub struct {
	bus     *MemoryBus
	room    *memRoom
	deliver func(Message)
}

var _ Bus = (*MemoryBus)(nil)

// NewMemoryBus returns a bus keeping the last historySize messages per room
// (default 1000).
func NewMemoryBus(historySize int) *MemoryBus {
	if historySize <= 0 {
		historySize = 1000
	}
	tag := make([]byte, 8)
	_, _ = rand.Read(tag)
	return &MemoryBus{size: historySize, epoch: hex.EncodeToString(tag), rooms: map[int64]*memRoom{}}
}

func (b *MemoryBus) room(id int64) (*memRoom, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errBusClosed
	}
	r := b.rooms[id]
	if r == nil {
		r = &memRoom{ring: make([]Message, 0, min(b.size, 64)), subs: map[*memSub]struct{}{}}
		b.rooms[id] = r
	}
	return r, nil
}

// Publish implements Bus.
func (b *MemoryBus) Publish(_ context.Context, room int64, payload []byte) (uint64, error) {
	r, err := b.room(room)
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	m := Message{Seq: r.seq, Payload: payload}
	if len(r.ring) < b.size {
		r.ring = append(r.ring, m)
	} else {
		r.ring[(r.seq-1)%uint64(b.size)] = m
	}
	for s := range r.subs {
		s.deliver(m)
	}
	return m.Seq, nil
}

// Subscribe implements Bus.
func (b *MemoryBus) Subscribe(_ context.Context, room int64, deliver func(Message)) (Subscription, Position, error) {
	r, err := b.room(room)
	if err != nil {
		return nil, Position{}, err
	}
	s := &memSub{bus: b, room: r, deliver: deliver}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs[s] = struct{}{}
	return s, Position{Seq: r.seq, Epoch: b.epoch}, nil
}

// Unsubscribe implements Subscription.
func (s *memSub) Unsubscribe() {
	s.room.mu.Lock()
	delete(s.room.subs, s)
	s.room.mu.Unlock()
}

// History implements Bus.
func (b *MemoryBus) History(_ context.Context, room int64, after uint64, limit int) ([]Message, error) {
	r, err := b.room(room)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if after >= r.seq {
		return nil, nil
	}
	oldest := r.seq - uint64(len(r.ring)) + 1
	if after+1 < oldest {
		return nil, fmt.Errorf("room %d after %d (oldest kept %d): %w", room, after, oldest, ErrHistoryGone)
	}
	var out []Message
	for seq := after + 1; seq <= r.seq && (limit <= 0 || len(out) < limit); seq++ {
		out = append(out, r.ring[(seq-1)%uint64(b.size)])
	}
	return out, nil
}

// Close implements Bus.
func (b *MemoryBus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for _, r := range b.rooms {
		r.mu.Lock()
		clear(r.subs)
		r.mu.Unlock()
	}
	return nil
}
