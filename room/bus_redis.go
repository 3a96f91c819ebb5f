package room

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisBus is the multi-node Bus. Each room has a sequence counter and a
// stream capped near HistorySize entries (IDs "<seq>-1"); one Lua script
// increments, appends and PUBLISHes atomically, so pub/sub order is seq
// order. One pub/sub connection per bus carries every room the node has
// open. Redis pub/sub drops messages while a connection is down, so every
// (re)subscribe confirmation, every gap in the sequence and every quiet
// second with a counter ahead of what was delivered triggers a catch-up read
// from the stream.
type RedisBus struct {
	rdb    redis.UniversalClient
	prefix string
	size   int
	ttl    time.Duration
	log    *slog.Logger

	ps     *redis.PubSub
	cancel context.CancelFunc
	done   chan struct{}

	// OnReconnect, if set before the first Subscribe, is called after the
	// pub/sub connection failed and is being re-established.
	OnReconnect func()

	mu    sync.Mutex // guards rooms and serialises deliveries
	rooms map[int64]map[*redisSub]struct{}
}

type redisSub struct {
	bus     *RedisBus
	room    int64
	last    uint64
	deliver func(Message)
}

var _ Bus = (*RedisBus)(nil)

// RedisBusOptions tune NewRedisBus.
type RedisBusOptions struct {
	// Prefix starts every key and channel ("liveshop:" by default); tests
	// use a unique one each.
	Prefix string
	// HistorySize is how many recent events per room are kept (at least;
	// trimming is approximate). Default 1000.
	HistorySize int
	// TTL drops a room's counter and history this long after its last
	// event. Default 24h.
	TTL    time.Duration
	Logger *slog.Logger
}

// NewRedisBus returns a bus on rdb. It starts one goroutine reading pub/sub;
// Close stops it.
func NewRedisBus(rdb redis.UniversalClient, o RedisBusOptions) *RedisBus {
	if o.Prefix == "" {
		o.Prefix = "liveshop:"
	}
	if o.HistorySize <= 0 {
		o.HistorySize = 1000
	}
	if o.TTL <= 0 {
		o.TTL = 24 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &RedisBus{
		rdb: rdb, prefix: o.Prefix, size: o.HistorySize, ttl: o.TTL, log: o.Logger,
		ps: rdb.Subscribe(ctx), cancel: cancel, done: make(chan struct{}),
		rooms: map[int64]map[*redisSub]struct{}{},
	}
	go b.receive(ctx)
	return b
}

func (b *RedisBus) seqKey(room int64) string {
	return b.prefix + "room:{" + strconv.FormatInt(room, 10) + "}:seq"
}

func (b *RedisBus) logKey(room int64) string {
	return b.prefix + "room:{" + strconv.FormatInt(room, 10) + "}:log"
}

func (b *RedisBus) channel(room int64) string {
	return b.prefix + "room:" + strconv.FormatInt(room, 10)
}

// publishScript: KEYS seq, log; ARGV payload, maxlen, ttl ms, channel.
var publishScript = redis.NewScript(`
local seq = redis.call('INCR', KEYS[1])
if seq == 1 then redis.call('DEL', KEYS[2]) end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-1', 'p', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[4], seq .. ' ' .. ARGV[1])
return seq
`)

// Publish implements Bus.
func (b *RedisBus) Publish(ctx context.Context, room int64, payload []byte) (uint64, error) {
	seq, err := publishScript.Run(ctx, b.rdb, []string{b.seqKey(room), b.logKey(room)},
		payload, b.size, b.ttl.Milliseconds(), b.channel(room)).Int64()
	if err != nil {
		return 0, fmt.Errorf("publish to room %d: %w: %v", room, ErrUnavailable, err)
	}
	return uint64(seq), nil
}

// Subscribe implements Bus.
func (b *RedisBus) Subscribe(ctx context.Context, room int64, deliver func(Message)) (Subscription, uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-b.done:
		return nil, 0, errBusClosed
	default:
	}
	last, err := b.lastSeq(ctx, room)
	if err != nil {
		return nil, 0, err
	}
	s := &redisSub{bus: b, room: room, last: last, deliver: deliver}
	subs := b.rooms[room]
	if subs == nil {
		subs = map[*redisSub]struct{}{}
		b.rooms[room] = subs
		// The confirmation makes receive() catch up from s.last, covering
		// anything published before the subscription took effect.
		if err := b.ps.Subscribe(ctx, b.channel(room)); err != nil {
			delete(b.rooms, room)
			return nil, 0, fmt.Errorf("subscribe to room %d: %w: %v", room, ErrUnavailable, err)
		}
	}
	subs[s] = struct{}{}
	return s, last, nil
}

func (b *RedisBus) lastSeq(ctx context.Context, room int64) (uint64, error) {
	n, err := b.rdb.Get(ctx, b.seqKey(room)).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read seq of room %d: %w: %v", room, ErrUnavailable, err)
	}
	return n, nil
}

// Unsubscribe implements Subscription.
func (s *redisSub) Unsubscribe() {
	b := s.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	subs := b.rooms[s.room]
	if _, ok := subs[s]; !ok {
		return
	}
	delete(subs, s)
	if len(subs) == 0 {
		delete(b.rooms, s.room)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := b.ps.Unsubscribe(ctx, b.channel(s.room)); err != nil {
			b.log.Warn("room bus unsubscribe failed", "room", s.room, "error", err)
		}
	}
}

