package room_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/liveshop/liveshop/room"
)

// busNodes returns a constructor of buses that share rooms: each call is
// one more node.
type busNodes func(t *testing.T, historySize int) func() room.Bus

func memoryBusNodes(t *testing.T, historySize int) func() room.Bus {
	b := room.NewMemoryBus(historySize)
	t.Cleanup(func() { b.Close() })
	return func() room.Bus { return b }
}

func redisBusNodes(t *testing.T, historySize int) func() room.Bus {
	prefix := uniquePrefix(t)
	return func() room.Bus {
		b := room.NewRedisBus(mustRedis(t, strings.TrimSuffix(prefix, ":")), room.RedisBusOptions{Prefix: prefix, HistorySize: historySize})
		t.Cleanup(func() { b.Close() })
		return b
	}
}

func TestBusContract(t *testing.T) {
	for name, nodes := range map[string]busNodes{"memory": memoryBusNodes, "redis": redisBusNodes} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testBusContract(t, nodes)
		})
	}
}

// collector records what a subscription delivered: events and resets in
// msgs, and apart, when the bus said its link was interrupted or recovered
// (as "interrupted@N": after the first N of msgs).
type collector struct {
	mu    sync.Mutex
	msgs  []room.Message
	links []string
}

func (c *collector) deliver(m room.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case m.Interrupted:
		c.links = append(c.links, fmt.Sprintf("interrupted@%d", len(c.msgs)))
	case m.Recovered:
		c.links = append(c.links, fmt.Sprintf("recovered@%d", len(c.msgs)))
	default:
		c.msgs = append(c.msgs, m)
	}
}

func (c *collector) linkNews() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.links)
}

func (c *collector) seqs() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]uint64, len(c.msgs))
	for i, m := range c.msgs {
		out[i] = m.Seq
	}
	return out
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func publishN(t *testing.T, b room.Bus, roomID int64, n int) {
	t.Helper()
	for i := range n {
		if _, err := b.Publish(context.Background(), roomID, fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
}

func testBusContract(t *testing.T, nodes busNodes) {
	ctx := context.Background()

	t.Run("numbers a room's events from 1 without gaps", func(t *testing.T) {
		b := nodes(t, 100)()
		for want := uint64(1); want <= 3; want++ {
			got, err := b.Publish(ctx, 7, []byte("x"))
			if err != nil || got != want {
				t.Fatalf("publish: seq %d, %v; want %d", got, err, want)
			}
		}
		if got, _ := b.Publish(ctx, 8, []byte("x")); got != 1 {
			t.Fatalf("another room starts at %d, want 1", got)
		}
	})

	t.Run("delivers every event once, in order, to subscribers on every node", func(t *testing.T) {
		newNode := nodes(t, 1000)
		a, b := newNode(), newNode()
		var ca, cb collector
		subA, lastA, err := a.Subscribe(ctx, 1, ca.deliver)
		if err != nil {
			t.Fatal(err)
		}
		defer subA.Unsubscribe()
		subB, lastB, err := b.Subscribe(ctx, 1, cb.deliver)
		if err != nil {
			t.Fatal(err)
		}
		defer subB.Unsubscribe()
		if lastA.Seq != 0 || lastB.Seq != 0 {
			t.Fatalf("fresh room reports last seq %d and %d, want 0", lastA.Seq, lastB.Seq)
		}
		if lastA.Epoch == "" || lastA.Epoch != lastB.Epoch {
			t.Fatalf("the nodes report epochs %q and %q, want one, not empty", lastA.Epoch, lastB.Epoch)
		}
		var wg sync.WaitGroup
		for _, pub := range []room.Bus{a, b, a, b} {
			wg.Go(func() { publishN(t, pub, 1, 50) })
		}
		wg.Wait()
		eventually(t, "both nodes got 200 events", func() bool { return ca.count() >= 200 && cb.count() >= 200 })
		want := seqRange(1, 200)
		if got := ca.seqs(); !slices.Equal(got, want) {
			t.Fatalf("node A got %v", got)
		}
		if got := cb.seqs(); !slices.Equal(got, want) {
			t.Fatalf("node B got %v", got)
		}
	})

	t.Run("a subscriber gets only events after the seq Subscribe returns", func(t *testing.T) {
		b := nodes(t, 100)()
		publishN(t, b, 2, 5)
		var c collector
		sub, last, err := b.Subscribe(ctx, 2, c.deliver)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		if last.Seq != 5 {
			t.Fatalf("last = %d, want 5", last.Seq)
		}
		publishN(t, b, 2, 3)
		eventually(t, "3 events", func() bool { return c.count() >= 3 })
		if got := c.seqs(); !slices.Equal(got, seqRange(6, 8)) {
			t.Fatalf("got %v, want 6..8", got)
		}
	})

	t.Run("unsubscribe stops deliveries", func(t *testing.T) {
		newNode := nodes(t, 100)
		b := newNode()
		var stopped, watching collector
		sub, _, _ := b.Subscribe(ctx, 3, stopped.deliver)
		sub2, _, _ := b.Subscribe(ctx, 3, watching.deliver)
		defer sub2.Unsubscribe()
		publishN(t, b, 3, 1)
		eventually(t, "first event", func() bool { return stopped.count() == 1 && watching.count() == 1 })
		sub.Unsubscribe()
		publishN(t, b, 3, 2)
		eventually(t, "later events on the other subscriber", func() bool { return watching.count() == 3 })
		if n := stopped.count(); n != 1 {
			t.Fatalf("unsubscribed subscriber got %d events, want 1", n)
		}
	})

	t.Run("history returns the events after a seq, in order, with their payloads", func(t *testing.T) {
		b := nodes(t, 100)()
		publishN(t, b, 4, 10)
		msgs, err := b.History(ctx, 4, 6, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range msgs {
			got = append(got, fmt.Sprintf("%d:%s", m.Seq, m.Payload))
		}
		want := []string{`7:{"n":6}`, `8:{"n":7}`, `9:{"n":8}`, `10:{"n":9}`}
		if !slices.Equal(got, want) {
			t.Fatalf("history = %v, want %v", got, want)
		}
		if msgs, _ := b.History(ctx, 4, 6, 2); len(msgs) != 2 || msgs[1].Seq != 8 {
			t.Fatalf("limit 2 gave %d messages", len(msgs))
		}
		if msgs, err := b.History(ctx, 4, 10, 0); err != nil || len(msgs) != 0 {
			t.Fatalf("caught-up history = %v, %v; want empty", msgs, err)
		}
		if msgs, err := b.History(ctx, 99, 0, 0); err != nil || len(msgs) != 0 {
			t.Fatalf("empty room history = %v, %v; want empty", msgs, err)
		}
	})

	t.Run("history says ErrHistoryGone when the caller is too far behind", func(t *testing.T) {
		b := nodes(t, 10)()
		publishN(t, b, 5, 300)
		if _, err := b.History(ctx, 5, 2, 0); !errors.Is(err, room.ErrHistoryGone) {
			t.Fatalf("History(after 2 of 300, size 10) err = %v, want ErrHistoryGone", err)
		}
		msgs, err := b.History(ctx, 5, 295, 0)
		if err != nil || len(msgs) != 5 || msgs[0].Seq != 296 {
			t.Fatalf("recent history = %d msgs, %v", len(msgs), err)
		}
	})
}
