package live_test

import (
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/liveshop/liveshop/live"
	"github.com/liveshop/liveshop/live/liveclient"
)

// viewOffer is a real viewer's offer whose PeerConnection is gone: a
// session answered for it never connects, like an attacker's.
func viewOffer(t testing.TB) string {
	return offerWith(t, webrtc.RTPTransceiverDirectionRecvonly, map[webrtc.RTPCodecType][]webrtc.RTPCodecCapability{
		webrtc.RTPCodecTypeVideo: {vp8}, webrtc.RTPCodecTypeAudio: {opus}})
}

// offerFrom posts a WHEP offer as the client at address from (the test
// server believes X-Forwarded-For, as one behind a trusted proxy does).
func offerFrom(t testing.TB, url, from, offer string) answer {
	t.Helper()
	var header []string
	if from != "" {
		header = []string{"X-Forwarded-For", from}
	}
	return do(t, testClient, call{"POST", url, live.MIMESDP, "", "", offer}, header...)
}

// refusedWith checks a refusal: status, code, and a Retry-After of at
// least a second.
func refusedWith(t testing.TB, a answer, status int, code string) {
	t.Helper()
	if a.status != status || a.code != code {
		t.Fatalf("got %d %q (%.200s), want %d %q", a.status, a.code, a.body, status, code)
	}
	if s, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("%d %s without a usable Retry-After (%q)", status, code, a.header.Get("Retry-After"))
	}
}

// TestOneClientCannotHoardViewingSessions: an anonymous client firing
// offers it never answers gets a few sessions, then 429; the node's
// sessions and goroutines stay bounded, and the sessions that never
// connect are closed after the connect timeout, freeing the client's
// slots.
func TestOneClientCannotHoardViewingSessions(t *testing.T) {
	const perIP = 4
	n := startNode(t, nodeOptions{cfg: live.Config{MaxViewersPerIP: perIP, ConnectTimeout: 1500 * time.Millisecond}})
	publish(t, n, 1, "key-1", liveclient.PublishOptions{})
	offer := viewOffer(t)
	runtime.GC()
	base := runtime.NumGoroutine()
	// A session costs about ten goroutines; the publisher may still start
	// one or two of its own.
	const slack = 5
	goroutinesWithin := func(limit int) bool { return runtime.NumGoroutine() <= limit }

	const offers = 60
	answers := make([]answer, offers)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = offerFrom(t, n.whep(1), "", offer)
		}()
	}
	wg.Wait()
	created := 0
	for _, a := range answers {
		if a.status == 201 {
			created++
			continue
		}
		refusedWith(t, a, 429, "too_many_sessions")
	}
	if created != perIP {
		t.Fatalf("%d of %d offers from one address got a session, want %d", created, offers, perIP)
	}
	if st := n.sfu.Stats(); st.Viewers != perIP {
		t.Fatalf("stats %+v, want %d viewers", st, perIP)
	}
	if !goroutinesWithin(base + perIP*25 + slack) {
		t.Fatalf("%d goroutines for %d sessions, %d before", runtime.NumGoroutine(), perIP, base)
	}
	t.Run("another address still gets in", func(t *testing.T) {
		if a := offerFrom(t, n.whep(1), "198.51.100.7", offer); a.status != 201 {
			t.Fatalf("got %d %s", a.status, a.body)
		}
	})
	t.Run("sessions that never connect are closed after the connect timeout", func(t *testing.T) {
		eventually(t, "unconnected sessions reaped", 10*time.Second, func() bool { return n.sfu.Stats().Viewers == 0 })
		eventually(t, "their goroutines gone", 10*time.Second, func() bool { return goroutinesWithin(base + slack) })
	})
	t.Run("and the client's slots are free again", func(t *testing.T) {
		if a := offerFrom(t, n.whep(1), "", offer); a.status != 201 {
			t.Fatalf("got %d %s", a.status, a.body)
		}
	})
}

