package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/liveshop/liveshop/room/redistest"
)

// Redis is not the system of record for comments: SQL is. When Redis
// crashes and comes back empty, a room's numbering starts again, and every
// viewer who stayed connected must still be shown every acknowledged
// comment exactly once, in order; a viewer resuming with the old numbering
// must not skip any. One node and three nodes (sharing the database and
// Redis), with comments posted at a steady 50 a second across the outage.
func TestRoomCommentsAcrossARedisRestart(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		t.Run("one node, Redis down for a second", func(t *testing.T) {
			redisRestart{nodes: 1, downFor: 50}.run(t, cfg)
		})
		t.Run("three nodes, Redis down for three seconds", func(t *testing.T) {
			redisRestart{nodes: 3, downFor: 150}.run(t, cfg)
		})
	})
}

// redisRestart is the scenario: nodes serve one stream's room; writers post
// comments at restartRate per second between them, one per tick of their
// tickers; Redis is killed (SIGKILL) and started again empty after downFor
// ticks (restartRate ticks make a second).
type redisRestart struct {
	nodes   int
	downFor int64
}

const (
	restartRate    = 50 // comments per second, all writers together
	restartWriters = 5
)

func (sc redisRestart) run(t *testing.T, base Config) {
	rs := redistest.Start(t, redistest.Options{})
	cfg := base
	cfg.Redis, cfg.RedisPrefix = rs.URL(), "test:"
	cfg.DB = cfg.DBURL() // every node opens the same database
	cfg.Room.CommentLimit = 100_000
	cfg.Room.CommandRate = 1000
	nodes := make([]*testNode, sc.nodes)
	for i := range nodes {
		c := cfg
		c.DataDir = t.TempDir()
		nodes[i] = startNode(t, c)
	}
	setup := newSaleSetup(t, nodes[0], 1)
	stream := setup.streamID
	accounts := seedBuyers(t, nodes[0].app, restartWriters)

	// Viewers stay connected on every node throughout; a resumer per node
	// leaves before the crash and comes back with its old seq and epoch.
	var viewers, resumers []*roomConn
	for _, n := range nodes {
		for range 2 {
			viewers = append(viewers, joinRoom(t, n.URL, nil, stream))
		}
		resumers = append(resumers, joinRoom(t, n.URL, nil, stream))
	}
	for _, v := range append(slices.Clone(viewers), resumers...) {
		v.wait("snapshot", nil)
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	writers := make([]*commentWriter, restartWriters)
	var wg sync.WaitGroup
	for i, acct := range accounts {
		writers[i] = dialCommentWriter(t, nodes[i%len(nodes)].URL, acct.token, stream, fmt.Sprintf("w%d", i))
		wg.Go(func() { writers[i].run(ctx, time.Second*restartWriters/restartRate) })
	}
	acked := func() int {
		n := 0
		for _, w := range writers {
			n += len(w.ackedIDs())
		}
		return n
	}
	ticks := func() int64 {
		var n int64
		for _, w := range writers {
			n += w.ticks.Load()
		}
		return n
	}

	eventually(t, "10 comments acknowledged", 10*time.Second, func() bool { return acked() >= 10 })
	type away struct {
		since uint64
		epoch string
		seen  []roomEvent
	}
	var gone []away
	for _, r := range resumers {
		r.ws.Close(websocket.StatusNormalClosure, "")
		<-r.done
		r.mu.Lock()
		gone = append(gone, away{since: lastRoomSeq(r.events), epoch: snapshotEpoch(t, r.events), seen: slices.Clone(r.events)})
		r.mu.Unlock()
	}
	oldEpoch := gone[0].epoch
	eventually(t, "30 comments acknowledged", 10*time.Second, func() bool { return acked() >= 30 })

	rs.Kill()
	before := ticks()
	eventually(t, "the outage to last", 30*time.Second, func() bool { return ticks()-before >= sc.downFor })
	atRestart := acked()
	rs.Start()
	eventually(t, "40 comments acknowledged after the restart", 30*time.Second, func() bool {
		return acked() >= atRestart+40
	})

	// The resumers come back with the seq and epoch they left with, each on
	// its node: each gets what it missed, or a fresh snapshot of the new
	// numbering, and from then on misses nothing.
	resumedAt := make([]int, len(writers))
	for i, w := range writers {
		resumedAt[i] = len(w.ackedIDs())
	}
	for i, n := range nodes {
		resumers[i] = dialRoomQuery(t, n.URL, stream, fmt.Sprintf("?since=%d&epoch=%s", gone[i].since, gone[i].epoch))
	}
	eventually(t, "30 more comments acknowledged", 30*time.Second, func() bool { return acked() >= atRestart+70 })
	stop()
	wg.Wait()

	var all, sinceResume []int64
	byWriter := map[int64]int{}
	for i, w := range writers {
		ids := w.ackedIDs()
		all = append(all, ids...)
		sinceResume = append(sinceResume, ids[resumedAt[i]:]...)
		for _, id := range ids {
			byWriter[id] = i
		}
	}
	for i, v := range viewers {
		checkShown(t, fmt.Sprintf("viewer %d on node %d", i, i/2), v.snapshotEvents, all, byWriter, oldEpoch)
	}
	for i, r := range resumers {
		name := fmt.Sprintf("the resumer on node %d", i)
		first := r.first()
		switch first.Type {
		case "resumed":
			checkShown(t, name, func() []roomEvent { return append(slices.Clone(gone[i].seen), r.snapshotEvents()...) }, all, byWriter, oldEpoch)
		case "snapshot":
			// (Of the old epoch if the node had not resynced yet: it then
			// sends a fresh one when it has, which checkShown requires.)
			checkShown(t, name, r.snapshotEvents, sinceResume, byWriter, oldEpoch)
		default:
			t.Errorf("%s got %s first, want resumed or snapshot", name, first.Type)
		}
	}
}

// checkShown waits until a client (its events so far) was shown every
// comment of want, then checks that it was shown each comment once, each
// writer's in the order they were acknowledged, and that it ends in a
// numbering other than the old epoch.
func checkShown(t *testing.T, name string, events func() []roomEvent, want []int64, byWriter map[int64]int, oldEpoch string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && len(missingComments(events(), want)) > 0 {
		time.Sleep(20 * time.Millisecond)
	}
	evs := events()
	if miss := missingComments(evs, want); len(miss) > 0 {
		t.Errorf("%s was never shown %d of %d acknowledged comments: %v", name, len(miss), len(want), head(miss))
	}
	seen := map[int64]int{}
	last := map[int]int64{}
	for _, id := range shownComments(evs) {
		if seen[id]++; seen[id] > 1 {
			t.Errorf("%s was shown comment %d again", name, id)
			continue
		}
		if w, ok := byWriter[id]; ok {
			if id < last[w] {
				t.Errorf("%s was shown comment %d of writer %d after its later comment %d", name, id, w, last[w])
			}
			last[w] = max(last[w], id)
		}
	}
	if e := lastSnapshotEpoch(t, evs); e == oldEpoch || e == "" {
		t.Errorf("%s ends in epoch %q, want the new one (old %q)", name, e, oldEpoch)
	}
}

// commentWriter posts comments over its own room connection, one at a time:
// on each tick it sends the next comment once the previous one was
// acknowledged, and sends a refused one (or one unanswered for 20 ticks)
// again with the same cid, as room.js does.
type commentWriter struct {
	rc    *roomConn
	tag   string
	max   int // comments to post; 0: no end
	ticks atomic.Int64

	mu    sync.Mutex
	acked []int64
}

func dialCommentWriter(t testing.TB, base, token string, stream int64, tag string) *commentWriter {
	t.Helper()
	rc := joinRoomURL(t, "ws"+strings.TrimPrefix(base, "http")+fmt.Sprintf("/api/streams/%d/room", stream),
		http.Header{"Authorization": {"Bearer " + token}})
	return &commentWriter{rc: rc, tag: tag}
}

func (w *commentWriter) run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	n, try, seen, waited := 0, 0, 0, 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			w.ticks.Add(1)
		}
		if w.max > 0 && n >= w.max {
			return
		}
		if try > 0 {
			e, ok := w.answer(&seen, fmt.Sprintf("%s-%d-%d", w.tag, n, try))
			switch {
			case !ok && waited < 20:
				waited++
				continue
			case ok && e.Type == "ack":
				var d struct{ Comment struct{ ID int64 } }
				_ = json.Unmarshal(e.Data, &d)
				w.mu.Lock()
				w.acked = append(w.acked, d.Comment.ID)
				w.mu.Unlock()
				n, try = n+1, 0
				if w.max > 0 && n >= w.max {
					return
				}
			}
		}
		try, waited = try+1, 0
		b, _ := json.Marshal(map[string]any{"type": "comment", "id": fmt.Sprintf("%s-%d-%d", w.tag, n, try),
			"cid": fmt.Sprintf("%s-%d", w.tag, n), "text": fmt.Sprintf("%s says %d", w.tag, n)})
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := w.rc.ws.Write(wctx, websocket.MessageText, b)
		cancel()
		if err != nil {
			return
		}
	}
}

