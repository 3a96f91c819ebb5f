package room_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveshop/liveshop/room"
	"github.com/liveshop/liveshop/room/redistest"
)

// A Redis crash (SIGKILL) and a restart with no data: the bus tells its
// subscribers at once that it cannot vouch for their numbering. Redis comes
// back refusing writes for a while (here: out of memory; after an outage the
// client itself refuses to dial for up to a second), so the room's counter
// can be read, gone, but not created again: the bus must not reset its
// subscribers onto a numbering it cannot name. Once it can, it resets them
// onto the new counter with that counter's epoch, and never passes an event
// of the new numbering off as the next one of the old.
func TestRedisBusAcrossARedisCrash(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	newBus := func(name string) *room.RedisBus {
		b := room.NewRedisBus(mustRedisAt(t, rs.URL(), name), room.RedisBusOptions{Prefix: "test:"})
		t.Cleanup(func() { b.Close() })
		return b
	}
	sub, pub := newBus("sub"), newBus("pub")
	ctx := context.Background()
	var got collector
	s, at, err := sub.Subscribe(ctx, 1, got.deliver)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unsubscribe()
	publishN(t, pub, 1, 5)
	eventually(t, "5 events", func() bool { return got.count() == 5 })

	rs.Kill()
	eventually(t, "the subscriber is told the bus cannot vouch", func() bool {
		return slices.Equal(got.linkNews(), []string{"interrupted@5"})
	})
	rs.Start("--maxmemory", "1")
	admin := mustRedisAt(t, rs.URL(), "admin")
	eventually(t, "the subscriber tries to create the lost counter", func() bool {
		return refusedCalls(t, admin, "eval") > 0
	})
	if n := got.count(); n != 5 {
		t.Fatalf("the subscriber got %d messages while the counter could not be created, want none after the 5 events", n-5)
	}
	if err := admin.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	// The publisher goes on, past the old numbering's seq.
	published := 0
	eventually(t, "10 events published on the new counter", func() bool {
		if _, err := pub.Publish(ctx, 1, fmt.Appendf(nil, `{"after":%d}`, published)); err == nil {
			published++
		}
		return published == 10
	})
	eventually(t, "the subscriber follows the new counter", func() bool {
		got.mu.Lock()
		defer got.mu.Unlock()
		return got.msgs[len(got.msgs)-1].Seq == 10
	})
	got.mu.Lock()
	msgs := slices.Clone(got.msgs[5:])
	got.mu.Unlock()
	if m := msgs[0]; !m.Reset || m.Epoch == "" || m.Epoch == at.Epoch {
		t.Fatalf("after the crash the subscriber got %+v first, want a reset in a new epoch (was %q)", m, at.Epoch)
	}
	for i, m := range msgs[1:] {
		if want := msgs[0].Seq + 1 + uint64(i); m.Reset || m.Seq != want {
			t.Fatalf("after the reset to %d, message %d is %+v, want seq %d", msgs[0].Seq, i, m, want)
		}
	}
	if news := got.linkNews(); len(news) != 1 {
		t.Fatalf("link news %v: the reset ends the interruption", news)
	}
}

// refusedCalls counts the calls of cmd that Redis refused or that failed
// (INFO commandstats).
func refusedCalls(t *testing.T, rdb *redis.Client, cmd string) int {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(info, "\r\n") {
		stats, ok := strings.CutPrefix(line, "cmdstat_"+cmd+":")
		if !ok {
			continue
		}
		for _, kv := range strings.Split(stats, ",") {
			k, v, _ := strings.Cut(kv, "=")
			if k == "rejected_calls" || k == "failed_calls" {
				x, _ := strconv.Atoi(v)
				n += x
			}
		}
	}
	return n
}

