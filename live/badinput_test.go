package live_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/liveshop/liveshop/live"
	"github.com/liveshop/liveshop/live/liveclient"
)

// offerWith builds a real pion offer sending (or receiving) the given
// codecs, then throws the PeerConnection away.
func offerWith(t testing.TB, dir webrtc.RTPTransceiverDirection, codecs map[webrtc.RTPCodecType][]webrtc.RTPCodecCapability) string {
	t.Helper()
	m := &webrtc.MediaEngine{}
	pt := webrtc.PayloadType(96)
	for kind, cs := range codecs {
		for _, c := range cs {
			if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: c, PayloadType: pt}, kind); err != nil {
				t.Fatal(err)
			}
			pt++
		}
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for kind := range codecs {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: dir}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc.LocalDescription().SDP
}

var (
	vp8  = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	vp9  = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000}
	opus = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	pcmu = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}
)

type call struct {
	method, url, contentType, key, ifMatch, body string
}

type answer struct {
	status int
	header http.Header
	body   string
	code   string // error code from the JSON body
}

// do sends c, with header as name, value pairs, and reads the answer.
func do(t testing.TB, client *http.Client, c call, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(c.method, c.url, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if c.ifMatch != "" {
		req.Header.Set("If-Match", c.ifMatch)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
	var e struct {
		Error struct{ Code, Message string }
	}
	if json.Unmarshal(b, &e) == nil {
		a.code = e.Error.Code
	}
	return a
}

func TestBadInputGetsClearErrorsAndLeaksNothing(t *testing.T) {
	n := startNode(t, nodeOptions{cfg: live.Config{PublisherGrace: 300 * time.Millisecond}})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 20 * time.Second}
	good := offerWith(t, webrtc.RTPTransceiverDirectionSendonly, map[webrtc.RTPCodecType][]webrtc.RTPCodecCapability{
		webrtc.RTPCodecTypeVideo: {vp8}, webrtc.RTPCodecTypeAudio: {opus}})
	noCodec := offerWith(t, webrtc.RTPTransceiverDirectionSendonly, map[webrtc.RTPCodecType][]webrtc.RTPCodecCapability{
		webrtc.RTPCodecTypeVideo: {vp9}, webrtc.RTPCodecTypeAudio: {pcmu}})
	recvOnly := offerWith(t, webrtc.RTPTransceiverDirectionRecvonly, map[webrtc.RTPCodecType][]webrtc.RTPCodecCapability{
		webrtc.RTPCodecTypeVideo: {vp8}})
	runtime.GC()
	base := runtime.NumGoroutine()

	const sdp, frag = "application/sdp", "application/trickle-ice-sdpfrag"
	cases := []struct {
		name   string
		call   call
		status int
		code   string
	}{
		{"refuses a body that is not SDP", call{"POST", n.whip(1), "text/plain", "key-1", "", good}, 415, "unsupported_media_type"},
		{"refuses garbage SDP", call{"POST", n.whip(1), sdp, "key-1", "", "hello, world"}, 400, "bad_request"},
		{"refuses a truncated offer", call{"POST", n.whip(1), sdp, "key-1", "", good[:len(good)/3]}, 400, "bad_request"},
		{"refuses an offer without a usable codec", call{"POST", n.whip(1), sdp, "key-1", "", noCodec}, 422, "no_usable_codec"},
		{"refuses an offer that sends nothing", call{"POST", n.whip(1), sdp, "key-1", "", recvOnly}, 422, "no_media"},
		{"refuses a huge body", call{"POST", n.whip(1), sdp, "key-1", "", good + strings.Repeat("a=x-padding:0123456789\r\n", 5000)}, 413, "body_too_large"},
		{"asks for the stream key", call{"POST", n.whip(1), sdp, "", "", good}, 401, "unauthorized"},
		{"refuses a wrong stream key", call{"POST", n.whip(1), sdp, "key-2", "", good}, 401, "unauthorized"},
		{"does not know stream 99", call{"POST", n.whip(99), sdp, "x", "", good}, 404, "not_found"},
		{"does not know stream abc", call{"POST", n.url + "/api/streams/abc/whip", sdp, "x", "", good}, 404, "not_found"},
		{"tells a viewer the stream is not live", call{"POST", n.whep(1), sdp, "", "", good}, 409, "not_live"},
		{"does not know a viewer's stream 99", call{"POST", n.whep(99), sdp, "", "", good}, 404, "not_found"},
		{"refuses a viewer's garbage SDP", call{"POST", n.whep(1), sdp, "", "", "v=0\r\nbogus"}, 400, "bad_request"},
		{"does not know a viewer session", call{"PATCH", n.whep(1) + "/nope", frag, "", "*", "a=end-of-candidates\r\n"}, 404, "not_found"},
		{"does not know a publisher session", call{"PATCH", n.whip(1) + "/nope", frag, "key-1", "*", "a=end-of-candidates\r\n"}, 404, "not_found"},
		{"does not delete an unknown session", call{"DELETE", n.whep(1) + "/nope", "", "", "", ""}, 404, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := do(t, client, c.call)
			if a.status != c.status || a.code != c.code {
				t.Fatalf("got %d %q (%s), want %d %q", a.status, a.code, a.body, c.status, c.code)
			}
			if c.status == 401 && a.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if c.code == "not_live" && a.header.Get("Retry-After") == "" {
				t.Error("409 not_live without Retry-After")
			}
		})
	}
	// Refusals leave nothing behind (checked here, outside a subtest's
	// own goroutine).
	goroutinesSettle(t, base)

	// With a live stream and sessions to poke at.
	pub, stopPub := publish(t, n, 1, "key-1", liveclient.PublishOptions{})
	sub := subscribe(t, n.whep(1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}

	withSessions := []struct {
		name   string
		call   call
		status int
		code   string
	}{
		{"refuses a second publisher", call{"POST", n.whip(1), sdp, "key-1", "", good}, 409, "publisher_active"},
		{"refuses to stop a stream with another stream's key", call{"DELETE", pub.Location, "", "key-2", "", ""}, 401, "unauthorized"},
		{"refuses to stop a stream without a key", call{"DELETE", pub.Location, "", "", "", ""}, 401, "unauthorized"},
		{"does not find a session under another stream", call{"DELETE", strings.Replace(pub.Location, "/streams/1/", "/streams/2/", 1), "", "key-2", "", ""}, 404, "not_found"},
		{"refuses a PATCH that is not a fragment", call{"PATCH", sub.Location, "application/sdp", "", "", "a=end-of-candidates"}, 415, "unsupported_media_type"},
		{"refuses a garbage fragment", call{"PATCH", sub.Location, frag, "", "", "hello\r\n"}, 400, "bad_request"},
		{"refuses a bad candidate", call{"PATCH", sub.Location, frag, "", "", "a=mid:0\r\na=candidate:not a candidate\r\n"}, 400, "bad_request"},
		{"refuses a stale If-Match", call{"PATCH", sub.Location, frag, "", `"stale"`, "a=end-of-candidates\r\n"}, 412, "precondition_failed"},
		{"wants If-Match for an ICE restart", call{"PATCH", sub.Location, frag, "", "", "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"}, 428, "precondition_required"},
		{"refuses a trickle PATCH on a publisher without the key", call{"PATCH", pub.Location, frag, "key-2", "", "a=end-of-candidates\r\n"}, 401, "unauthorized"},
	}
	for _, c := range withSessions {
		t.Run(c.name, func(t *testing.T) {
			a := do(t, client, c.call)
			if a.status != c.status || a.code != c.code {
				t.Fatalf("got %d %q (%s), want %d %q", a.status, a.code, a.body, c.status, c.code)
			}
		})
	}
	t.Run("the stream survived all of it", func(t *testing.T) {
		before := sub.VideoPackets.Load()
		eventually(t, "more video", 10*time.Second, func() bool { return sub.VideoPackets.Load() > before+10 })
		if st := n.sfu.Stats(); st.Publishers != 1 || st.Viewers != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("a valid trickle PATCH is accepted", func(t *testing.T) {
		a := do(t, client, call{"PATCH", sub.Location, frag, "", sub.ETag, "a=mid:0\r\na=end-of-candidates\r\n"})
		if a.status != 204 {
			t.Fatalf("got %d %s", a.status, a.body)
		}
	})
	t.Run("CORS preflight lists the methods", func(t *testing.T) {
		req, _ := http.NewRequest("OPTIONS", n.whip(1), nil)
		req.Header.Set("Origin", "https://studio.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != 204 || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
			h.Get("Access-Control-Allow-Origin") == "" || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Fatalf("preflight: %d %v", resp.StatusCode, h)
		}
	})

	t.Run("everything is released once the sessions end", func(t *testing.T) {
		_ = sub.Close()
		stopPub()
		eventually(t, "sessions gone", 15*time.Second, func() bool {
			st := n.sfu.Stats()
			return st.Publishers == 0 && st.Viewers == 0 && st.Streams == 0
		})
	})
	goroutinesSettle(t, base)
}

// withFingerprint replaces every a=fingerprint line of sdp with value, or
// removes them when value is empty.
func withFingerprint(sdp, value string) string {
	var out []string
	for _, line := range strings.SplitAfter(sdp, "\n") {
		if strings.HasPrefix(line, "a=fingerprint:") {
			if value == "" {
				continue
			}
			line = "a=fingerprint:" + value + "\r\n"
		}
		out = append(out, line)
	}
	return strings.Join(out, "")
}

// TestOffersWithoutAValidDTLSFingerprintAreRefused: the fingerprint is what
// binds the DTLS handshake to the offer; one with an unknown or broken hash
// function, a value of the wrong length or with bad hex, or none at all,
// is refused with 400 before any session exists, by WHIP and WHEP alike.
func TestOffersWithoutAValidDTLSFingerprintAreRefused(t *testing.T) {
	n := startNode(t, nodeOptions{})
	publish(t, n, 1, "key-1", liveclient.PublishOptions{})
	send := offerWith(t, webrtc.RTPTransceiverDirectionSendonly, map[webrtc.RTPCodecType][]webrtc.RTPCodecCapability{
		webrtc.RTPCodecTypeVideo: {vp8}, webrtc.RTPCodecTypeAudio: {opus}})
	recv := offerWith(t, webrtc.RTPTransceiverDirectionRecvonly, map[webrtc.RTPCodecType][]webrtc.RTPCodecCapability{
		webrtc.RTPCodecTypeVideo: {vp8}, webrtc.RTPCodecTypeAudio: {opus}})
	if !strings.Contains(send, "a=fingerprint:sha-256 ") {
		t.Fatalf("pion's offer has no sha-256 fingerprint:\n%s", send)
	}
	sha256 := strings.TrimSuffix(strings.Repeat("AB:", 32), ":")
	for _, tc := range []struct{ name, fingerprint string }{
		{"no fingerprint", ""},
		{"an MD5 fingerprint", "md5 " + strings.TrimSuffix(strings.Repeat("AB:", 16), ":")},
		{"an unknown hash function", "sha-999 " + sha256},
		{"no value", "sha-256"},
		{"a value too short", "sha-256 " + sha256[3:]},
		{"a value too long", "sha-256 " + sha256 + ":CD"},
		{"a value that is not hex", "sha-256 " + strings.Replace(sha256, "AB", "XY", 1)},
		{"a value without colons", "sha-256 " + strings.ReplaceAll(sha256, ":", "")},
		{"a value with other separators", "sha-256 " + strings.ReplaceAll(sha256, ":", "-")},
	} {
		t.Run("WHIP refuses "+tc.name, func(t *testing.T) {
			a := do(t, testClient, call{"POST", n.whip(2), live.MIMESDP, "key-2", "", withFingerprint(send, tc.fingerprint)})
			if a.status != 400 || a.code != "bad_request" || !strings.Contains(a.body, "fingerprint") {
				t.Fatalf("got %d %q %s, want 400 bad_request about the fingerprint", a.status, a.code, a.body)
			}
		})
		t.Run("WHEP refuses "+tc.name, func(t *testing.T) {
			a := do(t, testClient, call{"POST", n.whep(1), live.MIMESDP, "", "", withFingerprint(recv, tc.fingerprint)})
			if a.status != 400 || a.code != "bad_request" || !strings.Contains(a.body, "fingerprint") {
				t.Fatalf("got %d %q %s, want 400 bad_request about the fingerprint", a.status, a.code, a.body)
			}
		})
	}
	t.Run("lower-case hex and SHA-512 are fine", func(t *testing.T) {
		sha512 := strings.TrimSuffix(strings.Repeat("ab:", 64), ":")
		a := do(t, testClient, call{"POST", n.whep(1), live.MIMESDP, "", "", withFingerprint(recv, "sha-512 "+sha512)})
		if a.status != 201 {
			t.Fatalf("got %d %s, want 201", a.status, a.body)
		}
	})
	if st := n.sfu.Stats(); st.Publishers != 1 {
		t.Fatalf("stats %+v: a refused offer left a publisher behind", st)
	}
}

// countingCatalog counts the catalog's look-ups.
type countingCatalog struct {
	keys
	lookups atomic.Int64
}

func (c *countingCatalog) StreamExists(ctx context.Context, id int64) (bool, error) {
	c.lookups.Add(1)
	return c.keys.StreamExists(ctx, id)
}

// TestWaitingPlayersCostOneLookUp: players retrying a stream that has not
// started ask the catalog once between them; a stream that does not exist
// is asked about each time (it may be created meanwhile).
func TestWaitingPlayersCostOneLookUp(t *testing.T) {
	catalog := &countingCatalog{keys: keys{1: "key-1"}}
	n := startNode(t, nodeOptions{auth: catalog})
	offer := viewOffer(t)
	for range 3 {
		if a := do(t, testClient, call{"POST", n.whep(1), live.MIMESDP, "", "", offer}); a.status != 409 {
			t.Fatalf("got %d %s, want 409", a.status, a.body)
		}
	}
	for range 2 {
		if a := do(t, testClient, call{"POST", n.whep(2), live.MIMESDP, "", "", offer}); a.status != 404 {
			t.Fatalf("got %d %s, want 404", a.status, a.body)
		}
	}
	if got := catalog.lookups.Load(); got != 3 {
		t.Fatalf("%d look-ups, want 1 for the known stream and 2 for the unknown one", got)
	}
}
