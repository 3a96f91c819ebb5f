package room_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/liveshop/liveshop/room"
	"github.com/liveshop/liveshop/room/redistest"
)

// A Redis crash (SIGKILL) and a restart with no data: the bus tells its
// subscribers at once that it cannot vouch for their numbering. Redis comes
// back refusing writes for a while (here: out of memory; after an outage the
// client itself refuses to dial for up to a second), so the room's counter
// can be read, gone, but not created again: the bus must not reset its
// subscribers onto a numbering it cannot name. Once it can, it resets them
// onto the new counter with that counter's epoch, and never passes an event
// of the new numbering off as the next one of the old.
func TestRedisBusAcrossARedisCrash(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	newBus := func(name string) *room.RedisBus {
		b := room.NewRedisBus(mustRedisAt(t, rs.URL(), name), room.RedisBusOptions{Prefix: "test:"})
		t.Cleanup(func() { b.Close() })
		return b
	}
	sub, pub := newBus("sub"), newBus("pub")
	ctx := context.Background()
	var got collector
	s, at, err := sub.Subscribe(ctx, 1, got.deliver)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unsubscribe()
	publishN(t, pub, 1, 5)
	eventually(t, "5 events", func() bool { return got.count() == 5 })

	rs.Kill()
	eventually(t, "the subscriber is told the bus cannot vouch", func() bool {
		return slices.Equal(got.linkNews(), []string{"interrupted@5"})
	})
	rs.Start("--maxmemory", "1")
	admin := mustRedisAt(t, rs.URL(), "admin")
	eventually(t, "the subscriber tries to create the lost counter", func() bool {
		return refusedCalls(t, admin, "eval") > 0
	})
	if n := got.count(); n != 5 {
		t.Fatalf("the subscriber got %d messages while the counter could not be created, want none after the 5 events", n-5)
	}
	if err := admin.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	// The publisher goes on, past the old numbering's seq.
	published := 0
	eventually(t, "10 events published on the new counter", func() bool {
		if _, err := pub.Publish(ctx, 1, fmt.Appendf(nil, `{"after":%d}`, published)); err == nil {
			published++
		}
		return published == 10
	})
	eventually(t, "the subscriber follows the new counter", func() bool {
		got.mu.Lock()
		defer got.mu.Unlock()
		return got.msgs[len(got.msgs)-1].Seq == 10
	})
	got.mu.Lock()
	msgs := slices.Clone(got.msgs[5:])
	got.mu.Unlock()
	if m := msgs[0]; !m.Reset || m.Epoch == "" || m.Epoch == at.Epoch {
		t.Fatalf("after the crash the subscriber got %+v first, want a reset in a new epoch (was %q)", m, at.Epoch)
	}
	for i, m := range msgs[1:] {
		if want := msgs[0].Seq + 1 + uint64(i); m.Reset || m.Seq != want {
			t.Fatalf("after the reset to %d, message %d is %+v, want seq %d", msgs[0].Seq, i, m, want)
		}
	}
	if news := got.linkNews(); len(news) != 1 {
		t.Fatalf("link news %v: the reset ends the interruption", news)
	}
}

// refusedCalls counts the calls of cmd that Redis refused or that failed
// (INFO commandstats).
func refusedCalls(t *testing.T, rdb *redis.Client, cmd string) int {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(info, "\r\n") {
		stats, ok := strings.CutPrefix(line, "cmdstat_"+cmd+":")
		if !ok {
			continue
		}
		for _, kv := range strings.Split(stats, ",") {
			k, v, _ := strings.Cut(kv, "=")
			if k == "rejected_calls" || k == "failed_calls" {
				x, _ := strconv.Atoi(v)
				n += x
			}
		}
	}
	return n
}
