package live_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/liveshop/liveshop/live"
	"github.com/liveshop/liveshop/live/liveclient"
)

func TestPublisherReconnectsOnAnotherNode(t *testing.T) {
	t.Run("with Redis", func(t *testing.T) {
		rdb, prefix := redisClient(t)
		takeover(t, func() live.OriginRegistry { return live.NewRedisRegistry(rdb, prefix) })
	})
	t.Run("with one in-process registry", func(t *testing.T) {
		shared := live.NewMemoryRegistry()
		takeover(t, func() live.OriginRegistry { return shared })
	})
}

// takeover: an encoder that drops from node A and reconnects, within the
// grace period, to node B (a load balancer sent it there) continues the
// show on B. A steps aside without StreamEnded; B's relay of the stream
// carries on as the origin, so B's viewer keeps watching, while A's viewer
// is closed and watches again (A now relays from B); the stream ends once,
// from B, when the encoder stops.
func takeover(t *testing.T, registry func() live.OriginRegistry) {
	ctx := context.Background()
	cfg := live.Config{OriginTTL: 1500 * time.Millisecond, RelayIdle: time.Second, PublisherGrace: 5 * time.Second}
	a := startNode(t, nodeOptions{cfg: withNode(cfg, "node-a"), registry: registry()})
	b := startNode(t, nodeOptions{cfg: withNode(cfg, "node-b"), registry: registry()})

	_, dropA := publish(t, a, 1, "key-1", liveclient.PublishOptions{})
	onA, onB := subscribe(t, a.whep(1)), subscribe(t, b.whep(1))
	for _, s := range []*liveclient.Subscriber{onA, onB} {
		eventually(t, "media on both nodes", 15*time.Second, func() bool { return s.Keyframes.Load() > 0 })
	}

	t.Run("a connected publisher is not taken over", func(t *testing.T) {
		_, err := liveclient.Publish(ctx, b.whip(1), liveclient.PublishOptions{Network: testNet, Key: "key-1", Client: testClient})
		var se *liveclient.StatusError
		if !errors.As(err, &se) || se.Status != 409 {
			t.Fatalf("publish on B while A's publisher is connected: %v", err)
		}
	})

	dropA() // no DELETE: A waits for it
	dropped := time.Now()
	eventually(t, "A's publisher gone", 10*time.Second, func() bool { return a.sfu.Stats().Publishers == 0 })
	publish(t, b, 1, "key-1", liveclient.PublishOptions{})

	t.Run("B's viewer keeps watching; A's is closed and watches again", func(t *testing.T) {
		select {
		case <-onA.Down():
		case <-time.After(15 * time.Second):
			t.Fatal("the viewer on A stayed on the old run")
		}
		keys := onB.Keyframes.Load()
		eventually(t, "media from B's publisher for B's viewer", 15*time.Second, func() bool { return onB.Keyframes.Load() > keys })
		select {
		case <-onB.Down():
			t.Fatal("the viewer on B was closed")
		default:
		}
		again := subscribe(t, a.whep(1))
		eventually(t, "media from B on A", 15*time.Second, func() bool { return again.Keyframes.Load() > 0 && again.VideoPackets.Load() > 30 })
		if st := a.sfu.Stats(); st.Relays != 1 || st.Publishers != 0 {
			t.Fatalf("node A: %+v, want a relay from B", st)
		}
		if st := b.sfu.Stats(); st.Relays != 0 || st.Publishers != 1 || st.Viewers != 2 {
			t.Fatalf("node B: %+v, want the publisher, its viewer and A's relay", st)
		}
	})

	t.Run("the stream ends once, from B", func(t *testing.T) {
		eventually(t, "B's start", 10*time.Second, func() bool { return slices.Equal(b.events.list(), []string{"started 1"}) })
		if !b.sfu.EndStream(1) {
			t.Fatal("B holds no stream")
		}
		eventually(t, "B's end", 10*time.Second, func() bool { return slices.Equal(b.events.list(), []string{"started 1", "ended 1"}) })
		// Past A's grace period, A has still not reported an end.
		eventually(t, "A's grace period to pass", 2*cfg.PublisherGrace, func() bool {
			return time.Since(dropped) > cfg.PublisherGrace+cfg.OriginTTL
		})
		if got := a.events.list(); !slices.Equal(got, []string{"started 1"}) {
			t.Fatalf("node A events %v", got)
		}
	})
}
