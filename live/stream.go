package live

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// streamState is where a stream is in its life on this node.
type streamState int

const (
	stateStarting streamState = iota // publisher (or relay pull) negotiating
	stateLive                        // media can flow
	stateGrace                       // publisher vanished; a reconnect continues the stream
	stateEnded
)

// stream is one live stream on this node: as its origin (the publisher is
// connected here) or as a relay pulling it from the origin node. Its
// forwarders and their codecs are fixed for its life; a publisher coming
// back with different codecs starts a new stream run. A relay becomes the
// origin when the stream's publisher comes back on this node (adopt).
type stream struct {
	sfu *SFU
	id  int64
	log *slog.Logger

	// relay is set while the stream is pulled from another node; it is
	// cleared (under mu and the SFU's lock) when this node's publisher
	// adopts the relay, and never set again.
	relay atomic.Bool

	// audio and video are set before the stream is shared (origin) or
	// before ready is closed (relay), and never change afterwards.
	audio, video *forwarder

	// srcGen numbers sources; a reader whose source was replaced stops
	// forwarding at once, even before its PeerConnection has closed.
	srcGen atomic.Uint64

	// claimMu orders this stream's claim writes, so the last one written
	// carries the latest state (live or grace).
	claimMu sync.Mutex

	mu       sync.Mutex
	state    streamState
	started  bool   // StreamStarted was emitted (origin)
	claimed  bool   // this node holds the origin claim
	key      string // the current publisher's stream key
	pub      *publisher
	pull     *relayPull
	viewers  map[string]*viewer
	grace    *time.Timer
	idle     *time.Timer
	ready    chan struct{} // relay: closed once the pull is negotiated or failed
	readyErr error
	ended    chan struct{}
}

func (s *SFU) newStream(id int64, relay bool) *stream {
	st := &stream{
		sfu: s, id: id,
		log:     s.log.With("stream", id, "relay", relay),
		viewers: map[string]*viewer{},
		ready:   make(chan struct{}),
		ended:   make(chan struct{}),
	}
	st.relay.Store(relay)
	return st
}

// setCodecs creates the stream's forwarders.
func (st *stream) setCodecs(audio, video *codec) {
	m := st.sfu.metrics
	if audio != nil {
		st.audio = newForwarder(webrtc.RTPCodecTypeAudio, *audio, nil, m)
	}
	if video != nil {
		kf := newKeyframeRequester(st.sfu.cfg.KeyframeInterval, m, st.sendPLI)
		st.video = newForwarder(webrtc.RTPCodecTypeVideo, *video, kf, m)
	}
}

// sameCodecs reports whether a publisher negotiating audio and video can
// continue this stream run.
func (st *stream) sameCodecs(audio, video *codec) bool {
	eq := func(f *forwarder, c *codec) bool {
		if f == nil || c == nil {
			return f == nil && c == nil
		}
		return f.codec.same(*c)
	}
	return eq(st.audio, audio) && eq(st.video, video)
}

func (st *stream) isLive() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.relay.Load() {
		return st.state == stateLive
	}
	return st.state == stateLive || st.state == stateGrace
}

func (st *stream) requestKeyframe() {
	if st.video != nil {
		st.video.kf.request()
	}
}

// sendPLI asks the current source for a keyframe.
func (st *stream) sendPLI() {
	st.mu.Lock()
	var pc *webrtc.PeerConnection
	var ssrc uint32
	switch {
	case st.pub != nil:
		pc, ssrc = st.pub.pc, st.pub.videoSSRC.Load()
	case st.pull != nil:
		pc, ssrc = st.pull.pc, st.pull.videoSSRC.Load()
	}
	st.mu.Unlock()
	if pc == nil || ssrc == 0 {
		return
	}
	if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		st.log.Debug("send PLI", slog.Any("error", err))
	}
}

