package live_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/liveshop/liveshop/live/liveclient"
)

func loopbackAPI() *webrtc.API {
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		panic(err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
}

func patch(t testing.TB, url, ifMatch, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("PATCH", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/trickle-ice-sdpfrag")
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestTrickleICEAndRestart(t *testing.T) {
	n := startNode(t, nodeOptions{})
	publish(t, n, 1, "key-1", liveclient.PublishOptions{})

	t.Run("a viewer trickles its candidates after the offer", func(t *testing.T) {
		pc, err := loopbackAPI().NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		var mu sync.Mutex
		var cands []string
		gathered := make(chan struct{})
		pc.OnICECandidate(func(c *webrtc.ICECandidate) {
			if c == nil {
				close(gathered)
				return
			}
			mu.Lock()
			cands = append(cands, c.ToJSON().Candidate)
			mu.Unlock()
		})
		got := make(chan struct{}, 1)
		pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			if _, _, err := tr.ReadRTP(); err == nil {
				select {
				case got <- struct{}{}:
				default:
				}
			}
		})
		for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
			if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				t.Fatal(err)
			}
		}
		offer, err := pc.CreateOffer(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := pc.SetLocalDescription(offer); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		ex, err := liveclient.Post(ctx, testClient, n.whep(1), "", offer.SDP, nil) // no candidates yet
		if err != nil {
			t.Fatal(err)
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ex.Answer}); err != nil {
			t.Fatal(err)
		}
		<-gathered
		mu.Lock()
		// Same credentials as the offer: candidates only, not a restart.
		frag := "a=ice-ufrag:" + valueOf(offer.SDP, "a=ice-ufrag:") + "\r\n" +
			"a=ice-pwd:" + valueOf(offer.SDP, "a=ice-pwd:") + "\r\n" +
			"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"
		for _, c := range cands {
			frag += "a=" + c + "\r\n"
		}
		frag += "a=end-of-candidates\r\n"
		mu.Unlock()
		resp, body := patch(t, ex.Location, ex.ETag, frag)
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("trickle PATCH: %d %s", resp.StatusCode, body)
		}
		select {
		case <-got:
		case <-ctx.Done():
			t.Fatal("no media after trickle ICE")
		}
	})

	t.Run("an ICE restart by PATCH keeps media flowing with new credentials", func(t *testing.T) {
		sub := subscribe(t, n.whep(1))
		eventually(t, "first packets", 10*time.Second, func() bool { return sub.VideoPackets.Load() > 5 })
		pc := sub.PeerConnection()
		offer, err := pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
		if err != nil {
			t.Fatal(err)
		}
		gathered := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(offer); err != nil {
			t.Fatal(err)
		}
		<-gathered
		local := pc.LocalDescription().SDP
		var frag strings.Builder
		for _, line := range strings.Split(local, "\r\n") {
			if strings.HasPrefix(line, "a=ice-ufrag:") || strings.HasPrefix(line, "a=ice-pwd:") {
				frag.WriteString(line + "\r\n")
				if strings.HasPrefix(line, "a=ice-pwd:") {
					frag.WriteString("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n")
				}
			}
			if strings.HasPrefix(line, "a=candidate:") {
				frag.WriteString(line + "\r\n")
			}
		}
		body := frag.String()
		// Only the first m-section's credentials and candidates.
		body = firstCreds(body)
		resp, answerFrag := patch(t, sub.Location, "*", body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("restart PATCH: %d %s", resp.StatusCode, answerFrag)
		}
		if e := resp.Header.Get("ETag"); e == "" || e == sub.ETag {
			t.Errorf("ETag after restart = %q, was %q", e, sub.ETag)
		}
		ufrag := valueOf(answerFrag, "a=ice-ufrag:")
		if ufrag == "" || ufrag == valueOf(sub.Answer, "a=ice-ufrag:") {
			t.Fatalf("restart answer has no new ufrag:\n%s", answerFrag)
		}
		// Apply the server's new credentials and candidates to the old answer.
		answer := replaceICE(sub.Answer, ufrag, valueOf(answerFrag, "a=ice-pwd:"), answerFrag)
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
			t.Fatal(err)
		}
		before := sub.VideoPackets.Load()
		eventually(t, "media after the restart", 15*time.Second, func() bool { return sub.VideoPackets.Load() > before+30 })
		if s := pc.ICEConnectionState(); s != webrtc.ICEConnectionStateConnected && s != webrtc.ICEConnectionStateCompleted {
			t.Errorf("ICE state %s", s)
		}
	})
}

func valueOf(sdp, prefix string) string {
	for _, l := range strings.Split(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(l, "\r"), prefix); ok {
			return v
		}
	}
	return ""
}

// firstCreds keeps the first ice-ufrag/ice-pwd pair of a fragment and drops
// later duplicates (pion repeats them per m-section).
func firstCreds(frag string) string {
	var out []string
	seen := map[string]bool{}
	for _, l := range strings.Split(frag, "\r\n") {
		key := l
		if i := strings.Index(l, ":"); i > 0 && strings.HasPrefix(l, "a=ice-") {
			key = l[:i]
		}
		if strings.HasPrefix(l, "m=") || strings.HasPrefix(l, "a=mid:") || strings.HasPrefix(l, "a=ice-") {
			if seen[key] {
				continue
			}
			seen[key] = true
		}
		if seen[l] && strings.HasPrefix(l, "a=candidate:") {
			continue
		}
		seen[l] = true
		out = append(out, l)
	}
	return strings.Join(out, "\r\n")
}

// replaceICE rewrites an answer with new credentials and the candidates of
// a fragment.
func replaceICE(sdp, ufrag, pwd, frag string) string {
	var cands []string
	for _, l := range strings.Split(frag, "\r\n") {
		if strings.HasPrefix(l, "a=candidate:") {
			cands = append(cands, l)
		}
	}
	var out []string
	for _, l := range strings.Split(sdp, "\r\n") {
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:"):
			l = "a=ice-ufrag:" + ufrag
		case strings.HasPrefix(l, "a=ice-pwd:"):
			l = "a=ice-pwd:" + pwd
		case strings.HasPrefix(l, "a=candidate:"), l == "a=end-of-candidates":
			continue
		}
		out = append(out, l)
		if strings.HasPrefix(l, "a=ice-pwd:") {
			out = append(out, cands...)
		}
	}
	return strings.Join(out, "\r\n")
}
