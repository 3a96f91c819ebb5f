package commerce_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveshop/liveshop/commerce"
)

// alertNodes returns the bus as two nodes of one deployment see it.
type alertNodes func(t *testing.T) (commerce.AlertBus, commerce.AlertBus)

func TestAlertBusContract(t *testing.T) {
	buses := map[string]alertNodes{
		"memory": func(t *testing.T) (commerce.AlertBus, commerce.AlertBus) {
			b := commerce.NewMemoryAlerts()
			t.Cleanup(func() { b.Close() })
			return b, b
		},
		"redis": func(t *testing.T) (commerce.AlertBus, commerce.AlertBus) {
			rdb := alertRedis(t)
			b := make([]byte, 6)
			_, _ = rand.Read(b)
			prefix := "test:" + hex.EncodeToString(b) + ":"
			node := func() commerce.AlertBus {
				bus, err := commerce.NewRedisAlerts(context.Background(), rdb, prefix, nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { bus.Close() })
				return bus
			}
			return node(), node()
		},
	}
	for name, nodes := range buses {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runAlertBusContract(t, nodes)
		})
	}
}

func alertRedis(t *testing.T) *redis.Client {
	t.Helper()
	url := os.Getenv("LIVESHOP_TEST_REDIS")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("LIVESHOP_TEST_REDIS is not set; CI must provide a Redis server")
		}
		t.Skip("LIVESHOP_TEST_REDIS is not set; skipping Redis (run .ci/run for every backend)")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("LIVESHOP_TEST_REDIS: %v", err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// receive waits for one alert on ch.
func receive(t *testing.T, ch <-chan commerce.Alert, what string) commerce.Alert {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no alert within 5s", what)
		return commerce.Alert{}
	}
}

func subscribe(t *testing.T, b commerce.AlertBus) (<-chan commerce.Alert, func()) {
	t.Helper()
	ch := make(chan commerce.Alert, 16)
	unsub, err := b.Subscribe(func(a commerce.Alert) { ch <- a })
	if err != nil {
		t.Fatal(err)
	}
	return ch, unsub
}

func runAlertBusContract(t *testing.T, nodes alertNodes) {
	ctx := context.Background()
	t.Run("an alert published on one node reaches subscribers on every node", func(t *testing.T) {
		a, b := nodes(t)
		onA, _ := subscribe(t, a)
		onB, _ := subscribe(t, b)
		sent := commerce.Alert{StreamID: 7, ShopID: 3, ShopHandle: "mara", ShopName: "Mara", Title: "Glaze night",
			URL: "/watch/7", At: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)}
		if err := a.Publish(ctx, sent); err != nil {
			t.Fatal(err)
		}
		for name, ch := range map[string]<-chan commerce.Alert{"node A": onA, "node B": onB} {
			if got := receive(t, ch, name); got != sent {
				t.Errorf("%s got %+v, want %+v", name, got, sent)
			}
		}
	})
	t.Run("alerts arrive in the order they were published", func(t *testing.T) {
		a, b := nodes(t)
		onB, _ := subscribe(t, b)
		for i := range 10 {
			if err := a.Publish(ctx, commerce.Alert{StreamID: int64(i + 1)}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 10 {
			if got := receive(t, onB, "node B"); got.StreamID != int64(i+1) {
				t.Fatalf("alert %d is stream %d", i, got.StreamID)
			}
		}
	})
	t.Run("an unsubscribed subscriber hears nothing more", func(t *testing.T) {
		a, b := nodes(t)
		onA, _ := subscribe(t, a)
		onB, unsub := subscribe(t, b)
		unsub()
		if err := b.Publish(ctx, commerce.Alert{StreamID: 1}); err != nil {
			t.Fatal(err)
		}
		receive(t, onA, "node A")
		select {
		case got := <-onB:
			t.Fatalf("unsubscribed subscriber got %+v", got)
		default:
		}
	})
	t.Run("a closed bus takes no subscribers", func(t *testing.T) {
		a, _ := nodes(t)
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Subscribe(func(commerce.Alert) {}); err == nil {
			t.Fatal("subscribed to a closed bus")
		}
		if err := a.Close(); err != nil {
			t.Fatalf("closing twice: %v", err)
		}
	})
}
