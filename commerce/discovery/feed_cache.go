package discovery

import (
	"sync"
	"time"
)

// feedCache is a bounded map whose entries expire after ttl. The feed uses
// it for what every viewer shares (the items of a hashtag, of a shop, the
// neighbours of an item, product facts), so a busy node asks the database
// for each about once per ttl, and for each viewer's own parts only. Reads
// take a shared lock and change nothing, so concurrent feeds do not queue
// on it; a full map makes room by dropping expired entries, then arbitrary
// ones.
type feedCache[K comparable, V any] struct {
	ttl time.Duration
	cap int
	now func() time.Time

	mu    sync.RWMutex
	items map[K]feedCacheEntry[V]
}

type feedCacheEntry[V any] struct {
	value   V
	expires time.Time
}

func newFeedCache[K comparable, V any](capacity int, ttl time.Duration, now func() time.Time) *feedCache[K, V] {
	return &feedCache[K, V]{ttl: ttl, cap: capacity, now: now, items: make(map[K]feedCacheEntry[V])}
}

// get returns the value under k unless it is missing or expired.
func (c *feedCache[K, V]) get(k K) (V, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.items[k]
	if !ok || c.now().After(e.expires) {
		var zero V
		return zero, false
	}
	return e.value, true
}

// getMany looks up several keys under one lock: it adds the fresh ones to
// found and returns the keys that are missing or expired.
func (c *feedCache[K, V]) getMany(keys []K, found map[K]V) (missing []K) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	now := c.now()
	for _, k := range keys {
		if e, ok := c.items[k]; ok && !now.After(e.expires) {
			found[k] = e.value
		} else {
			missing = append(missing, k)
		}
	}
	return missing
}

// put stores v under k. When the cache is full it first drops the expired
// entries and, if that is not a tenth of them, arbitrary ones (Go's map
// order) until a tenth is free, so the sweep is paid once per tenth of the
// capacity.
func (c *feedCache[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if _, ok := c.items[k]; !ok && len(c.items) >= c.cap {
		for key, e := range c.items {
			if now.After(e.expires) {
				delete(c.items, key)
			}
		}
		keep := c.cap - max(1, c.cap/10)
		for key := range c.items {
			if len(c.items) <= keep {
				break
			}
			delete(c.items, key)
		}
	}
	c.items[k] = feedCacheEntry[V]{value: v, expires: now.Add(c.ttl)}
}

// clear drops every entry.
func (c *feedCache[K, V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.items)
}
