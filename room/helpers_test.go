package room_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/liveshop/liveshop/room/redistest"
	"github.com/redis/go-redis/v9"
)

// mustRedis returns a new client (named name, so a test can find and kill
// its connections) on the test Redis, closed when the test ends.
func mustRedis(tb testing.TB, name string) *redis.Client {
	tb.Helper()
	return mustRedisAt(tb, redistest.URL(tb), name)
}

// mustRedisAt is mustRedis on the Redis at url.
func mustRedisAt(tb testing.TB, url, name string) *redis.Client {
	tb.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("parse %s: %v", url, err)
	}
	opt.ClientName = name
	rdb := redis.NewClient(opt)
	tb.Cleanup(func() { rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		tb.Fatalf("ping redis: %v", err)
	}
	return rdb
}

// uniquePrefix returns a key prefix of its own for one test and deletes its
// keys when the test ends.
func uniquePrefix(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "test:" + hex.EncodeToString(b) + ":"
	if os.Getenv("LIVESHOP_TEST_REDIS") == "" {
		return prefix
	}
	tb.Cleanup(func() {
		opt, err := redis.ParseURL(os.Getenv("LIVESHOP_TEST_REDIS"))
		if err != nil {
			return
		}
		rdb := redis.NewClient(opt)
		defer rdb.Close()
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return prefix
}

// loseRedisKeys deletes every key under prefix at once, as a Redis restart
// without persistence or a FLUSHALL would (FLUSHALL itself would also wipe
// the keys of tests running alongside on the same server).
func loseRedisKeys(tb testing.TB, prefix string) {
	tb.Helper()
	rdb := mustRedis(tb, "data-loss")
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil {
		tb.Fatal(err)
	}
	if len(keys) == 0 {
		tb.Fatalf("no keys under %s to lose", prefix)
	}
	if err := rdb.Del(ctx, keys...).Err(); err != nil {
		tb.Fatal(err)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
