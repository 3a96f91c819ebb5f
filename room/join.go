package room

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// EventResumed starts a resume: the missed events follow in the same frame.
const EventResumed = "resumed"

func (c *conn) me() meData {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := meData{ID: c.ident.AccountID, Name: c.ident.Name, Role: c.role.String(), Banned: c.banned}
	if c.mutedUntil.After(time.Now()) {
		t := c.mutedUntil
		m.MutedUntil = &t
	}
	return m
}

// snapshotKind says what a snapshot is for.
type snapshotKind int

const (
	// snapshotJoin: the state to start from, with the latest comments.
	snapshotJoin snapshotKind = iota
	// snapshotContinues: a resync's snapshot for a connection that keeps
	// the comments it shows; those it missed follow in a missed event.
	snapshotContinues
	// snapshotGap: a resync's snapshot when more comments were missed than
	// a resync sends: the latest ones, to start from again.
	snapshotGap
)

// snapshotLocked encodes the room's state for c as a one-event frame.
func (r *liveRoom) snapshotLocked(c *conn, kind snapshotKind) []byte {
	comments := make([]json.RawMessage, 0, len(r.recent))
	if kind != snapshotContinues {
		for _, rc := range r.recent {
			comments = append(comments, rc.view)
		}
	}
	return encodeReply(EventSnapshot, r.seq, snapshotData{
		Stream:    streamData{r.info.ID, r.info.ShopID, r.info.Title, r.info.Status},
		Pinned:    r.pinned,
		FlashSale: r.sale,
		Comments:  comments,
		Viewers:   r.viewers,
		Likes:     r.likeTotal,
		SlowMode:  r.slowSeconds,
		Me:        c.me(),
		Epoch:     r.epoch,
		Continues: kind == snapshotContinues,
		Gap:       kind == snapshotGap,
	})
}

// join adds c to the room. With since >= 0 the client resumes: it gets the
// events after since that it may see, in order (removed comments left out),
// when they are still in this node's ring or the bus's history; otherwise,
// without since, or with an epoch other than the room's (since counts in a
// numbering that started again since), or while the room cannot vouch for
// its numbering (its link to Redis is down, or it is resyncing), it gets a
// snapshot. An empty epoch is not checked.
func (r *liveRoom) join(ctx context.Context, c *conn, since int64, epoch string) {
	r.mu.Lock()
	if since >= 0 && r.vouchLocked() && uint64(since) <= r.seq && (epoch == "" || epoch == r.epoch) {
		after := uint64(since)
		var older []*roomEvent
		if after+1 < r.ringLow {
			// Older than this node's ring (the room opened here recently):
			// fetch the gap from the bus without holding the lock.
			r.mu.Unlock()
			older = r.fetchHistory(ctx, after)
			r.mu.Lock()
		}
		if evs, ok := r.replayLocked(after, older); ok {
			r.addLocked(c)
			frame, n := framesFor(c, evs, after, r.removedCopyLocked())
			// Queued under the lock, so no flush can put newer events first.
			sched := r.queueResumeLocked(c, after, frame, n)
			r.mu.Unlock()
			if sched {
				r.hub.writer.schedule(c)
			}
			return
		}
	}
	r.addLocked(c)
	sched := c.enqueue(r.snapshotLocked(c, snapshotJoin), r.seq)
	r.mu.Unlock()
	if sched {
		r.hub.writer.schedule(c)
	}
}

func (r *liveRoom) addLocked(c *conn) {
	c.joinSeq.Store(r.seq)
	c.joinFlush = r.flushes
	c.unflushed = r.resyncing || slices.ContainsFunc(r.pending, func(e *roomEvent) bool {
		return e.typ == EventComment || e.typ == EventCommentHeld
	})
	c.idx = len(r.list)
	r.list = append(r.list, c)
}

func (r *liveRoom) removedCopyLocked() map[int64]struct{} {
	m := make(map[int64]struct{}, len(r.removed))
	for id := range r.removed {
		m[id] = struct{}{}
	}
	return m
}

// fetchHistory reads events after `after` from the bus, decoded; nil when
// they are gone or unreadable.
func (r *liveRoom) fetchHistory(ctx context.Context, after uint64) []*roomEvent {
	msgs, err := r.hub.bus.History(ctx, r.id, after, 0)
	if err != nil || len(msgs) == 0 {
		return nil
	}
	out := make([]*roomEvent, 0, len(msgs))
	for _, m := range msgs {
		ev, _, _, err := decodeEvent(m)
		if err != nil {
			continue
		}
		out = append(out, ev)
	}
	return out
}

// replayLocked returns every event after `after` up to r.seq, from older
// (bus history) and the ring; ok is false when there is a hole.
func (r *liveRoom) replayLocked(after uint64, older []*roomEvent) ([]*roomEvent, bool) {
	next := after + 1
	var out []*roomEvent
	for _, e := range older {
		if e.seq == next && next < r.ringLow {
			out = append(out, e)
			next++
		}
	}
	if next < r.ringLow && next <= r.seq {
		return nil, false
	}
	for ; next <= r.seq; next++ {
		e := r.ring[next%uint64(len(r.ring))]
		if e == nil || e.seq != next {
			return nil, false
		}
		out = append(out, e)
	}
	return out, true
}

// queueResumeLocked queues the resumed event and the missed events as one
// frame and reports whether c must be scheduled.
func (r *liveRoom) queueResumeLocked(c *conn, after uint64, events []byte, missed int) bool {
	head := encodeReply(EventResumed, after, resumedData{After: after, Missed: missed, Me: c.me(), Epoch: r.epoch})
	frame := head
	if events != nil {
		frame = mergeFrames(nil, [][]byte{head, events})
	}
	return c.enqueue(frame, r.seq)
}
