package room_test

import (
	"context"
	"testing"
	"time"

	"github.com/liveshop/liveshop/room"
)

func TestPresenceContract(t *testing.T) {
	impls := map[string]func(t *testing.T) func() room.Presence{
		"memory": func(t *testing.T) func() room.Presence {
			p := room.NewMemoryPresence()
			return func() room.Presence { return p }
		},
		"redis": func(t *testing.T) func() room.Presence {
			prefix := uniquePrefix(t)
			return func() room.Presence { return room.NewRedisPresence(mustRedis(t, "presence"), prefix) }
		},
	}
	for name, nodes := range impls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testPresenceContract(t, nodes)
		})
	}
}

func mustReport(t *testing.T, p room.Presence, roomID int64, node string, n int, ttl time.Duration) (int, bool) {
	t.Helper()
	total, announcer, err := p.Report(context.Background(), roomID, node, n, ttl)
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	return total, announcer
}

func testPresenceContract(t *testing.T, newNodes func(t *testing.T) func() room.Presence) {
	t.Run("adds up the counts of every node and names one announcer", func(t *testing.T) {
		nodes := newNodes(t)
		a, b := nodes(), nodes()
		mustReport(t, a, 1, "node-a", 3, time.Minute)
		total, announcerB := mustReport(t, b, 1, "node-b", 4, time.Minute)
		if total != 7 {
			t.Fatalf("total = %d, want 7", total)
		}
		total, announcerA := mustReport(t, a, 1, "node-a", 5, time.Minute)
		if total != 9 {
			t.Fatalf("total after update = %d, want 9", total)
		}
		if announcerA == announcerB {
			t.Fatalf("announcer: a=%v b=%v, want exactly one", announcerA, announcerB)
		}
		if total, _ := mustReport(t, b, 2, "node-b", 1, time.Minute); total != 1 {
			t.Fatalf("another room's total = %d, want 1", total)
		}
	})

	t.Run("forgets a node that stops reporting", func(t *testing.T) {
		nodes := newNodes(t)
		a, b := nodes(), nodes()
		mustReport(t, a, 1, "a", 10, 100*time.Millisecond)
		if total, _ := mustReport(t, b, 1, "b", 1, time.Minute); total != 11 {
			t.Fatalf("total = %d, want 11", total)
		}
		eventually(t, "the silent node's viewers drop out", func() bool {
			total, announcer := mustReport(t, b, 1, "b", 1, time.Minute)
			return total == 1 && announcer
		})
	})

	t.Run("a node that leaves stops counting at once", func(t *testing.T) {
		nodes := newNodes(t)
		a, b := nodes(), nodes()
		mustReport(t, a, 1, "a", 10, time.Minute)
		if err := a.Leave(context.Background(), 1, "a"); err != nil {
			t.Fatal(err)
		}
		if total, announcer := mustReport(t, b, 1, "b", 2, time.Minute); total != 2 || !announcer {
			t.Fatalf("after leave: total %d announcer %v, want 2 true", total, announcer)
		}
	})
}
