package main

import (
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/liveshop/liveshop/live"
)

// TestDockerfileMatchesConfig reads the image's ENV through parseConfig and
// checks that it listens on every interface, on ports the image EXPOSEs,
// and that the WebRTC port is the server's own default.
func TestDockerfileMatchesConfig(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	var exposed []string
	// Continuation lines join their instruction; comments stand alone.
	var lines []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if n := len(lines); n > 0 && strings.HasSuffix(lines[n-1], "\\") {
			lines[n-1] = strings.TrimSuffix(lines[n-1], "\\") + " " + line
		} else {
			lines = append(lines, line)
		}
	}
	for _, line := range lines {
		fields := strings.Fields(line)
		switch fields[0] {
		case "ENV":
			for _, f := range fields[1:] {
				k, v, ok := strings.Cut(f, "=")
				if !ok {
					t.Fatalf("ENV %q: use KEY=value", f)
				}
				env[k] = v
			}
		case "EXPOSE":
			exposed = append(exposed, fields[1:]...)
		}
	}

	cfg, err := parseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatalf("the image's environment is not a valid configuration: %v", err)
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil || (host != "0.0.0.0" && host != "" && host != "::") {
		t.Errorf("the image listens on %q; inside a container it must listen on every interface", cfg.Addr)
	}
	if !slices.Contains(exposed, port+"/tcp") {
		t.Errorf("HTTP port %s/tcp is not in EXPOSE %v", port, exposed)
	}
	if udp := strconv.Itoa(cfg.Live.UDPPort) + "/udp"; !slices.Contains(exposed, udp) {
		t.Errorf("WebRTC port %s is not in EXPOSE %v", udp, exposed)
	}
	if cfg.Live.UDPPort != live.DefaultUDPPort {
		t.Errorf("the image's WebRTC port %d differs from the server default %d", cfg.Live.UDPPort, live.DefaultUDPPort)
	}
	if cfg.DataDir != "/data" {
		t.Errorf("data directory %q is not the image's /data volume", cfg.DataDir)
	}
}
