package commerce

import (
	"sync"
	"time"
)

// sessionCache remembers recently checked sessions for a short time so that
// hot paths (a flash sale, a chat burst) do not hit the store per request.
type sessionCache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[string]cachedSession
}

type cachedSession struct {
	account Account
	until   time.Time
}

func newSessionCache(ttl time.Duration, max int) *sessionCache {
	return &sessionCache{ttl: ttl, max: max, entries: make(map[string]cachedSession)}
}

func (c *sessionCache) get(key string, now time.Time) (Account, bool) {
	if c.ttl < 0 {
		return Account{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.until) {
		return Account{}, false
	}
	return e.account, true
}

func (c *sessionCache) put(key string, a Account, until time.Time) {
	if c.ttl < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Full: forget everything rather than track recency; the store is
		// the source of truth and refills what is still in use.
		clear(c.entries)
	}
	c.entries[key] = cachedSession{account: a, until: until}
}

func (c *sessionCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}

func (c *sessionCache) dropAccount(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.account.ID == id {
			delete(c.entries, k)
		}
	}
}
