package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/live/liveclient"
)

// TestReconnectWithOtherCodecKeepsTheShowLive: an encoder that drops and
// comes back within the grace period with another video codec (VP8, then
// H.264) continues the show. The stream record stays live, also after the
// origin has re-checked the publisher's key a few times, the room hears no
// stream_ended, the VP8 viewer is closed and a new viewer gets H.264.
func TestReconnectWithOtherCodecKeepsTheShowLive(t *testing.T) {
	cfg := shopConfig(t)
	cfg.Live.PublisherGrace = 10 * time.Second
	cfg.Live.OriginTTL = 600 * time.Millisecond // key re-checked every 200ms
	n := startNode(t, cfg)
	seller := n.srv.shopper(t, "seller@example.com", "Sally")
	shop := seller.openShop("sallys", "USD")
	var st commerce.StreamWithKey
	seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shop), map[string]string{"title": "Evening show"}).decode(t, &st)
	base := fmt.Sprintf("%s/api/streams/%d", n.URL, st.ID)
	net := liveclient.Network{LoopbackOnly: true}
	hc := &http.Client{Timeout: 20 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// publish connects an encoder sending video in codec until the test ends.
	publish := func(codec string) *liveclient.Publisher {
		t.Helper()
		return publishSynthetic(t, ctx, base+"/whip", liveclient.PublishOptions{Network: net, Client: hc, Key: st.StreamKey, Video: codec})
	}
	subscribe := func() *liveclient.Subscriber {
		t.Helper()
		sub, err := liveclient.Subscribe(ctx, base+"/whep", liveclient.SubscribeOptions{Network: net, Client: hc})
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		t.Cleanup(func() { _ = sub.Close() })
		return sub
	}
	status := func() string { return streamStatus(t, seller, st.ID) }

	vp8 := publish(liveclient.VP8)
	eventually(t, "the stream to go live", 15*time.Second, func() bool { return status() == commerce.StreamLive })
	rc := joinRoom(t, n.URL, seller.client, st.ID)
	rc.wait("snapshot", nil)
	first := subscribe()
	eventually(t, "VP8 media", 15*time.Second, func() bool { return first.Keyframes.Load() > 0 })

	_ = vp8.Close() // the encoder drops, without DELETE
	eventually(t, "the publisher to be gone", 10*time.Second, func() bool { return n.app.sfu.Stats().Publishers == 0 })
	publish(liveclient.H264)

	t.Run("the VP8 viewer is closed, a new viewer gets H.264", func(t *testing.T) {
		select {
		case <-first.Down():
		case <-time.After(15 * time.Second):
			t.Fatal("the VP8 viewer stayed on a stream now sent in H.264")
		}
		second := subscribe()
		eventually(t, "H.264 media", 15*time.Second, func() bool { return second.Keyframes.Load() > 0 && second.VideoPackets.Load() > 30 })
		if c := second.Codec(); c != liveclient.H264 {
			t.Fatalf("new viewer gets %s", c)
		}
	})

	t.Run("the record stays live through several key re-checks", func(t *testing.T) {
		// Each maintenance round re-checks the key; a third of the origin
		// TTL apart, 15 of them span five TTLs.
		until := n.app.sfu.Stats().Rounds + 15
		eventually(t, "15 key re-checks", 10*time.Second+5*cfg.Live.OriginTTL, func() bool {
			if s := status(); s != commerce.StreamLive {
				t.Fatalf("status %s after the codec switch", s)
			}
			return n.app.sfu.Stats().Rounds >= until
		})
		if n.app.sfu.Stats().Publishers != 1 {
			t.Fatalf("SFU: %+v", n.app.sfu.Stats())
		}
		if got := rc.count("stream_ended"); got != 0 {
			t.Fatalf("the room heard %d stream_ended", got)
		}
	})
}
