package room_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

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

// A client that stops reading is dropped with 4008 once its queue
// overflows, while the others keep receiving every event. Nothing is timed:
// after each event the test waits until every fast client has it and then
// reads the drop counter; afterwards it reads what the slow client did get.
// Steps where the fast clients had the event, the slow client was still
// connected and never got that event show the fast clients were up to date
// while the slow one was stalled.
func TestSlowClient(t *testing.T) {
	n := startNode(t, memoryShared(t), func(c *room.Config) {
		quiet(c)
		c.QueueSize = 64
		// The drop must come from the queue overflowing, never from the
		// stuck-write watchdog (which cuts the socket without a close code).
		c.WriteTimeout = time.Hour
	})
	slow, _, err := n.tryDialRaw(t, streamID)
	if err != nil {
		t.Fatal(err)
	}
	fast := []*client{n.dial(t, streamID, viewer, -1), n.dial(t, streamID, "", -1), n.dial(t, streamID, "", -1)}
	for _, c := range fast {
		c.next("snapshot")
	}
	dropped := func() float64 { return metricValue(t, n.reg, "liveshop_room_dropped_slow_clients_total") }
	big := strings.Repeat("x", 16<<10)
	publish := func(i int) {
		if _, err := n.hub.Publish(context.Background(), streamID, room.Event{Type: room.EventPurchase,
			Data: room.Purchase{Buyer: big, Quantity: int64(i)}}); err != nil {
			t.Fatal(err)
		}
		for k, c := range fast {
			eventually(t, "fast clients have every event", func() bool {
				if !c.isOpen() {
					t.Fatalf("fast client %d was closed: %v", k, c.err)
				}
				return len(c.all("purchase")) == i+1
			})
		}
	}
	// With the socket buffers full (16 KiB events into an 8 KiB receive
	// buffer) the slow client's queue fills and overflows.
	upToDate := -1 // the last event every fast client had before the drop
	i := 0
	for ; dropped() == 0; i++ {
		if i == 3000 {
			t.Fatal("the slow client was never dropped")
		}
		publish(i)
		if dropped() == 0 {
			upToDate = i
		}
	}
	for end := i + 20; i < end; i++ {
		publish(i) // the room goes on without the slow client
	}
	if dropped() != 1 {
		t.Fatalf("%v clients dropped, want 1 (the slow one)", dropped())
	}

	// The slow client reads at last: what was written before the drop,
	// then the close.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := -1
	for {
		_, data, err := slow.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatal("the slow client's connection stayed open")
			}
			if code := websocket.CloseStatus(err); code != room.CloseSlowConsumer {
				t.Fatalf("slow client closed with %d (%v), want %d", code, err, room.CloseSlowConsumer)
			}
			break
		}
		var evs []event
		if err := json.Unmarshal(data, &evs); err != nil {
			t.Fatalf("slow client frame: %v", err)
		}
		for _, e := range evs {
			if e.Type == "purchase" {
				got = max(got, int(decode[room.Purchase](t, e.Data).Quantity))
			}
		}
	}
	if upToDate <= got {
		t.Fatalf("the slow client got events up to %d; the fast clients were last seen up to date before the drop at %d: never while it was stalled", got, upToDate)
	}
	t.Logf("slow client got events 0-%d; fast clients had every event up to %d while it was stalled, then it was dropped", got, upToDate)
}
