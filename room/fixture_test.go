package room_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/liveshop/liveshop/room"
	"github.com/liveshop/liveshop/room/redistest"
)

// Test accounts: the header X-Test-User carries "id:name", or "id:name:admin".
const (
	shopID     = 10
	otherShop  = 20
	streamID   = 100
	stream2ID  = 101 // a second live stream of shopID
	sellerID   = 1
	modID      = 2
	viewerID   = 3
	viewer2ID  = 4
	productID  = 500
	foreignPID = 600
)

// headerAuth is the test Authenticator: it trusts a header.
type headerAuth struct{}

func (headerAuth) Authenticate(r *http.Request) (room.Identity, error) {
	v := r.Header.Get("X-Test-User")
	if v == "" {
		return room.Identity{}, nil
	}
	parts := strings.Split(v, ":")
	id, _ := strconv.ParseInt(parts[0], 10, 64)
	return room.Identity{AccountID: id, Name: parts[1], Admin: len(parts) > 2 && parts[2] == "admin"}, nil
}

// directory is the test Directory: one shop with a seller and a moderator.
type directory struct {
	mu      sync.Mutex
	streams map[int64]room.StreamInfo
}

func newDirectory() *directory {
	return &directory{streams: map[int64]room.StreamInfo{
		streamID:  {ID: streamID, ShopID: shopID, Title: "Spring drop", Status: room.StatusLive},
		stream2ID: {ID: stream2ID, ShopID: shopID, Title: "Summer drop", Status: room.StatusLive},
		200:       {ID: 200, ShopID: otherShop, Title: "Other", Status: room.StatusLive},
	}}
}

func (d *directory) Stream(_ context.Context, id int64) (room.StreamInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.streams[id]
	if !ok {
		return s, room.ErrNotFound
	}
	return s, nil
}

