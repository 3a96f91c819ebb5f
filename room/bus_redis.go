package room

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
//
// Redis may also lose a room's keys (a restart without persistence, a
// FLUSHALL, expiry or eviction): its counter then starts again at 1. Each
// counter has an epoch, a random tag set when it is created, and every
// second (busy or not) the bus reads every open room's counter and epoch; a
// counter that is gone, went backwards or has a new epoch resets the room's
// subscribers (a Reset message), which rebuild their state from the system
// of record. From the moment the pub/sub connection fails until the counter
// was checked again, subscribers are told the bus cannot vouch for their
// numbering (Interrupted, then Recovered or a Reset).
type RedisBus struct {
	rdb    redis.UniversalClient
	prefix string
	size   int
	ttl    time.Duration
	log    *slog.Logger
	// epochBase and epochN make the epoch candidates passed with each
	// publish or subscribe, used when it creates the room's counter.
	epochBase string
	epochN    atomic.Uint64

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
	epoch   string // of the counter last is from; "" until one is seen
	deliver func(Message)
	// interrupted: told Interrupted, not yet Recovered or Reset.
	interrupted bool
}

// counter is a room's sequence counter as read from Redis: zero when its
// keys are gone.
type counter struct {
	seq   uint64
	epoch string
}

// counterOf reads the replies of MGET seq epoch (or counterScript).
func counterOf(vals []any) counter {
	var c counter
	if len(vals) == 2 {
		if seq, ok := vals[0].(string); ok {
			c.seq, _ = strconv.ParseUint(seq, 10, 64)
		}
		c.epoch, _ = vals[1].(string)
	}
	return c
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
	tag := make([]byte, 8)
	_, _ = rand.Read(tag)
	b := &RedisBus{
		rdb: rdb, prefix: o.Prefix, size: o.HistorySize, ttl: o.TTL, log: o.Logger, epochBase: hex.EncodeToString(tag),
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

func (b *RedisBus) epochKey(room int64) string {
	return b.prefix + "room:{" + strconv.FormatInt(room, 10) + "}:epoch"
}

func (b *RedisBus) channel(room int64) string {
	return b.prefix + "room:" + strconv.FormatInt(room, 10)
}

// publishScript: KEYS seq, log, epoch; ARGV payload, maxlen, ttl ms,
// channel, epoch candidate (the new counter's epoch if this publish creates
// it). The message published is "SEQ EPOCH PAYLOAD": a subscriber tells an
// event of a numbering that started again from one that goes on.
var publishScript = redis.NewScript(`
local fresh = redis.call('EXISTS', KEYS[1]) == 0
local seq = redis.call('INCR', KEYS[1])
if fresh then
	redis.call('DEL', KEYS[2])
	redis.call('SET', KEYS[3], ARGV[5])
else
	redis.call('SET', KEYS[3], ARGV[5], 'NX')
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-1', 'p', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
redis.call('PUBLISH', ARGV[4], seq .. ' ' .. redis.call('GET', KEYS[3]) .. ' ' .. ARGV[1])
return seq
`)

// counterScript returns the room's counter and epoch, creating them (at 0,
// with a new epoch) if they do not exist, so that every subscriber knows
// the epoch it follows from the start. KEYS seq, log, epoch; ARGV epoch
// candidate, ttl ms.
var counterScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
	redis.call('SET', KEYS[1], '0', 'PX', ARGV[2])
	redis.call('DEL', KEYS[2])
	redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
else
	redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2], 'NX')
