package commerce

import (
	"container/list"
	"sync"
	"time"
)

// feedCache is a bounded least-recently-used map whose entries expire
// after ttl. The feed uses it for candidate lists that every viewer shares
// (the items of a hashtag, of a shop, the neighbours of an item, product
// facts), so a busy node asks the database for each about once per ttl,
// and for each viewer's own parts only.
type feedCache[K comparable, V any] struct {
	ttl time.Duration
	cap int
	now func() time.Time

	mu    sync.Mutex
	ll    *list.List
	items map[K]*list.Element
}

type feedCacheEntry[K comparable, V any] struct {
	key     K
	value   V
	expires time.Time
}

func newFeedCache[K comparable, V any](capacity int, ttl time.Duration, now func() time.Time) *feedCache[K, V] {
	return &feedCache[K, V]{ttl: ttl, cap: capacity, now: now, ll: list.New(), items: make(map[K]*list.Element, capacity)}
}

// get returns the value under k unless it is missing or expired.
func (c *feedCache[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	el, ok := c.items[k]
	if !ok {
		return zero, false
	}
	e := el.Value.(*feedCacheEntry[K, V])
	if c.now().After(e.expires) {
		c.ll.Remove(el)
		delete(c.items, k)
		return zero, false
	}
	c.ll.MoveToFront(el)
	return e.value, true
}

// getMany looks up several keys under one lock: it adds the fresh ones to
// found and returns the keys that are missing or expired.
func (c *feedCache[K, V]) getMany(keys []K, found map[K]V) (missing []K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for _, k := range keys {
		el, ok := c.items[k]
		if !ok {
			missing = append(missing, k)
			continue
		}
		e := el.Value.(*feedCacheEntry[K, V])
		if now.After(e.expires) {
			c.ll.Remove(el)
			delete(c.items, k)
			missing = append(missing, k)
			continue
		}
		c.ll.MoveToFront(el)
		found[k] = e.value
	}
	return missing
}

// put stores v under k, evicting the least recently used entry when full.
func (c *feedCache[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp := c.now().Add(c.ttl)
	if el, ok := c.items[k]; ok {
		e := el.Value.(*feedCacheEntry[K, V])
		e.value, e.expires = v, exp
		c.ll.MoveToFront(el)
		return
	}
	c.items[k] = c.ll.PushFront(&feedCacheEntry[K, V]{key: k, value: v, expires: exp})
	for c.ll.Len() > c.cap {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*feedCacheEntry[K, V]).key)
	}
}

// clear drops every entry.
func (c *feedCache[K, V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ll.Init()
	clear(c.items)
}
