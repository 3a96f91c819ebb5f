package live_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liveshop/liveshop/live"
	"github.com/liveshop/liveshop/live/liveclient"
)

// frozenRegistry stops renewing claims when frozen, like a node that
// crashed: its keys expire while it believes it still holds them.
type frozenRegistry struct {
	live.OriginRegistry
	frozen atomic.Bool
}

func (r *frozenRegistry) Claim(ctx context.Context, id int64, o live.Origin, ttl, grace time.Duration) error {
	if r.frozen.Load() {
		return nil
	}
	return r.OriginRegistry.Claim(ctx, id, o, ttl, grace)
}

// liveList stands in for the stream records: the streams a test says are
// recorded live.
type liveList struct {
	mu  sync.Mutex
	ids []int64
}

func (l *liveList) LiveStreamIDs(context.Context) ([]int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ids), nil
}

func (l *liveList) set(ids ...int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ids = ids
}

func TestMultiNode(t *testing.T) {
	t.Run("with Redis", func(t *testing.T) {
		rdb, prefix := redisClient(t)
		multiNode(t, func() live.OriginRegistry { return live.NewRedisRegistry(rdb, prefix) })
	})
	t.Run("with one in-process registry", func(t *testing.T) {
		shared := live.NewMemoryRegistry()
		multiNode(t, func() live.OriginRegistry { return shared })
	})
}

func multiNode(t *testing.T, registry func() live.OriginRegistry) {
	ctx := context.Background()
	cfg := live.Config{OriginTTL: 3 * time.Second, RelayIdle: time.Second, PublisherGrace: 500 * time.Millisecond}
	regA := &frozenRegistry{OriginRegistry: registry()}
	a := startNode(t, nodeOptions{cfg: withNode(cfg, "node-a"), registry: regA})
	records := &liveList{}
	b := startNode(t, nodeOptions{cfg: withNode(cfg, "node-b"), registry: registry(), liveStreams: records})

	pub, _ := publish(t, a, 1, "key-1", liveclient.PublishOptions{})
	var subs []*liveclient.Subscriber

	outer := t
	t.Run("a viewer on another node watches the stream", func(t *testing.T) {
		if !b.sfu.IsLive(ctx, 1) {
			t.Fatal("node B does not know the stream is live on node A")
		}
		for range 2 {
			subs = append(subs, subscribe(outer, b.whep(1)))
		}
		for _, s := range subs {
			eventually(t, "media through node B", 15*time.Second, func() bool {
				return s.Keyframes.Load() >= 1 && s.VideoPackets.Load() > 30 && s.AudioPackets.Load() > 10
			})
		}
	})

	t.Run("node B pulls the stream from node A once", func(t *testing.T) {
		if st := b.sfu.Stats(); st.Relays != 1 || st.Viewers != 2 {
			t.Fatalf("node B: %+v", st)
		}
		if st := a.sfu.Stats(); st.Viewers != 1 || st.Publishers != 1 {
			t.Fatalf("node A: %+v", st)
		}
	})

	t.Run("a second publisher on node B is refused", func(t *testing.T) {
		_, err := liveclient.Publish(ctx, b.whip(1), liveclient.PublishOptions{Network: testNet, Key: "key-1", Client: testClient})
		var se *liveclient.StatusError
		if !errors.As(err, &se) || se.Status != 409 {
			t.Fatalf("publish on B: %v", err)
		}
	})

	t.Run("only the origin reports lifecycle events", func(t *testing.T) {
		if got := a.events.list(); !slices.Equal(got, []string{"started 1"}) {
			t.Errorf("node A events %v", got)
		}
		if got := b.events.list(); len(got) != 0 {
			t.Errorf("node B events %v", got)
		}
	})

	t.Run("the relay ends when the publisher stops on node A", func(t *testing.T) {
		if err := pub.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		for _, s := range subs {
			select {
			case <-s.Down():
			case <-time.After(15 * time.Second):
				t.Fatal("viewer on node B still connected")
			}
		}
		eventually(t, "relay gone", 10*time.Second, func() bool { return b.sfu.Stats().Relays == 0 })
		eventually(t, "gauges back to zero", 5*time.Second, func() bool {
			return counter(t, b.metrics, "liveshop_live_relays", nil) == 0 && counter(t, b.metrics, "liveshop_live_viewers", nil) == 0
		})
		eventually(t, "StreamEnded", 10*time.Second, func() bool {
			return slices.Equal(a.events.list(), []string{"started 1", "ended 1"})
		})
		if b.sfu.IsLive(ctx, 1) {
			t.Error("node B still thinks the stream is live")
		}
	})

	t.Run("a crashed origin's claim expires and its relays end", func(t *testing.T) {
		publish(t, a, 2, "key-2", liveclient.PublishOptions{})
		records.set(2) // what node A's StreamStarted recorded
		s := subscribe(t, b.whep(2))
		eventually(t, "media through node B", 15*time.Second, func() bool { return s.VideoPackets.Load() > 10 })
		regA.frozen.Store(true) // node A stops refreshing, as if it died
		select {
		case <-s.Down():
		case <-time.After(20 * time.Second):
			t.Fatal("relay survived its origin's expired claim")
		}
		eventually(t, "relay gone", 10*time.Second, func() bool { return b.sfu.Stats().Relays == 0 })
	})

	t.Run("another node reports the crashed origin's stream ended", func(t *testing.T) {
		// Claim lapsed, then grace period + origin TTL, then a sweep.
		eventually(t, "node B to report the end", 20*time.Second, func() bool {
			return slices.Equal(b.events.list(), []string{"ended 2"})
		})
	})
}

func withNode(cfg live.Config, id string) live.Config {
	cfg.NodeID = id
	return cfg
}
