package live

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pion/webrtc/v4"
)

// planView matches a viewer's offer against the stream's codecs: each kind
// the stream carries is sent in the first section of that kind that can
// receive it untouched.
func planView(d *description, st *stream) (mediaPlan, error) {
	var plan mediaPlan
	for _, kind := range []string{"audio", "video"} {
		fw := st.audio
		if kind == "video" {
			fw = st.video
		}
		if fw == nil {
			continue
		}
		m, ok := d.section(kind)
		if !ok || !m.receives() {
			continue
		}
		c, ok := pickCodec(m, &fw.codec)
		if !ok {
			continue
		}
		if kind == "audio" {
			plan.audio = &c
		} else {
			plan.video = &c
		}
	}
	if plan.audio == nil && plan.video == nil {
		return mediaPlan{}, Invalid(ErrNoUsableCodec.Code,
			"offer cannot receive this stream's %s", st.describeCodecs())
	}
	return plan, nil
}

func (st *stream) describeCodecs() string {
	s := ""
	for _, f := range []*forwarder{st.audio, st.video} {
		if f != nil {
			if s != "" {
				s += " and "
			}
			s += f.codec.mime
		}
	}
	return s
}

// view handles a WHEP POST: it finds the stream here (or starts pulling it
// from its origin node), answers the offer with tracks of exactly the
// stream's codecs, and starts the viewer's writer. relayFrom is set when
// the viewer is another node pulling; such requests are served only from
// origin streams, so relays never chain. client is the viewer's address
// for the per-client cap (see admission).
func (s *SFU) view(ctx context.Context, streamID int64, offer, client, relayFrom string) (*viewer, string, error) {
	posted := time.Now()
	desc, err := parseDescription(offer)
	if err != nil {
		return nil, "", err
	}
	st, err := s.streamForViewer(ctx, streamID, relayFrom != "")
	if err != nil {
		return nil, "", err
	}
	plan, err := planView(desc, st)
	if err != nil {
		return nil, "", err
	}
	release, err := s.admission.admit(client, streamID, relayFrom != "")
	if err != nil {
		return nil, "", err
	}
	s.metrics.viewers.Inc()

	pc, err := s.newPeerConnection(egress, plan.codecs())
	if err != nil {
		release()
		s.metrics.viewers.Dec()
		return nil, "", fmt.Errorf("peer connection: %w", err)
	}
	id := newSessionID()
	v := &viewer{
		session: &session{
			id: id, kind: whepSession, streamID: streamID, pc: pc, created: posted,
			log: s.log.With("stream", streamID, "whep", id[:8]),
		},
		st: st, queue: make(chan outItem, s.cfg.ViewerQueue), posted: posted,
		done: make(chan struct{}), relayPull: relayFrom != "", release: release,
	}
	var senders []*webrtc.RTPSender
	prepare := func() error {
		label := fmt.Sprintf("liveshop-%d", streamID)
		for _, c := range plan.codecs() {
			track, err := webrtc.NewTrackLocalStaticRTP(c.capability(nil), c.kind.String(), label)
			if err != nil {
				return err
			}
			sender, err := pc.AddTrack(track)
			if err != nil {
				return Invalid("offer_rejected", "cannot add %s track: %v", c.kind, err)
			}
			senders = append(senders, sender)
			if c.kind == webrtc.RTPCodecTypeAudio {
				v.audio = track
			} else {
				v.video = track
			}
		}
		return nil
	}
	v.connectTimer = time.AfterFunc(s.cfg.ConnectTimeout, func() {
		if !v.attached.Load() {
			st.removeViewer(v, "did not connect in time")
		}
	})
	pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) { st.viewerState(v) })
	answer, err := v.negotiate(ctx, offer, prepare)
	if err != nil {
		v.stop()
		return nil, "", err
	}
	if err := st.addViewer(v); err != nil {
		v.stop()
		return nil, "", withRetryAfter(ErrNotLive, s.cfg.RetryAfter)
	}
	s.addSession(id, &sessionRef{st: st, v: v})
	for _, sender := range senders {
		go v.readRTCP(sender)
	}
	go v.run()
	s.metrics.sessions.WithLabelValues("whep").Inc()
	st.viewerState(v) // in case the connection came up before the handler could see v
	return v, answer, nil
}

// streamForViewer finds the live stream a viewer may join on this node,
// starting a relay from the origin node when the publisher is elsewhere.
func (s *SFU) streamForViewer(ctx context.Context, id int64, relayRequest bool) (*stream, error) {
	notLive := withRetryAfter(ErrNotLive, s.cfg.RetryAfter)
	for attempt := 0; attempt < 2; attempt++ {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrUnavailable
		}
		st := s.streams[id]
		s.mu.Unlock()
		if st != nil && !st.relay.Load() {
			if st.isLive() {
				return st, nil
			}
			return nil, notLive
		}
		if relayRequest {
			return nil, s.notLive(ctx, id) // relays pull only from origins
		}
		if st != nil {
			if err := st.waitReady(ctx); err != nil {
				return nil, err
			}
			if st.isLive() {
				return st, nil
			}
			continue // ended meanwhile; look again
		}
		o, ok, err := s.registry.Lookup(ctx, id)
		if err != nil {
			s.log.Warn("origin registry lookup", "stream", id, "error", err)
			return nil, ErrUnavailable
		}
		if !ok || o.Lapsed || o.NodeID == s.cfg.NodeID || o.URL == "" {
			// A lapsed claim: the origin crashed and the stream waits
			// for its publisher; there is nothing to pull yet.
			return nil, s.notLive(ctx, id)
		}
		st, err = s.startRelay(id, o)
		if err != nil {
			return nil, err
		}
		if st == nil {
			continue // someone else created the stream first
		}
		if err := st.waitReady(ctx); err != nil {
			return nil, err
		}
		return st, nil
	}
	return nil, notLive
}

// notLive is the answer for a stream no node carries: 404 when the
// catalog does not know it, 409 with Retry-After when it may yet go live.
func (s *SFU) notLive(ctx context.Context, id int64) error {
	s.knownMu.Lock()
	known := s.known[id]
	s.knownMu.Unlock()
	if s.catalog != nil && !known {
		ok, err := s.catalog.StreamExists(ctx, id)
		if err != nil {
			s.log.Warn("stream catalog", "stream", id, slog.Any("error", err))
			return fmt.Errorf("look up stream %d: %w", id, ErrUnavailable)
		}
		if !ok {
			return fmt.Errorf("stream %d: %w", id, ErrNotFound)
		}
		s.knownMu.Lock()
		if len(s.known) >= maxKnownStreams {
			clear(s.known) // bounded; a forgotten stream costs one look-up
		}
		s.known[id] = true
		s.knownMu.Unlock()
	}
	return withRetryAfter(ErrNotLive, s.cfg.RetryAfter)
}

// maxKnownStreams bounds the streams notLive remembers.
const maxKnownStreams = 1 << 16

func (st *stream) waitReady(ctx context.Context) error {
	select {
	case <-st.ready:
		return st.readyErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stopViewer handles a WHEP DELETE.
func (s *SFU) stopViewer(streamID int64, sessionID string) error {
	ref, err := s.lookupSession(streamID, whepSession, sessionID)
	if err != nil {
		return err
	}
	ref.st.removeViewer(ref.v, "viewer left")
	return nil
}
