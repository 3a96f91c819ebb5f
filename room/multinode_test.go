package room_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/liveshop/liveshop/room"
)

// Two hubs with their own Redis clients share rooms through Redis.
func TestTwoNodes(t *testing.T) {
	t.Run("a viewer on node B sees a comment posted on node A and its removal by a moderator on A", func(t *testing.T) {
		s := redisShared(t)
		a, b := startNode(t, s, nil), startNode(t, s, nil)
		poster := a.dial(t, streamID, viewer, -1)
		m := a.dial(t, streamID, mod, -1)
		watcher := b.dial(t, streamID, viewer2, -1)
		for _, c := range []*client{poster, m, watcher} {
			c.next("snapshot")
		}
		sent := poster.comment("c1", "hello from A")
		got := decode[commentData](t, watcher.next("comment").Data)
		if got.ID != sent.ID || got.Text != "hello from A" {
			t.Fatalf("B saw %+v", got)
		}
		m.send(map[string]any{"type": "remove_comment", "id": "rm", "comment_id": sent.ID})
		m.ack("rm")
		if got := decode[struct{ ID int64 }](t, watcher.next("comment_removed").Data); got.ID != sent.ID {
			t.Fatalf("B saw removal of %d", got.ID)
		}
		late := b.dial(t, streamID, "", -1)
		if snap := decode[snapshot](t, late.next("snapshot").Data); len(snap.Comments) != 0 {
			t.Fatalf("a new viewer on B sees removed comments: %+v", snap.Comments)
		}
	})

	t.Run("a muted user is refused on both nodes and told on the node they watch from", func(t *testing.T) {
		s := redisShared(t)
		a, b := startNode(t, s, nil), startNode(t, s, nil)
		m := a.dial(t, streamID, mod, -1)
		onA := a.dial(t, streamID, viewer, -1)
		onB := b.dial(t, streamID, viewer, -1)
		for _, c := range []*client{m, onA, onB} {
			c.next("snapshot")
		}
		m.send(map[string]any{"type": "mute", "id": "mu", "user_id": viewerID, "minutes": 5})
		m.ack("mu")
		onB.next("muted")
		onA.next("muted")
		for _, c := range []*client{onA, onB} {
			c.send(map[string]any{"type": "comment", "id": "x", "text": "let me speak"})
			if e := c.refusal("x"); e.Code != "muted" {
				t.Fatalf("muted user's comment: %+v", e)
			}
		}
	})

	t.Run("a ban on node A disconnects the viewer on node B", func(t *testing.T) {
		s := redisShared(t)
		a, b := startNode(t, s, nil), startNode(t, s, nil)
		m := a.dial(t, streamID, mod, -1)
		onB := b.dial(t, streamID, viewer, -1)
		m.next("snapshot")
		onB.next("snapshot")
		m.send(map[string]any{"type": "ban", "id": "b", "user_id": viewerID})
		m.ack("b")
		onB.next("banned")
		if code := onB.closeStatus(); code != room.CloseBanned {
			t.Fatalf("close code = %d", code)
		}
	})

	t.Run("a ban through the API without a stream closes the viewer of another stream of the shop on node B", func(t *testing.T) {
		s := redisShared(t)
		a, b := startNode(t, s, nil), startNode(t, s, nil)
		onB := b.dial(t, stream2ID, viewer, -1)
		other := b.dial(t, stream2ID, viewer2, -1)
		onB.next("snapshot")
		other.next("snapshot")
		if code, body := a.api(t, "POST", fmt.Sprintf("/shops/%d/bans", shopID), mod, map[string]any{"user_id": viewerID}); code != 204 {
			t.Fatalf("ban: %d %s", code, body)
		}
		onB.next("banned")
		if code := onB.closeStatus(); code != room.CloseBanned {
			t.Fatalf("close code = %d, want %d", code, room.CloseBanned)
		}
		other.comment("still", "still here")
		if len(other.all("banned")) != 0 || !other.isOpen() {
			t.Fatal("the ban reached another viewer")
		}
	})

	t.Run("a mute in one stream on node A reaches the user watching another stream of the shop on node B", func(t *testing.T) {
		s := redisShared(t)
		a, b := startNode(t, s, nil), startNode(t, s, nil)
		m := a.dial(t, streamID, mod, -1)
		onB := b.dial(t, stream2ID, viewer, -1)
		m.next("snapshot")
		onB.next("snapshot")
		m.send(map[string]any{"type": "mute", "id": "mu", "user_id": viewerID, "minutes": 5})
		m.ack("mu")
		if got := decode[struct {
			UserID int64 `json:"user_id"`
		}](t, onB.next("muted").Data); got.UserID != viewerID {
			t.Fatalf("muted event for %d", got.UserID)
		}
		onB.send(map[string]any{"type": "comment", "id": "x", "text": "let me speak"})
		if e := onB.refusal("x"); e.Code != "muted" {
			t.Fatalf("muted user's comment: %+v", e)
		}
	})

	t.Run("a like or comment refused because of a ban the connection missed closes it", func(t *testing.T) {
		s := redisShared(t)
		a, b := startNode(t, s, nil), startNode(t, s, nil)
		liker := a.dial(t, streamID, viewer, -1)
		talker := b.dial(t, stream2ID, viewer, -1)
		liker.next("snapshot")
		talker.next("snapshot")
		// The ban reaches the shared limits but not the rooms (its events
		// were lost).
		if err := s.limits().SetBan(context.Background(), shopID, viewerID, true); err != nil {
			t.Fatal(err)
		}
		liker.send(map[string]any{"type": "like", "id": "l"})
		talker.send(map[string]any{"type": "comment", "id": "c", "text": "hi"})
		for _, c := range []struct {
			cl *client
			id string
		}{{liker, "l"}, {talker, "c"}} {
			if e := c.cl.refusal(c.id); e.Code != "banned" {
				t.Fatalf("command %s: %+v", c.id, e)
			}
			if code := c.cl.closeStatus(); code != room.CloseBanned {
				t.Fatalf("command %s: close code = %d, want %d", c.id, code, room.CloseBanned)
			}
		}
	})

	t.Run("slow mode set on node A holds on node B", func(t *testing.T) {
		s := redisShared(t)
		a, b := startNode(t, s, nil), startNode(t, s, nil)
		m := a.dial(t, streamID, mod, -1)
		onB := b.dial(t, streamID, viewer, -1)
		onA := a.dial(t, streamID, viewer, -1)
		m.next("snapshot")
		onB.next("snapshot")
		onA.next("snapshot")
		m.send(map[string]any{"type": "slow_mode", "id": "s", "seconds": 30})
		m.ack("s")
		onB.next("slow_mode")
		onB.comment("1", "first")
		onA.send(map[string]any{"type": "comment", "id": "2", "text": "second, from the other node"})
		if e := onA.refusal("2"); e.Code != "slow_mode" {
			t.Fatalf("second comment: %+v", e)
		}
	})

	t.Run("viewer counts add up across nodes", func(t *testing.T) {
		s := redisShared(t)
		a, b := startNode(t, s, nil), startNode(t, s, nil)
		v := a.dial(t, streamID, "", -1)
		a.dial(t, streamID, "", -1)
		b.dial(t, streamID, "", -1)
		b.dial(t, streamID, "", -1)
		b.dial(t, streamID, "", -1)
		eventually(t, "5 viewers announced", func() bool {
			evs := v.all("viewers")
			return len(evs) > 0 && decode[struct{ Count int }](t, evs[len(evs)-1].Data).Count == 5
		})
	})
}

