package live

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// publisher is a WHIP session: the encoder sending a stream to this node.
type publisher struct {
	*session
	videoSSRC atomic.Uint32
	gen       uint64
	key       string // the stream key it published with, to re-check
	layer     string // the simulcast layer (rid) forwarded; "" without simulcast

	st atomic.Pointer[stream]

	// Guarded by the stream's lock.
	everConnected bool
	counted       bool // included in the publishers gauge
	connectTimer  *time.Timer
	stopOnce      sync.Once
}

// stop closes the publisher's connection and takes it out of the gauge.
func (p *publisher) stop() {
	p.stopOnce.Do(func() {
		if st := p.st.Load(); st != nil {
			st.mu.Lock()
			if p.connectTimer != nil {
				p.connectTimer.Stop()
			}
			counted := p.counted
			p.counted = false
			st.mu.Unlock()
			if counted {
				st.sfu.metrics.publishers.Dec()
			}
		}
		p.close()
	})
}

// mediaPlan is the codec chosen for each kind an offer sends or receives.
type mediaPlan struct {
	audio, video *codec
}

func (m mediaPlan) codecs() []codec {
	var out []codec
	for _, c := range []*codec{m.audio, m.video} {
		if c != nil {
			out = append(out, *c)
		}
	}
	return out
}

// plan is the stream's codecs.
func (st *stream) plan() mediaPlan {
	var m mediaPlan
	if st.audio != nil {
		m.audio = &st.audio.codec
	}
	if st.video != nil {
		m.video = &st.video.codec
	}
	return m
}

// planPublish picks the publisher's codecs: those of the stream it
// continues when the offer has them (prefer), otherwise the first usable.
func planPublish(d *description, prefer mediaPlan) (mediaPlan, error) {
	var plan mediaPlan
	counts := map[string]int{}
	for _, m := range d.media {
		if m.rejected || (m.kind != "audio" && m.kind != "video") {
			continue
		}
		if !m.sends() {
			continue
		}
		counts[m.kind]++
		if counts[m.kind] > 1 {
			return mediaPlan{}, Invalid("too_many_tracks", "a publisher sends at most one audio and one video track")
		}
		want := prefer.audio
		if m.kind == "video" {
			want = prefer.video
		}
		c, ok := pickCodec(m, want)
		if !ok && want != nil {
			c, ok = pickCodec(m, nil)
		}
		if !ok {
			continue
		}
		if m.kind == "audio" {
			plan.audio = &c
		} else {
			plan.video = &c
		}
	}
	if counts["audio"]+counts["video"] == 0 {
		return mediaPlan{}, Invalid("no_media", "offer sends no audio or video")
	}
	if plan.audio == nil && plan.video == nil {
		return mediaPlan{}, ErrNoUsableCodec
	}
	return plan, nil
}

