package room

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// roomEvent is a room event as this node applied it: encoded once in client
// form and shared by every connection and every replay.
type roomEvent struct {
	seq       uint64
	typ       string
	to        *Audience
	enc       []byte // {"type":..,"seq":..,"data":..}
	commentID int64  // comment, comment_held, comment_removed
	target    int64  // muted, banned: the account
}

// liveRoom is one stream's room on this node.
type liveRoom struct {
	hub   *Hub
	id    int64
	log   *slog.Logger
	ready chan struct{}
	// openErr is set before ready closes.
	openErr error
	// refs and idleSince are guarded by hub.mu.
	refs      int
	idleSince time.Time
	sub       Subscription
	likes     atomic.Int64

	mu          sync.Mutex
	info        StreamInfo
	seq         uint64 // last applied
	epoch       string // of the bus numbering seq belongs to
	loaded      bool
	early       []Message
	ring        []*roomEvent // by seq % len
	ringLow     uint64       // oldest seq the ring holds
	recent      []recentComment
	removed     map[int64]struct{}
	pinned      *Product
	sale        *FlashSale
	likeTotal   int64
	viewers     int
	slowSeconds int
	list        []*conn // connected here; see conn.idx
	pending     []*roomEvent
	flushTimer  *time.Timer
	lastFlush   time.Time
	// flushMu serialises flushes, which deliver outside mu.
	flushMu   sync.Mutex
	flushBuf  []*conn
	schedBuf  []*conn
	words     []string
	wordsAt   time.Time
	announced int
	sinceAnnc int
	stopped   bool
	// shown is what the connections were shown (see resync.go); flushes
	// counts the flushes that sent something.
	shown   *shownSet
	flushes uint64
	// linkDown: the bus lost its link (Interrupted) and has not yet
	// checked the numbering again. resyncing: a Reset came and the state
	// is being reloaded; resyncAgain: another came meanwhile.
	linkDown    bool
	resyncing   bool
	resyncAgain bool
}

// data returns the event's data: its encoding ends with it (see
// appendFrameEvent).
func (e *roomEvent) data() json.RawMessage {
	n := len(`{"type":"","seq":,"data":`) + len(e.typ) + len(strconv.FormatUint(e.seq, 10))
	return e.enc[n : len(e.enc)-1]
}

type recentComment struct {
	id   int64
	view json.RawMessage
}

func newLiveRoom(h *Hub, id int64) *liveRoom {
	return &liveRoom{
		hub: h, id: id, log: h.log.With("room", id), ready: make(chan struct{}),
		ring: make([]*roomEvent, h.cfg.HistorySize), removed: map[int64]struct{}{},
		announced: -1, shown: newShownSet(),
	}
}

// roomState is what a room loads from the Store and Directory on open.
type roomState struct {
	info     StreamInfo
	settings RoomSettings
	comments []Comment // newest first
	pinned   *Product
	sale     *FlashSale
}

func (r *liveRoom) load(ctx context.Context) (roomState, error) {
	h := r.hub
	var st roomState
	var err error
	if st.info, err = h.dir.Stream(ctx, r.id); err != nil {
		return st, err
	}
	if st.settings, err = h.store.RoomSettings(ctx, r.id); err != nil {
		return st, err
	}
	if st.comments, err = h.store.Comments(ctx, r.id, CommentFilter{Status: CommentVisible, Limit: h.cfg.SnapshotComments}); err != nil {
		return st, err
	}
	if pid := st.settings.PinnedProductID; pid != 0 {
		p, err := h.dir.Product(ctx, st.info.ShopID, pid)
		if err == nil {
			st.pinned = &p
		} else if !isNotFound(err) {
			return st, err
		}
	}
	if h.sales != nil {
		if st.sale, err = h.sales.ActiveFlashSale(ctx, r.id); err != nil {
			return st, err
		}
	}
	// Rebuild the shared limits from the system of record: a flushed or
	// new Redis heals here.
	rs, err := h.store.Restrictions(ctx, st.info.ShopID, h.now())
	if err != nil {
		return st, err
	}
	for _, x := range rs {
		if x.Banned {
			err = errors.Join(err, h.limits.SetBan(ctx, x.ShopID, x.AccountID, true))
		}
		if x.MutedUntil.After(h.now()) {
			err = errors.Join(err, h.limits.SetMute(ctx, x.ShopID, x.AccountID, x.MutedUntil))
		}
	}
	err = errors.Join(err, h.limits.SetSlowMode(ctx, r.id, time.Duration(st.settings.SlowModeSeconds)*time.Second))
	return st, err
}

