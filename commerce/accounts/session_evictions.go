package accounts

import (
	"context"

	"github.com/liveshop/liveshop/commerce/internal/bus"
)

// SessionEvictions carries session evictions to every node, so that a
// logout, a logout everywhere or a rename takes effect in every node's
// session cache at once rather than when the cached entry runs out
// (Config.SessionCacheTTL). One implementation per deployment shape:
// MemorySessionEvictions for one node, RedisSessionEvictions (pub/sub) for
// many; both pass the one bus contract test.
type SessionEvictions interface {
	// Publish sends e to the subscribers on every node, this one included.
	Publish(ctx context.Context, e SessionEviction) error
	// Subscribe calls fn with every eviction published from now on, on a
	// bus goroutine: fn must return at once. unsubscribe stops the calls.
	Subscribe(fn func(SessionEviction)) (unsubscribe func(), err error)
	// Close stops the bus; subscribers hear nothing more.
	Close() error
}

// SessionEviction names the cached sessions every node must forget.
type SessionEviction struct {
	// TokenHash is one session's token hash, hex-encoded.
	TokenHash string `json:"token_hash,omitempty"`
	// AccountID names every session of that account.
	AccountID int64 `json:"account_id,omitempty"`
	// All names every cached session. A Redis bus delivers it (without
	// publishing it) when its subscription comes back after a lost
	// connection, since evictions published meanwhile were missed.
	All bool `json:"all,omitempty"`
}

// MemorySessionEvictions is the single-node SessionEvictions: Publish
// calls every subscriber in the caller's goroutine.
type MemorySessionEvictions struct{ bus.Memory[SessionEviction] }

var _ SessionEvictions = (*MemorySessionEvictions)(nil)

// NewMemorySessionEvictions returns an empty in-process bus.
func NewMemorySessionEvictions() *MemorySessionEvictions {
	return &MemorySessionEvictions{bus.NewMemory[SessionEviction]()}
}
