package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
	"github.com/liveshop/liveshop/live/liveclient"
	"github.com/liveshop/liveshop/room/redistest"
)

// forwardedFor is a transport that says, as a reverse proxy would, that
// its requests come from the client at addr.
type forwardedFor string

func (addr forwardedFor) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("X-Forwarded-For", string(addr))
	return http.DefaultTransport.RoundTrip(req)
}

// watchAs subscribes to url, through a proxy saying it is from addr when
// addr is set; the viewer is closed when the test ends.
func watchAs(t testing.TB, url string, addr forwardedFor) (*liveclient.Subscriber, error) {
	t.Helper()
	hc := &http.Client{Timeout: 20 * time.Second}
	if addr != "" {
		hc.Transport = addr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sub, err := liveclient.Subscribe(ctx, url, liveclient.SubscribeOptions{Network: liveclient.Network{LoopbackOnly: true}, Client: hc})
	if err == nil {
		t.Cleanup(func() { _ = sub.Close() })
	}
	return sub, err
}

// loopbackPublisher is a WHIP encoder's options on loopback with key.
func loopbackPublisher(key string) liveclient.PublishOptions {
	return liveclient.PublishOptions{Network: liveclient.Network{LoopbackOnly: true}, Client: &http.Client{Timeout: 20 * time.Second}, Key: key}
}

// whepRefusal subscribes to url (as addr, see watchAs) and returns the
// refusal: status, error code and Retry-After; it fails the test if the
// viewer got in.
func whepRefusal(t testing.TB, url string, addr forwardedFor) (status int, code, retryAfter string) {
	t.Helper()
	_, err := watchAs(t, url, addr)
	if err == nil {
		t.Fatalf("WHEP %s: accepted, want a refusal", url)
	}
	var se *liveclient.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("WHEP %s: %v", url, err)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	if json.Unmarshal([]byte(se.Body), &e) != nil || e.Error.Message == "" {
		t.Fatalf("WHEP %s: %d with body %q, not the API's error shape", url, se.Status, se.Body)
	}
	return se.Status, e.Error.Code, se.RetryAfter
}

// TestWHEPTellsAnUnknownStreamFromOneNotLive: a player asking for a stream
// that does not exist gets 404 at once; one asking for a stream that has
// not gone live (or has ended) gets 409 with Retry-After, as before.
func TestWHEPTellsAnUnknownStreamFromOneNotLive(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		n := startNode(t, cfg)
		seller := n.srv.shopper(t, "seller@example.com", "Sally")
		shop := seller.openShop("sallys", "USD")
		stream := createStream(t, seller, shop, "Evening show")
		whep := func(id int64) string { return fmt.Sprintf("%s/api/streams/%d/whep", n.URL, id) }

		if status, code, _ := whepRefusal(t, whep(stream+1000), ""); status != 404 || code != "not_found" {
			t.Errorf("unknown stream: %d %q, want 404 not_found", status, code)
		}
		if status, code, retry := whepRefusal(t, whep(stream), ""); status != 409 || code != "not_live" || retry == "" {
			t.Errorf("scheduled stream: %d %q Retry-After %q, want 409 not_live with Retry-After", status, code, retry)
		}
		seller.expect(200, "POST", fmt.Sprintf("/api/streams/%d/end", stream), nil)
		if status, code, _ := whepRefusal(t, whep(stream), ""); status != 409 || code != "not_live" {
			t.Errorf("ended stream: %d %q, want 409 not_live", status, code)
		}
	})
}