// applyStateLocked installs loaded state; events applied since keep their
// effect because they are applied again (idempotently) afterwards.
func (r *liveRoom) applyStateLocked(st roomState) {
	r.info = st.info
	r.slowSeconds = st.settings.SlowModeSeconds
	r.pinned = st.pinned
	r.sale = st.sale
	r.likeTotal = max(r.likeTotal, st.settings.Likes)
	r.recent = r.recent[:0]
	for _, c := range slices.Backward(st.comments) {
		if _, gone := r.removed[c.ID]; !gone {
			view, _ := json.Marshal(c.view().broadcast())
			r.addRecentLocked(c.ID, view)
		}
	}
}

func (r *liveRoom) open() error {
	h := r.hub
	ctx, cancel := context.WithTimeout(h.ctx, 15*time.Second)
	defer cancel()
	// Subscribe first so nothing published during the load is missed;
	// deliveries wait in r.early until the state is in.
	sub, last, err := h.bus.Subscribe(ctx, r.id, r.deliver)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.sub = sub
	r.seq, r.ringLow, r.epoch = last.Seq, last.Seq+1, last.Epoch
	r.mu.Unlock()
	st, err := r.load(ctx)
	if err != nil {
		sub.Unsubscribe()
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applyStateLocked(st)
	// The comments before the room opened here count as shown: joiners get
	// the latest of them, and none is sent again on a resync.
	if len(r.recent) > 0 {
		r.shown.floor = r.recent[0].id - 1 // recent is oldest first
	}
	for _, c := range r.recent {
		r.shown.add(c.id, false)
	}
	r.loaded = true
	for _, m := range r.early {
		r.applyLocked(m)
	}
	r.early = nil
	return nil
}

// run opens the room, then does its periodic work until it is idle.
func (r *liveRoom) run() {
	h := r.hub
	defer h.rooms.Done()
	if err := r.open(); err != nil {
		if !isNotFound(err) {
			r.log.Warn("room failed to open", "error", err)
		}
		r.openErr = err
		h.closeIfIdle(r, true)
		close(r.ready)
		return
	}
	close(r.ready)
	likes := time.NewTicker(h.cfg.LikeInterval)
	viewers := time.NewTicker(h.cfg.ViewerInterval)
	defer likes.Stop()
	defer viewers.Stop()
	for {
		select {
		case <-h.ctx.Done():
			r.shutdown()
			return
		case <-likes.C:
			r.flushLikes(h.ctx)
		case <-viewers.C:
			if h.closeIfIdle(r, false) {
				r.shutdown()
				return
			}
			r.reportViewers(h.ctx)
		}
	}
}

func (r *liveRoom) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r.flushLikes(ctx)
	r.sub.Unsubscribe()
	if err := r.hub.pres.Leave(ctx, r.id, r.hub.cfg.NodeID); err != nil {
		r.log.Warn("leave presence", "error", err)
	}
	r.mu.Lock()
	r.stopped = true
	if r.flushTimer != nil {
		r.flushTimer.Stop()
		r.flushTimer = nil
	}
	r.mu.Unlock()
}

func (r *liveRoom) flushLikes(ctx context.Context) {
	n := r.likes.Swap(0)
	if n == 0 {
		return
	}
	total, err := r.hub.store.AddLikes(ctx, r.id, n)
	if err != nil {
		r.log.Warn("store likes", "likes", n, "error", err)
		return
	}
	if _, err := r.hub.publish(ctx, r.id, Event{Type: EventLikes, Data: likesData{Count: n, Total: total}}); err != nil {
		r.log.Warn("publish likes", "error", err)
	}
}

