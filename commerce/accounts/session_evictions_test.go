package accounts_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"testing"

	"github.com/liveshop/liveshop/commerce/internal/bus/bustest"

	"github.com/liveshop/liveshop/commerce/internal/testenv"

	"github.com/redis/go-redis/v9"

	"github.com/liveshop/liveshop/commerce/accounts"
)

func TestSessionEvictionsContract(t *testing.T) {
	bustest.Run(t, bustest.Backends(
		func() bustest.Bus[accounts.SessionEviction] { return accounts.NewMemorySessionEvictions() },
		func(rdb redis.UniversalClient, prefix string) (bustest.Bus[accounts.SessionEviction], error) {
			return accounts.NewRedisSessionEvictions(context.Background(), rdb, prefix, nil)
		}),
		func(i int) accounts.SessionEviction {
			if i%2 == 0 {
				return accounts.SessionEviction{AccountID: int64(i + 1)}
			}
			return accounts.SessionEviction{TokenHash: "0a1b2c" + string(rune('0'+i))}
		})
}

// A node whose Redis connection drops may have missed evictions: once
// go-redis has reconnected, its subscribers are told to forget every cached
// session.
func TestRedisSessionEvictionsAfterALostConnection(t *testing.T) {
	opts := testenv.Redis(t).Options()
	name := make([]byte, 6)
	_, _ = rand.Read(name)
	opts.ClientName = "evictions-" + hex.EncodeToString(name)
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	bus, err := accounts.NewRedisSessionEvictions(ctx, rdb, testenv.RedisPrefix(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	heard, _ := bustest.Subscribe[accounts.SessionEviction](t, bus)

	// Cut this bus's subscription (and only it) the way a network blip
	// or a Redis restart would.
	list, err := testenv.Redis(t).ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^id=(\d+) .*\bname=` + regexp.QuoteMeta(opts.ClientName) + ` .*\bsub=1\b`).FindStringSubmatch(list)
	if m == nil {
		t.Fatalf("no subscribed connection named %s in\n%s", opts.ClientName, list)
	}
	if err := testenv.Redis(t).Do(ctx, "CLIENT", "KILL", "ID", m[1]).Err(); err != nil {
		t.Fatal(err)
	}
	if got := bustest.Receive(t, heard, "after the reconnection"); got != (accounts.SessionEviction{All: true}) {
		t.Fatalf("after the reconnection heard %+v, want every session evicted", got)
	}
	if err := bus.Publish(ctx, accounts.SessionEviction{AccountID: 9}); err != nil {
		t.Fatal(err)
	}
	if got := bustest.Receive(t, heard, "a later eviction"); got.AccountID != 9 {
		t.Fatalf("after the reconnection the bus delivers %+v", got)
	}
}
