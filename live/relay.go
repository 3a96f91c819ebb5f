package live

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// RelayHeader marks a WHEP request from another node pulling a stream; the
// value is the pulling node's ID, and the bearer token is the cluster's
// relay token (OriginRegistry.RelayToken). Such requests are served only
// by the stream's origin, so relays never chain or loop.
const RelayHeader = "Liveshop-Relay"

// clusterRelayToken is the registry's relay token, read once.
func (s *SFU) clusterRelayToken(ctx context.Context) (string, error) {
	if t := s.relayToken.Load(); t != nil {
		return *t, nil
	}
	t, err := s.registry.RelayToken(ctx)
	if err != nil {
		return "", err
	}
	s.relayToken.Store(&t)
	return t, nil
}

// checkRelayToken admits a WHEP request marked as a relay pull only with
// the cluster's relay token: the mark lifts the per-client limits, so a
// viewer must not be able to claim it.
func (s *SFU) checkRelayToken(ctx context.Context, given string) error {
	want, err := s.clusterRelayToken(ctx)
	if err != nil {
		s.log.Warn("read relay token", slog.Any("error", err))
		return fmt.Errorf("read relay token: %w", ErrUnavailable)
	}
	if subtle.ConstantTimeCompare([]byte(given), []byte(want)) != 1 {
		return withMessage(ErrUnauthorized, "a relay pull needs the cluster's relay token")
	}
	return nil
}

// relayPull is this node's WHEP session on the origin node: one pull per
// stream, fanned out to every local viewer.
type relayPull struct {
	pc        *webrtc.PeerConnection
	origin    Origin
	location  string // the WHEP session URL on the origin, for DELETE
	videoSSRC atomic.Uint32
	client    *http.Client
	log       *slog.Logger
	once      sync.Once
	wg        *sync.WaitGroup
	// lostAt is when the relay lost its media (UnixNano; 0 while a pull
	// delivers): re-pulls carry it on, so their deadline does not move.
	lostAt atomic.Int64
}

// stop closes the pull and tells the origin, best effort.
func (r *relayPull) stop() {
	r.once.Do(func() {
		_ = r.pc.Close()
		if r.location == "" {
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodDelete, r.location, nil)
			if err != nil {
				return
			}
			if resp, err := r.client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
				resp.Body.Close()
			}
		}()
	})
}

// startRelay registers a relay stream for id and negotiates the pull from
// o; viewers arriving meanwhile wait on the stream's ready channel. It
// returns nil, nil when another stream for id appeared first.
func (s *SFU) startRelay(id int64, o Origin) (*stream, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrUnavailable
	}
	if s.streams[id] != nil {
		s.mu.Unlock()
		return nil, nil
	}
	st := s.newStream(id, true)
	s.streams[id] = st
	s.mu.Unlock()
	s.metrics.relays.Inc()

	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.HTTPClient.Timeout+5*time.Second)
	defer cancel()
	pull, err := st.pullFrom(ctx, o, time.Time{})
	st.mu.Lock()
	if err == nil && st.state == stateEnded {
		err = ErrUnavailable
	}
	if err != nil {
		st.readyErr = err
		close(st.ready)
		st.mu.Unlock()
		if pull != nil {
			pull.stop()
		}
		st.log.Warn("relay pull failed", "origin", o.NodeID, slog.Any("error", err))
		st.endRelay("relay pull failed")
		return nil, err
	}
	st.pull = pull
	st.state = stateLive
	close(st.ready)
	st.mu.Unlock()
	// Without viewers (all gave up while we negotiated) the idle rule applies.
	st.mu.Lock()
	if len(st.viewers) == 0 && st.idle == nil {
		st.idleRelay()
	}
	st.mu.Unlock()
	st.log.Info("relaying from origin", "origin", o.NodeID, "url", o.URL)
	return st, nil
}

// pulled reports whether a relay's first pull was negotiated, so its
// codecs are known.
func (st *stream) pulled() bool {
	select {
	case <-st.ready:
		return st.readyErr == nil
	default:
		return false
	}
}

// errCodecsChanged: a re-pull found the stream in other codecs than the
// relay's forwarders carry.
var errCodecsChanged = errors.New("the stream's codecs changed")

