package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/live"
	"github.com/liveshop/liveshop/room/redistest"
)

// orphanConfig has a short grace period and origin TTL, so a stream left
// live without an origin ends within a test.
func orphanConfig(t testing.TB) Config {
	cfg := shopConfig(t)
	cfg.Live.PublisherGrace = 300 * time.Millisecond
	cfg.Live.OriginTTL = 600 * time.Millisecond
	return cfg
}

// orphanStream creates a stream of a new shop and records it live, as the
// origin does when its publisher connects.
func orphanStream(t *testing.T, n *testNode) (shopper, int64) {
	t.Helper()
	handle := uniqueName("s")
	seller := n.srv.shopper(t, handle+"@example.com", "Sal")
	shop := seller.openShop(handle, "USD")
	var st commerce.StreamWithKey
	seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shop), map[string]string{"title": "Show"}).decode(t, &st)
	if err := n.app.commerce.MarkStreamLive(context.Background(), st.ID); err != nil {
		t.Fatal(err)
	}
	return seller, st.ID
}

func streamStatus(t *testing.T, c shopper, id int64) string {
	t.Helper()
	var s commerce.Stream
	c.as(t).expect(200, "GET", fmt.Sprintf("/api/streams/%d", id), nil).decode(t, &s)
	return s.Status
}

// count counts the room events of type typ seen so far.
func (rc *roomConn) count(typ string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, e := range rc.events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// TestCrashedOriginsStreamEnds: a node that dies leaves its stream recorded
// live and its origin claim in Redis, never refreshed again. Once the claim
// has lapsed and the grace period after has passed, the surviving node
// ends the record and its room hears stream_ended, once; while the claim
// is kept alive, nothing ends.
func TestCrashedOriginsStreamEnds(t *testing.T) {
	cfg := orphanConfig(t)
	cfg.Redis = redistest.URL(t)
	cfg.RedisPrefix = "test:" + newKey() + ":"
	n := startNode(t, cfg)
	seller, id := orphanStream(t, n)
	rc := joinRoom(t, n.URL, seller.client, id)
	rc.wait("snapshot", nil)

	// Node A, as the registry sees it: it claims the stream and refreshes
	// the claim until it "crashes".
	regA := live.NewRedisRegistry(n.app.redis, cfg.RedisPrefix)
	nodeA := live.Origin{NodeID: "node-a", URL: "http://127.0.0.1:1"}
	claim := func() {
		if err := regA.Claim(context.Background(), id, nodeA, cfg.Live.OriginTTL, cfg.Live.PublisherGrace); err != nil {
			t.Error(err)
		}
	}
	claim()
	crash := make(chan struct{})
	var refreshing sync.WaitGroup
	refreshing.Add(1)
	go func() {
		defer refreshing.Done()
		tick := time.NewTicker(cfg.Live.OriginTTL / 3)
		defer tick.Stop()
		for {
			select {
			case <-crash:
				return
			case <-tick.C:
				claim()
			}
		}
	}()

	t.Run("a stream whose origin keeps its claim stays live", func(t *testing.T) {
		// Three times what an orphan is given, plus a sweep, in sweeps a
		// third of the origin TTL apart.
		span := 3*(cfg.Live.PublisherGrace+cfg.Live.OriginTTL) + cfg.Live.OriginTTL
		until := n.app.sfu.Stats().Rounds + int64(span/(cfg.Live.OriginTTL/3)) + 1
		eventually(t, "the sweeps of three orphan periods", 10*time.Second+span, func() bool {
			if s := streamStatus(t, seller, id); s != commerce.StreamLive {
				t.Fatalf("status %s while node A holds the claim", s)
			}
			return n.app.sfu.Stats().Rounds >= until
		})
	})

	close(crash)
	refreshing.Wait()
	crashed := time.Now()

	t.Run("once node A's claim lapses, the record ends and the room hears it", func(t *testing.T) {
		eventually(t, "the stream record to end", 10*time.Second, func() bool {
			return streamStatus(t, seller, id) == commerce.StreamEnded
		})
		// No sooner than the claim's lapse (a TTL after its last refresh,
		// at most a third of one before the crash) plus the grace period.
		if min := cfg.Live.OriginTTL*2/3 + cfg.Live.PublisherGrace; time.Since(crashed) < min {
			t.Fatalf("ended %v after the crash, before the %v the publisher had to come back", time.Since(crashed), min)
		}
		rc.t = t
		rc.wait("stream_ended", nil)
	})

	t.Run("stream_ended is sent once", func(t *testing.T) {
		// Nine sweeps (three origin TTLs) later, still one.
		until := n.app.sfu.Stats().Rounds + 9
		eventually(t, "nine more sweeps", 10*time.Second+3*cfg.Live.OriginTTL, func() bool {
			return n.app.sfu.Stats().Rounds >= until
		})
		if got := rc.count("stream_ended"); got != 1 {
			t.Fatalf("%d stream_ended events, want 1", got)
		}
	})
}

// TestStreamLiveAtRestartEnds: a single node (no Redis) restarted while a
// stream was live finds the record live and no publisher; it ends the
// stream after the grace period (plus an origin TTL), and tells the room.
func TestStreamLiveAtRestartEnds(t *testing.T) {
	cfg := orphanConfig(t)
	// Long enough that the first node cannot end it before it stops.
	cfg.Live.PublisherGrace = 2 * time.Second
	first := startNode(t, cfg)
	seller, id := orphanStream(t, first)
	first.stop()

	n := startNode(t, cfg)
	seller.base = n.URL
	started := time.Now()
	rc := joinRoom(t, n.URL, seller.client, id)
	rc.wait("snapshot", nil)
	if s := streamStatus(t, seller, id); s != commerce.StreamLive {
		t.Fatalf("status after restart %s, want still live", s)
	}
	eventually(t, "the stream record to end", 15*time.Second, func() bool {
		return streamStatus(t, seller, id) == commerce.StreamEnded
	})
	if min := cfg.Live.PublisherGrace; time.Since(started) < min {
		t.Fatalf("ended %v after the restart, within the grace period", time.Since(started))
	}
	rc.wait("stream_ended", nil)
}