// readTrack forwards one remote track of source generation gen until the
// track ends or its source is replaced.
func (st *stream) readTrack(gen uint64, track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver, ssrc *atomic.Uint32) {
	var fw *forwarder
	switch track.Kind() {
	case webrtc.RTPCodecTypeAudio:
		fw = st.audio
	case webrtc.RTPCodecTypeVideo:
		fw = st.video
		ssrc.Store(uint32(track.SSRC()))
		st.requestKeyframe() // viewers may be waiting since before a reconnect
	}
	go func() {
		for {
			if _, _, err := receiver.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	for {
		p, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		if fw == nil || st.srcGen.Load() != gen {
			continue // not forwarded, but drained until the connection closes
		}
		fw.push(p)
	}
}

// drain reads a track that is not forwarded until its connection closes.
func drain(track *webrtc.TrackRemote) {
	for {
		if _, _, err := track.ReadRTP(); err != nil {
			return
		}
	}
}

// end finishes the stream on this node: every session closes, the origin
// claim is given up and, if the stream had started, StreamEnded goes out.
func (st *stream) end(reason string) { st.finish(reason, false) }

// endRelay ends the stream if it is still a relay: one that this node's
// publisher has adopted is not the relay's to end any more.
func (st *stream) endRelay(reason string) { st.finish(reason, true) }

func (st *stream) finish(reason string, relayOnly bool) {
	st.mu.Lock()
	relay := st.relay.Load()
	if st.state == stateEnded || (relayOnly && !relay) {
		st.mu.Unlock()
		return
	}
	st.state = stateEnded
	pub, pull := st.pub, st.pull
	st.pub, st.pull = nil, nil
	viewers := make([]*viewer, 0, len(st.viewers))
	for _, v := range st.viewers {
		viewers = append(viewers, v)
	}
	st.viewers = map[string]*viewer{}
	for _, t := range []*time.Timer{st.grace, st.idle} {
		if t != nil {
			t.Stop()
		}
	}
	st.grace, st.idle = nil, nil
	started := st.started
	if started {
		st.sfu.emit(st.id, false)
	}
	claimed := st.claimed
	st.claimed = false
	close(st.ended)
	st.mu.Unlock()
	st.srcGen.Add(1)
	if st.video != nil {
		st.video.kf.stop()
	}

	s := st.sfu
	s.mu.Lock()
	if s.streams[st.id] == st {
		delete(s.streams, st.id)
	}
	release := claimed && s.streams[st.id] == nil
	if pub != nil {
		delete(s.sessions, pub.id)
	}
	for _, v := range viewers {
		delete(s.sessions, v.id)
	}
	s.mu.Unlock()

	st.log.Info("stream ended", "reason", reason, "viewers", len(viewers))
	if pub != nil {
		pub.stop()
	}
	for _, v := range viewers {
		v.stop()
	}
	if pull != nil {
		pull.stop()
	}
	if relay {
		s.metrics.relays.Dec()
	}
	if release {
		st.claimMu.Lock() // after any refresh under way
		defer st.claimMu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if started {
			if err := s.registry.Release(ctx, st.id, s.cfg.NodeID); err != nil {
				st.log.Warn("release origin claim", slog.Any("error", err))
			}
		} else {
			s.giveBackClaim(ctx, st.id)
		}
	}
}

// giveBackClaim gives up this node's claim on a stream that did not start
// here: it leaves the claim lapsed rather than releasing it. The claim may
// have been taken over from an origin that crashed, by a publisher that
// then never connected, and the show still waits for its publisher: a
// lapsed claim lets any node take it and relays keep their viewers for the
// grace period, where no claim would end the show for everyone at once. A
// new stream loses nothing by it (a lapsed claim is free to take).
func (s *SFU) giveBackClaim(ctx context.Context, streamID int64) {
	err := s.registry.Claim(ctx, streamID, s.origin(), 0, s.cfg.PublisherGrace)
	if err != nil && !errors.Is(err, ErrOriginTaken) {
		s.log.Warn("give back origin claim", "stream", streamID, slog.Any("error", err))
	}
}

// refreshClaim keeps this node registered as the stream's origin, marked
// as in its grace period while it waits for its publisher. A node whose
// claim another node has taken (the publisher reconnected there) steps
// aside: the registry decides who the origin is.
func (st *stream) refreshClaim(ctx context.Context) {
	st.claimMu.Lock()
	defer st.claimMu.Unlock()
	st.mu.Lock()
	claimed := st.claimed && st.state != stateEnded
	grace := st.state == stateGrace
	st.mu.Unlock()
	if !claimed {
		return
	}
	s := st.sfu
	o := s.origin()
	o.Grace = grace
	err := s.registry.Claim(ctx, st.id, o, s.cfg.OriginTTL, s.cfg.PublisherGrace)
	switch {
	case errors.Is(err, ErrOriginTaken):
		st.stepAside("another node took the stream over")
	case err != nil:
		st.log.Warn("refresh origin claim", slog.Any("error", err))
	}
}

// claimNow refreshes the claim at once, off the caller's goroutine, when
// the stream enters or leaves its grace period.
func (st *stream) claimNow() {
	s := st.sfu
	select {
	case <-s.stop:
		return // shutting down: the claim is about to be released
	default:
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.OriginTTL)
		defer cancel()
		st.refreshClaim(ctx)
	}()
}

// stepAside ends the stream here without StreamEnded and without releasing
// the claim: the show goes on, on the node the publisher reconnected to,
// and this node's viewers join it there (through a relay).
func (st *stream) stepAside(reason string) {
	st.mu.Lock()
	st.started = false
	st.claimed = false
	st.mu.Unlock()
	st.end(reason)
}

// graceOver ends the stream when its publisher did not come back here; if
// it came back on another node, which took the claim over, this node steps
// aside.
func (st *stream) graceOver() {
	s := st.sfu
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.OriginTTL)
	defer cancel()
	if o, ok, err := s.registry.Lookup(ctx, st.id); err == nil && ok && o.NodeID != s.cfg.NodeID {
		st.stepAside("publisher reconnected on node " + o.NodeID)
		return
	}
	st.end("publisher did not come back")
}

