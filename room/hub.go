package room

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// Config tunes the hub; NewHub fills zero fields with defaults.
type Config struct {
	// NodeID names this node in presence reports; random by default.
	NodeID string
	// PublicURL is the scheme and host users reach the server at
	// ("https://shop.example"); its pages, and those of the request's own
	// host with its scheme, may open room WebSockets. Empty takes the
	// request's own scheme (TLS or not) and host.
	PublicURL string
	// AllowedOrigins are extra origins whose pages may open room
	// WebSockets: path.Match patterns of a host ("shop.example.com",
	// "*.example.com") or of a scheme and host ("https://*.example.com");
	// "*" allows any origin (development only). See NewOrigins.
	AllowedOrigins []string
	// ReadLimit caps one client message in bytes (default 4096); a bigger
	// one closes the connection with 1009.
	ReadLimit int64
	// QueueSize caps the frames waiting for one connection (default 256);
	// overflowing closes it with CloseSlowConsumer.
	QueueSize int
	// FlushInterval is the batching window: a room sends what accumulated
	// at most once per interval, as one frame per connection (default
	// 50ms). Quiet rooms flush an event at once.
	FlushInterval time.Duration
	// MaxFlushInterval caps the batching window of big rooms, which stretch
	// FlushInterval by their size in thousands of connections (default
	// 200ms, reached at 4,000 connections: fewer, bigger frames keep a
	// 10,000-viewer room within a 2-core node's write budget).
	MaxFlushInterval time.Duration
	// WriteTimeout cuts a write stuck on a peer that stopped reading
	// (default 10s).
	WriteTimeout time.Duration
	// Writers is the number of goroutines writing to connections (default 64).
	Writers int
	// HistorySize is how many recent events each room keeps in memory for
	// resume (default 1000; the bus keeps its own, usually equal).
	HistorySize int
	// SnapshotComments is how many recent comments a snapshot carries (50).
	SnapshotComments int
	// CommentMaxRunes caps a comment's length (default 500).
	CommentMaxRunes int
	// CommentLimit comments per CommentWindow per account, on every node
	// together (default 20 per 10s).
	CommentLimit  int
	CommentWindow time.Duration
	// CommentIPLimit caps comments from one client address per
	// CommentWindow, whatever the accounts, on every node together
	// (default 100; negative: no limit), so one address with many accounts
	// cannot flood a room. Moderators of the shop are exempt.
	CommentIPLimit int
	// SocketsPerAccount and SocketsPerIP cap the room sockets one account
	// and one client address hold open on this node (defaults 16 and 500;
	// negative: no limit). JoinLimitAccount and JoinLimitIP cap how often
	// they open one per JoinWindow, on every node together (defaults 60
	// and 600 per minute; negative: no limit): each join costs a snapshot.
	SocketsPerAccount int
	SocketsPerIP      int
	JoinLimitAccount  int
	JoinLimitIP       int
	JoinWindow        time.Duration
	// CommandRate and CommandBurst cap all commands of one connection
	// (default 10/s, burst 30).
	CommandRate  float64
	CommandBurst int
	// LikeInterval is the window likes are summed over before one event
	// (default 1s).
	LikeInterval time.Duration
	// ViewerInterval is how often viewer counts are reported and announced
	// (default 2s).
	ViewerInterval time.Duration
	// RoomLinger keeps a room open this long after its last viewer left,
	// so a reconnect finds it warm (default 30s).
	RoomLinger time.Duration
	// MaxMute caps a mute's length (default 7 days).
	MaxMute time.Duration
}