func (d *directory) ShopStreams(_ context.Context, shop int64) ([]int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ids []int64
	for id, s := range d.streams {
		if s.ShopID == shop && s.Status != room.StatusEnded {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (d *directory) Role(_ context.Context, shop, account int64) (room.Role, error) {
	switch {
	case shop == shopID && account == sellerID:
		return room.RoleSeller, nil
	case shop == shopID && account == modID:
		return room.RoleModerator, nil
	}
	return room.RoleViewer, nil
}

func (d *directory) Product(_ context.Context, shop, id int64) (room.Product, error) {
	if shop == shopID && id == productID {
		return room.Product{ID: productID, Title: "Linen shirt", PriceMinor: 4900, Currency: "EUR", ImageURL: "/img/shirt.jpg", Stock: 12, Active: true}, nil
	}
	return room.Product{}, fmt.Errorf("product %d: %w", id, room.ErrNotFound)
}

// shared is what nodes of one test share: a store, and the bus, limits and
// presence (memory ones shared in-process, or Redis ones on one prefix).
type shared struct {
	// history is the bus history size, read when the first node starts.
	history int
	// prefix is the Redis key prefix ("" for memory).
	prefix   string
	store    *room.MemoryStore
	dir      *directory
	bus      func() room.Bus
	limits   func() room.Limits
	presence func() room.Presence
}

func memoryShared(t *testing.T) *shared {
	var bus *room.MemoryBus
	limits := room.NewMemoryLimits()
	pres := room.NewMemoryPresence()
	s := &shared{
		history: 1000, store: room.NewMemoryStore(), dir: newDirectory(),
		limits:   func() room.Limits { return limits },
		presence: func() room.Presence { return pres },
	}
	s.bus = func() room.Bus {
		if bus == nil {
			bus = room.NewMemoryBus(s.history)
		}
		return bus
	}
	return s
}

func redisShared(t *testing.T) *shared {
	return redisSharedAt(t, redistest.URL(t), uniquePrefix(t))
}

// redisSharedAt is redisShared on the Redis at url, under prefix.
func redisSharedAt(t *testing.T, url, prefix string) *shared {
	s := &shared{
		history: 1000, prefix: prefix, store: room.NewMemoryStore(), dir: newDirectory(),
		limits:   func() room.Limits { return room.NewRedisLimits(mustRedisAt(t, url, "limits"), prefix) },
		presence: func() room.Presence { return room.NewRedisPresence(mustRedisAt(t, url, "presence"), prefix) },
	}
	s.bus = func() room.Bus {
		b := room.NewRedisBus(mustRedisAt(t, url, "bus"), room.RedisBusOptions{Prefix: prefix, HistorySize: s.history})
		t.Cleanup(func() { b.Close() })
		return b
	}
	return s
}

// node is one server: a hub behind an Echo server on loopback.
type node struct {
	hub *room.Hub
	srv *httptest.Server
	reg *prometheus.Registry
}

func errorHandler(err error, c echo.Context) {
	var coded interface {
		HTTPStatus() int
		ErrorCode() string
	}
	status, code := 500, "internal"
	var he *echo.HTTPError
	switch {
	case errors.As(err, &coded):
		status, code = coded.HTTPStatus(), coded.ErrorCode()
	case errors.As(err, &he):
		status, code = he.Code, "http"
	}
	var retry interface{ RetryAfterSeconds() int }
	if errors.As(err, &retry) {
		c.Response().Header().Set("Retry-After", strconv.Itoa(retry.RetryAfterSeconds()))
	}
	_ = c.JSON(status, map[string]any{"error": map[string]string{"code": code, "message": err.Error()}})
}

func startNode(t *testing.T, s *shared, mod func(*room.Config)) *node {
	t.Helper()
	cfg := room.Config{FlushInterval: 10 * time.Millisecond, ViewerInterval: 50 * time.Millisecond,
		LikeInterval: 50 * time.Millisecond, CommentLimit: 1000, CommandRate: 1000, CommandBurst: 1000,
		CommentIPLimit: -1, SocketsPerAccount: -1, SocketsPerIP: -1, JoinLimitAccount: -1, JoinLimitIP: -1}
	if mod != nil {
		mod(&cfg)
	}
	reg := prometheus.NewRegistry()
	hub, err := room.NewHub(cfg, room.Deps{
		Auth: headerAuth{}, Directory: s.dir, Store: s.store,
		Bus: s.bus(), Limits: s.limits(), Presence: s.presence(), Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = errorHandler
	room.NewHandler(hub).Register(e.Group("/api"))
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		hub.Close()
		srv.Close()
	})
	return &node{hub: hub, srv: srv, reg: reg}
}

// event is a server event as a client sees it.
type event struct {
	Type string          `json:"type"`
	Seq  uint64          `json:"seq"`
	Data json.RawMessage `json:"data"`
}

// client is a test WebSocket client that collects every event it receives.
type client struct {
	t      *testing.T
	ws     *websocket.Conn
	mu     sync.Mutex
	events []event
	frames int
	err    error
	done   chan struct{}
	cursor int
}

func user(id int64, name string) string { return fmt.Sprintf("%d:%s", id, name) }

// dial opens a room connection as who ("" for anonymous); since < 0 asks
// for a snapshot.
func (n *node) dial(t *testing.T, stream int64, who string, since int64) *client {
	t.Helper()
	c, resp, err := n.tryDial(t, stream, who, since, nil)
	if err != nil {
		t.Fatalf("dial room: %v (%v)", err, resp)
	}
	return c
}

func (n *node) tryDial(t *testing.T, stream int64, who string, since int64, hdr http.Header) (*client, *http.Response, error) {
	query := ""
	if since >= 0 {
		query = fmt.Sprintf("?since=%d", since)
	}
	return n.tryDialQuery(t, stream, who, query, hdr)
}

// resume reconnects as who with ?since=SEQ&epoch=E.
func (n *node) resume(t *testing.T, stream int64, who string, since uint64, epoch string) *client {
	t.Helper()
	c, resp, err := n.tryDialQuery(t, stream, who, fmt.Sprintf("?since=%d&epoch=%s", since, url.QueryEscape(epoch)), nil)
	if err != nil {
		t.Fatalf("resume in room: %v (%v)", err, resp)
	}
	return c
}

func (n *node) tryDialQuery(t *testing.T, stream int64, who, query string, hdr http.Header) (*client, *http.Response, error) {
	url := fmt.Sprintf("ws%s/api/streams/%d/room%s", strings.TrimPrefix(n.srv.URL, "http"), stream, query)
	if hdr == nil {
		hdr = http.Header{}
	}
	if who != "" {
		hdr.Set("X-Test-User", who)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		return nil, resp, err
	}
	ws.SetReadLimit(-1)
	c := &client{t: t, ws: ws, done: make(chan struct{})}
	go c.read()
	t.Cleanup(func() { ws.CloseNow(); <-c.done })
	return c, resp, nil
}

func (c *client) read() {
	defer close(c.done)
	for {
		_, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		var evs []event
		if err := json.Unmarshal(data, &evs); err != nil {
			c.mu.Lock()
			c.err = fmt.Errorf("frame is not a JSON array of events: %s", data)
			c.mu.Unlock()
			return
		}
		c.mu.Lock()
		c.events = append(c.events, evs...)
		c.frames++
		c.mu.Unlock()
	}
}

// next waits for the next event of type typ after the cursor and moves the
// cursor past it.
func (c *client) next(typ string) event {
	c.t.Helper()
	var got event
	eventually(c.t, "event "+typ+" arrives", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i := c.cursor; i < len(c.events); i++ {
			if c.events[i].Type == typ {
				got, c.cursor = c.events[i], i+1
				return true
			}
		}
		if c.err != nil {
			c.t.Fatalf("connection ended while waiting for %s: %v", typ, c.err)
		}
		return false
	})
	return got
}

// first returns the first event the client received, waiting for it.
func (c *client) first() event {
	c.t.Helper()
	var got event
	eventually(c.t, "a first event arrives", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.events) > 0 {
			got = c.events[0]
			return true
		}
		if c.err != nil {
			c.t.Fatalf("connection ended before its first event: %v", c.err)
		}
		return false
	})
	return got
}