func (r *liveRoom) reportViewers(ctx context.Context) {
	h := r.hub
	r.mu.Lock()
	local := len(r.list)
	r.mu.Unlock()
	total, announcer, err := h.pres.Report(ctx, r.id, h.cfg.NodeID, local, 3*h.cfg.ViewerInterval)
	if err != nil {
		r.log.Warn("report viewers", "error", err)
		return
	}
	r.sinceAnnc++
	if !announcer || total == r.announced && r.sinceAnnc < 15 {
		return
	}
	r.announced, r.sinceAnnc = total, 0
	if _, err := h.publish(ctx, r.id, Event{Type: EventViewers, Data: viewersData{Count: total}}); err != nil {
		r.log.Warn("publish viewers", "error", err)
	}
}

// deliver receives the bus's messages, in order.
func (r *liveRoom) deliver(m Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case m.Interrupted:
		r.linkDown = true
		return
	case m.Recovered:
		r.linkDown = false
		return
	case m.Reset:
		r.hub.m.busResets.Inc()
		r.seq, r.ringLow, r.linkDown = m.Seq, m.Seq+1, false
		if m.Epoch != "" {
			r.epoch = m.Epoch
		}
		clear(r.ring)
		if r.loaded {
			r.startResyncLocked()
		}
		return
	}
	if !r.loaded {
		if len(r.early) < 4*r.hub.cfg.HistorySize {
			r.early = append(r.early, m)
		}
		return
	}
	r.applyLocked(m)
}

// applyLocked decodes one bus message, updates the room state, keeps it
// for resume and queues it for the next flush.
func (r *liveRoom) applyLocked(m Message) {
	if m.Seq <= r.seq {
		return
	}
	h := r.hub
	ev, data, t, err := decodeEvent(m)
	r.seq = m.Seq
	if err != nil {
		r.log.Warn("dropping undecodable room event", "seq", m.Seq, "error", err)
		return
	}
	h.m.eventsIn.Inc()
	if t > 0 {
		h.m.busLag.Observe(max(0, float64(h.now().UnixMilli()-t)/1000))
	}
	repeat := r.repeatLocked(ev)
	r.updateStateLocked(ev, data)
	r.ring[m.Seq%uint64(len(r.ring))] = ev
	if m.Seq-r.ringLow >= uint64(len(r.ring)) {
		r.ringLow = m.Seq - uint64(len(r.ring)) + 1
	}
	if repeat {
		return
	}
	if r.resyncing && len(r.pending) >= 4*len(r.ring) {
		// Held for the resync, which sends the comments from SQL anyway;
		// only the state matters of what is dropped, and it is applied.
		r.pending = slices.Delete(r.pending, 0, len(r.pending)/2)
	}
	r.pending = append(r.pending, ev)
	if r.flushTimer == nil && !r.stopped && !r.resyncing {
		delay := max(0, r.lastFlush.Add(r.flushIntervalLocked()).Sub(h.now()))
		r.flushTimer = time.AfterFunc(delay, r.flush)
	}
}

// decodeEvent turns a bus message into a roomEvent and its publish time.
func decodeEvent(m Message) (*roomEvent, json.RawMessage, int64, error) {
	var env envelope
	if err := json.Unmarshal(m.Payload, &env); err != nil {
		return nil, nil, 0, err
	}
	ev := &roomEvent{seq: m.Seq, typ: env.Type, to: env.To}
	ev.enc = appendFrameEvent(make([]byte, 0, len(env.Data)+len(env.Type)+40), env.Type, m.Seq, env.Data)
	switch env.Type {
	case EventComment, EventCommentHeld, EventCommentRemoved:
		var d struct {
			ID int64 `json:"id"`
		}
		_ = json.Unmarshal(env.Data, &d)
		ev.commentID = d.ID
	case EventMuted, EventBanned:
		var d struct {
			UserID int64 `json:"user_id"`
		}
		_ = json.Unmarshal(env.Data, &d)
		ev.target = d.UserID
	}
	return ev, env.Data, env.T, nil
}

