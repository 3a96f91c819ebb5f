package live

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Limits on what an offer may contain; anything beyond is refused before a
// PeerConnection exists.
const (
	maxMediaSections = 8
	maxFormats       = 64
)

// codec is one RTP payload format of an offer or answer, and what a
// PeerConnection registers to negotiate exactly that format.
type codec struct {
	kind     webrtc.RTPCodecType
	pt       uint8
	mime     string // "video/VP8", "audio/opus", "video/H264"
	clock    uint32
	channels uint16
	fmtp     string
	rtxPT    uint8 // 0 when the offer has no RTX for this format
}

// same reports whether a viewer's format can carry what a publisher sends
// with c, untouched: same codec, and for H.264 the same profile and
// packetization mode.
func (c codec) same(o codec) bool {
	if !strings.EqualFold(c.mime, o.mime) || c.clock != o.clock {
		return false
	}
	if strings.EqualFold(c.mime, webrtc.MimeTypeH264) {
		return h264Profile(c.fmtp) == h264Profile(o.fmtp) && h264Mode(c.fmtp) == h264Mode(o.fmtp)
	}
	return true
}

func (c codec) String() string {
	if c.fmtp != "" {
		return c.mime + " " + c.fmtp
	}
	return c.mime
}

// capability is c as pion describes a track's codec.
func (c codec) capability(feedback []webrtc.RTCPFeedback) webrtc.RTPCodecCapability {
	return webrtc.RTPCodecCapability{
		MimeType: c.mime, ClockRate: c.clock, Channels: c.channels, SDPFmtpLine: c.fmtp, RTCPFeedback: feedback,
	}
}

// usable reports whether the SFU forwards c: Opus, VP8, or H.264 in
// packetization mode 1 (what browsers, OBS and GStreamer send).
func (c codec) usable() bool {
	switch strings.ToLower(c.mime) {
	case "audio/opus":
		return c.clock == 48000
	case "video/vp8":
		return c.clock == 90000
	case "video/h264":
		return c.clock == 90000 && h264Mode(c.fmtp) == "1" && len(h264Profile(c.fmtp)) == 2
	}
	return false
}