// all returns every event of typ received so far.
func (c *client) all(typ string) []event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []event
	for _, e := range c.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func (c *client) lastSeq() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s uint64
	for _, e := range c.events {
		s = max(s, e.Seq)
	}
	return s
}

func (c *client) send(cmd map[string]any) {
	c.t.Helper()
	b, _ := json.Marshal(cmd)
	c.sendRaw(b)
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// closeStatus waits for the connection to end and returns its close code.
func (c *client) closeStatus() websocket.StatusCode {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.t.Fatal("connection did not close")
	}
	return websocket.CloseStatus(c.err)
}

func (c *client) isOpen() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

func decode[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

// commentData is the data of comment events.
type commentData struct {
	ID     int64  `json:"id"`
	CID    string `json:"cid"`
	Text   string `json:"text"`
	Status string `json:"status"`
	User   struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"user"`
}

type snapshot struct {
	Stream struct {
		ID     int64  `json:"id"`
		ShopID int64  `json:"shop_id"`
		Status string `json:"status"`
	} `json:"stream"`
	Pinned    *room.Product   `json:"pinned"`
	FlashSale *room.FlashSale `json:"flash_sale"`
	Comments  []commentData   `json:"comments"`
	Viewers   int             `json:"viewers"`
	Likes     int64           `json:"likes"`
	SlowMode  int             `json:"slow_mode"`
	Epoch     string          `json:"epoch"`
	Continues bool            `json:"continues"`
	Gap       bool            `json:"gap"`
	Me        struct {
		ID         int64      `json:"id"`
		Role       string     `json:"role"`
		MutedUntil *time.Time `json:"muted_until"`
		Banned     bool       `json:"banned"`
	} `json:"me"`
}

type errData struct {
	ID         string `json:"id"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retry_after"`
}

// comment sends a comment and waits for its ack.
func (c *client) comment(id, text string) commentData {
	c.t.Helper()
	c.send(map[string]any{"type": "comment", "id": id, "cid": id, "text": text})
	return c.ack(id)
}

// ack waits for the ack (or error) of command id.
func (c *client) ack(id string) commentData {
	c.t.Helper()
	var out commentData
	eventually(c.t, "ack of "+id, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, e := range c.events {
			var d struct {
				ID      string          `json:"id"`
				Comment json.RawMessage `json:"comment"`
				Code    string          `json:"code"`
			}
			if (e.Type == "ack" || e.Type == "error") && json.Unmarshal(e.Data, &d) == nil && d.ID == id {
				if e.Type == "error" {
					c.t.Fatalf("command %s refused: %s", id, e.Data)
				}
				if d.Comment != nil {
					_ = json.Unmarshal(d.Comment, &out)
				}
				return true
			}
		}
		return c.err != nil
	})
	return out
}

// refusal waits for the error answering command id.
func (c *client) refusal(id string) errData {
	c.t.Helper()
	var out errData
	eventually(c.t, "error for "+id, func() bool {
		for _, e := range c.all("error") {
			if d := decode[errData](c.t, e.Data); d.ID == id {
				out = d
				return true
			}
		}
		for _, e := range c.all("ack") {
			if d := decode[errData](c.t, e.Data); d.ID == id {
				c.t.Fatalf("command %s was accepted, want a refusal", id)
			}
		}
		return false
	})
	return out
}

// api calls the HTTP API as who and returns the status and body.
func (n *node) api(t *testing.T, method, path, who string, body any) (int, []byte) {
	t.Helper()
	var rd *strings.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	} else {
		rd = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, n.srv.URL+"/api"+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if who != "" {
		req.Header.Set("X-Test-User", who)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf strings.Builder
	_, _ = fmt.Fprint(&buf, "")
	b := make([]byte, 0, 1024)
	tmp := make([]byte, 4096)
	for {
		k, err := resp.Body.Read(tmp)
		b = append(b, tmp[:k]...)
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b
}

// tryDialRaw opens an anonymous room connection that nobody reads from,
// with a small socket receive buffer so it fills up soon.
func (n *node) tryDialRaw(t *testing.T, stream int64) (*websocket.Conn, *http.Response, error) {
	url := fmt.Sprintf("ws%s/api/streams/%d/room", strings.TrimPrefix(n.srv.URL, "http"), stream)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dialer := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8192) })
	}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	t.Cleanup(client.CloseIdleConnections)
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: client})
	if err == nil {
		ws.SetReadLimit(-1)
		t.Cleanup(func() { ws.CloseNow() })
	}
	return ws, resp, err
}

// metricValue reads a counter or gauge from reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var sum float64
		for _, m := range mf.GetMetric() {
			if c := m.GetCounter(); c != nil {
				sum += c.GetValue()
			}
			if g := m.GetGauge(); g != nil {
				sum += g.GetValue()
			}
		}
		return sum
	}
	return 0
}
