package accounts

import (
	"encoding/hex"
	"testing"
	"time"
)

func TestSessionCacheEvictions(t *testing.T) {
	now := time.Now()
	until := now.Add(time.Minute)
	ann, bo := Account{ID: 1, Name: "Ann"}, Account{ID: 2, Name: "Bo"}
	filled := func() *sessionCache {
		c := newSessionCache(time.Minute, 100)
		for key, a := range map[string]Account{"\x01ann-1": ann, "\x02ann-2": ann, "\x03bo": bo} {
			_, gen, _ := c.get(key, now)
			c.put(key, a, until, gen)
		}
		return c
	}
	cached := func(c *sessionCache, key string) bool {
		_, _, ok := c.get(key, now)
		return ok
	}

	t.Run("a token hash evicts that session only", func(t *testing.T) {
		c := filled()
		c.evict(SessionEviction{TokenHash: hex.EncodeToString([]byte("\x01ann-1"))})
		if cached(c, "\x01ann-1") || !cached(c, "\x02ann-2") || !cached(c, "\x03bo") {
			t.Fatal("wrong sessions evicted")
		}
	})
	t.Run("an account evicts every session of it", func(t *testing.T) {
		c := filled()
		c.evict(SessionEviction{AccountID: ann.ID})
		if cached(c, "\x01ann-1") || cached(c, "\x02ann-2") || !cached(c, "\x03bo") {
			t.Fatal("wrong sessions evicted")
		}
	})
	t.Run("all evicts everything", func(t *testing.T) {
		c := filled()
		c.evict(SessionEviction{All: true})
		if cached(c, "\x01ann-1") || cached(c, "\x03bo") {
			t.Fatal("sessions left")
		}
	})
	t.Run("a lookup that raced an eviction does not cache what it read", func(t *testing.T) {
		c := newSessionCache(time.Minute, 100)
		_, gen, _ := c.get("\x01ann-1", now) // then reads the store...
		c.evict(SessionEviction{AccountID: ann.ID})
		c.put("\x01ann-1", ann, until, gen) // ...with what it read before the eviction
		if cached(c, "\x01ann-1") {
			t.Fatal("the session read before the eviction was cached")
		}
	})
}
