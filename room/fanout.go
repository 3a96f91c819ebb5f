package room

// Fan-out: a room's events go out in batches, encoded once and shared by
// every connection that may see all of them.

import "time"

// batch is what a room flushes at once: its events, and the frame of those
// meant for everyone, shared by every connection that needs nothing else.
type batch struct {
	first, last uint64
	events      []*roomEvent
	public      []byte
	private     bool
}

func newBatch(evs []*roomEvent) *batch {
	b := &batch{first: evs[0].seq, last: evs[len(evs)-1].seq, events: evs}
	n := 2
	for _, e := range evs {
		if e.to != nil {
			b.private = true
			continue
		}
		n += len(e.enc) + 1
	}
	if n == 2 {
		return b
	}
	buf := make([]byte, 0, n)
	buf = append(buf, '[')
	for _, e := range evs {
		if e.to == nil {
			if len(buf) > 1 {
				buf = append(buf, ',')
			}
			buf = append(buf, e.enc...)
		}
	}
	b.public = append(buf, ']')
	return b
}

// flushIntervalLocked is the room's batching window: Config.FlushInterval,
// stretched for big rooms (by their size in thousands of connections) up to
// Config.MaxFlushInterval, so frames per second per node stay bounded.
func (r *liveRoom) flushIntervalLocked() time.Duration {
	cfg := &r.hub.cfg
	d := cfg.FlushInterval * time.Duration(max(1, len(r.list)/1000))
	return min(max(d, cfg.FlushInterval), max(cfg.MaxFlushInterval, cfg.FlushInterval))
}

// flush sends what accumulated since the last flush: one shared frame for
// everyone, a frame of its own only for a connection addressed privately.
// It holds the room's lock only to take the events and the connection list,
// so publishing and joining never wait for a big room's fan-out.
func (r *liveRoom) flush() {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	r.flushTimer = nil
	if r.resyncing {
		// The events wait for the resync, whose snapshots and missed
		// comments cover them.
		r.mu.Unlock()
		return
	}
	r.lastFlush = r.hub.now()
	evs := r.pending
	r.pending = nil
	if len(evs) == 0 || r.stopped {
		r.mu.Unlock()
		return
	}
	r.flushes++
	for _, e := range evs {
		r.markShownLocked(e)
	}
	conns := append(r.flushBuf[:0], r.list...)
	r.mu.Unlock()

	b := newBatch(evs)
	sched := r.schedBuf[:0]
	for _, c := range conns {
		if c.deliverBatch(b) {
			sched = append(sched, c)
		}
	}
	r.hub.m.eventsOut.Add(float64(len(evs) * len(conns)))
	r.hub.writer.schedule(sched...)
	clear(sched)
	clear(conns)
	r.schedBuf, r.flushBuf = sched[:0], conns[:0]
}

// deliverBatch queues b's events for c and reports whether c must be
// scheduled.
func (c *conn) deliverBatch(b *batch) bool {
	joinSeq := c.joinSeq.Load()
	if b.last <= joinSeq {
		return false
	}
	custom := b.first <= joinSeq
	kick := false
	if b.private {
		for _, e := range b.events {
			if e.to != nil && e.seq > joinSeq && e.to.includes(c.ident.AccountID, c.role) {
				custom = true
				kick = kick || e.typ == EventBanned && e.target == c.ident.AccountID
			}
		}
	}
	if !custom {
		if b.public == nil {
			return false
		}
		return c.enqueue(b.public, b.last)
	}
	frame, _ := framesFor(c, b.events, joinSeq, nil)
	sched := false
	if frame != nil {
		sched = c.enqueue(frame, b.last)
	}
	if kick {
		c.mu.Lock()
		sched = c.banLocked() || sched
		c.mu.Unlock()
	}
	return sched
}

// framesFor builds one frame of the events after `after` that c may see,
// leaving out comments in removed (and ones removed later in evs), and
// counts them.
func framesFor(c *conn, evs []*roomEvent, after uint64, removed map[int64]struct{}) ([]byte, int) {
	gone := func(id int64) bool {
		if _, ok := removed[id]; ok {
			return true
		}
		return false
	}
	if removed != nil {
		for _, e := range evs {
			if e.typ == EventCommentRemoved {
				removed[e.commentID] = struct{}{}
			}
		}
	}
	var buf []byte
	n := 0
	for _, e := range evs {
		if e.seq <= after || !e.to.includes(c.ident.AccountID, c.role) {
			continue
		}
		if removed != nil && (e.typ == EventComment || e.typ == EventCommentHeld) && gone(e.commentID) {
			continue
		}
		if buf == nil {
			buf = append(buf, '[')
		} else {
			buf = append(buf, ',')
		}
		buf = append(buf, e.enc...)
		n++
	}
	if buf == nil {
		return nil, 0
	}
	return append(buf, ']'), n
}
