package live_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/liveshop/liveshop/live"
	"github.com/liveshop/liveshop/live/liveclient"
)

func TestPublisherLossAndGracePeriod(t *testing.T) {
	n := startNode(t, nodeOptions{cfg: live.Config{PublisherGrace: 3 * time.Second}})
	ctx := context.Background()
	_, stop1 := publish(t, n, 1, "key-1", liveclient.PublishOptions{})
	sub := subscribe(t, n.whep(1))
	waitFor(t, 10*time.Second, "media", func() bool { return sub.Keyframes.Load() >= 1 && sub.VideoPackets.Load() > 30 })

	t.Run("a publisher that vanishes leaves the stream live during the grace period", func(t *testing.T) {
		stop1() // closes without DELETE
		waitFor(t, 5*time.Second, "publisher gone", func() bool { return n.sfu.Stats().Publishers == 0 })
		if !n.sfu.IsLive(ctx, 1) {
			t.Fatal("stream not live during the grace period")
		}
		if got := n.events.list(); !slices.Equal(got, []string{"started 1"}) {
			t.Fatalf("events %v", got)
		}
	})

	t.Run("a quick reconnect continues the same stream for its viewers", func(t *testing.T) {
		keys, packets := sub.Keyframes.Load(), sub.VideoPackets.Load()
		_, stop2 := publish(t, n, 1, "key-1", liveclient.PublishOptions{})
		defer stop2()
		waitFor(t, 10*time.Second, "media from the new publisher", func() bool {
			return sub.Keyframes.Load() > keys && sub.VideoPackets.Load() > packets+30
		})
		if got := n.events.list(); !slices.Equal(got, []string{"started 1"}) {
			t.Fatalf("events %v, want no ended/started for a reconnect", got)
		}
		// Sequence numbers stayed continuous across the two publishers:
		// a jump would show as thousands of "lost" packets.
		expected, received := sub.Loss()
		if lost := expected - received; lost > expected/20 {
			t.Fatalf("viewer saw %d of %d packets missing across the reconnect", lost, expected)
		}
		stop2()
	})

	t.Run("the stream ends once the grace period passes without a publisher", func(t *testing.T) {
		waitFor(t, 15*time.Second, "StreamEnded", func() bool {
			return slices.Equal(n.events.list(), []string{"started 1", "ended 1"})
		})
		select {
		case <-sub.Down():
		case <-time.After(15 * time.Second):
			t.Fatal("viewer still connected after the stream ended")
		}
		if n.sfu.IsLive(ctx, 1) {
			t.Fatal("still live")
		}
	})
}

func TestReconnectWithOtherCodecStartsANewRun(t *testing.T) {
	n := startNode(t, nodeOptions{cfg: live.Config{PublisherGrace: 10 * time.Second}})
	_, stop1 := publish(t, n, 1, "key-1", liveclient.PublishOptions{Video: liveclient.VP8})
	sub := subscribe(t, n.whep(1))
	waitFor(t, 10*time.Second, "VP8 media", func() bool { return sub.VideoPackets.Load() > 10 })
	stop1()
	waitFor(t, 5*time.Second, "publisher gone", func() bool { return n.sfu.Stats().Publishers == 0 })
	publish(t, n, 1, "key-1", liveclient.PublishOptions{Video: liveclient.H264})
	waitFor(t, 10*time.Second, "ended and started again", func() bool {
		return slices.Equal(n.events.list(), []string{"started 1", "ended 1", "started 1"})
	})
	select {
	case <-sub.Down():
	case <-time.After(10 * time.Second):
		t.Fatal("VP8 viewer kept on an H.264 stream run")
	}
	sub2 := subscribe(t, n.whep(1))
	waitFor(t, 10*time.Second, "H.264 media", func() bool { return sub2.Keyframes.Load() > 0 })
}
