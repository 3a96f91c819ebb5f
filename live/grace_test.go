package live_test

import (
	"context"
	"errors"
	"slices"
	"sync"
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
	eventually(t, "media", 10*time.Second, func() bool { return sub.Keyframes.Load() >= 1 && sub.VideoPackets.Load() > 30 })

	t.Run("a publisher that vanishes leaves the stream live during the grace period", func(t *testing.T) {
		stop1() // closes without DELETE
		eventually(t, "publisher gone", 5*time.Second, func() bool { return n.sfu.Stats().Publishers == 0 })
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
		eventually(t, "media from the new publisher", 10*time.Second, func() bool {
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
		eventually(t, "StreamEnded", 15*time.Second, func() bool {
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

func TestReconnectWithOtherCodecContinuesTheShow(t *testing.T) {
	n := startNode(t, nodeOptions{cfg: live.Config{PublisherGrace: 10 * time.Second, OriginTTL: 600 * time.Millisecond}})
	_, stop1 := publish(t, n, 1, "key-1", liveclient.PublishOptions{Video: liveclient.VP8})
	sub := subscribe(t, n.whep(1))
	eventually(t, "VP8 media", 10*time.Second, func() bool { return sub.VideoPackets.Load() > 10 })
	stop1()
	eventually(t, "publisher gone", 5*time.Second, func() bool { return n.sfu.Stats().Publishers == 0 })
	publish(t, n, 1, "key-1", liveclient.PublishOptions{Video: liveclient.H264})
	select {
	case <-sub.Down():
	case <-time.After(10 * time.Second):
		t.Fatal("VP8 viewer kept on an H.264 stream run")
	}
	sub2 := subscribe(t, n.whep(1))
	eventually(t, "H.264 media", 10*time.Second, func() bool { return sub2.Keyframes.Load() > 0 })
	if got := n.events.list(); !slices.Equal(got, []string{"started 1"}) {
		t.Fatalf("events %v, want the stream to go on without ended/started", got)
	}
	if !n.sfu.EndStream(1) {
		t.Fatal("EndStream found no stream")
	}
	eventually(t, "StreamEnded once", 10*time.Second, func() bool {
		return slices.Equal(n.events.list(), []string{"started 1", "ended 1"})
	})
}

// closable is an authorizer whose streams the seller can end: their key
// then answers 409, as commerce does.
type closable struct {
	keys
	closed sync.Map
}

func (c *closable) AuthorizePublish(ctx context.Context, id int64, key string) error {
	if err := c.keys.AuthorizePublish(ctx, id, key); err != nil {
		return err
	}
	if _, ok := c.closed.Load(id); ok {
		return &live.Error{Status: 409, Code: "stream_ended", Message: "this stream has ended"}
	}
	return nil
}

func TestSellerEndingTheStreamStopsTheVideo(t *testing.T) {
	auth := &closable{keys: keys{1: "key-1", 2: "key-2"}}
	n := startNode(t, nodeOptions{auth: auth, cfg: live.Config{OriginTTL: 600 * time.Millisecond}})
	ctx := context.Background()

	t.Run("the node holding the publisher notices and ends the stream", func(t *testing.T) {
		publish(t, n, 1, "key-1", liveclient.PublishOptions{})
		sub := subscribe(t, n.whep(1))
		eventually(t, "media", 10*time.Second, func() bool { return sub.VideoPackets.Load() > 0 })
		auth.closed.Store(int64(1), true)
		eventually(t, "StreamEnded", 10*time.Second, func() bool {
			return slices.Equal(n.events.list(), []string{"started 1", "ended 1"})
		})
		select {
		case <-sub.Down():
		case <-time.After(10 * time.Second):
			t.Fatal("viewer still connected")
		}
	})

	t.Run("a closed stream refuses a new publisher but lets the old one leave", func(t *testing.T) {
		pub, _ := publish(t, n, 2, "key-2", liveclient.PublishOptions{})
		auth.closed.Store(int64(2), true)
		_, err := liveclient.Publish(ctx, n.whip(2), liveclient.PublishOptions{Network: testNet, Key: "key-2", Client: testClient})
		var se *liveclient.StatusError
		if !errors.As(err, &se) || se.Status != 409 {
			t.Fatalf("new publisher on a closed stream: %v", err)
		}
		if err := pub.Stop(ctx); err != nil {
			t.Fatalf("DELETE on a closed stream: %v", err)
		}
	})

	t.Run("EndStream ends a stream at once", func(t *testing.T) {
		auth.closed.Delete(int64(1))
		auth.closed.Delete(int64(2))
		publish(t, n, 1, "key-1", liveclient.PublishOptions{})
		if !n.sfu.EndStream(1) {
			t.Fatal("EndStream found no stream")
		}
		if n.sfu.IsLive(ctx, 1) {
			t.Fatal("still live")
		}
	})
}