// History implements Bus.
func (b *RedisBus) History(ctx context.Context, room int64, after uint64, limit int) ([]Message, error) {
	// The stream and the counter are read in one transaction: read apart,
	// an event published in between would look like lost history.
	var xr *redis.XMessageSliceCmd
	var seq *redis.StringCmd
	start := strconv.FormatUint(after+1, 10) + "-0"
	_, err := b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if limit > 0 {
			xr = p.XRangeN(ctx, b.logKey(room), start, "+", int64(limit))
		} else {
			xr = p.XRange(ctx, b.logKey(room), start, "+")
		}
		seq = p.Get(ctx, b.seqKey(room))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read history of room %d: %w: %v", room, ErrUnavailable, err)
	}
	entries := xr.Val()
	if len(entries) == 0 {
		last, _ := seq.Uint64() // redis.Nil: a room without events
		if last > after {
			return nil, fmt.Errorf("room %d after %d: %w", room, after, ErrHistoryGone)
		}
		return nil, nil
	}
	out := make([]Message, 0, len(entries))
	for _, e := range entries {
		seqStr, _, _ := strings.Cut(e.ID, "-")
		seq, _ := strconv.ParseUint(seqStr, 10, 64)
		p, _ := e.Values["p"].(string)
		out = append(out, Message{Seq: seq, Payload: []byte(p)})
	}
	if out[0].Seq != after+1 {
		return nil, fmt.Errorf("room %d after %d (oldest kept %d): %w", room, after, out[0].Seq, ErrHistoryGone)
	}
	return out, nil
}

// receive reads pub/sub until Close. It is the only goroutine that calls
// deliver, which keeps each room's messages in order.
func (b *RedisBus) receive(ctx context.Context) {
	defer close(b.done)
	failed := false
	for {
		// Wake up at least once a second: a quiet second is when rooms are
		// checked against their counters (see probe).
		msg, err := b.ps.ReceiveTimeout(ctx, time.Second)
		if ctx.Err() != nil {
			return
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			b.probe(ctx)
			continue
		}
		if err != nil {
			if !failed {
				b.log.Warn("room bus pub/sub connection lost; reconnecting", "error", err)
			}
			failed = true
			if b.OnReconnect != nil {
				b.OnReconnect()
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond): // back off while Redis is away
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			if failed {
				b.log.Info("room bus pub/sub reconnected; recovering from history")
				failed = false
			}
			b.catchUp(ctx, b.roomOf(m.Channel))
		case *redis.Message:
			b.dispatch(ctx, m)
		}
	}
}

func (b *RedisBus) roomOf(channel string) int64 {
	id, _ := strconv.ParseInt(strings.TrimPrefix(channel, b.prefix+"room:"), 10, 64)
	return id
}

func (b *RedisBus) dispatch(ctx context.Context, m *redis.Message) {
	seqStr, payload, ok := strings.Cut(m.Payload, " ")
	seq, err := strconv.ParseUint(seqStr, 10, 64)
	if !ok || err != nil {
		b.log.Warn("room bus: malformed message", "channel", m.Channel)
		return
	}
	room := b.roomOf(m.Channel)
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.rooms[room] {
		switch {
		case seq <= s.last:
			// already delivered (catch-up overlapped pub/sub)
		case seq == s.last+1:
			s.last = seq
			s.deliver(Message{Seq: seq, Payload: bytes.Clone([]byte(payload))})
		default:
			s.fill(ctx, seq)
		}
	}
}

// probe compares every subscribed room's counter with what its
// subscribers have seen and fills any difference from history, so an event
// lost without a reconnect (or a failed catch-up) arrives within a second
// even if the room then stays quiet.
func (b *RedisBus) probe(ctx context.Context) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for room, subs := range b.rooms {
		last, err := b.lastSeq(ctx, room)
		if err != nil {
			return
		}
		for s := range subs {
			if s.last < last {
				s.fill(ctx, last)
			}
		}
	}
}

// catchUp delivers what every subscriber of room missed.
func (b *RedisBus) catchUp(ctx context.Context, room int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.rooms[room] {
		s.fill(ctx, 0)
	}
}

// fill delivers the messages after s.last from history, up to and
// including upTo (0: everything retained). Called with b.mu held.
func (s *redisSub) fill(ctx context.Context, upTo uint64) {
	b := s.bus
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	msgs, err := b.History(ctx, s.room, s.last, 0)
	if errors.Is(err, ErrHistoryGone) {
		last, err := b.lastSeq(ctx, s.room)
		if err != nil {
			b.log.Warn("room bus: cannot read seq after history loss", "room", s.room, "error", err)
			return
		}
		b.log.Warn("room bus: events lost beyond history; subscriber resets", "room", s.room, "from", s.last, "to", last)
		s.last = last
		s.deliver(Message{Seq: last, Reset: true})
		return
	}
	if err != nil {
		b.log.Warn("room bus: catch-up failed; will retry on next event", "room", s.room, "error", err)
		return
	}
	for _, m := range msgs {
		if upTo > 0 && m.Seq > upTo {
			break
		}
		if m.Seq == s.last+1 {
			s.last = m.Seq
			s.deliver(m)
		}
	}
}

// Close implements Bus.
func (b *RedisBus) Close() error {
	b.cancel()
	err := b.ps.Close()
	<-b.done
	b.mu.Lock()
	clear(b.rooms)
	b.mu.Unlock()
	return err
}
