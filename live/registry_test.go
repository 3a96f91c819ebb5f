package live_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveshop/liveshop/live"
)

// redisClient connects to LIVESHOP_TEST_REDIS, skipping (or failing under
// CI) when it is not set, and returns a key prefix of the test's own.
func redisClient(t testing.TB) (*redis.Client, string) {
	t.Helper()
	url := os.Getenv("LIVESHOP_TEST_REDIS")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("LIVESHOP_TEST_REDIS is not set")
		}
		t.Skip("LIVESHOP_TEST_REDIS is not set; skipping the Redis test")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "livetest:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	return rdb, prefix
}

func TestOriginRegistry(t *testing.T) {
	impls := map[string]func(t *testing.T) live.OriginRegistry{
		"memory": func(*testing.T) live.OriginRegistry { return live.NewMemoryRegistry() },
		"redis": func(t *testing.T) live.OriginRegistry {
			rdb, prefix := redisClient(t)
			return live.NewRedisRegistry(rdb, prefix)
		},
	}
	for name, newRegistry := range impls {
		t.Run(name, func(t *testing.T) { registryContract(t, newRegistry) })
	}
	t.Run("nodes sharing a Redis prefix read one relay token", func(t *testing.T) {
		rdb, prefix := redisClient(t)
		a, errA := live.NewRedisRegistry(rdb, prefix).RelayToken(context.Background())
		b, errB := live.NewRedisRegistry(rdb, prefix).RelayToken(context.Background())
		if errA != nil || errB != nil || a == "" || a != b {
			t.Fatalf("tokens %q (%v) and %q (%v), want one", a, errA, b, errB)
		}
	})
}