// Two nodes lose Redis (SIGKILL) and get it back empty. While a node's
// link is down it does not vouch for its numbering: a client resuming there
// gets a fresh snapshot, not a replay. When Redis is back, both nodes move
// to the new numbering (one new epoch) and send the viewers who stayed a
// snapshot that continues their view, with the comments they missed, each
// once, and the removal a moderator made while Redis was down (stored, but
// never announced); a resume in the new epoch then replays.
func TestRoomsAcrossARedisCrash(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	s := redisSharedAt(t, rs.URL(), "test:")
	a, b := startNode(t, s, quiet), startNode(t, s, quiet)
	poster, m := a.dial(t, streamID, viewer2, -1), a.dial(t, streamID, mod, -1)
	onA, onB := a.dial(t, streamID, "", -1), b.dial(t, streamID, "", -1)
	leaver := b.dial(t, streamID, viewer, -1)
	old := decode[snapshot](t, onA.next("snapshot").Data).Epoch
	for _, c := range []*client{poster, m, onB, leaver} {
		c.next("snapshot")
	}
	var acked []int64
	for i := range 5 {
		acked = append(acked, poster.comment(fmt.Sprint("before", i), "before the crash").ID)
	}
	for _, c := range []*client{onA, onB, leaver} {
		eventually(t, "the viewers see the comments", func() bool { return c.sawComment(acked[4]) })
	}
	since := leaver.lastSeq()
	leaver.ws.CloseNow()

	rs.Kill()
	eventually(t, "both nodes notice", func() bool {
		return metricValue(t, a.reg, "liveshop_room_bus_reconnects_total") > 0 &&
			metricValue(t, b.reg, "liveshop_room_bus_reconnects_total") > 0
	})
	back := b.resume(t, streamID, viewer, since, old)
	if first := back.first(); first.Type != "snapshot" {
		t.Fatalf("a resume while the node cannot vouch for its numbering got %s, want a snapshot", first.Type)
	}
	m.send(map[string]any{"type": "remove_comment", "id": "rm", "comment_id": acked[1]})
	if e := m.refusal("rm"); e.Code != "unavailable" {
		t.Fatalf("removing a comment while Redis is down: %+v", e)
	}

	rs.Start()
	for i := range 5 {
		acked = append(acked, poster.commentRetrying(fmt.Sprint("after", i), "after the crash").ID)
	}
	var epochs []string
	for name, c := range map[string]*client{"A": onA, "B": onB} {
		eventually(t, "the viewer on "+name+" sees every comment", func() bool {
			return !slices.ContainsFunc(acked, func(id int64) bool { return !c.sawComment(id) })
		})
		if shown := c.shownIDs(); !slices.Equal(shown, acked) {
			t.Errorf("the viewer on %s was shown %v, want %v once each, in order", name, shown, acked)
		}
		snaps := c.all("snapshot")
		last := decode[snapshot](t, snaps[len(snaps)-1].Data)
		if len(snaps) != 2 || !last.Continues || last.Epoch == old {
			t.Errorf("the viewer on %s got %d snapshots, the last %+v: want one that continues, in a new epoch", name, len(snaps), last)
		}
		missed := c.all("missed")
		if len(missed) != 1 || !slices.Equal(decode[struct{ Removed []int64 }](t, missed[0].Data).Removed, acked[1:2]) {
			t.Errorf("the viewer on %s got missed events %v, want one that removes comment %d", name, missed, acked[1])
		}
		epochs = append(epochs, last.Epoch)
	}
	if epochs[0] != epochs[1] {
		t.Fatalf("the nodes moved to epochs %v, want one", epochs)
	}

	// In the new epoch the node vouches again: a resume replays.
	onB.ws.CloseNow()
	again := b.resume(t, streamID, viewer, onB.lastSeq(), epochs[0])
	if first := again.first(); first.Type != "resumed" {
		t.Fatalf("a resume in the new epoch got %s, want resumed", first.Type)
	}
}

// commentRetrying sends a comment until it is acknowledged, with the same
// cid each time (as room.js does), every 20ms while it is refused.
func (c *client) commentRetrying(cid, text string) commentData {
	c.t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(15 * time.Second)
	for try := 0; time.Now().Before(deadline); try++ {
		id := fmt.Sprintf("%s-%d", cid, try)
		c.send(map[string]any{"type": "comment", "id": id, "cid": cid, "text": text})
		var ack *commentData
		eventually(c.t, "an answer to "+id, func() bool {
			e, ok := c.answer(id)
			if ok && e.Type == "ack" {
				d := decode[struct{ Comment commentData }](c.t, e.Data)
				ack = &d.Comment
			}
			return ok
		})
		if ack != nil {
			return *ack
		}
		<-tick.C
	}
	c.t.Fatalf("comment %s was never acknowledged", cid)
	return commentData{}
}

// answer returns the ack or error answering command id, if it came.
func (c *client) answer(id string) (event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.events {
		var d struct{ ID string }
		if (e.Type == "ack" || e.Type == "error") && json.Unmarshal(e.Data, &d) == nil && d.ID == id {
			return e, true
		}
	}
	return event{}, false
}

// shownIDs lists the comments the client was shown, in order: comment
// events, and the comments of snapshots and missed events.
func (c *client) shownIDs() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int64
	for _, e := range c.events {
		switch e.Type {
		case "comment":
			out = append(out, decode[commentData](c.t, e.Data).ID)
		case "snapshot", "missed":
			for _, cm := range decode[snapshot](c.t, e.Data).Comments {
				out = append(out, cm.ID)
			}
		}
	}
	return out
}

