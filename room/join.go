package room

import (
	"context"
	"encoding/json"
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

// snapshotLocked encodes the room's state for c as a one-event frame.
func (r *liveRoom) snapshotLocked(c *conn) []byte {
	comments := make([]json.RawMessage, len(r.recent))
	for i, rc := range r.recent {
		comments[i] = rc.view
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
	})
}

// join adds c to the room. With since >= 0 the client resumes: it gets the
// events after since that it may see, in order (removed comments left out),
// when they are still in this node's ring or the bus's history; otherwise,
// without since, or with an epoch other than the room's (since counts in a
// numbering that started again since), it gets a snapshot. An empty epoch
// is not checked.
func (r *liveRoom) join(ctx context.Context, c *conn, since int64, epoch string) {
	r.mu.Lock()
	if since >= 0 && uint64(since) <= r.seq && (epoch == "" || epoch == r.epoch) {
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
	sched := c.enqueue(r.snapshotLocked(c), r.seq)
	r.mu.Unlock()
	if sched {
		r.hub.writer.schedule(c)
	}
}

func (r *liveRoom) addLocked(c *conn) {
	c.joinSeq.Store(r.seq)
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
