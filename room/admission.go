package room

import (
	"context"
	"sync"
	"time"
)

// Admission: who may open a room socket. Opening one costs a snapshot
// (reads of the stream, comments, pins) and holding one costs memory, so
// both are bounded per account and per client address: how often they open
// sockets (Config.JoinLimitAccount and JoinLimitIP per JoinWindow, through
// Limits, so on every node together with Redis) and how many they hold
// open on this node (Config.SocketsPerAccount and SocketsPerIP). Both are
// refused before the upgrade, with 429 and Retry-After.

// ErrTooManySockets refuses a socket beyond Config.SocketsPerAccount or
// SocketsPerIP: close another tab, or wait.
var ErrTooManySockets = &Error{429, "too_many_sockets", "too many room connections from this account or address; close one"}

// socketRetry is the Retry-After of ErrTooManySockets: a socket usually
// frees up when a tab closes, not at a known time.
const socketRetry = 10 * time.Second

// socketCounts counts the room sockets open on this node per account and
// per client address.
type socketCounts struct {
	mu sync.Mutex
	n  map[string]int
}

// admit checks the join rates of ident and ip and takes a place for one
// more socket of each on this node. On success the caller must call the
// returned release once the socket is gone.
func (h *Hub) admit(ctx context.Context, ident Identity, ip string) (release func(), err error) {
	keys := make([]string, 0, 2)
	if !ident.Anonymous() {
		if err := h.allowJoin(ctx, "join:a:"+itoa(ident.AccountID), h.cfg.JoinLimitAccount); err != nil {
			return nil, err
		}
		if h.cfg.SocketsPerAccount >= 0 {
			keys = append(keys, "a:"+itoa(ident.AccountID))
		}
	}
	if ip != "" {
		if err := h.allowJoin(ctx, "join:ip:"+ip, h.cfg.JoinLimitIP); err != nil {
			return nil, err
		}
		if h.cfg.SocketsPerIP >= 0 {
			keys = append(keys, "ip:"+ip)
		}
	}
	return h.sockets.take(keys, func(key string) int {
		if key[0] == 'a' {
			return h.cfg.SocketsPerAccount
		}
		return h.cfg.SocketsPerIP
	})
}

// allowJoin spends one join of key's budget; a negative limit is none.
func (h *Hub) allowJoin(ctx context.Context, key string, limit int) error {
	if limit < 0 {
		return nil
	}
	ok, retry, err := h.limits.Allow(ctx, key, limit, h.cfg.JoinWindow)
	if err != nil {
		return err
	}
	if !ok {
		return refusal(ErrRateLimited, retry)
	}
	return nil
}

// take counts one more socket under every key, unless one is at its limit.
func (s *socketCounts) take(keys []string, limit func(string) int) (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if s.n[k] >= limit(k) {
			return nil, refusal(ErrTooManySockets, socketRetry)
		}
	}
	if s.n == nil {
		s.n = map[string]int{}
	}
	for _, k := range keys {
		s.n[k]++
	}
	return sync.OnceFunc(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, k := range keys {
			if s.n[k]--; s.n[k] <= 0 {
				delete(s.n, k)
			}
		}
	}), nil
}
