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

// rotatable is an authorizer whose keys the seller can rotate, as commerce
// does: the old key answers 401 from then on.
type rotatable struct {
	mu sync.Mutex
	keys
}

func (r *rotatable) AuthorizePublish(ctx context.Context, id int64, key string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys.AuthorizePublish(ctx, id, key)
}

func (r *rotatable) StreamExists(ctx context.Context, id int64) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys.StreamExists(ctx, id)
}

func (r *rotatable) rotate(id int64, key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys[id] = key
}

// waitDown waits for a client's connection to fail or close.
func waitDown(t testing.TB, what string, down <-chan struct{}) {
	t.Helper()
	select {
	case <-down:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s stayed connected", what)
	}
}

// TestRotatingTheKeyCutsOffItsPublisher: a seller rotates the stream key
// because it leaked. The encoder using the old key is closed at once on
// the node told of the rotation; the stream waits in its grace period, so
// the seller's encoder with the new key continues it for the viewers; the
// old key publishes nothing any more.
func TestRotatingTheKeyCutsOffItsPublisher(t *testing.T) {
	auth := &rotatable{keys: keys{1: "key-1"}}
	// Re-checks an hour apart: only the notice can pass this test.
	n := startNode(t, nodeOptions{auth: auth, cfg: live.Config{OriginTTL: time.Hour, PublisherGrace: 10 * time.Second}})
	ctx := context.Background()
	old, _ := publish(t, n, 1, "key-1", liveclient.PublishOptions{})
	sub := subscribe(t, n.whep(1))
	eventually(t, "media", 10*time.Second, func() bool { return sub.Keyframes.Load() > 0 })

	auth.rotate(1, "key-1b")
	n.sfu.StreamKeyRotated(ctx, 1)

	t.Run("the publisher with the old key is closed", func(t *testing.T) {
		waitDown(t, "the old key's publisher", old.Down())
		eventually(t, "its session gone", 10*time.Second, func() bool { return n.sfu.Stats().Publishers == 0 })
	})
	t.Run("the stream waits for a publisher in its grace period", func(t *testing.T) {
		if !n.sfu.IsLive(ctx, 1) || n.sfu.Stats().Viewers != 1 {
			t.Fatalf("live %v, stats %+v", n.sfu.IsLive(ctx, 1), n.sfu.Stats())
		}
	})
	t.Run("the old key cannot publish again", func(t *testing.T) {
		_, err := liveclient.Publish(ctx, n.whip(1), liveclient.PublishOptions{Network: testNet, Key: "key-1", Client: testClient})
		var se *liveclient.StatusError
		if !errors.As(err, &se) || se.Status != 401 {
			t.Fatalf("publish with the old key: %v, want 401", err)
		}
	})
	t.Run("the new key continues the show for its viewers", func(t *testing.T) {
		keyframes := sub.Keyframes.Load()
		publish(t, n, 1, "key-1b", liveclient.PublishOptions{})
		eventually(t, "media from the new key's publisher", 10*time.Second, func() bool { return sub.Keyframes.Load() > keyframes })
		if got := n.events.list(); !slices.Equal(got, []string{"started 1"}) {
			t.Fatalf("events %v, want the show to go on", got)
		}
	})
}

// TestRotationReachesThePublisherOnAnotherNode: the node that served the
// rotation does not hold the publisher; the origin finds the old key
// refused when it re-checks its publisher's key (every third of the
// origin TTL) and closes it.
func TestRotationReachesThePublisherOnAnotherNode(t *testing.T) {
	auth := &rotatable{keys: keys{1: "key-1"}}
	registry := live.NewMemoryRegistry()
	cfg := live.Config{OriginTTL: 900 * time.Millisecond, PublisherGrace: 10 * time.Second}
	a := startNode(t, nodeOptions{auth: auth, registry: registry, cfg: withNode(cfg, "node-a")})
	b := startNode(t, nodeOptions{auth: auth, registry: registry, cfg: withNode(cfg, "node-b")})
	old, _ := publish(t, a, 1, "key-1", liveclient.PublishOptions{})
	onB := subscribe(t, b.whep(1))
	eventually(t, "media on B", 15*time.Second, func() bool { return onB.Keyframes.Load() > 0 })

	auth.rotate(1, "key-1b")
	b.sfu.StreamKeyRotated(context.Background(), 1) // B relays: nothing to do here
	waitDown(t, "the old key's publisher on A", old.Down())
	eventually(t, "its session on A gone", 10*time.Second, func() bool { return a.sfu.Stats().Publishers == 0 })
	keyframes := onB.Keyframes.Load()
	publish(t, a, 1, "key-1b", liveclient.PublishOptions{})
	eventually(t, "B's viewer sees the new key's publisher", 15*time.Second, func() bool { return onB.Keyframes.Load() > keyframes })
}
