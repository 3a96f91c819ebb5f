package discovery

import (
	"testing"
	"time"
)

func TestFeedCacheExpiresAndStaysBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newFeedCache[int, string](3, time.Second, func() time.Time { return now })
	c.put(1, "a")
	c.put(2, "b")
	if v, ok := c.get(1); !ok || v != "a" {
		t.Fatalf("get(1) = %q, %v", v, ok)
	}
	found := map[int]string{}
	if missing := c.getMany([]int{1, 2, 3}, found); len(missing) != 1 || missing[0] != 3 || found[2] != "b" {
		t.Fatalf("getMany: missing %v, found %v", missing, found)
	}
	now = now.Add(2 * time.Second)
	if _, ok := c.get(1); ok {
		t.Fatal("an expired entry was served")
	}
	c.put(3, "c")
	c.put(4, "d")
	c.put(5, "e") // full of fresh entries once the expired ones are gone: one makes room
	if len(c.items) > 3 {
		t.Fatalf("cache holds %d entries, capacity 3", len(c.items))
	}
	if v, ok := c.get(5); !ok || v != "e" {
		t.Fatalf("the newest entry is gone: %q, %v", v, ok)
	}
}
