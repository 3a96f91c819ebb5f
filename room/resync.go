package room

// Resync: what a room does when the bus cannot vouch for its numbering (the
// link to Redis is down) or says the numbering started again (Redis lost
// the room's keys) or lost events beyond its history. Comments live in SQL,
// the system of record, so a room that resyncs sends each connection that
// stays open exactly the comments it was not shown, from SQL, rather than a
// window of the latest ones.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// maxResyncComments is how many missed comments a resync sends a
// connection that stays open. Beyond it, the connections get the latest
// page in a snapshot marked gap instead.
const maxResyncComments = 1000

// EventMissed follows a snapshot that continues (data.continues): the
// comments the connection missed, oldest first, and the IDs of comments
// removed meanwhile. It is a reply to one connection, like snapshot.
const EventMissed = "missed"

// missedData is the data of a missed event.
type missedData struct {
	Comments []json.RawMessage `json:"comments"`
	Removed  []int64           `json:"removed"`
}

// shownSet remembers which comments a room has sent its connections (as
// visible, or as held to their authors and moderators), the last
// 2×maxResyncComments of them: what a resync must not send again. Comments
// with IDs up to floor count as shown, or as too old to send again: the
// room opened after them, or they left the set.
type shownSet struct {
	ids   map[int64]shownMark
	ring  []int64 // IDs in the order shown, by n % len
	n     uint64  // how many were added
	floor int64
}

type shownMark struct {
	pos  uint64 // when it was added (n), to tell a stale ring slot
	held bool   // shown only as held
}

func newShownSet() *shownSet {
	return &shownSet{ids: map[int64]shownMark{}, ring: make([]int64, 2*maxResyncComments)}
}

// add records that comment id was shown (held: to its author and the
// moderators only), forgetting the oldest beyond the set's size.
func (s *shownSet) add(id int64, held bool) {
	if m, ok := s.ids[id]; ok && (!m.held || held) {
		return
	}
	size := uint64(len(s.ring))
	slot := s.n % size
	if s.n >= size {
		old := s.ring[slot]
		if m, ok := s.ids[old]; ok && m.pos == s.n-size {
			delete(s.ids, old)
		}
		s.floor = max(s.floor, old)
	}
	s.ring[slot] = id
	s.ids[id] = shownMark{pos: s.n, held: held}
	s.n++
}

// markShownLocked records what a flushed event showed: a comment, or that one
// is gone (removed comments are found again in SQL if need be).
func (r *liveRoom) markShownLocked(e *roomEvent) {
	switch e.typ {
	case EventComment:
		r.shown.add(e.commentID, false)
	case EventCommentHeld:
		r.shown.add(e.commentID, true)
	case EventCommentRemoved:
		delete(r.shown.ids, e.commentID)
	}
}

// vouchLocked reports whether the room may replay its numbering to a
// resuming client: it is open, its bus link is up and checked, and it is
// not resyncing.
func (r *liveRoom) vouchLocked() bool {
	return r.loaded && !r.linkDown && !r.resyncing
}

func (r *liveRoom) isStopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// startResyncLocked starts the resync, or has the running one load again
// (the numbering changed while it was loading).
func (r *liveRoom) startResyncLocked() {
	if r.resyncing {
		r.resyncAgain = true
		return
	}
	r.resyncing = true
	go r.resync()
}