// Redis pub/sub drops messages while its connection is down; the bus must
// notice the reconnect and recover them from the room's history.
func TestRedisBusRecoversAfterReconnect(t *testing.T) {
	prefix := uniquePrefix(t)
	b := make([]byte, 4)
	rand.Read(b)
	name := "killme-" + hex.EncodeToString(b)
	subRDB := mustRedis(t, name)
	sub := room.NewRedisBus(subRDB, room.RedisBusOptions{Prefix: prefix})
	var reconnects atomic.Int32
	sub.OnReconnect = func() { reconnects.Add(1) }
	t.Cleanup(func() { sub.Close() })
	pub := room.NewRedisBus(mustRedis(t, "publisher"), room.RedisBusOptions{Prefix: prefix})
	t.Cleanup(func() { pub.Close() })
	ctx := context.Background()

	var got collector
	s, _, err := sub.Subscribe(ctx, 1, got.deliver)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unsubscribe()
	publishN(t, pub, 1, 10)
	eventually(t, "10 events", func() bool { return got.count() == 10 })

	// Kill the subscriber's pub/sub connection, then publish while it is down.
	admin := mustRedis(t, "admin")
	list, err := admin.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, "name="+name+" ") && strings.Contains(line, "sub=1") {
			var id string
			fmt.Sscanf(line, "id=%s", &id)
			if err := admin.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	if killed != 1 {
		t.Fatalf("found %d pub/sub connections to kill, want 1:\n%s", killed, list)
	}
	publishN(t, pub, 1, 50)
	eventually(t, "all 60 events after the reconnect", func() bool { return got.count() >= 60 })
	if seqs := got.seqs(); !slices.Equal(seqs, seqRange(1, 60)) {
		t.Fatalf("got %v", seqs)
	}
	if reconnects.Load() == 0 {
		t.Error("the reconnect went unnoticed")
	}
	// Subscribers were told the bus could not vouch for the numbering
	// while the link was down, and when it could again.
	eventually(t, "the bus says it recovered", func() bool { return len(got.linkNews()) == 2 })
	if news := got.linkNews(); news[0] != "interrupted@10" || !strings.HasPrefix(news[1], "recovered@") {
		t.Fatalf("link news %v, want interrupted after the 10th event, then recovered", news)
	}
}