// repeatLocked reports whether every connection here already has what ev
// shows, so it need not be sent (a publish retried after a failure that
// happened after all, or a comment a resync sent from SQL before its
// event came): a comment the room showed or has removed, or a removal it
// has made. Clients get seq gaps for these, as for events
// addressed to others.
func (r *liveRoom) repeatLocked(ev *roomEvent) bool {
	_, removed := r.removed[ev.commentID]
	switch ev.typ {
	case EventComment:
		if m, ok := r.shown.ids[ev.commentID]; ok && !m.held {
			return true
		}
		return removed || slices.ContainsFunc(r.recent, func(c recentComment) bool { return c.id == ev.commentID })
	case EventCommentHeld:
		_, shown := r.shown.ids[ev.commentID]
		return removed || shown
	case EventCommentRemoved:
		return removed
	}
	return false
}

func (r *liveRoom) updateStateLocked(ev *roomEvent, data json.RawMessage) {
	switch ev.typ {
	case EventComment:
		var v CommentView
		if json.Unmarshal(data, &v) == nil && (v.Status == "" || v.Status == CommentVisible) {
			if _, gone := r.removed[v.ID]; !gone {
				r.addRecentLocked(v.ID, data)
			}
		}
	case EventCommentRemoved:
		if len(r.removed) > 100_000 {
			clear(r.removed)
		}
		r.removed[ev.commentID] = struct{}{}
		r.recent = slices.DeleteFunc(r.recent, func(c recentComment) bool { return c.id == ev.commentID })
	case EventPinned:
		var d pinnedData
		if json.Unmarshal(data, &d) == nil {
			r.pinned = &d.Product
		}
	case EventUnpinned:
		r.pinned = nil
	case EventLikes:
		var d likesData
		if json.Unmarshal(data, &d) == nil {
			r.likeTotal = max(r.likeTotal, d.Total)
		}
	case EventViewers:
		var d viewersData
		if json.Unmarshal(data, &d) == nil {
			r.viewers = d.Count
		}
	case EventSlowMode:
		var d slowModeData
		if json.Unmarshal(data, &d) == nil {
			r.slowSeconds = d.Seconds
		}
	case EventStreamStarted:
		r.info.Status = StatusLive
	case EventStreamEnded:
		r.info.Status = StatusEnded
		r.sale = nil
	case EventFlashSale:
		var d FlashSale
		if json.Unmarshal(data, &d) == nil {
			r.sale = &d
		}
	case EventFlashSaleStock:
		var d FlashSaleStock
		if json.Unmarshal(data, &d) == nil && r.sale != nil && r.sale.ID == d.ID {
			s := *r.sale
			s.Remaining = d.Remaining
			r.sale = &s
		}
	case EventFlashSaleEnded:
		var d FlashSaleEnded
		if json.Unmarshal(data, &d) == nil && r.sale != nil && r.sale.ID == d.ID {
			r.sale = nil
		}
	case EventMuted:
		var d mutedData
		if json.Unmarshal(data, &d) == nil {
			for _, c := range r.list {
				if c.ident.AccountID == d.UserID {
					c.mu.Lock()
					c.mutedUntil = d.Until
					c.mu.Unlock()
				}
			}
		}
	}
}

func (r *liveRoom) addRecentLocked(id int64, view json.RawMessage) {
	for _, c := range r.recent {
		if c.id == id {
			return
		}
	}
	if n := r.hub.cfg.SnapshotComments; len(r.recent) >= n {
		r.recent = slices.Delete(r.recent, 0, len(r.recent)-n+1)
	}
	r.recent = append(r.recent, recentComment{id, view})
}

// leave unlists c (swapping the last connection into its place).
func (r *liveRoom) leave(c *conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.idx < 0 || c.idx >= len(r.list) || r.list[c.idx] != c {
		return
	}
	last := r.list[len(r.list)-1]
	r.list[c.idx], last.idx = last, c.idx
	r.list[len(r.list)-1] = nil
	r.list = r.list[:len(r.list)-1]
	c.idx = -1
}

func (r *liveRoom) closeConns(code websocket.StatusCode, reason string) {
	r.mu.Lock()
	conns := append([]*conn(nil), r.list...)
	r.mu.Unlock()
	for _, c := range conns {
		c.closeAfterQueued(code, reason)
	}
}

// shopID returns the room's shop.
func (r *liveRoom) shopID() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.info.ShopID
}