// answer looks for the ack or error of command id among the events after
// *seen, and moves *seen past them.
func (w *commentWriter) answer(seen *int, id string) (roomEvent, bool) {
	w.rc.mu.Lock()
	defer w.rc.mu.Unlock()
	for _, e := range w.rc.events[*seen:] {
		*seen++
		var d struct{ ID string }
		if (e.Type == "ack" || e.Type == "error") && json.Unmarshal(e.Data, &d) == nil && d.ID == id {
			return e, true
		}
	}
	return roomEvent{}, false
}

func (w *commentWriter) ackedIDs() []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.acked)
}

// dialRoomQuery opens an anonymous room connection with a query string
// (?since=..&epoch=..).
func dialRoomQuery(t testing.TB, base string, stream int64, query string) *roomConn {
	t.Helper()
	return joinRoomURL(t, "ws"+strings.TrimPrefix(base, "http")+fmt.Sprintf("/api/streams/%d/room%s", stream, query), nil)
}

// first waits for the connection's first event.
func (rc *roomConn) first() roomEvent {
	rc.t.Helper()
	eventually(rc.t, "a first event", 10*time.Second, func() bool { return len(rc.snapshotEvents()) > 0 })
	return rc.snapshotEvents()[0]
}

func (rc *roomConn) snapshotEvents() []roomEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.events)
}