// TestOnlyActiveProductsCanBePinned: a seller cannot put a draft (not yet
// for sale) or archived product in front of viewers, over HTTP or the room
// socket; publishing it makes it pinnable.
func TestOnlyActiveProductsCanBePinned(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		srv := startServer(t, cfg)
		seller, _, _, shopID, _, streamID := liveRoomFixture(t, srv)
		var draft, archived commerce.Product
		seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/products", shopID), map[string]any{
			"title": "Unreleased coat", "price_minor": 9900, "stock": 3, "status": "draft"}).decode(t, &draft)
		archived = seller.product(shopID, "Old hat", 900, 3)
		seller.expect(200, "PATCH", fmt.Sprintf("/api/products/%d", archived.ID), map[string]string{"status": "archived"})
		pin := fmt.Sprintf("/api/streams/%d/pin", streamID)

		for _, p := range []commerce.Product{draft, archived} {
			r := seller.do("PUT", pin, map[string]int64{"product_id": p.ID})
			if r.status != 409 || r.errorCode(t) != "product_not_active" {
				t.Fatalf("pinning %q: %d %s, want 409 product_not_active", p.Title, r.status, r.body)
			}
		}
		rc := joinRoom(t, srv.URL, seller.client, streamID)
		rc.wait("snapshot", nil)
		rc.send(map[string]any{"type": "pin", "id": "p1", "product_id": draft.ID})
		rc.wait("error", func(d json.RawMessage) bool {
			var e struct{ ID, Code string }
			return json.Unmarshal(d, &e) == nil && e.ID == "p1" && e.Code == "product_not_active"
		})
		if rc.count("pinned") != 0 {
			t.Fatal("a draft product reached the room")
		}

		seller.expect(200, "PATCH", fmt.Sprintf("/api/products/%d", draft.ID), map[string]string{"status": "active"})
		seller.expect(204, "PUT", pin, map[string]int64{"product_id": draft.ID})
		rc.wait("pinned", func(d json.RawMessage) bool { return strings.Contains(string(d), "Unreleased coat") })
	})
}

// rotateWhilePublishing publishes a stream on node pub, watches it on node
// rot, rotates its key through rot's API and checks that the encoder with
// the old key is cut off, that the old key is refused and that the new one
// continues the show for the viewer.
func rotateWhilePublishing(t *testing.T, pub, rot *testNode) {
	seller := rot.srv.shopper(t, uniqueName("s")+"@example.com", "Sally")
	shop := seller.openShop(uniqueName("s"), "USD")
	var st commerce.StreamWithKey
	seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shop), map[string]string{"title": "Evening show"}).decode(t, &st)
	whip := fmt.Sprintf("%s/api/streams/%d/whip", pub.URL, st.ID)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	old := publishSynthetic(t, ctx, whip, loopbackPublisher(st.StreamKey))
	eventually(t, "the stream to go live", 15*time.Second, func() bool { return streamStatus(t, seller, st.ID) == commerce.StreamLive })
	sub, err := watchAs(t, fmt.Sprintf("%s/api/streams/%d/whep", rot.URL, st.ID), "")
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	eventually(t, "the viewer's first keyframe", 15*time.Second, func() bool { return sub.Keyframes.Load() > 0 })

	var rotated commerce.StreamWithKey
	seller.expect(200, "POST", fmt.Sprintf("/api/streams/%d/key", st.ID), nil).decode(t, &rotated)

	t.Run("the encoder with the old key is cut off", func(t *testing.T) {
		select {
		case <-old.Down():
		case <-time.After(15 * time.Second):
			t.Fatal("the old key's publisher is still connected")
		}
	})
	t.Run("the old key cannot publish again", func(t *testing.T) {
		_, err := liveclient.Publish(ctx, whip, loopbackPublisher(st.StreamKey))
		var se *liveclient.StatusError
		if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
			t.Fatalf("publish with the old key: %v, want 401", err)
		}
	})
	t.Run("the new key continues the show for its viewers", func(t *testing.T) {
		keyframes := sub.Keyframes.Load()
		publishSynthetic(t, ctx, whip, loopbackPublisher(rotated.StreamKey))
		eventually(t, "the viewer to get the new encoder's video", 15*time.Second, func() bool { return sub.Keyframes.Load() > keyframes })
		if s := streamStatus(t, seller, st.ID); s != commerce.StreamLive {
			t.Fatalf("stream %s, want the show to go on", s)
		}
	})
}

