package live_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/liveshop/liveshop/live"
	"github.com/liveshop/liveshop/live/liveclient"
)

// relayTap stands between relays and an origin node, noting the WHEP
// session URL each relay pull got, so a test can close one from the
// origin's side.
type relayTap struct {
	mu        sync.Mutex
	locations []string
}

func (r *relayTap) serve(t *testing.T, origin *node) *httptest.Server {
	target, err := url.Parse(origin.url)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Header.Get(live.RelayHeader) == "" || resp.StatusCode != http.StatusCreated {
			return nil
		}
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			return err
		}
		loc.Scheme, loc.Host = target.Scheme, target.Host
		r.mu.Lock()
		r.locations = append(r.locations, loc.String())
		r.mu.Unlock()
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv
}

func (r *relayTap) pulls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.locations...)
}

func TestRelayPullsAgain(t *testing.T) {
	t.Run("with Redis", func(t *testing.T) {
		rdb, prefix := redisClient(t)
		relayPullsAgain(t, func() live.OriginRegistry { return live.NewRedisRegistry(rdb, prefix) })
	})
}

// relayPullsAgain: when node B's pull from the origin node A breaks (here
// A closes the relay's session), B pulls again and its viewer keeps its
// PeerConnection and gets keyframes again.
func relayPullsAgain(t *testing.T, registry func() live.OriginRegistry) {
	cfg := live.Config{OriginTTL: 3 * time.Second, RelayIdle: time.Second, PublisherGrace: 5 * time.Second}
	a := startNode(t, nodeOptions{cfg: withNode(cfg, "node-a"), registry: registry()})
	b := startNode(t, nodeOptions{cfg: withNode(cfg, "node-b"), registry: registry()})
	tap := &relayTap{}
	a.sfu.SetAdvertiseURL(tap.serve(t, a).URL)

	publish(t, a, 1, "key-1", liveclient.PublishOptions{})
	s := subscribe(t, b.whep(1))
	eventually(t, "media through node B", 15*time.Second, func() bool {
		return s.Keyframes.Load() >= 1 && s.VideoPackets.Load() > 30
	})
	pulls := tap.pulls()
	if len(pulls) != 1 {
		t.Fatalf("relay pulls %v, want one", pulls)
	}

	req, err := http.NewRequestWithContext(context.Background(), http.MethodDelete, pulls[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("closing the relay's session on A: %d", resp.StatusCode)
	}

	eventually(t, "node B to pull again", 15*time.Second, func() bool { return len(tap.pulls()) == 2 })
	keys := s.Keyframes.Load()
	eventually(t, "a keyframe through the new pull", 15*time.Second, func() bool {
		return s.Keyframes.Load() > keys
	})
	select {
	case <-s.Down():
		t.Fatal("the viewer on node B was disconnected")
	default:
	}
	if st := b.sfu.Stats(); st.Relays != 1 || st.Viewers != 1 {
		t.Fatalf("node B: %+v, want one relay and its viewer", st)
	}
}

// TestRelayFollowsHandover: the publisher drops from node A and reconnects
// to node B; node C, which relayed from A, pulls from B instead and its
// viewer keeps its PeerConnection.
func TestRelayFollowsHandover(t *testing.T) {
	rdb, prefix := redisClient(t)
	registry := func() live.OriginRegistry { return live.NewRedisRegistry(rdb, prefix) }
	cfg := live.Config{OriginTTL: 1500 * time.Millisecond, RelayIdle: time.Second, PublisherGrace: 5 * time.Second}
	a := startNode(t, nodeOptions{cfg: withNode(cfg, "node-a"), registry: registry()})
	b := startNode(t, nodeOptions{cfg: withNode(cfg, "node-b"), registry: registry()})
	c := startNode(t, nodeOptions{cfg: withNode(cfg, "node-c"), registry: registry()})

	_, dropA := publish(t, a, 1, "key-1", liveclient.PublishOptions{})
	s := subscribe(t, c.whep(1))
	eventually(t, "media through node C", 15*time.Second, func() bool { return s.Keyframes.Load() > 0 })

	dropA() // no DELETE: A waits for it
	eventually(t, "A's publisher gone", 10*time.Second, func() bool { return a.sfu.Stats().Publishers == 0 })
	publish(t, b, 1, "key-1", liveclient.PublishOptions{})
	eventually(t, "node C to pull from B", 15*time.Second, func() bool {
		return b.sfu.Stats().Viewers == 1 && a.sfu.Stats().Viewers == 0
	})
	keys := s.Keyframes.Load()
	eventually(t, "a keyframe from B through node C", 15*time.Second, func() bool { return s.Keyframes.Load() > keys })
	select {
	case <-s.Down():
		t.Fatal("the viewer on node C was disconnected")
	default:
	}
	if st := c.sfu.Stats(); st.Relays != 1 || st.Viewers != 1 {
		t.Fatalf("node C: %+v, want one relay and its viewer", st)
	}
}
