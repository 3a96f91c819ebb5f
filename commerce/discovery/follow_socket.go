package discovery

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/internal/api"

	"github.com/coder/websocket"
)

// Notification sockets: GET /api/me/notifications is a per-account
// WebSocket that any open page of a signed-in viewer may hold. It carries
// JSON objects {"type","data"}:
//
//	snapshot       (live: the followed shops' streams live now) on connect
//	followed_live  (Alert) a shop the viewer follows just went live
//
// A WebSocket rather than Server-Sent Events: it does not take one of the
// browser's six HTTP/1.1 connections per host for as long as a tab is open,
// and it is the same machinery rooms use. Pages of other origins are
// refused (Config.Origins, the rooms' policy, checked like room sockets
// by OriginPolicy), and the socket needs a session.
const (
	alertQueueSize   = 16
	alertsPerAccount = 16
	alertPing        = 30 * time.Second
	alertWriteWait   = 10 * time.Second
	alertChunk       = 500
)

// ErrTooManySockets means the account holds as many notification sockets
// as it may (alertsPerAccount): a client limit; close another tab.
var ErrTooManySockets = api.New(429, "too_many_sockets", "too many notification sockets open; close another tab and retry")

// errAlertsFull means this node holds Config.MaxAlertSockets
// notification sockets: the server's limit, so another node (or a moment
// later) may serve.
var errAlertsFull = api.New(503, "unavailable", "this server holds all the notification sockets it may; retry shortly")

// alertConn is one open notification socket.
type alertConn struct {
	account int64
	queue   chan []byte
}

// alertHub holds this node's notification sockets and turns alerts from
// the bus into messages for the followers among them.
type alertHub struct {
	d      *Service
	work   chan Alert
	ctx    context.Context
	cancel context.CancelFunc
	socks  sync.WaitGroup

	mu    sync.Mutex
	conns map[int64]map[*alertConn]struct{}
	total int
}

func newAlertHub(d *Service) *alertHub {
	ctx, cancel := context.WithCancel(context.Background())
	return &alertHub{d: d, work: make(chan Alert, 64), ctx: ctx, cancel: cancel, conns: map[int64]map[*alertConn]struct{}{}}
}

// deliver is the bus subscriber: it queues the alert for fan-out, dropping
// it when the queue is full rather than stalling the bus.
func (h *alertHub) deliver(a Alert) {
	select {
	case h.work <- a:
	default:
		h.d.m.alertDrops.Inc()
	}
}

// run fans alerts out until the hub closes.
func (h *alertHub) run() {
	for {
		select {
		case a := <-h.work:
			h.fanOut(a)
		case <-h.ctx.Done():
			return
		}
	}
}

// fanOut sends a to the local sockets of the shop's followers. It asks
// the store which of the accounts connected here follow the shop, in
// chunks, so the cost follows this node's sockets, not the shop's
// follower count.
func (h *alertHub) fanOut(a Alert) {
	h.mu.Lock()
	ids := make([]int64, 0, len(h.conns))
	for id := range h.conns {
		ids = append(ids, id)
	}
	h.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	msg, err := json.Marshal(alertMessage{Type: "followed_live", Data: a})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	for start := 0; start < len(ids); start += alertChunk {
		followers, err := h.d.store.FollowersAmong(ctx, a.ShopID, ids[start:min(len(ids), start+alertChunk)])
		if err != nil {
			h.d.log.Warn("go-live alert: find followers", "shop", a.ShopID, slog.Any("error", err))
			return
		}
		h.mu.Lock()
		for _, id := range followers {
			for c := range h.conns[id] {
				select {
				case c.queue <- msg:
					h.d.m.alertsSent.Inc()
				default:
					h.d.m.alertDrops.Inc()
				}
			}
		}
		h.mu.Unlock()
	}
}

// alertMessage is one message on a notification socket.
type alertMessage struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

func (h *alertHub) register(account int64) (*alertConn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx.Err() != nil {
		return nil, commerce.ErrUnavailable
	}
	if h.total >= h.d.cfg.MaxAlertSockets {
		return nil, errAlertsFull
	}
	if len(h.conns[account]) >= alertsPerAccount {
		h.d.log.Warn("too many notification sockets", "account", account, "open", len(h.conns[account]))
		return nil, ErrTooManySockets
	}
	c := &alertConn{account: account, queue: make(chan []byte, alertQueueSize)}
	if h.conns[account] == nil {
		h.conns[account] = map[*alertConn]struct{}{}
	}
	h.conns[account][c] = struct{}{}
	h.total++
	h.socks.Add(1)
	h.d.m.alertConns.Inc()
	return c, nil
}

func (h *alertHub) unregister(c *alertConn) {
	h.mu.Lock()
	delete(h.conns[c.account], c)
	if len(h.conns[c.account]) == 0 {
		delete(h.conns, c.account)
	}
	h.total--
	h.mu.Unlock()
	h.d.m.alertConns.Dec()
	h.socks.Done()
}

// close ends every socket (1001 going away) and waits for them, briefly.
func (h *alertHub) close() {
	h.cancel()
	done := make(chan struct{})
	go func() {
		h.socks.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// serveAlerts runs one notification socket for account a until either side
// closes it.
func (h *alertHub) serveAlerts(w http.ResponseWriter, r *http.Request, a commerce.Account) error {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return api.New(426, "upgrade_required", "open this URL as a WebSocket")
	}
	if !h.d.svc.AllowSocket(r) {
		return commerce.ErrCrossOrigin
	}
	c, err := h.register(a.ID)
	if err != nil {
		return err
	}
	defer h.unregister(c)
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true}) // origin checked above
	if err != nil {
		return nil // Accept wrote the refusal
	}
	defer ws.CloseNow()
	ctx := ws.CloseRead(h.ctx)

	live, err := h.d.store.FollowedLive(ctx, a.ID, api.MaxPageSize)
	if err != nil {
		ws.Close(websocket.StatusInternalError, "try again")
		return nil
	}
	if live == nil {
		live = []StreamSummary{}
	}
	hello, _ := json.Marshal(alertMessage{Type: "snapshot", Data: map[string]any{"live": live}})
	if err := writeAlert(ctx, ws, hello); err != nil {
		return nil
	}
	ping := time.NewTicker(alertPing)
	defer ping.Stop()
	for {
		select {
		case msg := <-c.queue:
			if err := writeAlert(ctx, ws, msg); err != nil {
				return nil
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, alertWriteWait)
			err := ws.Ping(pctx)
			cancel()
			if err != nil {
				return nil
			}
		case <-ctx.Done():
			if h.ctx.Err() != nil {
				ws.Close(websocket.StatusGoingAway, "server shutting down")
			}
			return nil
		}
	}
}

func writeAlert(ctx context.Context, ws *websocket.Conn, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, alertWriteWait)
	defer cancel()
	return ws.Write(ctx, websocket.MessageText, msg)
}
