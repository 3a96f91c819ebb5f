// Package bustest is the contract every commerce bus (go-live alerts,
// session evictions) is held to, on the memory bus and on Redis.
package bustest

import (
	"context"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/testenv"

	"github.com/redis/go-redis/v9"
)

// Bus is what every commerce bus (go-live alerts, session evictions)
// offers; one contract test holds each to it on both backends.
type Bus[T any] interface {
	Publish(ctx context.Context, v T) error
	Subscribe(fn func(T)) (unsubscribe func(), err error)
	Close() error
}

// Nodes returns the bus as two nodes of one deployment see it.
type Nodes[T any] func(t *testing.T) (Bus[T], Bus[T])

// Backends are the memory bus (both nodes share it) and the Redis bus
// (one subscription per node on one test prefix) of one kind.
func Backends[T any](memory func() Bus[T], onRedis func(rdb redis.UniversalClient, prefix string) (Bus[T], error)) map[string]Nodes[T] {
	return map[string]Nodes[T]{
		"memory": func(t *testing.T) (Bus[T], Bus[T]) {
			b := memory()
			t.Cleanup(func() { b.Close() })
			return b, b
		},
		"redis": func(t *testing.T) (Bus[T], Bus[T]) {
			rdb, prefix := testenv.Redis(t), testenv.RedisPrefix(t)
			node := func() Bus[T] {
				b, err := onRedis(rdb, prefix)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { b.Close() })
				return b
			}
			return node(), node()
		},
	}
}

// Receive waits for one message on ch.
func Receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: nothing within 5s", what)
		var zero T
		return zero
	}
}

// Subscribe subscribes to b, handing what it hears to the channel it returns.
func Subscribe[T any](t *testing.T, b Bus[T]) (<-chan T, func()) {
	t.Helper()
	ch := make(chan T, 16)
	unsub, err := b.Subscribe(func(v T) { ch <- v })
	if err != nil {
		t.Fatal(err)
	}
	return ch, unsub
}

// Run holds a bus to the contract; message(i) is the i-th of
// distinct messages.
func Run[T comparable](t *testing.T, backends map[string]Nodes[T], message func(i int) T) {
	for name, nodes := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runOn(t, nodes, message)
		})
	}
}

func runOn[T comparable](t *testing.T, nodes Nodes[T], message func(i int) T) {
	ctx := context.Background()
	t.Run("a message published on one node reaches subscribers on every node", func(t *testing.T) {
		a, b := nodes(t)
		onA, _ := Subscribe(t, a)
		onB, _ := Subscribe(t, b)
		sent := message(0)
		if err := a.Publish(ctx, sent); err != nil {
			t.Fatal(err)
		}
		for name, ch := range map[string]<-chan T{"node A": onA, "node B": onB} {
			if got := Receive(t, ch, name); got != sent {
				t.Errorf("%s got %+v, want %+v", name, got, sent)
			}
		}
	})
	t.Run("messages arrive in the order they were published", func(t *testing.T) {
		a, b := nodes(t)
		onB, _ := Subscribe(t, b)
		for i := range 10 {
			if err := a.Publish(ctx, message(i)); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 10 {
			if got := Receive(t, onB, "node B"); got != message(i) {
				t.Fatalf("message %d is %+v, want %+v", i, got, message(i))
			}
		}
	})
	t.Run("an unsubscribed subscriber hears nothing more", func(t *testing.T) {
		a, b := nodes(t)
		onA, _ := Subscribe(t, a)
		onB, unsub := Subscribe(t, b)
		unsub()
		if err := b.Publish(ctx, message(1)); err != nil {
			t.Fatal(err)
		}
		Receive(t, onA, "node A")
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
		if _, err := a.Subscribe(func(T) {}); err == nil {
			t.Fatal("subscribed to a closed bus")
		}
		if err := a.Close(); err != nil {
			t.Fatalf("closing twice: %v", err)
		}
	})
}
