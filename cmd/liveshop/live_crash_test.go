package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/discovery"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
	"github.com/liveshop/liveshop/live/liveclient"
	"github.com/liveshop/liveshop/room/redistest"
)

// crashConfig is a cluster sharing PostgreSQL and Redis, with an origin
// claim TTL and a grace period short enough for origin crashes to play out
// within a test.
func crashConfig(t testing.TB, ttl, grace time.Duration) Config {
	cfg := shopConfig(t)
	cfg.DB = sqltest.PostgresURL(t)
	cfg.Redis = redistest.URL(t)
	cfg.RedisPrefix = "test:" + newKey() + ":"
	cfg.Live.OriginTTL = ttl
	cfg.Live.PublisherGrace = grace
	cfg.Live.WHEPRate = 0 // tests poll WHEP, all from 127.0.0.1
	return cfg
}

// startClusterNode starts one more node of the cluster cfg describes, with
// a data directory of its own; it runs until the test ends.
func startClusterNode(t testing.TB, cfg Config) *testNode {
	cfg.DataDir = t.TempDir()
	return startNode(t, cfg)
}

// die kills n as SIGKILL would, as far as anyone else can tell: its HTTP
// server and connections are cut, and its Redis and database connections
// are closed before its SFU, so nothing it would say on the way down
// (releasing its origin claims, reporting its streams ended) reaches
// anyone. Its PeerConnections close.
func (n *testNode) die() {
	n.cut()
	if n.app.redis != nil {
		_ = n.app.redis.Close()
	}
	_ = n.app.store.Close()
	n.app.close()
}

// crashShow is a seller's stream, watched on a node that survives the
// crashes: the seller's client and a room socket are on that node.
type crashShow struct {
	seller shopper
	id     int64
	key    string
	room   *roomConn
}

func newCrashShow(t *testing.T, watch *testNode) crashShow {
	seller := watch.srv.shopper(t, uniqueName("s")+"@example.com", "Sally")
	shop := seller.openShop(uniqueName("s"), "USD")
	var st commerce.StreamWithKey
	seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shop), map[string]string{"title": "Evening show"}).decode(t, &st)
	return crashShow{seller: seller, id: st.ID, key: st.StreamKey}
}

func (s crashShow) whip(n *testNode) string {
	return fmt.Sprintf("%s/api/streams/%d/whip", n.URL, s.id)
}

func (s crashShow) whep(n *testNode) string {
	return fmt.Sprintf("%s/api/streams/%d/whep", n.URL, s.id)
}

// goLive publishes the show on origin and waits for its record to say
// live; a room socket then joins on watch.
func (s *crashShow) goLive(t *testing.T, ctx context.Context, origin, watch *testNode) {
	publishSynthetic(t, ctx, s.whip(origin), loopbackPublisher(s.key))
	eventually(t, "the stream to go live", 15*time.Second, func() bool {
		return streamStatus(t, s.seller, s.id) == commerce.StreamLive
	})
	s.room = joinRoom(t, watch.URL, s.seller.client, s.id)
	s.room.wait("snapshot", nil)
}

// watchSteadily subscribes on n and waits for its first keyframe.
func watchSteadily(t *testing.T, url string) *liveclient.Subscriber {
	t.Helper()
	sub, err := watchAs(t, url, "")
	if err != nil {
		t.Fatalf("watch %s: %v", url, err)
	}
	eventually(t, "the viewer's first keyframe", 15*time.Second, func() bool { return sub.Keyframes.Load() > 0 })
	return sub
}

// crashScene is a show published on one node of a cluster (its origin)
// and watched through a relay on another, which survives the crashes and
// has the seller's client and a room socket too.
type crashScene struct {
	crashShow
	ctx    context.Context
	watch  *testNode
	origin *testNode
	sub    *liveclient.Subscriber // the viewer on watch
}

func startCrashScene(t *testing.T, cfg Config) *crashScene {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	sc := &crashScene{ctx: ctx, watch: startClusterNode(t, cfg), origin: startClusterNode(t, cfg)}
	sc.crashShow = newCrashShow(t, sc.watch)
	sc.goLive(t, ctx, sc.origin, sc.watch)
	sc.sub = watchSteadily(t, sc.whep(sc.watch))
	return sc
}