// publish handles a WHIP POST: it authorizes the key, claims the origin,
// answers the offer and installs the publisher on the stream, replacing a
// publisher that has dropped (the same stream continues) or refusing one
// that is still connected.
func (s *SFU) publish(ctx context.Context, streamID int64, key, offer string) (*publisher, string, error) {
	if key == "" {
		return nil, "", fmt.Errorf("no bearer token: %w", ErrUnauthorized)
	}
	if err := s.auth.AuthorizePublish(ctx, streamID, key); err != nil {
		return nil, "", err
	}
	desc, err := parseDescription(offer)
	if err != nil {
		return nil, "", err
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, "", ErrUnavailable
	}
	var prefer mediaPlan
	// A relay here is no obstacle by itself: the claim below decides, and
	// succeeds when the origin node waits for this very publisher (or has
	// crashed). Its codecs are preferred too, so that the publisher can
	// adopt it (see installPublisher).
	if st := s.streams[streamID]; st != nil {
		relay := st.relay.Load()
		if !relay && st.publisherActive() {
			s.mu.Unlock()
			return nil, "", s.errPublisherActive()
		}
		if !relay || st.pulled() {
			prefer = st.plan()
		}
	}
	s.mu.Unlock()

	plan, err := planPublish(desc, prefer)
	if err != nil {
		return nil, "", err
	}
	if err := s.registry.Claim(ctx, streamID, s.origin(), s.cfg.OriginTTL, s.cfg.PublisherGrace); err != nil {
		return nil, "", fmt.Errorf("claim origin: %w", err)
	}
	// From here on, failures give the claim back (lapsed: the claim may
	// have been a crashed origin's, whose show waits for its publisher)
	// unless a stream on this node still holds it.
	releaseClaim := func() {
		s.mu.Lock()
		st := s.streams[streamID]
		held := st != nil && !st.relay.Load()
		s.mu.Unlock()
		if !held {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			s.giveBackClaim(rctx, streamID)
		}
	}

	pc, err := s.newPeerConnection(ingest, plan.codecs())
	if err != nil {
		releaseClaim()
		return nil, "", fmt.Errorf("peer connection: %w", err)
	}
	id := newSessionID()
	p := &publisher{key: key, layer: desc.firstLayer(), session: &session{
		id: id, kind: whipSession, streamID: streamID, pc: pc, created: time.Now(),
		log: s.log.With("stream", streamID, "whip", id[:8]),
	}}
	pc.OnTrack(func(track *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		if track.RID() != p.layer {
			drain(track) // another simulcast layer: not forwarded
			return
		}
		if st := p.st.Load(); st != nil {
			st.readTrack(p.gen, track, r, &p.videoSSRC)
		}
	})
	pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) {
		if st := p.st.Load(); st != nil {
			st.publisherState(p)
		} else if pc.ConnectionState() == webrtc.PeerConnectionStateFailed {
			p.close()
		}
	})
	answer, err := p.negotiate(ctx, offer, nil)
	if err != nil {
		p.close()
		releaseClaim()
		return nil, "", err
	}

	st, old, err := s.installPublisher(p, plan)
	if err != nil {
		p.close()
		releaseClaim()
		return nil, "", err
	}
	if old != nil {
		old.log.Info("replaced by a reconnecting publisher")
		old.stop()
	}
	s.metrics.sessions.WithLabelValues("whip").Inc()
	p.log.Info("publisher negotiated", "audio", plan.audio, "video", plan.video)
	// A state change may have raced installation; look once more.
	st.publisherState(p)
	return p, answer, nil
}

// installPublisher makes p the stream's publisher: on the stream run it
// continues when the codecs match, on a new run otherwise. Either way the
// show goes on: no StreamEnded or StreamStarted for a reconnect. A relay
// of the stream here, with the codecs, carries on as the origin run.
func (s *SFU) installPublisher(p *publisher, plan mediaPlan) (*stream, *publisher, error) {
	var endOld *stream
	var oldPull *relayPull
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, ErrUnavailable
	}
	st := s.streams[p.streamID]
	if st != nil && st.relay.Load() {
		// This node relayed the stream; its publisher reconnected here (its
		// origin dropped it, or crashed) and the claim is ours now. The
		// relay's viewers stay, or, with other codecs, join a new run.
		if pull, ok := st.adopt(plan); ok {
			oldPull = pull
		} else {
			delete(s.streams, st.id)
			endOld, st = st, nil
		}
	}
	if st != nil && st.publisherActive() {
		s.mu.Unlock()
		return nil, nil, s.errPublisherActive()
	}
	var old *publisher
	if st != nil && !st.sameCodecs(plan.audio, plan.video) {
		// The show goes on in a new run with the new codecs: the old run
		// ends quietly (its viewers are closed and join again), and the new
		// one continues where it was, started and in its grace period,
		// so the stream record and the room hear nothing.
		delete(s.streams, st.id)
		endOld = st
		st = s.newStream(p.streamID, false)
		st.setCodecs(plan.audio, plan.video)
		s.streams[p.streamID] = st
		endOld.mu.Lock()
		if endOld.state != stateEnded && endOld.started {
			endOld.started = false
			st.started = true
			st.mu.Lock()
			st.enterGrace()
			st.mu.Unlock()
		}
		endOld.mu.Unlock()
	}
	if st == nil {
		st = s.newStream(p.streamID, false)
		st.setCodecs(plan.audio, plan.video)
		s.streams[p.streamID] = st
	}
	st.mu.Lock()
	if st.state == stateEnded {
		// Ended between our look-up and now: start a fresh run.
		st.mu.Unlock()
		st = s.newStream(p.streamID, false)
		st.setCodecs(plan.audio, plan.video)
		s.streams[p.streamID] = st
		st.mu.Lock()
	}
	old = st.pub
	st.pub = p
	st.key = p.key
	st.claimed = true
	p.gen = st.srcGen.Add(1)
	p.st.Store(st)
	p.connectTimer = time.AfterFunc(s.cfg.ConnectTimeout, func() { st.publisherTimeout(p) })
	st.mu.Unlock()
	if old != nil {
		delete(s.sessions, old.id)
	}
	s.sessions[p.id] = &sessionRef{st: st, pub: p}
	s.mu.Unlock()
	if oldPull != nil {
		oldPull.stop()
	}
	if endOld != nil {
		endOld.end("publisher reconnected; the stream continues in a new run here")
	}
	return st, old, nil
}

