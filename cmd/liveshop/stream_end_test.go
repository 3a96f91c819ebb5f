package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/live/liveclient"
)

// TestEndingAStreamOverHTTPStopsVideoAndTellsTheRoom: POST
// /api/streams/{id}/end does what the publisher leaving does — the SFU
// ends the stream (its viewers are closed, WHEP answers 409) and every
// viewer of the room gets stream_ended, once — at once, not when the
// origin next re-checks its publisher's key.
func TestEndingAStreamOverHTTPStopsVideoAndTellsTheRoom(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		// An origin re-checks its publisher's key every third of the origin
		// TTL and ends a stream its owner closed. Make that too slow to
		// matter here, so only the API's own notice can pass the test.
		cfg.Live.OriginTTL = time.Hour
		n := startNode(t, cfg)
		seller := n.srv.shopper(t, "seller@example.com", "Sally")
		viewer := n.srv.shopper(t, "viewer@example.com", "Vic")
		shop := seller.openShop("sallys", "USD")
		product := seller.product(shop, "Lamp", 2_000, 5)
		var st commerce.StreamWithKey
		seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shop), map[string]string{"title": "Evening show"}).decode(t, &st)
		base := fmt.Sprintf("%s/api/streams/%d", n.URL, st.ID)
		net := liveclient.Network{LoopbackOnly: true}
		hc := &http.Client{Timeout: 20 * time.Second}

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		publishSynthetic(t, ctx, base+"/whip", liveclient.PublishOptions{Network: net, Client: hc, Key: st.StreamKey})
		eventually(t, "the stream to go live", 15*time.Second, func() bool {
			var s commerce.Stream
			viewer.expect(200, "GET", fmt.Sprintf("/api/streams/%d", st.ID), nil).decode(t, &s)
			return s.Status == commerce.StreamLive
		})
		sub, err := liveclient.Subscribe(ctx, base+"/whep", liveclient.SubscribeOptions{Network: net, Client: hc})
		if err != nil {
			t.Fatalf("watch while live: %v", err)
		}
		t.Cleanup(func() { _ = sub.Close() })
		if err := sub.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
		rc := joinRoom(t, n.URL, viewer.client, st.ID)
		rc.wait("snapshot", nil)

		seller.expect(200, "POST", fmt.Sprintf("/api/streams/%d/end", st.ID), nil)

		t.Run("the room hears stream_ended", func(t *testing.T) {
			rc.t = t
			rc.wait("stream_ended", nil)
		})

		t.Run("the SFU closed the stream's viewers and WHEP answers 409", func(t *testing.T) {
			select {
			case <-sub.Down():
			case <-time.After(15 * time.Second):
				t.Fatal("the viewer's connection stayed up after the stream ended")
			}
			_, err := liveclient.Subscribe(ctx, base+"/whep", liveclient.SubscribeOptions{Network: net, Client: hc})
			var se *liveclient.StatusError
			if !errors.As(err, &se) || se.Status != http.StatusConflict {
				t.Fatalf("WHEP after the end: %v, want 409", err)
			}
		})

		t.Run("the room hears it once, even when the SFU reports the end too", func(t *testing.T) {
			rc.t = t
			// What the SFU calls when its stream ends; the record had ended.
			roomStreamEvents{n.app}.StreamEnded(context.Background(), st.ID)
			seller.expect(204, "PUT", fmt.Sprintf("/api/streams/%d/pin", st.ID), map[string]int64{"product_id": product.ID})
			rc.wait("pinned", nil) // published after the report above, so seen after it
			rc.mu.Lock()
			defer rc.mu.Unlock()
			ended := 0
			for _, e := range rc.events {
				if e.Type == "stream_ended" {
					ended++
				}
			}
			if ended != 1 {
				t.Fatalf("%d stream_ended events, want 1", ended)
			}
		})

		t.Run("ending it again changes nothing", func(t *testing.T) {
			var s commerce.Stream
			seller.expect(200, "POST", fmt.Sprintf("/api/streams/%d/end", st.ID), nil).decode(t, &s)
			if s.Status != commerce.StreamEnded {
				t.Fatalf("status %s", s.Status)
			}
		})
	})
}
