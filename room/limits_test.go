package room_test

import (
	"context"
	"testing"
	"time"

	"github.com/liveshop/liveshop/room"
)

// limitsNodes returns a constructor of Limits sharing state: each call is
// one more node.
type limitsNodes func(t *testing.T) func() room.Limits

func TestLimitsContract(t *testing.T) {
	nodes := map[string]limitsNodes{
		"memory": func(t *testing.T) func() room.Limits {
			l := room.NewMemoryLimits()
			return func() room.Limits { return l }
		},
		"redis": func(t *testing.T) func() room.Limits {
			prefix := uniquePrefix(t)
			return func() room.Limits { return room.NewRedisLimits(mustRedis(t, "limits"), prefix) }
		},
	}
	for name, newNodes := range nodes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testLimitsContract(t, newNodes)
		})
	}
}

func mustVerdict(t *testing.T, l room.Limits, shop, stream, account int64, exempt bool) room.Verdict {
	t.Helper()
	v, err := l.CheckComment(context.Background(), shop, stream, account, exempt)
	if err != nil {
		t.Fatalf("check comment: %v", err)
	}
	return v
}

func testLimitsContract(t *testing.T, newNodes limitsNodes) {
	ctx := context.Background()

	t.Run("allows limit events in a row and refuses the next with a retry time", func(t *testing.T) {
		nodes := newNodes(t)
		a, b := nodes(), nodes()
		for i, l := range []room.Limits{a, b, a} {
			if ok, _, err := l.Allow(ctx, "k1", 3, time.Minute); !ok || err != nil {
				t.Fatalf("event %d refused: %v", i+1, err)
			}
		}
		ok, retry, err := b.Allow(ctx, "k1", 3, time.Minute)
		if ok || err != nil {
			t.Fatalf("4th event allowed (err %v)", err)
		}
		if retry <= 0 || retry > time.Minute {
			t.Fatalf("retryAfter = %v, want within (0, 1m]", retry)
		}
		if ok, _, _ := a.Allow(ctx, "k2", 3, time.Minute); !ok {
			t.Fatal("another key was refused")
		}
	})

	t.Run("reset forgets a key's events on every node, and only that key's", func(t *testing.T) {
		nodes := newNodes(t)
		a, b := nodes(), nodes()
		for _, key := range []string{"reset", "kept"} {
			for i := range 2 {
				if ok, _, err := a.Allow(ctx, key, 2, time.Minute); !ok || err != nil {
					t.Fatalf("%s: event %d refused: %v", key, i+1, err)
				}
			}
		}
		if err := b.Reset(ctx, "reset"); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if ok, _, err := a.Allow(ctx, "reset", 2, time.Minute); !ok || err != nil {
				t.Fatalf("event %d after the reset refused: %v", i+1, err)
			}
		}
		if ok, _, _ := a.Allow(ctx, "kept", 2, time.Minute); ok {
			t.Fatal("the reset also cleared another key")
		}
		if err := a.Reset(ctx, "never used"); err != nil {
			t.Fatalf("resetting an unknown key: %v", err)
		}
	})

	t.Run("allows again once the retry time has passed", func(t *testing.T) {
		l := newNodes(t)()
		l.Allow(ctx, "refill", 2, 200*time.Millisecond)
		l.Allow(ctx, "refill", 2, 200*time.Millisecond)
		ok, retry, _ := l.Allow(ctx, "refill", 2, 200*time.Millisecond)
		if ok {
			t.Fatal("third event in the window allowed")
		}
		deadline := time.Now().Add(retry)
		eventually(t, "the limiter allows again", func() bool {
			ok, _, _ := l.Allow(ctx, "refill", 2, 200*time.Millisecond)
			return ok
		})
		if time.Now().Before(deadline.Add(-5 * time.Millisecond)) {
			t.Fatalf("allowed before the promised retry time")
		}
	})

	t.Run("a mute refuses comments on every node until it is lifted", func(t *testing.T) {
		nodes := newNodes(t)
		a, b := nodes(), nodes()
		until := time.Now().Add(time.Minute)
		if err := a.SetMute(ctx, 1, 42, until); err != nil {
			t.Fatal(err)
		}
		v := mustVerdict(t, b, 1, 10, 42, false)
		if v.Allowed() || v.MutedUntil.Sub(until).Abs() > time.Second {
			t.Fatalf("muted account's verdict = %+v", v)
		}
		if v := mustVerdict(t, b, 2, 20, 42, false); !v.Allowed() {
			t.Fatalf("mute leaked to another shop: %+v", v)
		}
		if v := mustVerdict(t, b, 1, 10, 43, false); !v.Allowed() {
			t.Fatalf("mute leaked to another account: %+v", v)
		}
		b.SetMute(ctx, 1, 42, time.Time{})
		if v := mustVerdict(t, a, 1, 10, 42, false); !v.Allowed() {
			t.Fatalf("lifted mute still refuses: %+v", v)
		}
	})

	t.Run("a mute ends by itself", func(t *testing.T) {
		l := newNodes(t)()
		l.SetMute(ctx, 1, 7, time.Now().Add(150*time.Millisecond))
		if mustVerdict(t, l, 1, 10, 7, false).Allowed() {
			t.Fatal("fresh mute allowed a comment")
		}
		eventually(t, "the mute expires", func() bool { return mustVerdict(t, l, 1, 10, 7, false).Allowed() })
	})

	t.Run("a ban refuses comments on every node until unbanned", func(t *testing.T) {
		nodes := newNodes(t)
		a, b := nodes(), nodes()
		a.SetBan(ctx, 3, 9, true)
		if v := mustVerdict(t, b, 3, 30, 9, true); !v.Banned || v.Allowed() {
			t.Fatalf("banned verdict = %+v", v)
		}
		if banned, err := b.Banned(ctx, 3, 9); err != nil || !banned {
			t.Fatalf("Banned = %v, %v; want true", banned, err)
		}
		if banned, err := b.Banned(ctx, 4, 9); err != nil || banned {
			t.Fatalf("Banned in another shop = %v, %v; want false", banned, err)
		}
		b.SetBan(ctx, 3, 9, false)
		if v := mustVerdict(t, a, 3, 30, 9, false); !v.Allowed() {
			t.Fatalf("unbanned verdict = %+v", v)
		}
		if banned, err := a.Banned(ctx, 3, 9); err != nil || banned {
			t.Fatalf("Banned after unban = %v, %v; want false", banned, err)
		}
	})

	t.Run("slow mode spaces one account's comments, except for exempt ones", func(t *testing.T) {
		nodes := newNodes(t)
		a, b := nodes(), nodes()
		a.SetSlowMode(ctx, 50, time.Minute)
		if v := mustVerdict(t, a, 5, 50, 1, false); !v.Allowed() {
			t.Fatalf("first comment refused: %+v", v)
		}
		v := mustVerdict(t, b, 5, 50, 1, false)
		if v.Allowed() || v.SlowWait <= 0 || v.SlowWait > time.Minute {
			t.Fatalf("second comment verdict = %+v, want a slow-mode wait", v)
		}
		if v := mustVerdict(t, b, 5, 50, 2, false); !v.Allowed() {
			t.Fatalf("another account refused: %+v", v)
		}
		if v := mustVerdict(t, b, 5, 50, 1, true); !v.Allowed() {
			t.Fatalf("exempt account refused: %+v", v)
		}
		if v := mustVerdict(t, b, 5, 51, 1, false); !v.Allowed() {
			t.Fatalf("slow mode leaked to another stream: %+v", v)
		}
		b.SetSlowMode(ctx, 50, 0)
		if v := mustVerdict(t, a, 5, 50, 1, false); !v.Allowed() {
			t.Fatalf("slow mode off still refuses: %+v", v)
		}
	})
}
