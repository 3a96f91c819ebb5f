// Package testenv is what the commerce packages' tests share: the Redis
// server they run against and a wait on a condition.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis returns a client of the LIVESHOP_TEST_REDIS server, closed when the
// test ends; without one the test is skipped (failed under CI=true).
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	url := os.Getenv("LIVESHOP_TEST_REDIS")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("LIVESHOP_TEST_REDIS is not set; CI must provide a Redis server")
		}
		t.Skip("LIVESHOP_TEST_REDIS is not set; skipping Redis (run .ci/run for every backend)")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("LIVESHOP_TEST_REDIS: %v", err)
	}
	opts.PoolSize = 64
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v", opts.Addr, err)
	}
	return rdb
}

// RedisPrefix isolates a test's keys and deletes them afterwards.
func RedisPrefix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "test:" + hex.EncodeToString(b) + ":"
	rdb := Redis(t)
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return prefix
}

// Eventually polls cond until it holds, failing the test after 10 seconds.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