// pullFrom is a WHEP client of the origin node: it offers to receive audio
// and video in every codec the SFU forwards, learns the stream's codecs
// from the answer and feeds what arrives to the relay's forwarders. A
// re-pull (lostSince is when the media stopped) checks the codecs instead.
func (st *stream) pullFrom(ctx context.Context, o Origin, lostSince time.Time) (*relayPull, error) {
	s := st.sfu
	pc, err := s.newPeerConnection(ingest, offerCodecs())
	if err != nil {
		return nil, fmt.Errorf("peer connection: %w", err)
	}
	r := &relayPull{pc: pc, origin: o, client: s.cfg.HTTPClient, log: st.log, wg: &s.wg}
	resume := !lostSince.IsZero()
	if resume {
		r.lostAt.Store(lostSince.UnixNano())
	}
	fail := func(err error) (*relayPull, error) {
		r.stop()
		return nil, err
	}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return fail(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fail(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return fail(err)
	}
	if err := waitGathered(ctx, gathered); err != nil {
		return fail(err)
	}

	endpoint := fmt.Sprintf("%s/api/streams/%d/whep", o.URL, st.id)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		return fail(err)
	}
	token, err := s.clusterRelayToken(ctx)
	if err != nil {
		return fail(fmt.Errorf("relay token: %v: %w", err, ErrUnavailable))
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set(RelayHeader, s.cfg.NodeID)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := r.client.Do(req)
	if err != nil {
		return fail(fmt.Errorf("origin %s unreachable: %w", o.NodeID, ErrUnavailable))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxSDPBytes))
	if err != nil {
		return fail(fmt.Errorf("read origin answer: %w", ErrUnavailable))
	}
	switch {
	case resp.StatusCode == http.StatusConflict:
		return fail(withRetryAfter(ErrNotLive, s.cfg.RetryAfter))
	case resp.StatusCode != http.StatusCreated:
		return fail(fmt.Errorf("origin %s answered %d: %w", o.NodeID, resp.StatusCode, ErrUnavailable))
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		if u, err := url.Parse(endpoint); err == nil {
			if ref, err := u.Parse(loc); err == nil {
				r.location = ref.String()
			}
		}
	}
	answer, err := parseDescription(string(body))
	if err != nil {
		return fail(fmt.Errorf("origin answer: %w", err))
	}
	var audio, video *codec
	if m, ok := answer.section("audio"); ok && len(m.codecs) > 0 && m.codecs[0].usable() {
		audio = &m.codecs[0]
	}
	if m, ok := answer.section("video"); ok && len(m.codecs) > 0 && m.codecs[0].usable() {
		video = &m.codecs[0]
	}
	if audio == nil && video == nil {
		return fail(fmt.Errorf("origin answer has no media: %w", ErrUnavailable))
	}
	if !resume {
		st.setCodecs(audio, video)
	} else if !st.sameCodecs(audio, video) {
		return fail(errCodecsChanged)
	}
	gen := st.srcGen.Add(1)
	pc.OnTrack(func(track *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
		st.readTrack(gen, track, rcv, &r.videoSSRC)
	})
	pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) {
		switch pc.ConnectionState() {
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			st.pullLost(r, "connection to origin lost")
		case webrtc.PeerConnectionStateConnected:
			r.lostAt.Store(0)
			st.requestKeyframe()
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		return fail(fmt.Errorf("origin answer rejected: %v: %w", err, ErrUnavailable))
	}
	time.AfterFunc(s.cfg.ConnectTimeout, func() {
		if pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
			st.pullLost(r, "origin did not connect in time")
		}
	})
	return r, nil
}

// pullLost handles the end of r, the relay's pull (a network glitch between
// nodes, the origin closed it, an origin handover, the origin crashed): the
// local viewers keep their sessions while repull gets the stream again.
func (st *stream) pullLost(r *relayPull, reason string) {
	s := st.sfu
	st.mu.Lock()
	if st.pull != r || st.state == stateEnded {
		st.mu.Unlock()
		return // an old pull, or the relay is over
	}
	st.pull = nil
	st.mu.Unlock()
	r.stop()
	since := time.Now()
	if t := r.lostAt.Load(); t != 0 {
		since = time.Unix(0, t)
	}
	select {
	case <-s.stop:
		st.endRelay(reason)
		return
	default:
	}
	st.log.Info("relay pull lost; pulling again", "reason", reason)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		st.repull(since, r.origin.NodeID, reason)
	}()
}

