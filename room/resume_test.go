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

// A client that resumes with the epoch of a numbering that started again
// since (Redis lost the room's keys; the process restarted with the memory
// bus) gets a fresh snapshot, never the new numbering's events after its
// old seq. One that resumes with the current epoch gets what it missed.
func TestResumeAcrossEpochs(t *testing.T) {
	// comments posts n comments as w.
	comments := func(w *client, tag string, n uint64) {
		for i := range n {
			c := w.comment(fmt.Sprint(tag, i), fmt.Sprint(tag, " ", i))
			eventually(w.t, "the comment arrives", func() bool { return w.sawComment(c.ID) })
		}
	}
	// away joins a poster (who keeps the room open) and a viewer on n,
	// posts 5 comments and disconnects the viewer, returning the poster,
	// the epoch and the seq the viewer will resume from.
	away := func(t *testing.T, n *node) (w *client, epoch string, since uint64) {
		w = n.dial(t, streamID, viewer2, -1)
		v := n.dial(t, streamID, viewer, -1)
		w.next("snapshot")
		epoch = decode[snapshot](t, v.next("snapshot").Data).Epoch
		if epoch == "" {
			t.Fatal("the snapshot carries no epoch")
		}
		comments(w, "before", 5)
		since = w.lastSeq()
		eventually(t, "the viewer has every event", func() bool { return v.lastSeq() == since })
		v.ws.CloseNow()
		return w, epoch, since
	}
	// check resumes as viewer on n with since and the old epoch: it must
	// get a snapshot of the room's current epoch and seq, and nothing
	// replayed; then with the current epoch it resumes.
	check := func(t *testing.T, n *node, w *client, since uint64, old string) {
		t.Helper()
		now := w.lastSeq()
		if now <= since {
			t.Fatalf("the new numbering is at %d, not past the old seq %d: the test proves nothing", now, since)
		}
		back := n.resume(t, streamID, viewer, since, old)
		first := back.first()
		if first.Type != "snapshot" {
			t.Fatalf("resuming with the old epoch got %s first, want a snapshot", first.Type)
		}
		snap := decode[snapshot](t, first.Data)
		if snap.Epoch == "" || snap.Epoch == old || first.Seq != now {
			t.Fatalf("snapshot at seq %d of epoch %q, want seq %d of a new epoch (old %q)", first.Seq, snap.Epoch, now, old)
		}
		probe := w.comment(fmt.Sprint("probe", now), "after the resume")
		eventually(t, "the resumed client gets the next comment", func() bool {
			evs := back.all("comment")
			return len(evs) > 0 && decode[commentData](t, evs[len(evs)-1].Data).ID == probe.ID
		})
		if n := len(back.all("resumed")) + len(back.all("snapshot")); n != 1 {
			t.Fatalf("the client got %d resumed or snapshot events, want the one snapshot", n)
		}
		back.ws.CloseNow()

		// With the current epoch the same resume replays.
		again := n.resume(t, streamID, viewer, now, snap.Epoch)
		if first := again.first(); first.Type != "resumed" {
			t.Fatalf("resuming with the current epoch got %s first, want resumed", first.Type)
		}
		res := decode[struct {
			Missed int
			Epoch  string
		}](t, again.first().Data)
		if res.Missed != 1 || res.Epoch != snap.Epoch {
			t.Fatalf("resumed = %+v, want 1 missed in epoch %q", res, snap.Epoch)
		}
		again.ws.CloseNow()
	}

	t.Run("an epoch longer than 64 bytes is refused with 400", func(t *testing.T) {
		n := startNode(t, memoryShared(t), quiet)
		_, resp, err := n.tryDialQuery(t, streamID, viewer, "?since=1&epoch="+strings.Repeat("e", 65), nil)
		if err == nil || resp == nil || resp.StatusCode != 400 {
			t.Fatalf("dial with a long epoch: %v (%v), want 400", err, resp)
		}
	})

	t.Run("redis: the room's keys were lost while the client was away", func(t *testing.T) {
		s := redisShared(t)
		a, b := startNode(t, s, quiet), startNode(t, s, quiet)
		w, old, since := away(t, a)
		loseRedisKeys(t, s.prefix)
		// The room on A notices and gives its clients a fresh snapshot.
		if e := decode[snapshot](t, w.next("snapshot").Data).Epoch; e == old || e == "" {
			t.Fatalf("the room reset to epoch %q, want a new one (old %q)", e, old)
		}
		comments(w, "after", since+2)
		check(t, a, w, since, old)
		check(t, b, w, since, old) // B opens the room on the new counter
	})

	t.Run("memory: the server restarted while the client was away", func(t *testing.T) {
		s := memoryShared(t)
		a := startNode(t, s, quiet)
		w, old, since := away(t, a)
		w.ws.CloseNow()
		a.hub.Close()

		// The restarted server has the same store (SQL) and a new bus.
		restarted := memoryShared(t)
		restarted.store, restarted.dir = s.store, s.dir
		n := startNode(t, restarted, quiet)
		w = n.dial(t, streamID, viewer2, -1)
		w.next("snapshot")
		comments(w, "after", since+2)
		check(t, n, w, since, old)
	})
}