end
return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[3])}
`)

func (b *RedisBus) newEpoch() string {
	return b.epochBase + "." + strconv.FormatUint(b.epochN.Add(1), 36)
}

// Publish implements Bus.
func (b *RedisBus) Publish(ctx context.Context, room int64, payload []byte) (uint64, error) {
	seq, err := publishScript.Run(ctx, b.rdb, []string{b.seqKey(room), b.logKey(room), b.epochKey(room)},
		payload, b.size, b.ttl.Milliseconds(), b.channel(room), b.newEpoch()).Int64()
	if err != nil {
		return 0, fmt.Errorf("publish to room %d: %w: %v", room, ErrUnavailable, err)
	}
	return uint64(seq), nil
}

// Subscribe implements Bus.
func (b *RedisBus) Subscribe(ctx context.Context, room int64, deliver func(Message)) (Subscription, Position, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-b.done:
		return nil, Position{}, errBusClosed
	default:
	}
	c, err := b.counter(ctx, room)
	if err != nil {
		return nil, Position{}, err
	}
	s := &redisSub{bus: b, room: room, last: c.seq, epoch: c.epoch, deliver: deliver}
	subs := b.rooms[room]
	if subs == nil {
		subs = map[*redisSub]struct{}{}
		b.rooms[room] = subs
		// The confirmation makes receive() catch up from s.last, covering
		// anything published before the subscription took effect.
		if err := b.ps.Subscribe(ctx, b.channel(room)); err != nil {
			delete(b.rooms, room)
			return nil, Position{}, fmt.Errorf("subscribe to room %d: %w: %v", room, ErrUnavailable, err)
		}
	}
	subs[s] = struct{}{}
	return s, Position{Seq: c.seq, Epoch: c.epoch}, nil
}

func (b *RedisBus) counter(ctx context.Context, room int64) (counter, error) {
	vals, err := counterScript.Run(ctx, b.rdb, []string{b.seqKey(room), b.logKey(room), b.epochKey(room)},
		b.newEpoch(), b.ttl.Milliseconds()).Slice()
	if err != nil {
		return counter{}, fmt.Errorf("read seq of room %d: %w: %v", room, ErrUnavailable, err)
	}
	return counterOf(vals), nil
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
	msgs, _, err := b.history(ctx, room, after, limit)
	return msgs, err
}

// history is History, also returning the room's counter.
func (b *RedisBus) history(ctx context.Context, room int64, after uint64, limit int) ([]Message, counter, error) {
	// The stream and the counter are read in one transaction: read apart,
	// an event published in between would look like lost history.
	var xr *redis.XMessageSliceCmd
	var ctr *redis.SliceCmd
	start := strconv.FormatUint(after+1, 10) + "-0"
	_, err := b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if limit > 0 {
			xr = p.XRangeN(ctx, b.logKey(room), start, "+", int64(limit))
		} else {
			xr = p.XRange(ctx, b.logKey(room), start, "+")
		}
		ctr = p.MGet(ctx, b.seqKey(room), b.epochKey(room))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, counter{}, fmt.Errorf("read history of room %d: %w: %v", room, ErrUnavailable, err)
	}
	c := counterOf(ctr.Val())
	entries := xr.Val()
	if len(entries) == 0 {
		if c.seq > after {
			return nil, c, fmt.Errorf("room %d after %d: %w", room, after, ErrHistoryGone)
		}
		return nil, c, nil
	}
	out := make([]Message, 0, len(entries))
	for _, e := range entries {
		seqStr, _, _ := strings.Cut(e.ID, "-")
		seq, _ := strconv.ParseUint(seqStr, 10, 64)
		p, _ := e.Values["p"].(string)
		out = append(out, Message{Seq: seq, Payload: []byte(p)})
	}
	if out[0].Seq != after+1 {
		return nil, c, fmt.Errorf("room %d after %d (oldest kept %d): %w", room, after, out[0].Seq, ErrHistoryGone)
	}
	return out, c, nil
}

// receive reads pub/sub until Close. It is the only goroutine that calls
// deliver, which keeps each room's messages in order.
func (b *RedisBus) receive(ctx context.Context) {
	defer close(b.done)
	failed := false
	nextProbe := time.Now().Add(probeInterval)
	for {
		// Rooms are checked against their counters once a second, however
		// busy the connection (see probe).
		if !failed && !time.Now().Before(nextProbe) {
			b.probe(ctx)
			nextProbe = time.Now().Add(probeInterval)
		}
		msg, err := b.ps.ReceiveTimeout(ctx, max(time.Until(nextProbe), 10*time.Millisecond))
		if ctx.Err() != nil {
			return
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			continue
		}
		if err != nil {
			if !failed {
				b.log.Warn("room bus pub/sub connection lost; reconnecting", "error", err)
				b.interrupt()
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

// interrupt tells every subscriber that the bus cannot vouch for its
// numbering until the link is back and its room's counter was checked.
func (b *RedisBus) interrupt() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, subs := range b.rooms {
		for s := range subs {
			s.interrupt()
		}
	}
}

// interrupt sends s Interrupted unless it was told already. Called with
// b.mu held.
func (s *redisSub) interrupt() {
	if !s.interrupted {
		s.interrupted = true
		s.deliver(Message{Interrupted: true})
	}
}

func (b *RedisBus) roomOf(channel string) int64 {
	id, _ := strconv.ParseInt(strings.TrimPrefix(channel, b.prefix+"room:"), 10, 64)
	return id
}

// dispatch delivers a pub/sub message to the room's subscribers. One of
// another epoch than a subscriber follows (Redis lost the counter, which
// started again), or that reaches a subscriber whose numbering was not
// checked since the link came back, makes it check the counter (fill)
// first: its seq may follow on from the subscriber's last by chance.
func (b *RedisBus) dispatch(ctx context.Context, m *redis.Message) {
	seqStr, rest, ok := strings.Cut(m.Payload, " ")
	seq, err := strconv.ParseUint(seqStr, 10, 64)
	if !ok || err != nil {
		b.log.Warn("room bus: malformed message", "channel", m.Channel)
		return
	}
	epoch, payload := "", rest
	if !strings.HasPrefix(rest, "{") { // "SEQ PAYLOAD" from an older node
		epoch, payload, _ = strings.Cut(rest, " ")
	}
	room := b.roomOf(m.Channel)
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.rooms[room] {
		switch {
		case s.interrupted || epoch != "" && epoch != s.epoch:
			s.fill(ctx, 0)
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

// probeInterval is how often probe runs.
const probeInterval = time.Second

// probe compares every subscribed room's counter with what its subscribers
// have seen, in one round trip: it fills any difference from history, so an
// event lost without a reconnect (or a failed catch-up) arrives within a
// second even if the room then stays quiet, resets subscribers whose
// counter Redis lost (see lost), and checks again the rooms of subscribers
// still interrupted (a catch-up after the reconnect failed).
func (b *RedisBus) probe(ctx context.Context) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.rooms) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmds := make(map[int64]*redis.SliceCmd, len(b.rooms))
	if _, err := b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for room := range b.rooms {
			cmds[room] = p.MGet(ctx, b.seqKey(room), b.epochKey(room))
		}
		return nil
	}); err != nil {
		b.log.Warn("room bus: cannot read room counters", "error", err)
		return
	}
	for room, subs := range b.rooms {
		c := counterOf(cmds[room].Val())
		for s := range subs {
			if !s.lost(ctx, c) && (s.last < c.seq || s.interrupted) {
				s.fill(ctx, c.seq)
			}
		}
	}
}

// lost reports whether c, the room's counter as Redis has it now, is not
// the counter s has been following: its keys are gone, or it was created
// again (another epoch, or a smaller seq), so sequence numbers started again
// from 1. s then follows c and is told with a Reset message, on which a room
// rebuilds its state from the system of record. A counter that is gone is
// created again first, so the Reset carries the epoch of the numbering that
// follows; if that fails (Redis is back but the client still refuses to
// dial for a while after an outage), s is left as it was, interrupted, and
// the next catch-up or probe tries again: a Reset without the new epoch
// would leave the room vouching for the old one. Called with b.mu held.
func (s *redisSub) lost(ctx context.Context, c counter) bool {
	switch {
	case c.seq == 0 && c.epoch == "":
		if s.last == 0 && s.epoch == "" {
			return false
		}
	case c.seq >= s.last && (c.epoch == s.epoch || s.epoch == ""):
		s.epoch = c.epoch
		return false
	}
	if c.epoch == "" {
		nc, err := s.bus.counter(ctx, s.room)
		if err != nil {
			s.bus.log.Warn("room bus: the room's counter was lost and cannot be created yet; will retry",
				"room", s.room, "error", err)
			s.interrupt()
			return true
		}
		c = nc
	}
	s.bus.log.Warn("room bus: the room's counter was lost or created again in Redis; subscriber resets",
		"room", s.room, "from", s.last, "to", c.seq)
	s.last, s.epoch, s.interrupted = c.seq, c.epoch, false
	s.deliver(Message{Seq: c.seq, Reset: true, Epoch: c.epoch})
	return true
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
// including upTo (0: everything retained), then Recovered if s was
// interrupted. Called with b.mu held.
func (s *redisSub) fill(ctx context.Context, upTo uint64) {
	b := s.bus
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	msgs, c, err := b.history(ctx, s.room, s.last, 0)
	if err != nil && !errors.Is(err, ErrHistoryGone) {
		b.log.Warn("room bus: catch-up failed; will retry on next event", "room", s.room, "error", err)
		return
	}
	if s.lost(ctx, c) {
		return
	}
	if err != nil {
		b.log.Warn("room bus: events lost beyond history; subscriber resets", "room", s.room, "from", s.last, "to", c.seq)
		s.last, s.interrupted = c.seq, false
		s.deliver(Message{Seq: c.seq, Reset: true, Epoch: s.epoch})
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
	if s.interrupted {
		s.interrupted = false
		s.deliver(Message{Recovered: true})
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
