package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// sessionKind tells WHIP (publisher) sessions from WHEP (viewer) ones.
type sessionKind int

const (
	whipSession sessionKind = iota
	whepSession
)

func (k sessionKind) String() string {
	if k == whipSession {
		return "whip"
	}
	return "whep"
}

// session is the HTTP-visible part of a WHIP or WHEP session: its ID (the
// last segment of the Location URL), its PeerConnection and the entity tag
// of its current ICE session.
type session struct {
	id       string
	kind     sessionKind
	streamID int64
	pc       *webrtc.PeerConnection
	log      *slog.Logger
	created  time.Time

	mu          sync.Mutex // serializes negotiation, PATCH and close
	etag        string
	remoteUfrag string
	remotePwd   string
	closed      bool
}

func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func newETag() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return `"` + hex.EncodeToString(b[:]) + `"`
}

// negotiate answers offer. prepare runs between applying the offer and
// writing the answer (viewers attach their tracks there). It waits for ICE
// gathering so the answer carries every candidate: with the UDP mux that
// is immediate.
func (s *session) negotiate(ctx context.Context, offer string, prepare func() error) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", Invalid("offer_rejected", "offer rejected: %v", err)
	}
	if prepare != nil {
		if err := prepare(); err != nil {
			return "", err
		}
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return "", Invalid("offer_rejected", "cannot answer offer: %v", err)
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(answer); err != nil {
		return "", Invalid("offer_rejected", "cannot apply answer: %v", err)
	}
	if err := waitGathered(ctx, gathered); err != nil {
		return "", err
	}
	s.etag = newETag()
	s.remoteUfrag, s.remotePwd = iceCredentials(offer)
	return s.pc.LocalDescription().SDP, nil
}

func waitGathered(ctx context.Context, gathered <-chan struct{}) error {
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-gathered:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("gather ICE candidates: %w", ctx.Err())
	case <-t.C:
		return fmt.Errorf("gather ICE candidates: timed out: %w", ErrUnavailable)
	}
}

// patchResult is what a PATCH answers: 204 for trickled candidates, 200
// with our new fragment and ETag for an ICE restart.
type patchResult struct {
	status   int
	fragment string
	etag     string
}

// patch applies a trickle-ICE fragment (RFC 8840, RFC 9725 §4.3). A
// fragment with new credentials is an ICE restart and needs If-Match "*"
// or the current ETag; plain candidates are checked against If-Match when
// the client sends one.
func (s *session) patch(ctx context.Context, ifMatch string, f *iceFragment) (patchResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return patchResult{}, fmt.Errorf("session closed: %w", ErrNotFound)
	}
	restart := f.ufrag != "" && (f.ufrag != s.remoteUfrag || f.pwd != s.remotePwd)
	switch {
	case restart && ifMatch == "":
		return patchResult{}, ErrPreconditionRequired
	case ifMatch != "" && ifMatch != "*" && ifMatch != s.etag:
		return patchResult{}, ErrPreconditionFailed
	}
	if !restart {
		for _, c := range f.candidates {
			if err := s.addCandidate(c); err != nil {
				return patchResult{}, err
			}
		}
		return patchResult{status: http.StatusNoContent}, nil
	}

	remote := s.pc.RemoteDescription()
	if remote == nil {
		return patchResult{}, fmt.Errorf("session not negotiated: %w", ErrNotFound)
	}
	offer, err := restartOffer(remote.SDP, f.ufrag, f.pwd)
	if err != nil {
		return patchResult{}, BadRequest("cannot restart ICE: %v", err)
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return patchResult{}, Invalid("ice_restart_failed", "ICE restart rejected: %v", err)
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return patchResult{}, Invalid("ice_restart_failed", "ICE restart failed: %v", err)
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(answer); err != nil {
		return patchResult{}, Invalid("ice_restart_failed", "ICE restart failed: %v", err)
	}
	if err := waitGathered(ctx, gathered); err != nil {
		return patchResult{}, err
	}
	for _, c := range f.candidates {
		if err := s.addCandidate(c); err != nil {
			return patchResult{}, err
		}
	}
	frag, err := answerFragment(s.pc.LocalDescription().SDP)
	if err != nil {
		return patchResult{}, fmt.Errorf("ice restart answer: %w", err)
	}
	s.remoteUfrag, s.remotePwd = f.ufrag, f.pwd
	s.etag = newETag()
	s.log.Debug("ICE restarted")
	return patchResult{status: http.StatusOK, fragment: frag, etag: s.etag}, nil
}

func (s *session) addCandidate(c fragmentCandidate) error {
	init := webrtc.ICECandidateInit{Candidate: c.line}
	if c.mid != "" {
		mid := c.mid
		init.SDPMid = &mid
	} else {
		var zero uint16
		init.SDPMLineIndex = &zero
	}
	if err := s.pc.AddICECandidate(init); err != nil {
		return BadRequest("candidate rejected: %v", err)
	}
	return nil
}

func (s *session) currentETag() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.etag
}

// close ends the PeerConnection once. Callers never hold stream or SFU
// locks here: closing waits for pion goroutines that may call back into us.
func (s *session) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	if err := s.pc.Close(); err != nil {
		s.log.Debug("close peer connection", slog.Any("error", err))
	}
}
