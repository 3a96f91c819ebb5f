package live

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// pickCodec chooses the format for one media section: the first the SFU can
// forward, in the peer's order of preference, or — when want is set (a
// viewer joining, a publisher reconnecting) — the first that carries
// exactly want.
func pickCodec(m mediaSection, want *codec) (codec, bool) {
	for _, c := range m.codecs {
		if !c.usable() {
			continue
		}
		if want == nil || c.same(*want) {
			return c, true
		}
	}
	return codec{}, false
}

var (
	videoFeedback = []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
)

// offerCodecs are the formats a relay pull offers to an origin node, the
// same set the SFU accepts from publishers.
func offerCodecs() []codec {
	return []codec{
		{kind: webrtc.RTPCodecTypeAudio, pt: 111, mime: webrtc.MimeTypeOpus, clock: 48000, channels: 2, fmtp: "minptime=10;useinbandfec=1"},
		{kind: webrtc.RTPCodecTypeVideo, pt: 96, rtxPT: 97, mime: webrtc.MimeTypeVP8, clock: 90000},
		{kind: webrtc.RTPCodecTypeVideo, pt: 102, rtxPT: 103, mime: webrtc.MimeTypeH264, clock: 90000,
			fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"},
		{kind: webrtc.RTPCodecTypeVideo, pt: 104, rtxPT: 105, mime: webrtc.MimeTypeH264, clock: 90000,
			fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f"},
		{kind: webrtc.RTPCodecTypeVideo, pt: 106, rtxPT: 107, mime: webrtc.MimeTypeH264, clock: 90000,
			fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f"},
	}
}

// peerRole selects the interceptors of a PeerConnection: ingest receives
// media (publishers, relay pulls), egress sends it (viewers).
type peerRole int

const (
	ingest peerRole = iota
	egress
)

// newPeerConnection builds a PeerConnection whose media engine holds exactly
// codecs, so the answer pion writes names those formats and nothing else.
// Ingest connections ask for retransmissions (NACK), send receiver reports
// and transport-wide congestion control feedback, so browsers adapt their
// encoder bitrate; egress connections answer NACKs from a bounded history
// and send sender reports for lip sync.
func (s *SFU) newPeerConnection(role peerRole, codecs []codec) (*webrtc.PeerConnection, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range codecs {
		var fb []webrtc.RTCPFeedback
		if c.kind == webrtc.RTPCodecTypeVideo {
			fb = videoFeedback
		}
		if err := m.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: c.capability(fb), PayloadType: webrtc.PayloadType(c.pt),
		}, c.kind); err != nil {
			return nil, fmt.Errorf("register %s: %w", c, err)
		}
		if c.rtxPT != 0 {
			if err := m.RegisterCodec(webrtc.RTPCodecParameters{
				RTPCodecCapability: webrtc.RTPCodecCapability{
					MimeType: c.kind.String() + "/rtx", ClockRate: c.clock, SDPFmtpLine: fmt.Sprintf("apt=%d", c.pt),
				},
				PayloadType: webrtc.PayloadType(c.rtxPT),
			}, c.kind); err != nil {
				return nil, fmt.Errorf("register rtx for %s: %w", c, err)
			}
		}
	}
	ir := &interceptor.Registry{}
	switch role {
	case ingest:
		for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
			if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.SDESMidURI}, k); err != nil {
				return nil, err
			}
		}
		// Simulcast publishers mark their layers with these (RFC 8852).
		for _, uri := range []string{sdp.SDESRTPStreamIDURI, sdp.SDESRepairRTPStreamIDURI} {
			if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
				return nil, err
			}
		}
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
		if err := webrtc.ConfigureTWCCSender(m, ir); err != nil {
			return nil, err
		}
	case egress:
		resp, err := nack.NewResponderInterceptor(nack.ResponderSize(s.cfg.NACKBuffer))
		if err != nil {
			return nil, err
		}
		ir.Add(resp)
		sr, err := report.NewSenderInterceptor()
		if err != nil {
			return nil, err
		}
		ir.Add(sr)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(s.net.se))
	cert, err := s.certificate()
	if err != nil {
		return nil, err
	}
	return api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{*cert}})
}

// certificate is the node's DTLS certificate, shared by its connections so
// a join costs no key generation; it is replaced a week before it expires.
func (s *SFU) certificate() (*webrtc.Certificate, error) {
	s.certMu.Lock()
	defer s.certMu.Unlock()
	if s.cert != nil && time.Until(s.cert.Expires()) > 7*24*time.Hour {
		return s.cert, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("DTLS key: %w", err)
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		return nil, fmt.Errorf("DTLS certificate: %w", err)
	}
	s.cert = cert
	return cert, nil
}
