package live_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/liveshop/liveshop/live/liveclient"
)

func TestPublishAndWatch(t *testing.T) {
	n := startNode(t, nodeOptions{})
	ctx := context.Background()

	t.Run("a stream without a publisher is not live", func(t *testing.T) {
		if n.sfu.IsLive(ctx, 1) {
			t.Fatal("IsLive before publishing")
		}
	})

	pub, _ := publish(t, n, 1, "key-1", liveclient.PublishOptions{})
	eventually(t, "StreamStarted", 10*time.Second, func() bool {
		return slices.Equal(n.events.list(), []string{"started 1"})
	})
	if !n.sfu.IsLive(ctx, 1) {
		t.Fatal("IsLive after publishing")
	}

	const viewers = 4
	var subs []*liveclient.Subscriber
	for range viewers {
		subs = append(subs, subscribe(t, n.whep(1)))
	}

	t.Run("every viewer receives audio, video and a keyframe", func(t *testing.T) {
		for i, s := range subs {
			eventually(t, "media at viewer", 15*time.Second, func() bool {
				return s.Keyframes.Load() >= 1 && s.VideoPackets.Load() >= 30 && s.AudioPackets.Load() >= 20
			})
			t.Logf("viewer %d: join %v, %d video, %d audio, %d keyframes", i, s.JoinLatency(),
				s.VideoPackets.Load(), s.AudioPackets.Load(), s.Keyframes.Load())
		}
		if pub.PLIs.Load() == 0 {
			t.Error("publisher got no keyframe request for joining viewers")
		}
	})

	t.Run("metrics count viewers, forwarded packets and joins", func(t *testing.T) {
		if got := counter(t, n.metrics, "liveshop_live_viewers", nil); got != viewers {
			t.Errorf("viewers gauge = %v, want %d", got, viewers)
		}
		if got := counter(t, n.metrics, "liveshop_live_publishers", nil); got != 1 {
			t.Errorf("publishers gauge = %v, want 1", got)
		}
		if got := counter(t, n.metrics, "liveshop_live_whep_first_keyframe_seconds", nil); got != viewers {
			t.Errorf("first keyframe observations = %v, want %d", got, viewers)
		}
		eventually(t, "forwarded packets counted", 5*time.Second, func() bool {
			return counter(t, n.metrics, "liveshop_live_forwarded_packets_total", map[string]string{"kind": "video"}) > 0
		})
		if got := counter(t, n.metrics, "liveshop_live_keyframe_requests_total", map[string]string{"outcome": "sent"}); got < 1 {
			t.Errorf("keyframe requests sent = %v", got)
		}
	})

	t.Run("a viewer that leaves with DELETE is gone", func(t *testing.T) {
		last := subs[viewers-1]
		if err := last.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		eventually(t, "viewer count to drop", 5*time.Second, func() bool { return n.sfu.Stats().Viewers == viewers-1 })
	})

	t.Run("DELETE by the publisher ends the stream and closes viewers", func(t *testing.T) {
		if err := pub.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		eventually(t, "StreamEnded", 10*time.Second, func() bool {
			return slices.Equal(n.events.list(), []string{"started 1", "ended 1"})
		})
		for _, s := range subs[:viewers-1] {
			select {
			case <-s.Down():
			case <-time.After(15 * time.Second):
				t.Fatal("viewer connection still up after the stream ended")
			}
		}
		if n.sfu.IsLive(ctx, 1) {
			t.Error("still live after DELETE")
		}
		eventually(t, "no sessions", 5*time.Second, func() bool { st := n.sfu.Stats(); return st.Viewers == 0 && st.Publishers == 0 })
	})
}

func TestH264IsForwardedAsIs(t *testing.T) {
	n := startNode(t, nodeOptions{})
	publish(t, n, 1, "key-1", liveclient.PublishOptions{Video: liveclient.H264})
	s := subscribe(t, n.whep(1))
	eventually(t, "H.264 keyframe at viewer", 15*time.Second, func() bool {
		return s.Keyframes.Load() >= 1 && s.VideoPackets.Load() >= 30
	})
	if c := s.PeerConnection().GetTransceivers()[1].Receiver().Track().Codec().MimeType; c != "video/H264" {
		t.Errorf("viewer got %s", c)
	}
}