// publishRefusal is a WHIP offer's refusal: status, error code and
// Retry-After in seconds (0 when absent). It fails the test if the offer
// was accepted or did not get an API error.
func publishRefusal(t testing.TB, ctx context.Context, url, key string) (status int, code string, retryAfter int) {
	t.Helper()
	pub, err := liveclient.Publish(ctx, url, loopbackPublisher(key))
	if err == nil {
		_ = pub.Close()
		t.Fatalf("WHIP %s: accepted, want a refusal", url)
	}
	var se *liveclient.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("WHIP %s: %v", url, err)
	}
	retryAfter, _ = strconv.Atoi(se.RetryAfter)
	return se.Status, response{status: se.Status, body: []byte(se.Body)}.errorCode(t), retryAfter
}

// whipWhenFree offers to publish on url, with offer, until it is
// accepted, as an encoder whose server died does: after each 409
// publisher_active it waits as long as the Retry-After says (a second
// without one).
func whipWhenFree(t testing.TB, ctx context.Context, url string, offer func() error) {
	t.Helper()
	for {
		err := offer()
		if err == nil {
			return
		}
		var se *liveclient.StatusError
		if !errors.As(err, &se) || se.Status != http.StatusConflict {
			t.Fatalf("publish on %s: %v", url, err)
		}
		if code := (response{status: se.Status, body: []byte(se.Body)}).errorCode(t); code != "publisher_active" {
			t.Fatalf("publish on %s: 409 %s", url, code)
		}
		wait := time.Second
		if s, err := strconv.Atoi(se.RetryAfter); err == nil {
			wait = time.Duration(s) * time.Second
		}
		select {
		case <-ctx.Done():
			t.Fatalf("publish on %s: still %v", url, err)
		case <-time.After(wait):
		}
	}
}

// republish is the encoder publishing again on url once it may (see
// whipWhenFree); it sends media until t ends.
func republish(t testing.TB, ctx context.Context, url, key string) {
	t.Helper()
	whipWhenFree(t, ctx, url, func() error {
		pub, err := liveclient.Publish(ctx, url, loopbackPublisher(key))
		if err == nil {
			sendSynthetic(t, pub)
		}
		return err
	})
}

// mediaAgain waits for sub to get a keyframe and video it had not got
// before the call, failing if its PeerConnection closes meanwhile.
func mediaAgain(t testing.TB, sub *liveclient.Subscriber, what string) {
	t.Helper()
	before, keys := sub.VideoPackets.Load(), sub.Keyframes.Load()
	eventually(t, what, 20*time.Second, func() bool {
		select {
		case <-sub.Down():
			t.Fatalf("%s: the viewer's PeerConnection was closed", what)
		default:
		}
		return sub.Keyframes.Load() > keys && sub.VideoPackets.Load() > before+30
	})
}

