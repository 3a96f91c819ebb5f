package accounts

import (
	"encoding/hex"
	"sync"
	"time"
)

// sessionCache remembers recently checked sessions for a short time so that
// hot paths (a flash sale, a chat burst) do not hit the store per request.
// Logouts and renames on any node evict entries through SessionEvictions.
type sessionCache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[string]cachedSession
	// gen counts evictions, so that a lookup that read the store before an
	// eviction does not cache what the eviction removed.
	gen uint64
}

type cachedSession struct {
	account Account
	until   time.Time
}

func newSessionCache(ttl time.Duration, max int) *sessionCache {
	return &sessionCache{ttl: ttl, max: max, entries: make(map[string]cachedSession)}
}

// get returns the cached account, or the generation to pass to put after
// reading the store.
func (c *sessionCache) get(key string, now time.Time) (Account, uint64, bool) {
	if c.ttl < 0 {
		return Account{}, 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.until) {
		return Account{}, c.gen, false
	}
	return e.account, c.gen, true
}

// put caches a session read from the store, unless an eviction came since
// get returned gen.
func (c *sessionCache) put(key string, a Account, until time.Time, gen uint64) {
	if c.ttl < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.entries) >= c.max {
		// Full: forget everything rather than track recency; the store is
		// the source of truth and refills what is still in use.
		clear(c.entries)
	}
	c.entries[key] = cachedSession{account: a, until: until}
}

// evict forgets what e names. It is the SessionEvictions subscriber, and
// the node that ends a session also calls it directly, so that node is
// right at once even when the bus is down.
func (c *sessionCache) evict(e SessionEviction) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	switch {
	case e.All:
		clear(c.entries)
	case e.AccountID != 0:
		for k, s := range c.entries {
			if s.account.ID == e.AccountID {
				delete(c.entries, k)
			}
		}
	case e.TokenHash != "":
		if key, err := hex.DecodeString(e.TokenHash); err == nil {
			delete(c.entries, string(key))
		}
	}
}