// TestOffersPerClientAreRateLimited: a client may post so many offers per
// window, accepted or not, and then gets 429 with the wait in Retry-After;
// other clients are not affected.
func TestOffersPerClientAreRateLimited(t *testing.T) {
	n := startNode(t, nodeOptions{cfg: live.Config{WHEPRate: 3, WHEPRateWindow: time.Minute}})
	offer := viewOffer(t)
	for i := range 3 {
		if a := offerFrom(t, n.whep(1), "203.0.113.5", offer); a.status != 409 {
			t.Fatalf("offer %d: got %d %s, want 409 not_live", i, a.status, a.body)
		}
	}
	a := offerFrom(t, n.whep(1), "203.0.113.5", offer)
	refusedWith(t, a, 429, "rate_limited")
	if s, _ := strconv.Atoi(a.header.Get("Retry-After")); s > 20 {
		t.Errorf("Retry-After %d s, want the time until the next offer (20 s at 3 a minute)", s)
	}
	if a := offerFrom(t, n.whep(1), "203.0.113.6", offer); a.status != 409 {
		t.Fatalf("another client: got %d %s, want 409 not_live", a.status, a.body)
	}
	if a := offerFrom(t, n.whep(99), "203.0.113.5", offer); a.status != 429 {
		t.Fatalf("an unknown stream costs an offer too: got %d %s, want 429", a.status, a.body)
	}
	t.Run("an IPv6 client is its /64", func(t *testing.T) {
		for _, addr := range []string{"2001:db8:1:1::1", "2001:db8:1:1::2", "2001:db8:1:1:ffff::9"} {
			if a := offerFrom(t, n.whep(1), addr, offer); a.status != 409 {
				t.Fatalf("offer from %s: got %d %s, want 409 not_live", addr, a.status, a.body)
			}
		}
		refusedWith(t, offerFrom(t, n.whep(1), "2001:db8:1:1:abcd::1", offer), 429, "rate_limited")
		if a := offerFrom(t, n.whep(1), "2001:db8:1:2::1", offer); a.status != 409 {
			t.Fatalf("another /64: got %d %s, want 409 not_live", a.status, a.body)
		}
	})
}

// TestViewerCapsPerStreamAndNode: a stream takes at most so many viewers
// on a node, and the node at most so many in all; beyond either the
// answer is 503 with Retry-After, and a place freed is taken again.
func TestViewerCapsPerStreamAndNode(t *testing.T) {
	n := startNode(t, nodeOptions{cfg: live.Config{MaxViewersPerStream: 2, MaxViewers: 3}})
	publish(t, n, 1, "key-1", liveclient.PublishOptions{})
	publish(t, n, 2, "key-2", liveclient.PublishOptions{})
	offer := viewOffer(t)
	var locations []string
	for i, addr := range []string{"192.0.2.1", "192.0.2.2"} {
		a := offerFrom(t, n.whep(1), addr, offer)
		if a.status != 201 {
			t.Fatalf("viewer %d of stream 1: %d %s", i, a.status, a.body)
		}
		locations = append(locations, n.url+a.header.Get("Location"))
	}
	t.Run("a full stream refuses the next viewer", func(t *testing.T) {
		refusedWith(t, offerFrom(t, n.whep(1), "192.0.2.3", offer), 503, "at_capacity")
	})
	t.Run("a full node refuses the next viewer of any stream", func(t *testing.T) {
		if a := offerFrom(t, n.whep(2), "192.0.2.3", offer); a.status != 201 {
			t.Fatalf("viewer of stream 2: %d %s", a.status, a.body)
		}
		refusedWith(t, offerFrom(t, n.whep(2), "192.0.2.4", offer), 503, "at_capacity")
	})
	t.Run("a place freed is taken again", func(t *testing.T) {
		if a := do(t, testClient, call{"DELETE", locations[0], "", "", "", ""}); a.status != 200 {
			t.Fatalf("leave: %d %s", a.status, a.body)
		}
		if a := offerFrom(t, n.whep(2), "192.0.2.4", offer); a.status != 201 {
			t.Fatalf("viewer of stream 2 after one left: %d %s", a.status, a.body)
		}
	})
}

// TestRelayPullsPassThePerClientLimits: another node pulling a stream
// serves all of its own viewers through one session, from one address; it
// proves what it is with the cluster's relay token and passes the
// per-client limits. A viewer who only claims to be a node is refused.
func TestRelayPullsPassThePerClientLimits(t *testing.T) {
	registry := live.NewMemoryRegistry()
	cfg := live.Config{MaxViewersPerIP: 1, WHEPRate: 2, OriginTTL: 900 * time.Millisecond}
	a := startNode(t, nodeOptions{registry: registry, cfg: withNode(cfg, "node-a")})
	b := startNode(t, nodeOptions{registry: registry, cfg: withNode(cfg, "node-b")})
	publish(t, a, 1, "key-1", liveclient.PublishOptions{})
	subscribe(t, a.whep(1)) // 127.0.0.1's one session on A
	offer := viewOffer(t)

	t.Run("a viewer claiming to be a node is refused", func(t *testing.T) {
		for _, token := range []string{"", "not-the-token"} {
			a := do(t, testClient, call{"POST", a.whep(1), live.MIMESDP, token, "", offer}, live.RelayHeader, "node-x")
			if a.status != 401 || a.code != "unauthorized" {
				t.Fatalf("relay claim with token %q: %d %s, want 401", token, a.status, a.body)
			}
		}
	})
	t.Run("another node pulls from the same address all the same", func(t *testing.T) {
		onB := subscribe(t, b.whep(1))
		eventually(t, "media on B", 15*time.Second, func() bool { return onB.Keyframes.Load() > 0 })
		if st := a.sfu.Stats(); st.Viewers != 2 {
			t.Fatalf("A's stats %+v, want its viewer and B's pull", st)
		}
	})
}