// errPublisherActive refuses a second publisher while this node's is
// connected, with the time a vanished publisher takes to be noticed as
// Retry-After: an encoder reconnecting after a glitch gets in then (the
// stream waits for it in its grace period), a second encoder keeps being
// refused.
func (s *SFU) errPublisherActive() error {
	return withRetryAfter(ErrPublisherActive, s.cfg.ICEDisconnectedTimeout)
}

// publisherActive reports whether a connected publisher holds the stream;
// one that is still negotiating or has dropped may be replaced.
func (st *stream) publisherActive() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.state != stateEnded && st.pub != nil &&
		st.pub.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
}

// publisherState follows the publisher's connection: connected makes the
// stream live (emitting StreamStarted the first time); disconnected,
// failed or closed starts the grace period, after which the stream ends
// unless a publisher is back.
func (st *stream) publisherState(p *publisher) {
	state := p.pc.ConnectionState()
	st.mu.Lock()
	if st.pub != p || st.state == stateEnded {
		st.mu.Unlock()
		if state == webrtc.PeerConnectionStateFailed {
			p.stop()
		}
		return
	}
	var endNow, closePub, keyframe bool
	switch state {
	case webrtc.PeerConnectionStateConnected:
		if p.connectTimer != nil {
			p.connectTimer.Stop()
		}
		p.everConnected = true
		if !p.counted {
			p.counted = true
			st.sfu.metrics.publishers.Inc()
		}
		if st.grace != nil {
			st.grace.Stop()
			st.grace = nil
			st.log.Info("publisher back within the grace period")
			st.claimNow() // no longer open to a takeover
		}
		st.state = stateLive
		if !st.started {
			st.started = true
			st.sfu.emit(st.id, true)
			st.log.Info("stream started")
		}
		keyframe = len(st.viewers) > 0
	case webrtc.PeerConnectionStateDisconnected:
		if st.state == stateLive {
			st.enterGrace()
		}
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		st.pub = nil
		closePub = true
		switch st.state {
		case stateStarting:
			endNow = true // never went live: nothing to wait for
		case stateLive:
			st.enterGrace()
		}
	}
	st.mu.Unlock()
	if closePub {
		st.sfu.removeSession(p.id)
		p.stop()
	}
	if keyframe {
		st.requestKeyframe()
	}
	if endNow {
		st.end("publisher never connected")
	}
}

// enterGrace starts the grace period and marks the origin claim so that
// another node may take the stream over; the caller holds st.mu.
func (st *stream) enterGrace() {
	st.state = stateGrace
	if st.grace != nil {
		return
	}
	st.claimNow()
	st.log.Info("publisher lost; waiting for it to come back", "grace", st.sfu.cfg.PublisherGrace)
	st.grace = time.AfterFunc(st.sfu.cfg.PublisherGrace, func() {
		st.mu.Lock()
		expired := st.state == stateGrace
		st.mu.Unlock()
		if expired {
			st.graceOver()
		}
	})
}