// repull pulls the stream again, with backoff, from whichever node the
// registry names its origin, while the relay's viewers keep their
// sessions; they get a keyframe once media flows again. The relay ends
// when the registry names no origin (the stream ended; or its origin
// crashed and no publisher came back within the grace period, when the
// lapsed claim is forgotten), when the stream's codecs changed, or when no
// pull has worked for the grace period plus an origin TTL since the media
// stopped (since) or the registry named a node other than from, the node
// of the lost pull (a live origin this node cannot reach). While the
// origin's claim has lapsed the relay only waits: the publisher may come
// back on any node, which takes the claim over. When that node is this
// one, its publisher adopts the relay, and repull stops.
func (st *stream) repull(since time.Time, from, reason string) {
	s := st.sfu
	patience := s.cfg.PublisherGrace + s.cfg.OriginTTL
	deadline := since.Add(patience)
	wait := 100 * time.Millisecond
	for st.relay.Load() {
		o, ok, err := st.lookupOrigin()
		switch {
		case err != nil:
			st.log.Debug("relay re-pull: look up origin", slog.Any("error", err))
		case !ok || o.URL == "":
			st.endRelay(reason + "; the stream has no origin any more")
			return
		case o.Lapsed || o.NodeID == s.cfg.NodeID:
			// Waiting for the publisher; or it is coming back here and
			// will adopt the relay (if it fails, the claim lapses).
			deadline = time.Now().Add(patience)
			from = ""
		default:
			if o.NodeID != from {
				from = o.NodeID
				deadline = time.Now().Add(patience)
			}
			err = st.repullFrom(o, since)
			if err == nil {
				return
			}
			if errors.Is(err, errCodecsChanged) {
				st.endRelay(fmt.Sprintf("%s; pulling again: %v", reason, err))
				return
			}
			st.log.Debug("relay re-pull failed", "origin", o.NodeID, slog.Any("error", err))
		}
		if time.Now().After(deadline) {
			st.endRelay(fmt.Sprintf("%s; no pull worked for %v", reason, patience))
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-st.ended:
			t.Stop()
			return
		case <-s.stop:
			t.Stop()
			st.endRelay(reason)
			return
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// lookupOrigin asks the registry for the stream's origin.
func (st *stream) lookupOrigin() (Origin, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), st.sfu.cfg.HTTPClient.Timeout)
	defer cancel()
	return st.sfu.registry.Lookup(ctx, st.id)
}

// repullFrom negotiates one new pull from o and installs it.
func (st *stream) repullFrom(o Origin, since time.Time) error {
	s := st.sfu
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.HTTPClient.Timeout+5*time.Second)
	defer cancel()
	pull, err := st.pullFrom(ctx, o, since)
	if err != nil {
		return err
	}
	st.mu.Lock()
	if st.state == stateEnded || st.pull != nil || !st.relay.Load() {
		st.mu.Unlock()
		pull.stop()
		return nil
	}
	st.pull = pull
	st.mu.Unlock()
	st.log.Info("relay pulling again", "origin", o.NodeID)
	if cs := pull.pc.ConnectionState(); cs == webrtc.PeerConnectionStateFailed || cs == webrtc.PeerConnectionStateClosed {
		st.pullLost(pull, "connection to origin lost") // before it was installed
	}
	return nil
}

// checkOrigin ends the relay when the registry keeps no claim for the
// stream (it ended, or its origin crashed and the grace period passed)
// and pulls again when it names another node (the stream was handed over,
// or taken over after its origin crashed). A lapsed claim changes
// nothing: the pull goes on while it delivers, and once lost the relay
// waits for the stream's next origin. Nor does a claim of this node's: its
// publisher is coming back here and will adopt the relay.
func (st *stream) checkOrigin(ctx context.Context) {
	st.mu.Lock()
	pull := st.pull
	st.mu.Unlock()
	if pull == nil {
		return
	}
	o, ok, err := st.sfu.registry.Lookup(ctx, st.id)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			st.log.Warn("check origin", slog.Any("error", err))
		}
		return
	}
	switch {
	case !ok:
		st.endRelay("origin node left")
	case o.Lapsed || o.NodeID == st.sfu.cfg.NodeID:
	case o.NodeID != pull.origin.NodeID:
		st.pullLost(pull, "origin moved to node "+o.NodeID)
	}
}

// adopt makes the relay this node's origin run of the stream, for a
// publisher with the relay's codecs that came back here: the relay's
// viewers stay, and its pull from the old origin is returned to be
// stopped (the caller holds s.mu, and stops it after letting go). It
// reports false, changing nothing, for a relay that is not live or carries
// other codecs.
func (st *stream) adopt(plan mediaPlan) (*relayPull, bool) {
	st.mu.Lock()
	if st.state != stateLive || !st.sameCodecs(plan.audio, plan.video) {
		st.mu.Unlock()
		return nil, false
	}
	pull := st.pull
	st.pull = nil
	st.relay.Store(false)
	if st.idle != nil {
		st.idle.Stop()
		st.idle = nil
	}
	st.mu.Unlock()
	st.sfu.metrics.relays.Dec()
	st.log.Info("the stream's publisher came back on this node; its relay carries on as the origin")
	return pull, true
}