// Redis may lose every key (a restart without persistence, FLUSHALL,
// expiry): the counters start again at 1. Subscribers must notice, even in
// a quiet room, and go on with the new counter after a Reset.
func TestRedisBusResetsWhenRedisLosesKeys(t *testing.T) {
	prefix := uniquePrefix(t)
	sub := room.NewRedisBus(mustRedis(t, "sub"), room.RedisBusOptions{Prefix: prefix})
	t.Cleanup(func() { sub.Close() })
	pub := room.NewRedisBus(mustRedis(t, "pub"), room.RedisBusOptions{Prefix: prefix})
	t.Cleanup(func() { pub.Close() })
	var quiet, busy collector
	var quietAt room.Position
	for roomID, c := range map[int64]*collector{1: &quiet, 2: &busy} {
		s, at, err := sub.Subscribe(context.Background(), roomID, c.deliver)
		if err != nil {
			t.Fatal(err)
		}
		if roomID == 1 {
			quietAt = at
		}
		t.Cleanup(s.Unsubscribe)
		publishN(t, pub, roomID, 10)
		eventually(t, "10 events", func() bool { return c.count() == 10 })
	}
	loseRedisKeys(t, prefix)
	// Room 2 is busy at once: more events than it had before the loss.
	publishN(t, pub, 2, 15)

	// The quiet room's counter is gone: reset to 0, then events from 1.
	eventually(t, "the quiet room resets", func() bool { return quiet.count() == 11 })
	quiet.mu.Lock()
	m := quiet.msgs[10]
	quiet.mu.Unlock()
	if !m.Reset || m.Seq != 0 || m.Epoch == "" || m.Epoch == quietAt.Epoch {
		t.Fatalf("after the loss the quiet room got %+v, want a reset to 0 in a new epoch (was %q)", m, quietAt.Epoch)
	}
	publishN(t, pub, 1, 3)
	eventually(t, "3 new events", func() bool { return quiet.count() == 14 })
	if seqs := quiet.seqs()[11:]; !slices.Equal(seqs, seqRange(1, 3)) {
		t.Fatalf("after the reset: %v", seqs)
	}

	// The busy room resets and then follows the new counter without gaps.
	hasReset := func() bool {
		busy.mu.Lock()
		defer busy.mu.Unlock()
		return slices.ContainsFunc(busy.msgs[10:], func(m room.Message) bool { return m.Reset })
	}
	eventually(t, "the busy room resets", hasReset)
	publishN(t, pub, 2, 5)
	eventually(t, "the busy room follows the new counter", func() bool {
		busy.mu.Lock()
		defer busy.mu.Unlock()
		return busy.msgs[len(busy.msgs)-1].Seq == 20
	})
	busy.mu.Lock()
	msgs := busy.msgs[10:]
	busy.mu.Unlock()
	reset := slices.IndexFunc(msgs, func(m room.Message) bool { return m.Reset })
	for i, m := range msgs[reset+1:] {
		if want := msgs[reset].Seq + 1 + uint64(i); m.Reset || m.Seq != want {
			t.Fatalf("after the reset to %d, message %d is %+v, want seq %d", msgs[reset].Seq, i, m, want)
		}
	}
}

// When Redis loses its keys mid-room, rooms on both nodes resync their
// clients and put the mutes back into the shared limits.
func TestRoomsSurviveRedisDataLoss(t *testing.T) {
	s := redisShared(t)
	a, b := startNode(t, s, quiet), startNode(t, s, quiet)
	m := a.dial(t, streamID, mod, -1)
	muted := a.dial(t, streamID, viewer, -1)
	poster := a.dial(t, streamID, viewer2, -1)
	watcher := b.dial(t, streamID, "", -1)
	for _, c := range []*client{m, muted, poster, watcher} {
		c.next("snapshot")
	}
	m.send(map[string]any{"type": "mute", "id": "mu", "user_id": viewerID, "minutes": 10})
	m.ack("mu")
	muted.next("muted")
	for i := range 5 {
		poster.comment(fmt.Sprint("before", i), "before the loss")
		watcher.next("comment")
	}

	loseRedisKeys(t, s.prefix)

	after := poster.comment("after", "after the loss")
	eventually(t, "the viewer on B sees the comment posted on A after the loss", func() bool {
		return watcher.sawComment(after.ID)
	})
	// The room on A rebuilt its state (limits first, then the snapshots).
	muted.next("snapshot")
	muted.send(map[string]any{"type": "comment", "id": "x", "text": "free at last?"})
	if e := muted.refusal("x"); e.Code != "muted" {
		t.Fatalf("the muted user's comment after the loss: %+v", e)
	}
	next := poster.comment("next", "and the room goes on")
	watcher.next("snapshot")
	eventually(t, "the viewer on B sees the next comment", func() bool { return watcher.sawComment(next.ID) })
}

// sawComment reports whether the client received comment id, as an event or
// in a snapshot or missed event.
func (c *client) sawComment(id int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.events {
		switch e.Type {
		case "comment":
			if decode[commentData](c.t, e.Data).ID == id {
				return true
			}
		case "snapshot", "missed":
			for _, cm := range decode[snapshot](c.t, e.Data).Comments {
				if cm.ID == id {
					return true
				}
			}
		}
	}
	return false
}