func fmtpParam(fmtp, key string) string {
	for _, kv := range strings.Split(fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if strings.EqualFold(k, key) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func h264Mode(fmtp string) string {
	if m := fmtpParam(fmtp, "packetization-mode"); m != "" {
		return m
	}
	return "0"
}

// h264Profile is the profile_idc byte of profile-level-id in hex; the level
// does not matter to a forwarder, and constrained baseline and baseline
// share 42.
func h264Profile(fmtp string) string {
	p := fmtpParam(fmtp, "profile-level-id")
	if len(p) != 6 {
		return ""
	}
	if _, err := strconv.ParseUint(p, 16, 32); err != nil {
		return ""
	}
	return strings.ToLower(p[:2])
}

// mediaSection is one m= line of an offer.
type mediaSection struct {
	kind      string // "audio", "video", "application" or other
	mid       string
	direction string   // sendrecv, sendonly, recvonly or inactive
	rejected  bool     // port 0
	rids      []string // simulcast layers sent (a=rid:X send), in order
	codecs    []codec
}

func (m mediaSection) sends() bool { return m.direction == "sendrecv" || m.direction == "sendonly" }
func (m mediaSection) receives() bool {
	return m.direction == "sendrecv" || m.direction == "recvonly"
}

// firstLayer is the first simulcast layer (RFC 8853) of the video a
// publisher sends, "" without simulcast. The SFU forwards one encoding per
// track: of a simulcast publisher, the first it lists; the others are
// received and dropped.
func (d *description) firstLayer() string {
	for _, m := range d.media {
		if m.kind == "video" && m.sends() && !m.rejected && len(m.rids) > 0 {
			return m.rids[0]
		}
	}
	return ""
}

// description is what the SFU needs to know about an SDP before handing it
// to pion: its media sections and codecs, checked for the basics.
type description struct {
	media []mediaSection
}

// section returns the first live section of kind, if any.
func (d *description) section(kind string) (mediaSection, bool) {
	for _, m := range d.media {
		if m.kind == kind && !m.rejected {
			return m, true
		}
	}
	return mediaSection{}, false
}

// parseDescription reads an SDP offer (or answer) and refuses, with a 400,
// anything pion would choke on or that cannot be a WebRTC session: no media,
// no ICE credentials, no DTLS fingerprint, malformed payload formats.
func parseDescription(raw string) (*description, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, BadRequest("empty SDP")
	}
	if !strings.HasPrefix(raw, "v=0") {
		return nil, BadRequest("SDP must start with v=0")
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(raw); err != nil {
		return nil, BadRequest("malformed SDP: %v", err)
	}
	if len(sd.MediaDescriptions) == 0 {
		return nil, BadRequest("SDP has no media sections")
	}
	if len(sd.MediaDescriptions) > maxMediaSections {
		return nil, BadRequest("SDP has %d media sections, at most %d allowed", len(sd.MediaDescriptions), maxMediaSections)
	}
	sessUfrag, _ := sd.Attribute("ice-ufrag")
	sessPwd, _ := sd.Attribute("ice-pwd")
	sessFPValue, sessFP := sd.Attribute("fingerprint")
	if sessFP {
		if err := checkFingerprint(sessFPValue); err != nil {
			return nil, err
		}
	}
	sessDir := ""
	for _, a := range sd.Attributes {
		if isDirection(a.Key) {
			sessDir = a.Key
		}
	}

	d := &description{}
	for i, md := range sd.MediaDescriptions {
		m := mediaSection{kind: md.MediaName.Media, direction: "sendrecv", rejected: md.MediaName.Port.Value == 0}
		if sessDir != "" {
			m.direction = sessDir
		}
		if len(md.MediaName.Formats) > maxFormats {
			return nil, BadRequest("media section %d has too many formats", i)
		}
		ufrag, pwd, fp := sessUfrag, sessPwd, sessFP
		rtpmap := map[uint8]codec{}
		fmtp := map[uint8]string{}
		for _, a := range md.Attributes {
			switch {
			case a.Key == "mid":
				m.mid = a.Value
			case a.Key == "rid":
				if id, dir, _ := strings.Cut(a.Value, " "); strings.HasPrefix(dir, "send") && len(m.rids) < maxFormats {
					m.rids = append(m.rids, id)
				}
			case isDirection(a.Key):
				m.direction = a.Key
			case a.Key == "ice-ufrag":
				ufrag = a.Value
			case a.Key == "ice-pwd":
				pwd = a.Value
			case a.Key == "fingerprint":
				if err := checkFingerprint(a.Value); err != nil {
					return nil, err
				}
				fp = true
			case a.Key == "rtpmap":
				pt, c, err := parseRTPMap(a.Value)
				if err != nil {
					return nil, BadRequest("media section %d: %v", i, err)
				}
				rtpmap[pt] = c
			case a.Key == "fmtp":
				ptText, params, ok := strings.Cut(a.Value, " ")
				pt, err := strconv.ParseUint(ptText, 10, 8)
				if !ok || err != nil {
					return nil, BadRequest("media section %d: malformed a=fmtp:%s", i, a.Value)
				}
				fmtp[uint8(pt)] = strings.TrimSpace(params)
			}
		}
		if m.rejected {
			d.media = append(d.media, m)
			continue
		}
		if ufrag == "" || pwd == "" {
			return nil, BadRequest("media section %d has no ICE credentials (a=ice-ufrag, a=ice-pwd)", i)
		}
		if !fp {
			return nil, BadRequest("SDP has no DTLS fingerprint (a=fingerprint)")
		}
		if m.kind == "audio" || m.kind == "video" {
			kind := webrtc.NewRTPCodecType(m.kind)
			rtx := map[uint8]uint8{} // apt -> rtx pt
			for pt, c := range rtpmap {
				if strings.EqualFold(c.mime, "rtx") {
					if apt, err := strconv.ParseUint(fmtpParam(fmtp[pt], "apt"), 10, 8); err == nil {
						rtx[uint8(apt)] = pt
					}
				}
			}
			for _, f := range md.MediaName.Formats {
				pt, err := strconv.ParseUint(f, 10, 8)
				if err != nil || pt > 127 {
					return nil, BadRequest("media section %d: payload type %q is not a number 0-127", i, f)
				}
				c, ok := rtpmap[uint8(pt)]
				if !ok || strings.EqualFold(c.mime, "rtx") {
					continue
				}
				c.kind, c.pt, c.fmtp, c.rtxPT = kind, uint8(pt), fmtp[uint8(pt)], rtx[uint8(pt)]
				c.mime = canonicalMime(m.kind, c.mime)
				m.codecs = append(m.codecs, c)
			}
		}
		d.media = append(d.media, m)
	}
	return d, nil
}

// fingerprintSizes are the hash functions accepted in a=fingerprint
// (RFC 8122) and their digest sizes in bytes. Browsers and encoders send
// SHA-256; MD5 and MD2, which RFC 8122 retires, are refused.
var fingerprintSizes = map[string]int{"sha-1": 20, "sha-224": 28, "sha-256": 32, "sha-384": 48, "sha-512": 64}

// checkFingerprint refuses an a=fingerprint value pion would take and only
// fail on at the DTLS handshake, after the session held its resources for
// the connect timeout: it must be "HASH XX:XX:..." with a supported hash
// function and exactly its digest size of colon-separated hex bytes.
func checkFingerprint(v string) error {
	alg, value, _ := strings.Cut(strings.TrimSpace(v), " ")
	size, ok := fingerprintSizes[strings.ToLower(alg)]
	if !ok {
		return BadRequest("DTLS fingerprint: hash function %.20q is not supported (use sha-256)", alg)
	}
	value = strings.TrimSpace(value)
	if len(value) != 3*size-1 {
		return BadRequest("DTLS fingerprint: a %s value is %d colon-separated hex bytes", alg, size)
	}
	for i := 0; i < len(value); i++ {
		c := value[i]
		hex := '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
		if i%3 == 2 && c != ':' || i%3 != 2 && !hex {
			return BadRequest("DTLS fingerprint: a %s value is %d colon-separated hex bytes", alg, size)
		}
	}
	return nil
}

func isDirection(k string) bool {
	return k == "sendrecv" || k == "sendonly" || k == "recvonly" || k == "inactive"
}

// parseRTPMap reads "96 VP8/90000" or "111 opus/48000/2".
func parseRTPMap(v string) (uint8, codec, error) {
	ptText, enc, ok := strings.Cut(v, " ")
	pt, err := strconv.ParseUint(ptText, 10, 8)
	if !ok || err != nil || pt > 127 {
		return 0, codec{}, fmt.Errorf("malformed a=rtpmap:%s", v)
	}
	parts := strings.Split(strings.TrimSpace(enc), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return 0, codec{}, fmt.Errorf("malformed a=rtpmap:%s", v)
	}
	clock, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil || clock == 0 {
		return 0, codec{}, fmt.Errorf("malformed clock rate in a=rtpmap:%s", v)
	}
	c := codec{clock: uint32(clock)}
	if len(parts) == 3 {
		ch, err := strconv.ParseUint(parts[2], 10, 8)
		if err != nil {
			return 0, codec{}, fmt.Errorf("malformed channels in a=rtpmap:%s", v)
		}
		c.channels = uint16(ch)
	}
	c.mime = parts[0] // the encoding name until the section kind is known
	return uint8(pt), c, nil
}

// canonicalMime is pion's spelling of kind/name ("video/VP8", "audio/opus").
func canonicalMime(kind, name string) string {
	switch n := strings.ToLower(name); {
	case kind == "audio" && n == "opus":
		return webrtc.MimeTypeOpus
	case kind == "video" && n == "vp8":
		return webrtc.MimeTypeVP8
	case kind == "video" && n == "h264":
		return webrtc.MimeTypeH264
	default:
		return kind + "/" + n
	}
}