// publisherTimeout drops a publisher that never connected.
func (st *stream) publisherTimeout(p *publisher) {
	if p.pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
		return
	}
	p.log.Info("publisher did not connect in time")
	p.stop() // its closed state runs publisherState
}

// unpublish handles a WHIP DELETE: the current publisher ends the stream;
// a publisher already replaced just goes away.
func (s *SFU) unpublish(ctx context.Context, streamID int64, key, sessionID string) error {
	if key == "" {
		return fmt.Errorf("no bearer token: %w", ErrUnauthorized)
	}
	if err := s.auth.AuthorizePublish(ctx, streamID, key); err != nil && !closedStream(err) {
		return err
	}
	ref, err := s.lookupSession(streamID, whipSession, sessionID)
	if err != nil {
		return err
	}
	st := ref.st
	st.mu.Lock()
	current := st.pub == ref.pub
	st.mu.Unlock()
	if current {
		st.end("publisher stopped")
		return nil
	}
	s.removeSession(sessionID)
	ref.pub.stop()
	return nil
}

// authorizeSession checks a WHIP PATCH: the key must be the stream's.
func (s *SFU) authorizeSession(ctx context.Context, streamID int64, key string) error {
	if key == "" {
		return fmt.Errorf("no bearer token: %w", ErrUnauthorized)
	}
	err := s.auth.AuthorizePublish(ctx, streamID, key)
	if closedStream(err) {
		return nil // the key is right; the session may still be tended
	}
	return err
}

// closedStream reports an authorizer's answer that the key is right but
// the stream is closed to new publishers (409).
func closedStream(err error) bool {
	var se interface{ HTTPStatus() int }
	return errors.As(err, &se) && se.HTTPStatus() == 409
}

// EndStream ends streamID on this node now, if its publisher is here (the
// seller ended the show): viewers are closed and StreamEnded is emitted.
// Other nodes notice through the origin registry; an origin on another
// node notices within a third of Config.OriginTTL, when it re-checks its
// publisher's key (see StreamAuthorizer). It reports whether a stream was
// ended here.
func (s *SFU) EndStream(streamID int64) bool {
	s.mu.Lock()
	st := s.streams[streamID]
	s.mu.Unlock()
	if st == nil || st.relay.Load() {
		return false
	}
	st.end("ended by its owner")
	return true
}

// StreamKeyRotated re-checks, now, the key of streamID's publisher if it is
// on this node (the seller rotated the key, so the encoder using the old
// one must go). A publisher on another node is found by that node's
// periodic re-check, within a third of Config.OriginTTL.
func (s *SFU) StreamKeyRotated(ctx context.Context, streamID int64) {
	s.mu.Lock()
	st := s.streams[streamID]
	s.mu.Unlock()
	if st != nil && !st.relay.Load() {
		st.recheckKey(ctx)
	}
}

// recheckKey asks the authorizer about the key of an origin stream's
// publisher. A key refused (401: the seller rotated it) closes the
// publisher, and the stream waits in its grace period for one with the new
// key, as when an encoder drops; a stream closed or gone (409, 404: the
// seller ended the show) ends, on whichever node holds the publisher.
func (st *stream) recheckKey(ctx context.Context) {
	st.mu.Lock()
	key, pub := st.key, st.pub
	state := st.state
	st.mu.Unlock()
	if state == stateEnded || key == "" {
		return
	}
	err := st.sfu.auth.AuthorizePublish(ctx, st.id, key)
	var se interface{ HTTPStatus() int }
	if !errors.As(err, &se) {
		return
	}
	switch se.HTTPStatus() {
	case 409, 404:
		if state == stateLive || state == stateGrace {
			st.end("stream closed by its owner")
		}
	case 401:
		if pub != nil && pub.key == key {
			pub.log.Info("stream key no longer valid (rotated); closing the publisher")
			pub.stop() // its closed state runs publisherState
		}
	}
}
