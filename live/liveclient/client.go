// Package liveclient is a WHIP publisher and WHEP viewer built on pion, for
// Liveshop's tests, its load generator and the SFU's own checks. The
// publisher sends synthetic media (valid VP8 or H.264 frame structure and
// Opus-sized audio, at a chosen bitrate) and answers keyframe requests; the
// viewer counts packets, keyframes and sequence gaps.
package liveclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/webrtc/v4"
)

// Network chooses where the client's ICE candidates come from.
type Network struct {
	// LoopbackOnly keeps all traffic on 127.0.0.1: no mDNS, loopback
	// candidates only. Tests and load runs on one machine set it.
	LoopbackOnly bool
	// ReadBuffer, when positive, is the receive buffer of each UDP socket
	// (capped by the kernel's net.core.rmem_max).
	ReadBuffer int
	// Certificate, when set, is the DTLS certificate of every connection,
	// sparing a load generator one key generation per viewer.
	Certificate *webrtc.Certificate
}

func (n Network) settingEngine() (webrtc.SettingEngine, error) {
	var se webrtc.SettingEngine
	if n.ReadBuffer > 0 {
		bn, err := newBufferedNet(n.ReadBuffer)
		if err != nil {
			return se, err
		}
		se.SetNet(bn)
	}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetDTLSRetransmissionInterval(300 * time.Millisecond)
	if n.LoopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}
	return se, nil
}

// Codec names the client understands.
const (
	VP8  = "VP8"
	H264 = "H264"
)

var videoFeedback = []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}

func registerCodecs(m *webrtc.MediaEngine, videoCodecs ...string) error {
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return err
	}
	for _, vc := range videoCodecs {
		c, err := videoCapability(vc)
		if err != nil {
			return err
		}
		pt := webrtc.PayloadType(96)
		if vc == H264 {
			pt = 102
		}
		if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: c, PayloadType: pt}, webrtc.RTPCodecTypeVideo); err != nil {
			return err
		}
	}
	return nil
}

func videoCapability(name string) (webrtc.RTPCodecCapability, error) {
	switch name {
	case VP8:
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback}, nil
	case H264:
		return webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: videoFeedback,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		}, nil
	}
	return webrtc.RTPCodecCapability{}, fmt.Errorf("liveclient: unknown video codec %q", name)
}

// newPeerConnection builds a PeerConnection that offers videoCodecs (in
// order) and Opus. A sender answers NACKs and sends sender reports; a
// receiver asks for retransmissions and sends receiver reports. Nothing
// else runs per packet, so a load generator can hold many of them.
func newPeerConnection(n Network, send bool, videoCodecs ...string) (*webrtc.PeerConnection, error) {
	m := &webrtc.MediaEngine{}
	if err := registerCodecs(m, videoCodecs...); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if send {
		resp, err := nack.NewResponderInterceptor()
		if err != nil {
			return nil, err
		}
		ir.Add(resp)
		sr, err := report.NewSenderInterceptor()
		if err != nil {
			return nil, err
		}
		ir.Add(sr)
	} else {
		gen, err := nack.NewGeneratorInterceptor()
		if err != nil {
			return nil, err
		}
		ir.Add(gen)
		rr, err := report.NewReceiverInterceptor()
		if err != nil {
			return nil, err
		}
		ir.Add(rr)
	}
	se, err := n.settingEngine()
	if err != nil {
		return nil, err
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	var conf webrtc.Configuration
	if n.Certificate != nil {
		conf.Certificates = []webrtc.Certificate{*n.Certificate}
	}
	return api.NewPeerConnection(conf)
}

// StatusError is a non-2xx answer from a WHIP/WHEP endpoint.
type StatusError struct {
	Status     int
	Body       string
	RetryAfter string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Status, strings.TrimSpace(e.Body))
}

// Exchange is the result of a WHIP/WHEP POST.
type Exchange struct {
	Answer   string
	Location string // absolute session URL
	ETag     string
	Links    []string
}

// Post sends an SDP offer to endpoint (with key as bearer token when set)
// and returns the answer and the session URL.
func Post(ctx context.Context, client *http.Client, endpoint, key, offer string, header http.Header) (*Exchange, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(offer))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/sdp")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusCreated {
		return nil, &StatusError{Status: resp.StatusCode, Body: string(body), RetryAfter: resp.Header.Get("Retry-After")}
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, errors.New("liveclient: 201 without Location")
	}
	base, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	ref, err := base.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("liveclient: bad Location %q: %w", loc, err)
	}
	return &Exchange{Answer: string(body), Location: ref.String(), ETag: resp.Header.Get("ETag"), Links: resp.Header.Values("Link")}, nil
}

// Delete ends a session.
func Delete(ctx context.Context, client *http.Client, location, key string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, location, nil)
	if err != nil {
		return err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return &StatusError{Status: resp.StatusCode, Body: string(body)}
	}
	return nil
}

// negotiate creates an offer, waits for ICE gathering, posts it and
// applies the answer.
func negotiate(ctx context.Context, pc *webrtc.PeerConnection, client *http.Client, endpoint, key string) (*Exchange, error) {
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return nil, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return nil, err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	ex, err := Post(ctx, client, endpoint, key, pc.LocalDescription().SDP, nil)
	if err != nil {
		return nil, err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ex.Answer}); err != nil {
		return nil, fmt.Errorf("liveclient: apply answer: %w", err)
	}
	return ex, nil
}

// conn follows a PeerConnection's state for waiting.
type conn struct {
	pc       *webrtc.PeerConnection
	changed  chan struct{}
	down     chan struct{}
	downOnce sync.Once
}

func newConn(pc *webrtc.PeerConnection) *conn {
	c := &conn{pc: pc, changed: make(chan struct{}, 1), down: make(chan struct{})}
	pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) {
		switch pc.ConnectionState() {
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			c.downOnce.Do(func() { close(c.down) })
		}
		select {
		case c.changed <- struct{}{}:
		default:
		}
	})
	return c
}

// PeerConnection is the underlying pion connection.
func (c *conn) PeerConnection() *webrtc.PeerConnection { return c.pc }

// Down is closed once the connection has failed or closed.
func (c *conn) Down() <-chan struct{} { return c.down }

// WaitConnected waits until the connection is up, or fails.
func (c *conn) WaitConnected(ctx context.Context) error {
	for {
		switch s := c.pc.ConnectionState(); s {
		case webrtc.PeerConnectionStateConnected:
			return nil
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			return fmt.Errorf("liveclient: connection %s", s)
		}
		select {
		case <-c.changed:
		case <-ctx.Done():
			return fmt.Errorf("liveclient: waiting for connection: %w", ctx.Err())
		}
	}
}
