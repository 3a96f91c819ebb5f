package live_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/liveshop/liveshop/live"
	"github.com/liveshop/liveshop/live/liveclient"
)

// freePort finds a port free for both UDP and TCP on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp4", "127.0.0.1:"+strconv.Itoa(port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

func candidatePorts(sdp string) (udp, tcp []string) {
	for _, l := range strings.Split(sdp, "\r\n") {
		if !strings.HasPrefix(l, "a=candidate:") {
			continue
		}
		f := strings.Fields(l)
		if len(f) < 6 {
			continue
		}
		if strings.EqualFold(f[2], "udp") {
			udp = append(udp, f[5])
		} else {
			tcp = append(tcp, f[5])
		}
	}
	return udp, tcp
}

func TestAllMediaSharesOneUDPPort(t *testing.T) {
	port := freePort(t)
	n := startNode(t, nodeOptions{cfg: live.Config{UDPPort: port}})
	pub, _ := publish(t, n, 1, "key-1", liveclient.PublishOptions{})
	subs := []*liveclient.Subscriber{subscribe(t, n.whep(1)), subscribe(t, n.whep(1))}
	for _, ex := range []*liveclient.Exchange{pub.Exchange, subs[0].Exchange, subs[1].Exchange} {
		udp, _ := candidatePorts(ex.Answer)
		if len(udp) == 0 {
			t.Fatalf("answer without UDP candidates:\n%s", ex.Answer)
		}
		for _, p := range udp {
			if p != strconv.Itoa(port) {
				t.Fatalf("candidate on port %s, want every one on %d", p, port)
			}
		}
	}
	for _, s := range subs {
		eventually(t, "media over the shared port", 10*time.Second, func() bool { return s.Keyframes.Load() > 0 && s.VideoPackets.Load() > 10 })
	}
}

func TestViewerOverICETCP(t *testing.T) {
	port := freePort(t)
	n := startNode(t, nodeOptions{cfg: live.Config{ICETCPPort: port}})
	publish(t, n, 1, "key-1", liveclient.PublishOptions{})

	// A viewer that can only use TCP, as behind a UDP-blocking firewall.
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	got := make(chan struct{}, 1)
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			select {
			case got <- struct{}{}:
			default:
			}
		}
	})
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
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
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ex, err := liveclient.Post(ctx, &http.Client{Timeout: 10 * time.Second}, n.whep(1), "", pc.LocalDescription().SDP, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, tcp := candidatePorts(ex.Answer); len(tcp) == 0 || tcp[0] != strconv.Itoa(port) {
		t.Fatalf("answer has TCP candidates %v, want port %d", tcp, port)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ex.Answer}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-ctx.Done():
		t.Fatalf("no media over ICE-TCP (ICE %s)", pc.ICEConnectionState())
	}
}

func TestAnnouncedIPsReplaceLocalAddresses(t *testing.T) {
	// Only the answer is checked: nothing is sent to the announced address.
	n := startNode(t, nodeOptions{cfg: live.Config{AnnouncedIPs: []string{"203.0.113.7"}}})
	a := do(t, testClient, call{"POST", n.whip(1), "application/sdp", "key-1", "", readOffer(t, "browser_whip.sdp")})
	if a.status != 201 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	var addrs []string
	for _, l := range strings.Split(a.body, "\r\n") {
		if f := strings.Fields(l); strings.HasPrefix(l, "a=candidate:") && len(f) > 4 {
			addrs = append(addrs, f[4])
		}
	}
	if len(addrs) == 0 {
		t.Fatal("no candidates")
	}
	for _, ip := range addrs {
		if ip != "203.0.113.7" {
			t.Fatalf("candidate address %s, want only the announced one (%v)", ip, addrs)
		}
	}
}

func TestConfigIsChecked(t *testing.T) {
	for _, cfg := range []live.Config{
		{MDNS: "loud"},
		{AnnouncedIPs: []string{"not-an-ip"}},
		{IPNetworks: []string{"10.0.0.0/99"}},
		{ICEServers: []live.ICEServer{{URLs: []string{"http://example.com"}}}},
		{NACKBuffer: 100},
	} {
		if _, err := live.New(cfg, live.Deps{Auth: keys{}}); err == nil {
			t.Errorf("accepted %+v", cfg)
		}
	}
}

func TestASecondServerCannotShareTheUDPPort(t *testing.T) {
	port := freePort(t)
	startNode(t, nodeOptions{cfg: live.Config{UDPPort: port, UDPSockets: 4}})
	cfg := loopback(live.Config{UDPPort: port, UDPSockets: 4})
	if s, err := live.New(cfg, live.Deps{Auth: keys{}}); err == nil {
		s.Close()
		t.Fatalf("a second SFU bound UDP port %d too (the kernel would split packets between them)", port)
	}
}

// TestFiltersThatMatchNothingStopTheNode: an operator who chose which
// addresses carry media (an interface, IP networks) and named none that
// exists gets an error naming the choice, not a silent fall-back to
// loopback (which only a node with no filters and no network gets).
func TestFiltersThatMatchNothingStopTheNode(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  live.Config
		want string
	}{
		{"an interface that does not exist", live.Config{Interfaces: []string{"no-such-if0"}}, "interfaces no-such-if0"},
		{"IP networks no address is in", live.Config{IPNetworks: []string{"198.51.100.0/24"}}, "IP networks 198.51.100.0/24"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.UDPPort = freePort(t)
			sfu, err := live.New(tc.cfg, live.Deps{Auth: keys{}})
			if err == nil {
				sfu.Close()
				t.Fatal("the node started")
			}
			if !strings.Contains(err.Error(), "no local address passes the filters") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name the filters (%s)", err, tc.want)
			}
		})
	}
}
