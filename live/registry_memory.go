package live

import (
	"context"
	"sync"
	"time"
)

// MemoryRegistry is the in-process OriginRegistry: the single-node default,
// and shared between SFUs in one process for tests.
type MemoryRegistry struct {
	mu      sync.Mutex
	entries map[int64]memoryOrigin
	now     func() time.Time
	token   string
}

type memoryOrigin struct {
	origin  Origin
	lapses  time.Time // unless refreshed
	expires time.Time // lapses + the grace period
}

var _ OriginRegistry = (*MemoryRegistry)(nil)

// NewMemoryRegistry returns an empty registry.
func NewMemoryRegistry() *MemoryRegistry {
	return &MemoryRegistry{entries: map[int64]memoryOrigin{}, now: time.Now, token: newRelayToken()}
}

// kept returns the entry for id unless it has expired; the caller holds
// r.mu.
func (r *MemoryRegistry) kept(id int64) (memoryOrigin, bool) {
	e, ok := r.entries[id]
	if ok && !r.now().Before(e.expires) {
		delete(r.entries, id)
		return memoryOrigin{}, false
	}
	return e, ok
}

// Claim implements OriginRegistry.
func (r *MemoryRegistry) Claim(_ context.Context, streamID int64, origin Origin, ttl, grace time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if e, ok := r.kept(streamID); ok && e.origin.NodeID != origin.NodeID && !e.origin.Grace {
		if left := e.lapses.Sub(now); left > 0 {
			return errOriginTaken(left)
		}
	}
	origin.Lapsed = false
	r.entries[streamID] = memoryOrigin{origin: origin, lapses: now.Add(ttl), expires: now.Add(ttl + max(grace, 0))}
	return nil
}

// Release implements OriginRegistry.
func (r *MemoryRegistry) Release(_ context.Context, streamID int64, nodeID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.kept(streamID); ok && e.origin.NodeID == nodeID {
		delete(r.entries, streamID)
	}
	return nil
}

// Lookup implements OriginRegistry.
func (r *MemoryRegistry) Lookup(_ context.Context, streamID int64) (Origin, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.kept(streamID)
	if !ok {
		return Origin{}, false, nil
	}
	o := e.origin
	o.Lapsed = !r.now().Before(e.lapses)
	return o, true, nil
}

// RelayToken implements OriginRegistry: one per registry, so SFUs sharing
// it (in one process) read the same.
func (r *MemoryRegistry) RelayToken(context.Context) (string, error) { return r.token, nil }