// A room whose resync fails (here: the Redis holding the limits, where the
// resync writes mutes, bans and slow mode back, is down) tries again until
// it succeeds. Meanwhile it does not vouch for its numbering: a resume gets
// a snapshot. When it succeeds, the viewer who stayed gets the snapshot
// that continues its view, in the new epoch, and then what follows.
func TestRoomResyncIsRetriedUntilItSucceeds(t *testing.T) {
	busRedis, limitsRedis := redistest.Start(t, redistest.Options{}), redistest.Start(t, redistest.Options{})
	s := redisSharedAt(t, busRedis.URL(), "test:")
	s.limits = func() room.Limits { return room.NewRedisLimits(mustRedisAt(t, limitsRedis.URL(), "limits"), "test:") }
	n := startNode(t, s, quiet)
	poster, v := n.dial(t, streamID, viewer2, -1), n.dial(t, streamID, "", -1)
	poster.next("snapshot")
	old := decode[snapshot](t, v.next("snapshot").Data).Epoch
	var acked []int64
	for i := range 3 {
		acked = append(acked, poster.comment(fmt.Sprint("before", i), "before the loss").ID)
	}
	eventually(t, "the viewer sees the comments", func() bool { return v.sawComment(acked[2]) })

	limitsRedis.Kill()
	if err := mustRedisAt(t, busRedis.URL(), "admin").FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the resync to fail twice", func() bool {
		return metricValue(t, n.reg, "liveshop_room_resync_failures_total") >= 2
	})
	// Events go on in the new numbering (the bus's Redis is fine)...
	for range 3 {
		if _, err := n.hub.Publish(context.Background(), streamID, room.Event{Type: room.EventPurchase,
			Data: room.Purchase{Buyer: "Someone", ProductID: productID, ProductTitle: "Linen shirt", Quantity: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	// ...but a resume in it is not served until the room has resynced.
	back := n.dial(t, streamID, viewer, 1)
	if first := back.first(); first.Type != "snapshot" {
		t.Fatalf("a resume while the room cannot resync got %s, want a snapshot", first.Type)
	}
	if snaps := v.all("snapshot"); len(snaps) != 1 {
		t.Fatalf("the viewer got %d snapshots before the resync succeeded, want only its first", len(snaps))
	}

	limitsRedis.Start()
	eventually(t, "the viewer gets the resync's snapshot", func() bool { return len(v.all("snapshot")) == 2 })
	snaps := v.all("snapshot")
	if last := decode[snapshot](t, snaps[1].Data); !last.Continues || last.Epoch == old || last.Epoch == "" {
		t.Fatalf("the resync's snapshot %+v, want one that continues in a new epoch (old %q)", last, old)
	}
	acked = append(acked, poster.commentRetrying("after", "after the resync").ID)
	eventually(t, "the viewer sees the next comment", func() bool { return v.sawComment(acked[3]) })
	if shown := v.shownIDs(); !slices.Equal(shown, acked) {
		t.Fatalf("the viewer was shown %v, want %v once each", shown, acked)
	}
}

// A resync sends what SQL has and the connections were not shown, whatever
// the reason they were not (here: comments stored whose publish never
// happened): visible ones to everyone, held ones to moderators only. More
// than a resync sends, and the connections get the latest page instead,
// marked gap.
func TestRoomResyncSendsWhatSQLHas(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	s := redisSharedAt(t, rs.URL(), "test:")
	n := startNode(t, s, quiet)
	v, m := n.dial(t, streamID, "", -1), n.dial(t, streamID, mod, -1)
	v.next("snapshot")
	m.next("snapshot")
	store := func(text, status string) int64 {
		c, _, err := s.store.CreateComment(context.Background(), room.Comment{StreamID: streamID, ShopID: shopID,
			AuthorID: viewerID, AuthorName: "Vic Viewer", Text: text, Status: status, CreatedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	flush := func() {
		t.Helper()
		if err := mustRedisAt(t, rs.URL(), "admin").FlushAll(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
	}
	missedIDs := func(c *client) []int64 {
		var ids []int64
		for _, e := range c.all("missed") {
			for _, cm := range decode[snapshot](t, e.Data).Comments {
				ids = append(ids, cm.ID)
			}
		}
		return ids
	}

	a, held, b := store("one", room.CommentVisible), store("held one", room.CommentHeld), store("two", room.CommentVisible)
	flush()
	for _, c := range []*client{v, m} {
		eventually(t, "the resync", func() bool { return len(c.all("missed")) == 1 })
	}
	if got := missedIDs(v); !slices.Equal(got, []int64{a, b}) {
		t.Errorf("the viewer missed %v, want %v", got, []int64{a, b})
	}
	if got := missedIDs(m); !slices.Equal(got, []int64{a, held, b}) {
		t.Errorf("the moderator missed %v, want %v with the held one", got, []int64{a, held, b})
	}

	for i := range 1001 {
		store(fmt.Sprint("many ", i), room.CommentVisible)
	}
	flush()
	eventually(t, "the second resync", func() bool { return len(v.all("snapshot")) == 3 })
	snaps := v.all("snapshot")
	last := decode[snapshot](t, snaps[2].Data)
	if !last.Gap || last.Continues || len(last.Comments) != 50 || last.Comments[49].Text != "many 1000" {
		t.Fatalf("after 1,001 missed comments the snapshot has gap %v, continues %v, %d comments: want the latest 50, marked gap",
			last.Gap, last.Continues, len(last.Comments))
	}
	if len(v.all("missed")) != 1 {
		t.Fatal("a gap snapshot came with a missed event")
	}
}
