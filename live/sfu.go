package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// StreamAuthorizer decides who may publish. Stream records and keys belong
// to commerce; cmd/liveshop adapts it. AuthorizePublish returns nil, an
// error wrapping ErrUnauthorized (wrong or missing key) or ErrNotFound
// (no such stream), or any other error for a failure (rendered as 500).
// An error with HTTP status 409 means the key is right but the stream is
// closed (ended by its seller): new publishers are refused, an existing
// session may still be stopped, and a live stream is ended. The origin
// re-checks its publisher's key every third of Config.OriginTTL: a 401
// then (the key was rotated) closes the publisher. Errors may be any type
// with HTTPStatus() and ErrorCode() methods.
type StreamAuthorizer interface {
	AuthorizePublish(ctx context.Context, streamID int64, bearerKey string) error
}

// Events hears when a stream goes live and when it ends, so the room and the
// stream record can follow. The stream's origin node calls it; a quick
// publisher reconnect within the grace period produces no events. A stream
// recorded live that no node carries any more (its origin crashed) is
// reported ended by every node that finds it (see Deps.LiveStreams), so
// StreamEnded must tolerate an end it has heard already. Calls
// come one at a time, in order, from one goroutine; a slow implementation
// delays later events, never media.
type Events interface {
	StreamStarted(ctx context.Context, streamID int64)
	StreamEnded(ctx context.Context, streamID int64)
}

// StreamCatalog tells a stream that does not exist from one that is not
// live, so a player asking for a wrong ID gets 404 at once instead of
// retrying a 409 forever. cmd/liveshop adapts commerce to it. A stream
// once found is remembered (stream records are never deleted), so players
// waiting for a show to start cost no look-ups.
type StreamCatalog interface {
	StreamExists(ctx context.Context, streamID int64) (bool, error)
}

// Deps are the collaborators an SFU is built with. Auth is required; the
// others default to a no-op (Events), an in-memory registry (one node), a
// private metrics registry and a discarding logger. With LiveStreams, the
// SFU ends (through Events) streams recorded live whose origin crashed
// once the grace period after its claim lapsed has passed without a
// publisher, and streams that have had no origin claim at all for
// Config.PublisherGrace + Config.OriginTTL (see sweepOrphans). Without a
// Catalog every stream counts as known: WHEP answers 409 for any stream
// that is not live.
type Deps struct {
	Auth        StreamAuthorizer
	Events      Events
	Registry    OriginRegistry
	LiveStreams LiveStreams
	Catalog     StreamCatalog
	Metrics     prometheus.Registerer
	Logger      *slog.Logger
}

// SFU is a node's selective forwarding unit: it terminates WHIP publishers
// and WHEP viewers, forwards media between them without transcoding, and
// pulls streams whose publisher is connected to another node.
type SFU struct {
	cfg      Config
	auth     StreamAuthorizer
	catalog  StreamCatalog
	events   Events
	registry OriginRegistry
	log      *slog.Logger
	metrics  *metrics
	net      *network

	// liveStreams (optional) lists streams recorded live. The rest is
	// sweepOrphans' (maintain's goroutine only): whether it ran, the
	// streams it watches, since when each has had no origin claim, and
	// those it last saw with a lapsed claim.
	liveStreams LiveStreams
	rounds      atomic.Int64 // maintenance rounds finished, for Stats
	swept       bool
	watched     map[int64]bool
	orphans     map[int64]time.Time
	lapsed      map[int64]bool

	certMu sync.Mutex
	cert   *webrtc.Certificate

	mu       sync.Mutex
	streams  map[int64]*stream
	sessions map[string]*sessionRef
	closed   bool

	admission  *admission
	knownMu    sync.Mutex
	known      map[int64]bool         // streams the catalog has found
	relayToken atomic.Pointer[string] // the cluster's, once read from the registry
	advertise  atomic.Value           // string: base URL for relays (Config.AdvertiseURL)
	stop       chan struct{}
	wg         sync.WaitGroup

	// Stream events wait here for deliverEvents. The queue is appended to
	// under stream locks and so never blocks; it holds at most two events
	// per stream run.
	eventMu     sync.Mutex
	pending     []streamEvent
	eventSignal chan struct{}
}

// sessionRef finds a session's stream and role from its ID.
type sessionRef struct {
	st  *stream
	pub *publisher
	v   *viewer
}

func (r *sessionRef) session() *session {
	if r.pub != nil {
		return r.pub.session
	}
	return r.v.session
}

type streamEvent struct {
	id      int64
	started bool
}

// New builds an SFU and opens its sockets (UDP mux, ICE-TCP listener).
// Close releases them.
func New(cfg Config, deps Deps) (*SFU, error) {
	if deps.Auth == nil {
		return nil, errors.New("live: Deps.Auth is required")
	}
	if err := cfg.fillDefaults(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = discardLogger()
	}
	if deps.Metrics == nil {
		deps.Metrics = prometheus.NewRegistry()
	}
	if deps.Events == nil {
		deps.Events = noEvents{}
	}
	if deps.Registry == nil {
		deps.Registry = NewMemoryRegistry()
	}
	m, err := newMetrics(deps.Metrics)
	if err != nil {
		return nil, fmt.Errorf("live: metrics: %w", err)
	}
	log := deps.Logger.With("node", cfg.NodeID)
	n, err := newNetwork(&cfg, log)
	if err != nil {
		return nil, err
	}
	s := &SFU{
		cfg: cfg, auth: deps.Auth, catalog: deps.Catalog, events: deps.Events, registry: deps.Registry, log: log, metrics: m, net: n,
		liveStreams: deps.LiveStreams, watched: map[int64]bool{}, orphans: map[int64]time.Time{}, lapsed: map[int64]bool{},
		streams:     map[int64]*stream{},
		known:       map[int64]bool{},
		sessions:    map[string]*sessionRef{},
		stop:        make(chan struct{}),
		eventSignal: make(chan struct{}, 1),
	}
	s.admission = newAdmission(&s.cfg)
	s.advertise.Store(cfg.AdvertiseURL)
	s.wg.Add(2)
	go s.deliverEvents()
	go s.maintain()
	return s, nil
}

