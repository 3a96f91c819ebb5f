package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/liveshop/liveshop/commerce"
)

// TestAnOfflineMachineServesWithVideoOnLoopback: on a machine whose only
// network is loopback (an offline laptop running the demo; here the test
// namespace), the server with the default video settings (one UDP port, no
// interface or IP filters, loopback off) starts and serves the shop, warns
// that video works on this machine only, and an encoder on the machine
// publishes over loopback. Before, it refused to start: "video: live: UDP
// port 8189: no local address passes the interface/IP filters".
func TestAnOfflineMachineServesWithVideoOnLoopback(t *testing.T) {
	requireLoopbackOnly(t)
	cfg, err := parseConfig([]string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--argon2-memory-kib", "8192",
		"--webrtc-udp-port", fmt.Sprint(freeUDPPort(t))}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	srv := runServer(t, cfg, serverOptions{stdout: logs})
	if !strings.Contains(logs.String(), "no network address but loopback, so video works on this machine only") {
		t.Errorf("no warning that video is on loopback only; the log:\n%s", logs)
	}

	seller := srv.shopper(t, "mara@example.test", "Mara")
	shop := seller.openShop("maras", "USD")
	srv.client(t).expect(200, "GET", "/shop/maras", nil)
	var st commerce.StreamWithKey
	seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shop), map[string]string{"title": "Offline show"}).decode(t, &st)
	goLiveWithVideo(t, srv.URL, seller, st)
}

// requireLoopbackOnly runs the test only where loopback is the only
// interface up (inside `unshare -n`, as CI runs every test); under CI=true
// anything else is a broken set-up.
func requireLoopbackOnly(t *testing.T) {
	t.Helper()
	if other := networkNotIsolated(); other != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI runs the tests where loopback is the only interface up (%s)", other)
		}
		t.Skipf("runs only where loopback is the only interface up (%s): unshare -n sh -c 'ip link set lo up && go test ...'", other)
	}
}

// freeUDPPort finds a UDP port free on 127.0.0.1.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
