package commerce_test

import (
	"context"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/testenv"

	"github.com/redis/go-redis/v9"
)

// bus is what every commerce bus (go-live alerts, session evictions)
// offers; one contract test holds each to it on both backends.
type bus[T any] interface {
	Publish(ctx context.Context, v T) error
	Subscribe(fn func(T)) (unsubscribe func(), err error)
	Close() error
}

// busNodes returns the bus as two nodes of one deployment see it.
type busNodes[T any] func(t *testing.T) (bus[T], bus[T])

// busBackends are the memory bus (both nodes share it) and the Redis bus
// (one subscription per node on one test prefix) of one kind.
func busBackends[T any](memory func() bus[T], onRedis func(rdb redis.UniversalClient, prefix string) (bus[T], error)) map[string]busNodes[T] {
	return map[string]busNodes[T]{
		"memory": func(t *testing.T) (bus[T], bus[T]) {
			b := memory()
			t.Cleanup(func() { b.Close() })
			return b, b
		},
		"redis": func(t *testing.T) (bus[T], bus[T]) {
			rdb, prefix := testenv.Redis(t), testenv.RedisPrefix(t)
			node := func() bus[T] {
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

// receive waits for one message on ch.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
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

func subscribe[T any](t *testing.T, b bus[T]) (<-chan T, func()) {
	t.Helper()
	ch := make(chan T, 16)
	unsub, err := b.Subscribe(func(v T) { ch <- v })
	if err != nil {
		t.Fatal(err)
	}
	return ch, unsub
}

// runBusContract holds a bus to the contract; message(i) is the i-th of
// distinct messages.
func runBusContract[T comparable](t *testing.T, backends map[string]busNodes[T], message func(i int) T) {
	for name, nodes := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runBusContractOn(t, nodes, message)
		})
	}
}

func runBusContractOn[T comparable](t *testing.T, nodes busNodes[T], message func(i int) T) {
	ctx := context.Background()
	t.Run("a message published on one node reaches subscribers on every node", func(t *testing.T) {
		a, b := nodes(t)
		onA, _ := subscribe(t, a)
		onB, _ := subscribe(t, b)
		sent := message(0)
		if err := a.Publish(ctx, sent); err != nil {
			t.Fatal(err)
		}
		for name, ch := range map[string]<-chan T{"node A": onA, "node B": onB} {
			if got := receive(t, ch, name); got != sent {
				t.Errorf("%s got %+v, want %+v", name, got, sent)
			}
		}
	})
	t.Run("messages arrive in the order they were published", func(t *testing.T) {
		a, b := nodes(t)
		onB, _ := subscribe(t, b)
		for i := range 10 {
			if err := a.Publish(ctx, message(i)); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 10 {
			if got := receive(t, onB, "node B"); got != message(i) {
				t.Fatalf("message %d is %+v, want %+v", i, got, message(i))
			}
		}
	})
	t.Run("an unsubscribed subscriber hears nothing more", func(t *testing.T) {
		a, b := nodes(t)
		onA, _ := subscribe(t, a)
		onB, unsub := subscribe(t, b)
		unsub()
		if err := b.Publish(ctx, message(1)); err != nil {
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
		if _, err := a.Subscribe(func(T) {}); err == nil {
			t.Fatal("subscribed to a closed bus")
		}
		if err := a.Close(); err != nil {
			t.Fatalf("closing twice: %v", err)
		}
	})
}