// shownComments lists the comment IDs a client was shown, in order: comment
// events, the comments of a snapshot (unless it continues the view the
// client has) and of a missed event.
func shownComments(evs []roomEvent) []int64 {
	var out []int64
	for _, e := range evs {
		switch e.Type {
		case "comment":
			var d struct{ ID int64 }
			_ = json.Unmarshal(e.Data, &d)
			out = append(out, d.ID)
		case "snapshot", "missed":
			var d struct {
				Comments []struct{ ID int64 }
			}
			_ = json.Unmarshal(e.Data, &d)
			for _, c := range d.Comments {
				out = append(out, c.ID)
			}
		}
	}
	return out
}

func missingComments(evs []roomEvent, want []int64) []int64 {
	shown := map[int64]bool{}
	for _, id := range shownComments(evs) {
		shown[id] = true
	}
	var miss []int64
	for _, id := range want {
		if !shown[id] {
			miss = append(miss, id)
		}
	}
	return miss
}

func head(ids []int64) []int64 { return ids[:min(len(ids), 20)] }

func lastRoomSeq(evs []roomEvent) uint64 {
	var s uint64
	for _, e := range evs {
		if e.Type == "snapshot" {
			s = e.Seq
		} else {
			s = max(s, e.Seq)
		}
	}
	return s
}

func snapshotEpoch(t testing.TB, evs []roomEvent) string {
	t.Helper()
	for _, e := range evs {
		if e.Type == "snapshot" {
			var d struct{ Epoch string }
			_ = json.Unmarshal(e.Data, &d)
			return d.Epoch
		}
	}
	t.Fatal("no snapshot")
	return ""
}

func lastSnapshotEpoch(t testing.TB, evs []roomEvent) string {
	t.Helper()
	var epoch string
	for _, e := range evs {
		if e.Type == "snapshot" || e.Type == "resumed" {
			var d struct{ Epoch string }
			_ = json.Unmarshal(e.Data, &d)
			epoch = d.Epoch
		}
	}
	return epoch
}