// registryContract is what every OriginRegistry must do.
func registryContract(t *testing.T, newRegistry func(t *testing.T) live.OriginRegistry) {
	ctx := context.Background()
	a := live.Origin{NodeID: "node-a", URL: "http://127.0.0.1:1001"}
	b := live.Origin{NodeID: "node-b", URL: "http://127.0.0.1:1002"}

	t.Run("a claimed stream names its origin", func(t *testing.T) {
		r := newRegistry(t)
		if _, ok, err := r.Lookup(ctx, 1); err != nil || ok {
			t.Fatalf("lookup before claim: ok=%v err=%v", ok, err)
		}
		if err := r.Claim(ctx, 1, a, time.Minute, 0); err != nil {
			t.Fatal(err)
		}
		o, ok, err := r.Lookup(ctx, 1)
		if err != nil || !ok || o != a {
			t.Fatalf("lookup = %+v %v %v", o, ok, err)
		}
		if _, ok, _ := r.Lookup(ctx, 2); ok {
			t.Fatal("stream 2 has an origin it never claimed")
		}
	})

	t.Run("refuses a second node while the claim lives", func(t *testing.T) {
		r := newRegistry(t)
		if err := r.Claim(ctx, 1, a, time.Minute, 0); err != nil {
			t.Fatal(err)
		}
		if err := r.Claim(ctx, 1, b, time.Minute, 0); !errors.Is(err, live.ErrOriginTaken) {
			t.Fatalf("second node's claim: %v", err)
		}
		if err := r.Claim(ctx, 1, a, time.Minute, 0); err != nil {
			t.Fatalf("refresh by the owner: %v", err)
		}
	})

	t.Run("release only by the owner", func(t *testing.T) {
		r := newRegistry(t)
		if err := r.Claim(ctx, 1, a, time.Minute, 0); err != nil {
			t.Fatal(err)
		}
		if err := r.Release(ctx, 1, b.NodeID); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := r.Lookup(ctx, 1); !ok {
			t.Fatal("another node's release removed the claim")
		}
		if err := r.Release(ctx, 1, a.NodeID); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := r.Lookup(ctx, 1); ok {
			t.Fatal("claim survived its owner's release")
		}
		if err := r.Claim(ctx, 1, b, time.Minute, 0); err != nil {
			t.Fatalf("claim after release: %v", err)
		}
	})

	t.Run("a claim that is not refreshed expires and frees the stream", func(t *testing.T) {
		r := newRegistry(t)
		if err := r.Claim(ctx, 1, a, 150*time.Millisecond, 0); err != nil {
			t.Fatal(err)
		}
		eventually(t, "claim to expire", 5*time.Second, func() bool {
			_, ok, err := r.Lookup(ctx, 1)
			return err == nil && !ok
		})
		if err := r.Claim(ctx, 1, b, time.Minute, 0); err != nil {
			t.Fatalf("claim after expiry: %v", err)
		}
	})

	t.Run("refreshing extends the claim", func(t *testing.T) {
		r := newRegistry(t)
		if err := r.Claim(ctx, 1, a, 150*time.Millisecond, 0); err != nil {
			t.Fatal(err)
		}
		if err := r.Claim(ctx, 1, a, time.Minute, 0); err != nil {
			t.Fatal(err)
		}
		// Stream 2's short claim is the clock: once it has expired, stream
		// 1's first TTL has passed too.
		if err := r.Claim(ctx, 2, a, 200*time.Millisecond, 0); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the clock claim to expire", 5*time.Second, func() bool {
			_, ok, err := r.Lookup(ctx, 2)
			return err == nil && !ok
		})
		if _, ok, _ := r.Lookup(ctx, 1); !ok {
			t.Fatal("refreshed claim expired with its first TTL")
		}
	})

	t.Run("a refused claim says when the claim it met lapses", func(t *testing.T) {
		r := newRegistry(t)
		if err := r.Claim(ctx, 1, a, time.Minute, 0); err != nil {
			t.Fatal(err)
		}
		err := r.Claim(ctx, 1, b, time.Minute, 0)
		var ra interface{ RetryAfterSeconds() int }
		if !errors.Is(err, live.ErrOriginTaken) || !errors.As(err, &ra) {
			t.Fatalf("second node's claim: %v, want ErrOriginTaken with a retry delay", err)
		}
		if s := ra.RetryAfterSeconds(); s < 55 || s > 60 {
			t.Fatalf("retry after %d s, want the minute the claim has left", s)
		}
	})

	t.Run("a claim its node stopped refreshing lapses and any node may take it", func(t *testing.T) {
		r := newRegistry(t)
		if err := r.Claim(ctx, 1, a, 150*time.Millisecond, time.Minute); err != nil {
			t.Fatal(err)
		}
		if o, ok, err := r.Lookup(ctx, 1); err != nil || !ok || o != a {
			t.Fatalf("lookup of a fresh claim = %+v %v %v", o, ok, err)
		}
		eventually(t, "the claim to lapse", 5*time.Second, func() bool {
			o, ok, err := r.Lookup(ctx, 1)
			return err == nil && ok && o.Lapsed && o.NodeID == a.NodeID && o.URL == a.URL
		})
		if err := r.Claim(ctx, 1, b, time.Minute, time.Minute); err != nil {
			t.Fatalf("taking over a lapsed claim: %v", err)
		}
		if o, ok, _ := r.Lookup(ctx, 1); !ok || o != b {
			t.Fatalf("origin after the takeover %+v", o)
		}
		if err := r.Claim(ctx, 1, a, time.Minute, time.Minute); !errors.Is(err, live.ErrOriginTaken) {
			t.Fatalf("the silent node's refresh after the takeover: %v", err)
		}
	})

	t.Run("a node that comes back refreshes its lapsed claim", func(t *testing.T) {
		r := newRegistry(t)
		if err := r.Claim(ctx, 1, a, 150*time.Millisecond, time.Minute); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the claim to lapse", 5*time.Second, func() bool {
			o, _, err := r.Lookup(ctx, 1)
			return err == nil && o.Lapsed
		})
		if err := r.Claim(ctx, 1, a, time.Minute, time.Minute); err != nil {
			t.Fatal(err)
		}
		if o, ok, _ := r.Lookup(ctx, 1); !ok || o != a {
			t.Fatalf("lookup after the refresh %+v %v", o, ok)
		}
	})

	t.Run("a lapsed claim is forgotten after the grace period", func(t *testing.T) {
		r := newRegistry(t)
		if err := r.Claim(ctx, 1, a, 100*time.Millisecond, 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the claim to lapse", 5*time.Second, func() bool {
			o, ok, err := r.Lookup(ctx, 1)
			return err == nil && ok && o.Lapsed
		})
		eventually(t, "the lapsed claim to be forgotten", 5*time.Second, func() bool {
			_, ok, err := r.Lookup(ctx, 1)
			return err == nil && !ok
		})
	})

	t.Run("the relay token is a secret that stays the same", func(t *testing.T) {
		r := newRegistry(t)
		first, err := r.RelayToken(ctx)
		if err != nil || len(first) < 32 {
			t.Fatalf("token %q, %v", first, err)
		}
		if again, err := r.RelayToken(ctx); err != nil || again != first {
			t.Fatalf("second read %q, %v; want %q", again, err, first)
		}
		if other, _ := newRegistry(t).RelayToken(ctx); other == first {
			t.Fatal("another deployment has the same relay token")
		}
	})

	t.Run("a claim in its grace period can be taken over", func(t *testing.T) {
		r := newRegistry(t)
		waiting := a
		waiting.Grace = true
		if err := r.Claim(ctx, 1, waiting, time.Minute, 0); err != nil {
			t.Fatal(err)
		}
		if o, ok, err := r.Lookup(ctx, 1); err != nil || !ok || o != waiting {
			t.Fatalf("lookup = %+v %v %v, want the grace mark", o, ok, err)
		}
		if err := r.Claim(ctx, 1, b, time.Minute, 0); err != nil {
			t.Fatalf("taking over a claim in its grace period: %v", err)
		}
		if o, _, _ := r.Lookup(ctx, 1); o != b {
			t.Fatalf("origin after the takeover %+v", o)
		}
		// The old origin's next refresh, marked or not, is refused.
		for _, o := range []live.Origin{a, waiting} {
			if err := r.Claim(ctx, 1, o, time.Minute, 0); !errors.Is(err, live.ErrOriginTaken) {
				t.Fatalf("old origin's refresh (grace %v): %v", o.Grace, err)
			}
		}
	})
}
