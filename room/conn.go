package room

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Close codes the server uses, beyond the standard ones (1001 going away on
// shutdown, 1009 message too big for an oversize message).
const (
	// CloseBanned: the account was banned from the shop's streams.
	CloseBanned websocket.StatusCode = 4003
	// CloseNotFound: the stream does not exist.
	CloseNotFound websocket.StatusCode = 4004
	// CloseSlowConsumer: the connection's outbound queue overflowed because
	// the client did not read fast enough; reconnect and resume.
	CloseSlowConsumer websocket.StatusCode = 4008
)

type closeReq struct {
	code   websocket.StatusCode
	reason string
}

// conn is one viewer's WebSocket. Its state is kept small (10,000 idle
// connections must fit in 24 KiB each, most of it the socket's buffers): no
// writer goroutine, a queue of frames that are usually shared with every
// other connection of the room.
type conn struct {
	hub   *Hub
	room  *liveRoom
	ws    *websocket.Conn
	ident Identity
	role  Role
	// ip is the client's address, for the per-address comment limit.
	ip string
	// slot frees the connection's place among its account's and address's
	// open sockets (Hub.admit).
	slot func()
	// joinSeq is the room seq the connection's snapshot or resume covered;
	// set under room.mu before the connection is listed.
	joinSeq atomic.Uint64
	// idx is the connection's position in room.list, guarded by room.mu.
	idx int
	// unflushed: when it joined (or resumed), the room had applied comments
	// it had not flushed yet, or was resyncing; joinFlush is the room's
	// flush count then. Both guarded by room.mu; see finishResync.
	unflushed bool
	joinFlush uint64
	// joined is when the connection joined the room (zero if it never did).
	joined time.Time

	mu         sync.Mutex
	queue      [][]byte
	spare      [][]byte
	scheduled  bool
	closing    *closeReq
	dead       bool
	lastSeq    uint64 // highest room seq queued, stamped on replies
	mutedUntil time.Time
	banned     bool
	dropped    bool // counted as a dropped slow client

	// Command rate limit, touched only by the reader goroutine.
	tokens float64
	refill time.Time
}

// enqueue adds a frame (a JSON array of events) and reports whether the
// caller must schedule the connection on the write pool.
func (c *conn) enqueue(frame []byte, seq uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead || c.closing != nil {
		return false
	}
	if len(c.queue) >= c.hub.cfg.QueueSize {
		return c.overflowLocked()
	}
	c.queue = append(c.queue, frame)
	if seq > c.lastSeq {
		c.lastSeq = seq
	}
	return c.markScheduledLocked()
}

func (c *conn) markScheduledLocked() bool {
	if c.scheduled {
		return false
	}
	c.scheduled = true
	return true
}

// overflowLocked drops what is queued and asks the writer to close the
// connection with CloseSlowConsumer. A write stuck on the peer is cut by the
// write pool's watchdog.
func (c *conn) overflowLocked() bool {
	c.countDropLocked("outbound queue full")
	c.queue = nil
	c.closing = &closeReq{CloseSlowConsumer, "slow consumer: outbound queue full"}
	return c.markScheduledLocked()
}

func (c *conn) countDropLocked(why string) {
	if c.dropped {
		return
	}
	c.dropped = true
	c.hub.m.dropped.Inc()
	c.hub.log.Info("dropping slow room connection", "room", c.room.id, "account", c.ident.AccountID, "reason", why)
}

// cutStuckWrite closes a connection whose write is stuck on the peer.
func (c *conn) cutStuckWrite() {
	c.mu.Lock()
	c.countDropLocked("write timed out")
	c.mu.Unlock()
	c.ws.CloseNow()
}

// closeAfterQueued closes the connection once what is queued is written.
func (c *conn) closeAfterQueued(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	if c.dead || c.closing != nil {
		c.mu.Unlock()
		return
	}
	c.closing = &closeReq{code, reason}
	sched := c.markScheduledLocked()
	c.mu.Unlock()
	if sched {
		c.hub.writer.schedule(c)
	}
}

const bannedReason = "banned from this shop's streams"

// banLocked marks c banned and asks the writer to close it with
// CloseBanned once what is queued is written; it reports whether c must be
// scheduled.
func (c *conn) banLocked() bool {
	c.banned = true
	if c.dead || c.closing != nil {
		return false
	}
	c.closing = &closeReq{CloseBanned, bannedReason}
	return c.markScheduledLocked()
}

// kickBanned closes c with CloseBanned after what is queued (the error
// that refused its command, or the banned event).
func (c *conn) kickBanned() {
	c.mu.Lock()
	sched := c.banLocked()
	c.mu.Unlock()
	if sched {
		c.hub.writer.schedule(c)
	}
}

// take hands the writer everything queued; a non-nil closeReq means close
// after writing the items.
func (c *conn) take() ([][]byte, *closeReq) {
	c.mu.Lock()
	defer c.mu.Unlock()
	items := c.queue
	c.queue = c.spare[:0]
	c.spare = nil
	if c.closing != nil {
		c.dead = true
		return items, c.closing
	}
	return items, nil
}

// recycle returns a drained queue slice for reuse.
func (c *conn) recycle(items [][]byte) {
	clear(items)
	if cap(items) > 64 {
		return
	}
	c.mu.Lock()
	if c.spare == nil {
		c.spare = items[:0]
	}
	c.mu.Unlock()
}

// idle reports whether nothing is left to write, unscheduling the
// connection if so.
func (c *conn) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) > 0 || c.closing != nil && !c.dead {
		return false
	}
	c.scheduled = false
	return true
}