// TestRelayViewersRideThroughOriginCrashes: the node holding the publisher
// dies without a word, three times in a row, and each time the encoder
// publishes again, within the grace period, on a node that relays the
// stream to a viewer of its own: twice a fresh node, the last time the
// node a viewer has watched on since the start. While the dead origin's
// claim in Redis has not lapsed, WHIP elsewhere answers 409
// publisher_active with Retry-After saying when it will; once it has
// lapsed, the encoder gets in. Every viewer keeps its PeerConnection and
// gets media again: through its relay, or from the relay its node's new
// publisher carries on as the origin. The show goes on: the record stays
// live and its room hears neither stream_ended nor a second stream_started
// (players restart on that). Before, a relay ended as soon as Redis named
// no origin, which the encoder could not beat (5 of 9 viewers survived a
// crash), and the node the encoder came back to closed its relay's
// viewers.
func TestRelayViewersRideThroughOriginCrashes(t *testing.T) {
	cfg := crashConfig(t, time.Second, 4*time.Second)
	sc := startCrashScene(t, cfg)
	ctx, watch, origin, sub, show := sc.ctx, sc.watch, sc.origin, sc.sub, sc.crashShow

	for round := 1; round <= 3; round++ {
		// Rounds 1 and 3: the encoder tries again at once and is told when
		// to come back. Round 2: it notices the dead server only after its
		// own timeouts, well past the claim's lapse, within the grace period.
		prompt := round != 2
		name := fmt.Sprintf("crash %d: the encoder comes back at once", round)
		if !prompt {
			name = fmt.Sprintf("crash %d: the encoder comes back after half the grace period", round)
		}
		outer := t
		t.Run(name, func(t *testing.T) {
			next, subNext := watch, sub
			if round < 3 {
				next = startClusterNode(outer, cfg) // outlives this subtest: the next origin
				subNext = watchSteadily(t, show.whep(next))
			}
			crashed := time.Now()
			origin.die()
			origin = next

			if prompt {
				status, code, retry := publishRefusal(t, ctx, show.whip(next), show.key)
				if status != http.StatusConflict || code != "publisher_active" {
					t.Fatalf("WHIP on another node while the dead origin's claim lives: %d %q, want 409 publisher_active", status, code)
				}
				if ttl := int(cfg.Live.OriginTTL / time.Second); retry < 1 || retry > ttl {
					t.Errorf("Retry-After %d, want 1 to %d s: when the dead origin's claim lapses", retry, ttl)
				}
			} else {
				select {
				case <-time.After(time.Until(crashed.Add(cfg.Live.PublisherGrace / 2))):
				case <-sub.Down():
				}
			}
			republish(outer, ctx, show.whip(next), show.key) // the encoder outlives this subtest
			mediaAgain(t, sub, "media from the new origin on the watching node")
			if next != watch {
				mediaAgain(t, subNext, "media on the node the encoder came back to")
				if st := watch.app.sfu.Stats(); st.Relays != 1 || st.Viewers != 1 {
					t.Errorf("watching node: %+v, want its relay and its viewer", st)
				}
			}
			if st := next.app.sfu.Stats(); st.Relays != 0 || st.Publishers != 1 || st.Viewers < 1 {
				t.Errorf("the new origin: %+v, want the publisher and the relay's viewer, no relay", st)
			}
		})
		select {
		case <-sub.Down():
			return // the rounds after would prove nothing
		default:
		}
	}

	t.Run("the show went on", func(t *testing.T) {
		if s := streamStatus(t, show.seller, show.id); s != commerce.StreamLive {
			t.Errorf("record %s, want live", s)
		}
		if n := show.room.count("stream_ended"); n != 0 {
			t.Errorf("the room heard stream_ended %d times", n)
		}
		if n := show.room.count("stream_started"); n != 0 {
			t.Errorf("the room heard stream_started %d times after the show had started", n)
		}
	})
}