func (c *Config) fillDefaults() {
	if c.NodeID == "" {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		c.NodeID = "node-" + hex.EncodeToString(b)
	}
	setDefault(&c.ReadLimit, 4096)
	setDefault(&c.QueueSize, 256)
	setDefault(&c.FlushInterval, 50*time.Millisecond)
	setDefault(&c.MaxFlushInterval, 200*time.Millisecond)
	setDefault(&c.WriteTimeout, 10*time.Second)
	setDefault(&c.Writers, 64)
	setDefault(&c.HistorySize, 1000)
	setDefault(&c.SnapshotComments, 50)
	setDefault(&c.CommentMaxRunes, 500)
	setDefault(&c.CommentLimit, 20)
	setDefault(&c.CommentWindow, 10*time.Second)
	setDefault(&c.CommentIPLimit, 100)
	setDefault(&c.SocketsPerAccount, 16)
	setDefault(&c.SocketsPerIP, 500)
	setDefault(&c.JoinLimitAccount, 60)
	setDefault(&c.JoinLimitIP, 600)
	setDefault(&c.JoinWindow, time.Minute)
	setDefault(&c.CommandRate, 10)
	setDefault(&c.CommandBurst, 30)
	setDefault(&c.LikeInterval, time.Second)
	setDefault(&c.ViewerInterval, 2*time.Second)
	setDefault(&c.RoomLinger, 30*time.Second)
	setDefault(&c.MaxMute, 7*24*time.Hour)
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

// Deps are the hub's collaborators. Auth, Directory and Store are required;
// Bus, Limits and Presence default to the single-node memory
// implementations (pick Redis ones at start-up for many nodes).
type Deps struct {
	Auth       Authenticator
	Directory  Directory
	Store      Store
	Bus        Bus
	Limits     Limits
	Presence   Presence
	FlashSales FlashSaleSource // optional
	Activity   Activity        // optional: who joins, watches, likes, comments
	Logger     *slog.Logger
	// Registerer receives the metrics (a fresh registry if nil).
	Registerer prometheus.Registerer
}

// Hub runs the rooms of one node: it accepts WebSocket connections, keeps
// each open room's state in step with the bus, and fans events out.
type Hub struct {
	cfg     Config
	auth    Authenticator
	dir     Directory
	store   Store
	bus     Bus
	limits  Limits
	pres    Presence
	sales   FlashSaleSource
	act     Activity
	log     *slog.Logger
	origins *Origins
	m       *metrics
	writer  *writePool
	now     func() time.Time

	ctx    context.Context
	cancel context.CancelFunc
	// holds counts acquire calls not yet released (connections and joins
	// in progress); Close waits for them.
	holds sync.WaitGroup
	rooms sync.WaitGroup

	comments *commentWriter
	sockets  socketCounts // open sockets per account and address (admission.go)

	mu     sync.Mutex
	open   map[int64]*liveRoom
	closed bool
}

// NewHub returns a running hub; Close stops it.
func NewHub(cfg Config, d Deps) (*Hub, error) {
	cfg.fillDefaults()
	if d.Auth == nil || d.Directory == nil || d.Store == nil {
		return nil, errors.New("room: NewHub needs Auth, Directory and Store")
	}
	if d.Bus == nil {
		d.Bus = NewMemoryBus(cfg.HistorySize)
	}
	if d.Limits == nil {
		d.Limits = NewMemoryLimits()
	}
	if d.Presence == nil {
		d.Presence = NewMemoryPresence()
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Registerer == nil {
		d.Registerer = prometheus.NewRegistry()
	}
	m, err := newMetrics(d.Registerer)
	if err != nil {
		return nil, fmt.Errorf("room metrics: %w", err)
	}
	if rb, ok := d.Bus.(*RedisBus); ok && rb.OnReconnect == nil {
		rb.OnReconnect = m.busReconn.Inc
	}
	if d.Activity == nil {
		d.Activity = noActivity{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{
		cfg: cfg, auth: d.Auth, dir: d.Directory, store: d.Store, bus: d.Bus, limits: d.Limits,
		pres: d.Presence, sales: d.FlashSales, act: d.Activity, log: d.Logger.With("node", cfg.NodeID), m: m,
		origins: NewOrigins(cfg.PublicURL, cfg.AllowedOrigins),
		writer:  newWritePool(cfg.Writers, cfg.WriteTimeout, m), now: time.Now, comments: newCommentWriter(d.Store),
		ctx: ctx, cancel: cancel, open: map[int64]*liveRoom{},
	}
	return h, nil
}

// Config returns the effective configuration, defaults filled in.
func (h *Hub) Config() Config { return h.cfg }

// Publish sends an event produced outside the room package to everyone in
// the stream's room, on every node, as a Publisher on the hub's bus does.
func (h *Hub) Publish(ctx context.Context, streamID int64, ev Event) (uint64, error) {
	return publishOutside(ctx, h.bus, h.now(), streamID, ev)
}

// Publisher sends events produced outside the room package to everyone in
// a stream's room, on every node: stream_started and stream_ended (live),
// flash_sale_started, flash_sale_stock and flash_sale_ended (flash sales),
// purchase (the "just bought" ticker).
// It needs only the bus, so what publishes can be built before the Hub that
// serves the rooms on that bus (and that the publishers' services feed).
type Publisher struct{ bus Bus }

// NewPublisher returns a Publisher on bus.
func NewPublisher(bus Bus) *Publisher { return &Publisher{bus: bus} }

// Publish sends ev to the stream's room and returns its sequence number
// there. Data is one of FlashSale, FlashSaleStock, FlashSaleEnded,
// Purchase, or nil.
func (p *Publisher) Publish(ctx context.Context, streamID int64, ev Event) (uint64, error) {
	return publishOutside(ctx, p.bus, time.Now(), streamID, ev)
}

func publishOutside(ctx context.Context, bus Bus, now time.Time, streamID int64, ev Event) (uint64, error) {
	if !publishable[ev.Type] {
		return 0, fmt.Errorf("room: event type %q cannot be published from outside", ev.Type)
	}
	return publish(ctx, bus, now, streamID, ev)
}

func (h *Hub) publish(ctx context.Context, streamID int64, ev Event) (uint64, error) {
	return publish(ctx, h.bus, h.now(), streamID, ev)
}

func publish(ctx context.Context, bus Bus, now time.Time, streamID int64, ev Event) (uint64, error) {
	payload, err := encodeEnvelope(ev, now)
	if err != nil {
		return 0, err
	}
	seq, err := bus.Publish(ctx, streamID, payload)
	if err != nil {
		return 0, fmt.Errorf("publish %s to room %d: %w", ev.Type, streamID, err)
	}
	return seq, nil
}

// acquire returns the stream's room, opening it on this node if needed,
// and holds it open until release.
func (h *Hub) acquire(ctx context.Context, streamID int64) (*liveRoom, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrUnavailable
	}
	r := h.open[streamID]
	if r == nil {
		r = newLiveRoom(h, streamID)
		h.open[streamID] = r
		h.m.rooms.Inc()
		h.rooms.Add(1)
		go r.run()
	}
	r.refs++
	h.holds.Add(1) // under mu, after the closed check: never races Close's Wait
	h.mu.Unlock()
	select {
	case <-r.ready:
	case <-ctx.Done():
		h.release(r)
		return nil, ctx.Err()
	}
	if r.openErr != nil {
		h.release(r)
		return nil, r.openErr
	}
	return r, nil
}

// release drops one hold on r; the room closes itself after RoomLinger
// without holds.
func (h *Hub) release(r *liveRoom) {
	h.mu.Lock()
	r.refs--
	if r.refs == 0 {
		r.idleSince = h.now()
	}
	h.mu.Unlock()
	h.holds.Done()
}

// closeIfIdle removes r from the open rooms when it has lingered long
// enough without holds (or failed to open); it reports whether it did.
func (h *Hub) closeIfIdle(r *liveRoom, force bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.refs > 0 && !force {
		return false
	}
	if !force && h.now().Sub(r.idleSince) < h.cfg.RoomLinger {
		return false
	}
	if h.open[r.id] == r {
		delete(h.open, r.id)
		h.m.rooms.Dec()
	}
	return true
}

// Close disconnects every client with 1001 (going away), closes the rooms
// and stops the write pool. The bus, limits and presence stay the
// caller's to close.
func (h *Hub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	rooms := make([]*liveRoom, 0, len(h.open))
	for _, r := range h.open {
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	for _, r := range rooms {
		r.closeConns(websocket.StatusGoingAway, "server shutting down")
	}
	h.cancel()
	h.holds.Wait()
	h.rooms.Wait()
	h.writer.close()
	h.comments.close()
	return nil
}