// abort drops a connection whose write failed.
func (c *conn) abort() {
	c.mu.Lock()
	c.dead = true
	c.queue = nil
	c.mu.Unlock()
	c.ws.CloseNow()
}

// send queues a reply for this connection alone.
func (c *conn) send(typ string, data any) {
	c.mu.Lock()
	seq := c.lastSeq
	c.mu.Unlock()
	if c.enqueue(encodeReply(typ, seq, data), 0) {
		c.hub.writer.schedule(c)
	}
}

// sendError reports err to the client, answering command id.
func (c *conn) sendError(id string, err error) {
	e := asRoomError(err)
	if e.Status >= 500 {
		c.hub.log.Warn("room command failed", "room", c.room.id, "account", c.ident.AccountID, "error", err)
	}
	c.hub.m.refused.WithLabelValues(e.Code).Inc()
	d := errorData{ID: id, Code: e.Code, Message: e.Message}
	var r interface{ RetryAfter() time.Duration }
	if errors.As(err, &r) {
		d.RetryAfter = int(r.RetryAfter().Seconds()) + 1
	}
	c.send(EventError, d)
}

// allowCommand spends one token of the connection's command budget.
func (c *conn) allowCommand(now time.Time) bool {
	cfg := &c.hub.cfg
	burst := float64(cfg.CommandBurst)
	if c.refill.IsZero() {
		c.tokens = burst
	} else {
		c.tokens = min(burst, c.tokens+now.Sub(c.refill).Seconds()*cfg.CommandRate)
	}
	c.refill = now
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

// readLoop reads commands until the connection ends, then leaves the room.
func (c *conn) readLoop() {
	defer c.leave()
	for {
		typ, data, err := c.ws.Read(c.hub.ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			c.sendError("", BadRequest("send commands as JSON text messages"))
			continue
		}
		c.handle(c.hub.ctx, data)
	}
}

func (c *conn) leave() {
	c.mu.Lock()
	c.dead = true
	c.queue = nil
	c.mu.Unlock()
	c.ws.CloseNow()
	c.room.leave(c)
	if !c.joined.IsZero() {
		c.hub.act.Watched(c.room.id, c.ident.AccountID, c.joined, c.hub.now())
	}
	c.hub.release(c.room)
	c.slot()
	c.hub.m.connections.Dec()
}