// NodeID is this node's name in the origin registry.
func (s *SFU) NodeID() string { return s.cfg.NodeID }

// Close ends every stream on this node (origin streams emit StreamEnded,
// their registry entries are released), closes all PeerConnections and the
// shared sockets, and waits for the SFU's goroutines.
func (s *SFU) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	streams := make([]*stream, 0, len(s.streams))
	for _, st := range s.streams {
		streams = append(streams, st)
	}
	s.mu.Unlock()
	for _, st := range streams {
		st.end("node shutting down")
	}
	close(s.stop)
	s.wg.Wait()
	return s.net.close()
}

// IsLive reports whether streamID has a publisher on this node or, through
// the origin registry, on any other node (whose claim has not lapsed).
func (s *SFU) IsLive(ctx context.Context, streamID int64) bool {
	s.mu.Lock()
	st := s.streams[streamID]
	s.mu.Unlock()
	if st != nil && st.isLive() {
		return true
	}
	o, ok, err := s.registry.Lookup(ctx, streamID)
	if err != nil {
		s.log.Warn("origin registry lookup", "stream", streamID, slog.Any("error", err))
		return false
	}
	return ok && !o.Lapsed && o.NodeID != s.cfg.NodeID
}

// Stats is a snapshot of what a node carries, for tests and status pages.
type Stats struct {
	Streams    int
	Publishers int
	Viewers    int
	Relays     int
	// Rounds counts the maintenance rounds finished since the node
	// started: each refreshes origin claims, re-checks publishers' keys,
	// checks relays' origins and sweeps streams no node carries.
	Rounds int64
}

// Stats counts this node's streams and sessions.
func (s *SFU) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Streams: len(s.streams), Rounds: s.rounds.Load()}
	for _, x := range s.streams {
		if x.relay.Load() {
			st.Relays++
		}
	}
	for _, r := range s.sessions {
		if r.pub != nil {
			st.Publishers++
		} else if r.v != nil {
			st.Viewers++
		}
	}
	return st
}

// emit queues a stream event without blocking; callers hold the stream's
// lock so that a stream's events keep their order.
func (s *SFU) emit(id int64, started bool) {
	s.eventMu.Lock()
	s.pending = append(s.pending, streamEvent{id: id, started: started})
	s.eventMu.Unlock()
	select {
	case s.eventSignal <- struct{}{}:
	default:
	}
}

// deliverEvents calls Events in order, one at a time, off the media paths.
func (s *SFU) deliverEvents() {
	defer s.wg.Done()
	deliver := func(e streamEvent) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if e.started {
			s.events.StreamStarted(ctx, e.id)
		} else {
			s.events.StreamEnded(ctx, e.id)
		}
	}
	for {
		stopping := false
		select {
		case <-s.eventSignal:
		case <-s.stop:
			stopping = true
		}
		for {
			s.eventMu.Lock()
			if len(s.pending) == 0 {
				s.pending = nil
				s.eventMu.Unlock()
				break
			}
			e := s.pending[0]
			s.pending = s.pending[1:]
			s.eventMu.Unlock()
			deliver(e)
		}
		if stopping {
			return
		}
	}
}

// maintain refreshes this node's origin claims, ends origin streams their
// owner closed and relays whose origin left the registry, and reports the
// end of streams recorded live that no node carries, every third of the
// origin TTL.
func (s *SFU) maintain() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.OriginTTL / 3)
	defer t.Stop()
	sweep := func() {
		if s.liveStreams != nil {
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.OriginTTL/3)
			s.sweepOrphans(ctx)
			cancel()
		}
	}
	sweep() // streams recorded live when the node starts are watched
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		streams := make([]*stream, 0, len(s.streams))
		for _, st := range s.streams {
			streams = append(streams, st)
		}
		s.mu.Unlock()
		for _, st := range streams {
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.OriginTTL/3)
			if st.relay.Load() {
				st.checkOrigin(ctx)
			} else {
				st.refreshClaim(ctx)
				st.recheckKey(ctx)
			}
			cancel()
		}
		sweep()
		s.admission.prune()
		s.rounds.Add(1)
	}
}

func (s *SFU) origin() Origin {
	u, _ := s.advertise.Load().(string)
	return Origin{NodeID: s.cfg.NodeID, URL: u}
}

// SetAdvertiseURL sets the base URL other nodes pull this node's streams
// from, for servers that learn their address only once listening (port 0).
// Config.AdvertiseURL, when set, is the better place.
func (s *SFU) SetAdvertiseURL(u string) { s.advertise.Store(strings.TrimRight(u, "/")) }

func (s *SFU) addSession(id string, ref *sessionRef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[id] = ref
}

func (s *SFU) removeSession(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, id)
}

// lookupSession finds a session of kind on streamID; sessions of other
// streams are not found, whatever their ID.
func (s *SFU) lookupSession(streamID int64, kind sessionKind, id string) (*sessionRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.sessions[id]
	if r == nil || r.st.id != streamID || r.session().kind != kind {
		return nil, fmt.Errorf("%s session: %w", kind, ErrNotFound)
	}
	return r, nil
}

type noEvents struct{}

func (noEvents) StreamStarted(context.Context, int64) {}
func (noEvents) StreamEnded(context.Context, int64)   {}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