// resync reloads the room's state until it succeeds (or the room closes),
// backing off while the database or Redis refuses, then gives every
// connection a fresh snapshot with what it missed (see finishResync).
// Loading also writes the shop's mutes and bans and the room's slow mode
// back to the shared Limits, which Redis may have lost with the counter.
// Until it is done the room does not vouch for its numbering: resumes get
// a snapshot.
func (r *liveRoom) resync() {
	h := r.hub
	for wait := 100 * time.Millisecond; ; {
		done, err := r.resyncOnce()
		if done {
			return
		}
		if r.isStopped() || h.ctx.Err() != nil {
			return
		}
		if err == nil {
			continue // the numbering changed again while loading
		}
		h.m.resyncFails.Inc()
		r.log.Warn("room resync: cannot reload state; will retry", "retry_in", wait, "error", err)
		select {
		case <-h.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// resyncOnce loads the room's state and the comments after what its
// connections were shown, and finishes the resync unless the numbering
// changed again meanwhile.
func (r *liveRoom) resyncOnce() (done bool, err error) {
	ctx, cancel := context.WithTimeout(r.hub.ctx, 15*time.Second)
	defer cancel()
	r.mu.Lock()
	r.resyncAgain = false
	from, floor := r.seq, r.shown.floor
	limit := len(r.shown.ids) + maxResyncComments + 1
	r.mu.Unlock()
	st, err := r.load(ctx)
	if err != nil {
		return false, err
	}
	since, err := r.hub.store.Comments(ctx, r.id, CommentFilter{AfterID: floor, Limit: limit})
	if err != nil {
		return false, fmt.Errorf("load comments after %d: %w", floor, err)
	}
	return r.finishResync(st, from, since, len(since) == limit), nil
}

// missedComment is a comment a resync sends.
type missedComment struct {
	id   int64
	view json.RawMessage
	to   *Audience // held: its author and the moderators; nil: everyone
}

// resyncPlan is what a resync sends the connections that stay open.
type resyncPlan struct {
	gap      bool // too many missed: a snapshot of the latest page instead
	comments []missedComment
	removed  []int64
	private  bool // some comments are held, not for everyone
}

// planLocked works out what the room's connections missed: the comments in
// SQL after the shown set's floor (since, newest first; full when the
// query hit its limit) that they were not shown, and the ones in events
// applied but not flushed; and the comments they were shown that are no
// longer visible or held in SQL (removed meanwhile).
func (r *liveRoom) planLocked(since []Comment, full bool) resyncPlan {
	if full {
		return resyncPlan{gap: true}
	}
	var p resyncPlan
	inSQL := make(map[int64]bool, len(since))
	added := map[int64]bool{}
	add := func(id int64, view json.RawMessage, to *Audience) {
		if _, gone := r.removed[id]; gone || added[id] {
			return
		}
		if m, ok := r.shown.ids[id]; ok && (!m.held || to != nil) {
			return
		}
		added[id] = true
		p.private = p.private || to != nil
		p.comments = append(p.comments, missedComment{id, view, to})
	}
	for _, c := range since {
		inSQL[c.ID] = true
		switch c.Status {
		case CommentVisible:
			view, _ := json.Marshal(c.view().broadcast())
			add(c.ID, view, nil)
		case CommentHeld:
			view, _ := json.Marshal(c.view())
			add(c.ID, view, &Audience{Users: []int64{c.AuthorID}, Moderators: true})
		}
	}
	for _, e := range r.pending {
		if e.typ == EventComment || e.typ == EventCommentHeld {
			add(e.commentID, e.data(), e.to)
		}
	}
	slices.SortFunc(p.comments, func(a, b missedComment) int { return cmp.Compare(a.id, b.id) })
	for id := range r.shown.ids {
		if id > r.shown.floor && !inSQL[id] && !added[id] {
			p.removed = append(p.removed, id)
		}
	}
	slices.Sort(p.removed)
	if len(p.comments) > maxResyncComments {
		return resyncPlan{gap: true}
	}
	return p
}

// finishResync installs the loaded state and gives every connection a
// fresh snapshot: one that continues the view it has, followed by the
// comments it missed (a missed event), or, when too many were missed or
// the connection joined during the resync, the state with the latest
// comments. It reports false, changing nothing, when the numbering
// changed again while loading.
func (r *liveRoom) finishResync(st roomState, from uint64, since []Comment, full bool) bool {
	// No batch of older events may land after the fresh snapshots.
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	if r.resyncAgain {
		r.mu.Unlock()
		return false
	}
	r.applyStateLocked(st)
	// Events applied while loading may be newer than what was loaded.
	for seq := max(from+1, r.ringLow); seq <= r.seq; seq++ {
		if e := r.ring[seq%uint64(len(r.ring))]; e != nil && e.seq == seq {
			r.updateStateLocked(e, e.data())
		}
	}
	plan := r.planLocked(since, full)
	// Everything applied but not flushed is in the snapshots or the plan.
	pending := r.pending
	r.pending = nil
	r.resyncing = false
	if plan.gap {
		r.hub.m.resyncGaps.Inc()
		r.log.Warn("room resync: more comments missed than a resync sends; connections get the latest page", "max", maxResyncComments)
	}
	public := plan.frame(r.seq, func(a *Audience) bool { return a == nil })
	var sched []*conn
	for _, c := range r.list {
		c.joinSeq.Store(r.seq)
		c.mu.Lock()
		c.lastSeq = r.seq // seq may have started again
		c.mu.Unlock()
		var s bool
		switch {
		case plan.gap:
			s = c.enqueue(r.snapshotLocked(c, snapshotGap), r.seq)
		case c.unflushed && c.joinFlush == r.flushes:
			// It joined with events this room has not flushed yet (or
			// during the resync): its snapshot may hold comments the plan
			// sends again, so it starts over.
			s = c.enqueue(r.snapshotLocked(c, snapshotJoin), r.seq)
		default:
			s = c.enqueue(r.snapshotLocked(c, snapshotContinues), r.seq)
			if frame := plan.frameFor(c, public, r.seq); frame != nil {
				s = c.enqueue(frame, r.seq) || s
			}
		}
		for _, e := range pending {
			if e.typ == EventBanned && e.target == c.ident.AccountID {
				c.mu.Lock()
				s = c.banLocked() || s
				c.mu.Unlock()
			}
		}
		if s {
			sched = append(sched, c)
		}
	}
	r.markPlanLocked(plan, since)
	r.mu.Unlock()
	r.hub.writer.schedule(sched...)
	return true
}

// markPlanLocked records what the resync showed. After a gap, the
// connections have the latest page only: the set starts again from it.
func (r *liveRoom) markPlanLocked(p resyncPlan, since []Comment) {
	if p.gap {
		r.shown = newShownSet()
		if len(since) > 0 {
			r.shown.floor = since[0].ID
		}
		for _, c := range r.recent {
			r.shown.add(c.id, false)
		}
		return
	}
	for _, c := range p.comments {
		r.shown.add(c.id, c.to != nil)
	}
	for _, id := range p.removed {
		delete(r.shown.ids, id)
	}
}

// frame encodes the missed event with the plan's comments that sees lets
// through; nil when there is nothing to send.
func (p *resyncPlan) frame(seq uint64, sees func(*Audience) bool) []byte {
	d := missedData{Comments: []json.RawMessage{}, Removed: p.removed}
	for _, m := range p.comments {
		if sees(m.to) {
			d.Comments = append(d.Comments, m.view)
		}
	}
	if len(d.Comments) == 0 && len(d.Removed) == 0 {
		return nil
	}
	if d.Removed == nil {
		d.Removed = []int64{}
	}
	return encodeReply(EventMissed, seq, d)
}

// frameFor returns c's missed event: public, shared by every connection,
// unless c may see some held comment of the plan.
func (p *resyncPlan) frameFor(c *conn, public []byte, seq uint64) []byte {
	sees := func(a *Audience) bool { return a.includes(c.ident.AccountID, c.role) }
	if p.private && slices.ContainsFunc(p.comments, func(m missedComment) bool { return m.to != nil && sees(m.to) }) {
		return p.frame(seq, sees)
	}
	return public
}