// TestCrashedOriginsStreamEndsForEveryoneAfterTheGracePeriod: the origin
// dies and no encoder comes back. Its claim lapses within an origin TTL;
// for the grace period after that the stream waits for its publisher on
// any node: the relay on a surviving node keeps its viewer, the record
// says live, and a node without a relay answers WHEP with 409 not_live
// and Retry-After. Then it is over for everyone together, within an
// origin TTL plus the grace period (plus a sweep) of the crash: the relay
// closes its viewer, a surviving node ends the record and its room hears
// stream_ended once, WHEP answers 409 not_live, and analytics count nobody
// watching now. Before, the relay dropped its viewer as soon as the claim
// lapsed, and the record said live for another grace period plus a TTL.
func TestCrashedOriginsStreamEndsForEveryoneAfterTheGracePeriod(t *testing.T) {
	cfg := crashConfig(t, 1500*time.Millisecond, 3*time.Second)
	sc := startCrashScene(t, cfg)
	watch, sub, show := sc.watch, sc.sub, sc.crashShow
	other := startClusterNode(t, cfg)

	crashed := time.Now()
	sc.origin.die()
	ttl, grace := cfg.Live.OriginTTL, cfg.Live.PublisherGrace

	t.Run("during the grace period the stream waits for its publisher", func(t *testing.T) {
		// Until the claim lapses, the other node tries to pull from the dead
		// origin (503); then it knows the stream waits (409).
		var status int
		var code, retry string
		eventually(t, "WHEP on a node without a relay to tell the stream is waiting", ttl+5*time.Second, func() bool {
			status, code, retry = whepRefusal(t, show.whep(other), "")
			return status != http.StatusServiceUnavailable
		})
		if elapsed := time.Since(crashed); elapsed >= grace {
			t.Fatalf("the check took %v, past the grace period", elapsed)
		}
		if status != http.StatusConflict || code != "not_live" || retry == "" {
			t.Errorf("WHEP on a node without a relay: %d %q Retry-After %q, want 409 not_live with Retry-After", status, code, retry)
		}
		if s := streamStatus(t, show.seller, show.id); s != commerce.StreamLive {
			t.Errorf("record %s within the grace period, want live", s)
		}
		select {
		case <-sub.Down():
			t.Fatalf("the relay's viewer was closed %v after the crash, within the grace period", time.Since(crashed))
		case <-time.After(time.Until(crashed.Add(grace))):
		}
	})

	t.Run("then it ends for everyone, once", func(t *testing.T) {
		// The claim lapses at most a TTL after the crash, is kept for the
		// grace period, and the next sweep (a third of a TTL) finds it
		// gone; a second for the database and the test's polling.
		deadline := ttl + grace + ttl/3 + time.Second
		eventually(t, "the record to end", 30*time.Second, func() bool {
			return streamStatus(t, show.seller, show.id) == commerce.StreamEnded
		})
		if took := time.Since(crashed); took > deadline {
			t.Errorf("the record ended %v after the crash, want within %v", took, deadline)
		}
		select {
		case <-sub.Down():
		case <-time.After(10 * time.Second):
			t.Fatal("the relay's viewer is still connected after the stream ended")
		}
		show.room.t = t
		show.room.wait("stream_ended", nil)
		for _, n := range []*testNode{watch, other} {
			if status, code, _ := whepRefusal(t, show.whep(n), ""); status != http.StatusConflict || code != "not_live" {
				t.Errorf("WHEP on %s after the end: %d %q, want 409 not_live", n.URL, status, code)
			}
		}
		var report discovery.StreamAnalytics
		show.seller.as(t).expect(200, "GET", fmt.Sprintf("/api/streams/%d/analytics", show.id), nil).decode(t, &report)
		if report.CurrentViewers != 0 {
			t.Errorf("analytics count %d watching now after the end", report.CurrentViewers)
		}
		// Both surviving nodes sweep; a few sweeps on, the room has heard
		// the end once.
		until := watch.app.sfu.Stats().Rounds + 6
		eventually(t, "six more sweeps", 10*time.Second, func() bool { return watch.app.sfu.Stats().Rounds >= until })
		if n := show.room.count("stream_ended"); n != 1 {
			t.Errorf("the room heard stream_ended %d times, want once", n)
		}
	})
}

// silentOffer is a WHIP offer from an encoder that will never connect: a
// browser's, stripped of its ICE candidates, so the server has nowhere to
// send its checks.
func silentOffer(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("../../live/testdata/offers/browser_whip.sdp")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "a=candidate:") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// TestAComebackThatNeverConnectsLeavesTheShowWaiting: after the origin
// crashed, an encoder takes its lapsed claim over on node B but never
// connects, and B drops it. B gives the claim back lapsed, so the show
// still waits for its publisher: the relay on the watching node keeps its
// viewer, and the encoder that does connect, on node D half a grace period
// later, continues the show for it. Before, B released the claim, and with
// no claim in Redis the relay ended (it looks at least every two seconds).
func TestAComebackThatNeverConnectsLeavesTheShowWaiting(t *testing.T) {
	cfg := crashConfig(t, time.Second, 6*time.Second)
	cfg.Live.ConnectTimeout = 2 * time.Second
	sc := startCrashScene(t, cfg)
	ctx, sub, show := sc.ctx, sc.sub, sc.crashShow
	b, d := startClusterNode(t, cfg), startClusterNode(t, cfg)

	sc.origin.die()
	hc := &http.Client{Timeout: 20 * time.Second}
	whipWhenFree(t, ctx, show.whip(b), func() error {
		_, err := liveclient.Post(ctx, hc, show.whip(b), show.key, silentOffer(t), nil)
		return err
	})
	eventually(t, "node B to drop the encoder that never connected", 2*cfg.Live.ConnectTimeout+5*time.Second, func() bool {
		return b.app.sfu.Stats().Streams == 0
	})
	dropped := time.Now()
	select {
	case <-time.After(time.Until(dropped.Add(cfg.Live.PublisherGrace / 2))):
	case <-sub.Down():
	}
	republish(t, ctx, show.whip(d), show.key)
	mediaAgain(t, sub, "media from node D through the relay")
	if s := streamStatus(t, show.seller, show.id); s != commerce.StreamLive {
		t.Errorf("record %s, want live", s)
	}
	if n := show.room.count("stream_ended"); n != 0 {
		t.Errorf("the room heard stream_ended %d times", n)
	}
}