// TestRotatingTheStreamKeyCutsOffThePublisher: rotating a stream key
// through the API closes the encoder publishing with the old key at once;
// the stream waits for its grace period, so the seller's encoder with the
// new key continues it.
func TestRotatingTheStreamKeyCutsOffThePublisher(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		// The origin's periodic key re-check an hour apart: only the
		// rotation's own notice can pass.
		cfg.Live.OriginTTL = time.Hour
		n := startNode(t, cfg)
		rotateWhilePublishing(t, n, n)
	})
}

// TestRotatingTheStreamKeyOnAnotherNode: the encoder is on node A, the
// seller rotates the key through node B (the viewer watches on B, through
// a relay); A finds the old key refused when it re-checks its publisher's
// key, every third of --live-origin-ttl, and closes it.
func TestRotatingTheStreamKeyOnAnotherNode(t *testing.T) {
	cfg := shopConfig(t)
	cfg.DB = sqltest.PostgresURL(t)
	cfg.Redis = redistest.URL(t)
	cfg.RedisPrefix = "test:" + newKey() + ":"
	cfg.Live.OriginTTL = 1500 * time.Millisecond
	a := startNode(t, cfg)
	cfgB := cfg
	cfgB.DataDir = t.TempDir()
	b := startNode(t, cfgB)
	rotateWhilePublishing(t, a, b)
}

// TestWHEPLimitsCountTheClientTheServerBelieves: the per-IP cap on viewing
// sessions keys on the same client address as every per-IP limit: the
// connection's peer, or with --trusted-proxies the address the proxy
// names. A client cannot escape it with an X-Forwarded-For of its own.
func TestWHEPLimitsCountTheClientTheServerBelieves(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted string
	}{{"without trusted proxies", ""}, {"behind a trusted proxy", "127.0.0.1"}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := shopConfig(t)
			cfg.Live.MaxViewersPerIP = 2
			var err error
			if cfg.TrustedProxies, err = parseCIDRs(tc.trusted); err != nil {
				t.Fatal(err)
			}
			n := startNode(t, cfg)
			seller := n.srv.shopper(t, "seller@example.com", "Sally")
			shop := seller.openShop("sallys", "USD")
			var st commerce.StreamWithKey
			seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shop), map[string]string{"title": "Show"}).decode(t, &st)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			publishSynthetic(t, ctx, fmt.Sprintf("%s/api/streams/%d/whip", n.URL, st.ID), loopbackPublisher(st.StreamKey))
			eventually(t, "the stream to go live", 15*time.Second, func() bool { return n.app.sfu.IsLive(ctx, st.ID) })
			whep := fmt.Sprintf("%s/api/streams/%d/whep", n.URL, st.ID)

			for _, addr := range []forwardedFor{"198.51.100.1", "198.51.100.2"} {
				if _, err := watchAs(t, whep, addr); err != nil {
					t.Fatalf("viewer as %s: %v", addr, err)
				}
			}
			refused := func(addr forwardedFor) {
				t.Helper()
				status, code, retry := whepRefusal(t, whep, addr)
				if status != 429 || code != "too_many_sessions" || retry == "" {
					t.Fatalf("session as %s: %d %q Retry-After %q, want 429 too_many_sessions", addr, status, code, retry)
				}
			}
			if tc.trusted == "" {
				refused("198.51.100.3") // the three "clients" are one peer, 127.0.0.1
				return
			}
			for _, addr := range []forwardedFor{"198.51.100.3", "198.51.100.1"} {
				if _, err := watchAs(t, whep, addr); err != nil {
					t.Fatalf("viewer as %s: %v", addr, err)
				}
			}
			refused("198.51.100.1") // its third
		})
	}
}
