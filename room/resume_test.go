package room_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/liveshop/liveshop/room"
)

// quiet keeps periodic events (viewer counts) out of tests that count events.
func quiet(c *room.Config) { c.ViewerInterval = time.Hour }

func TestResume(t *testing.T) {
	for name, mk := range map[string]func(*testing.T) *shared{"memory": memoryShared, "redis": redisShared} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			t.Run("a client that reconnects with its last seq gets exactly the 100 events it missed, in order", func(t *testing.T) {
				s := mk(t)
				a := startNode(t, s, quiet)
				b := startNode(t, s, quiet) // a second node, on which the room is not open yet
				v := a.dial(t, streamID, viewer, -1)
				w := a.dial(t, streamID, viewer2, -1)
				v.next("snapshot")
				w.next("snapshot")
				w.comment("warm", "the room has history")
				last := v.next("comment").Seq
				v.ws.CloseNow()
				for i := range 100 {
					if i%2 == 0 {
						w.comment(fmt.Sprint("m", i), fmt.Sprint("missed ", i))
					} else {
						a.hub.Publish(context.Background(), streamID, room.Event{Type: room.EventPurchase,
							Data: room.Purchase{Buyer: "someone", ProductID: productID, Quantity: int64(i)}})
					}
				}
				w.ack("m98")
				for _, n := range []*node{a, b} {
					back := n.dial(t, streamID, viewer, int64(last))
					res := decode[struct {
						After  uint64
						Missed int
					}](t, back.next("resumed").Data)
					if res.After != last || res.Missed != 100 {
						t.Errorf("resumed = %+v, want after %d, 100 missed", res, last)
					}
					eventually(t, "100 events replayed", func() bool { return len(back.events) >= 101 })
					back.mu.Lock()
					evs := back.events[1:]
					back.mu.Unlock()
					if len(evs) != 100 {
						t.Fatalf("got %d events after resumed, want 100", len(evs))
					}
					for i, e := range evs {
						if e.Seq != last+1+uint64(i) {
							t.Fatalf("event %d has seq %d, want %d", i, e.Seq, last+1+uint64(i))
						}
						want := "comment"
						if i%2 == 1 {
							want = "purchase"
						}
						if e.Type != want {
							t.Fatalf("event %d is %s, want %s", i, e.Type, want)
						}
					}
					if len(back.all("snapshot")) != 0 {
						t.Error("a resumable client also got a snapshot")
					}
					back.ws.CloseNow()
				}
			})

			t.Run("a client too far behind gets a fresh snapshot", func(t *testing.T) {
				s := mk(t)
				s.history = 10
				n := startNode(t, s, func(c *room.Config) { quiet(c); c.HistorySize = 10 })
				w := n.dial(t, streamID, viewer2, -1)
				w.next("snapshot")
				for i := range 300 {
					n.hub.Publish(context.Background(), streamID, room.Event{Type: room.EventPurchase, Data: room.Purchase{Buyer: fmt.Sprint(i)}})
				}
				eventually(t, "300 purchases", func() bool { return len(w.all("purchase")) == 300 })
				back := n.dial(t, streamID, viewer, 1)
				snap := back.next("snapshot")
				if snap.Seq != 300 {
					t.Errorf("snapshot seq = %d, want 300", snap.Seq)
				}
				if len(back.all("resumed")) != 0 {
					t.Error("got a partial resume")
				}
			})
		})
	}
}

func TestSlowClient(t *testing.T) {
	n := startNode(t, memoryShared(t), func(c *room.Config) {
		quiet(c)
		c.QueueSize = 64
		// Long enough that a fast client on a busy test machine is never cut.
		c.WriteTimeout = 3 * time.Second
	})
	slow, _, err := n.tryDialRaw(t, streamID)
	if err != nil {
		t.Fatal(err)
	}
	fast := []*client{n.dial(t, streamID, viewer, -1), n.dial(t, streamID, "", -1), n.dial(t, streamID, "", -1)}
	for _, c := range fast {
		c.next("snapshot")
	}
	big := strings.Repeat("x", 16<<10)
	const events = 600 // 9.6 MB: more than the socket buffers hold
	var worst time.Duration
	for i := range events {
		n.hub.Publish(context.Background(), streamID, room.Event{Type: room.EventPurchase, Data: room.Purchase{Buyer: big, Quantity: int64(i)}})
		if i%20 == 19 {
			// Each fast client keeps up while the slow one is stuck (and
			// never falls far enough behind to overflow, even on a busy
			// machine).
			start := time.Now()
			for k, c := range fast {
				eventually(t, "fast clients keep receiving", func() bool {
					if !c.isOpen() {
						t.Fatalf("fast client %d was closed: %v", k, c.err)
					}
					return len(c.all("purchase")) == i+1
				})
			}
			worst = max(worst, time.Since(start))
		}
	}
	eventually(t, "the slow client is dropped", func() bool {
		return metricValue(t, n.reg, "liveshop_room_dropped_slow_clients_total") == 1
	})
	for _, c := range fast {
		if !c.isOpen() {
			t.Fatal("a fast client was closed")
		}
	}
	// The slow client finds its connection closed once it reads again.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, _, err := slow.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the slow client's connection stayed open")
			}
			break
		}
	}
	t.Logf("worst wait for fast clients to catch up on 20 events: %v", worst)
}