// addViewer registers a negotiated viewer; it starts receiving media once
// its connection is up.
func (st *stream) addViewer(v *viewer) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.state == stateEnded {
		return ErrNotLive
	}
	st.viewers[v.id] = v
	if st.idle != nil {
		st.idle.Stop()
		st.idle = nil
	}
	return nil
}

// viewerState follows a viewer's connection: connected attaches it to the
// forwarders and asks for a keyframe; failed or closed removes it.
func (st *stream) viewerState(v *viewer) {
	switch v.pc.ConnectionState() {
	case webrtc.PeerConnectionStateConnected:
		st.mu.Lock()
		ok := st.viewers[v.id] == v
		st.mu.Unlock()
		if !ok || v.attached.Swap(true) {
			return
		}
		v.stopConnectTimer()
		if v.audio != nil {
			st.audio.add(v)
		}
		if v.video != nil {
			// Set before add: run reads it only after receiving a packet
			// pushed to the outs that add publishes.
			v.askedKey = time.Now()
			st.video.add(v)
			st.requestKeyframe()
		}
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		st.removeViewer(v, "connection "+v.pc.ConnectionState().String())
	}
}

// removeViewer detaches and closes v. A relay left without viewers ends
// after Config.RelayIdle.
func (st *stream) removeViewer(v *viewer, reason string) {
	st.mu.Lock()
	if st.viewers[v.id] != v {
		st.mu.Unlock()
		v.stop()
		return
	}
	delete(st.viewers, v.id)
	if st.relay.Load() && len(st.viewers) == 0 && st.state != stateEnded && st.idle == nil {
		st.idleRelay()
	}
	st.mu.Unlock()
	st.sfu.removeSession(v.id)
	v.log.Debug("viewer left", "reason", reason)
	v.stop()
}

// idleRelay ends the relay after Config.RelayIdle unless a viewer comes;
// the caller holds st.mu.
func (st *stream) idleRelay() {
	st.idle = time.AfterFunc(st.sfu.cfg.RelayIdle, func() {
		st.mu.Lock()
		idle := len(st.viewers) == 0
		st.mu.Unlock()
		if idle {
			st.endRelay("no viewers left")
		}
	})
}
