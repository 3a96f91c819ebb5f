package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// scraped reports whether r is a Prometheus scrape of a Liveshop server.
func scraped(r response) bool {
	return r.status == http.StatusOK && strings.Contains(string(r.body), "liveshop_http_requests_in_flight")
}

func TestMetricsExposure(t *testing.T) {
	t.Run("the main listener answers 404 by default", func(t *testing.T) {
		c := startServer(t, testConfig(t)).client(t)
		if r := c.do("GET", "/metrics", nil); r.status != http.StatusNotFound || scraped(r) {
			t.Fatalf("GET /metrics: %d %.200s, want 404", r.status, r.body)
		}
		if r := c.do("GET", "/metrics", nil, "Authorization", "Bearer anything"); r.status != http.StatusNotFound {
			t.Fatalf("GET /metrics with a token nobody configured: %d, want 404", r.status)
		}
	})

	t.Run("a token opens the main listener's metrics to whoever sends it", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.MetricsToken = "s3cret-scrape-token"
		c := startServer(t, cfg).client(t)
		for _, auth := range []string{"", "Bearer wrong", "Basic czNjcmV0LXNjcmFwZS10b2tlbg==", "Bearer s3cret-scrape-token-and-more"} {
			r := c.do("GET", "/metrics", nil, "Authorization", auth)
			if r.status != http.StatusUnauthorized || scraped(r) || r.header.Get("WWW-Authenticate") == "" {
				t.Fatalf("Authorization %q: %d %v %.200s, want 401 with WWW-Authenticate", auth, r.status, r.header, r.body)
			}
			if code := r.errorCode(t); code != "unauthenticated" {
				t.Fatalf("Authorization %q: error code %q", auth, code)
			}
		}
		if r := c.do("GET", "/metrics", nil, "Authorization", "Bearer s3cret-scrape-token"); !scraped(r) {
			t.Fatalf("with the token: %d %.200s", r.status, r.body)
		}
	})

	t.Run("the token can come from a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(file, []byte("from-a-file\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := parseConfig(nil, func(k string) string {
			return map[string]string{"LIVESHOP_METRICS_TOKEN_FILE": file}[k]
		}, os.Stderr)
		if err != nil || cfg.MetricsToken != "from-a-file" {
			t.Fatalf("LIVESHOP_METRICS_TOKEN_FILE: token %q, error %v", cfg.MetricsToken, err)
		}
	})

	t.Run("--metrics-public serves them to anyone, as before", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.MetricsPublic = true
		if r := startServer(t, cfg).client(t).do("GET", "/metrics", nil); !scraped(r) {
			t.Fatalf("GET /metrics: %d %.200s", r.status, r.body)
		}
	})

	t.Run("a metrics address serves them there only", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.MetricsAddr = freeAddr(t)
		cfg.MetricsToken = "tok"
		srv := runServer(t, cfg, serverOptions{}) // run serves the metrics listener
		main := srv.client(t)
		if r := main.do("GET", "/metrics", nil, "Authorization", "Bearer tok"); r.status != http.StatusNotFound {
			t.Fatalf("main listener with a metrics address: %d, want 404", r.status)
		}
		metrics := &client{t: t, base: "http://" + cfg.MetricsAddr, http: &http.Client{Timeout: 10 * time.Second}}
		if r := metrics.do("GET", "/metrics", nil); r.status != http.StatusUnauthorized {
			t.Fatalf("metrics listener without the token: %d", r.status)
		}
		main.do("GET", "/api/me", nil)
		r := metrics.do("GET", "/metrics", nil, "Authorization", "Bearer tok")
		if !scraped(r) || !strings.Contains(string(r.body), `route="/api/me"`) {
			t.Fatalf("metrics listener: %d %.300s", r.status, r.body)
		}
		for _, path := range []string{"/", "/api/me", "/healthz"} {
			if r := metrics.do("GET", path, nil); r.status != http.StatusNotFound {
				t.Fatalf("metrics listener serves %s: %d", path, r.status)
			}
		}
		// It closes with the server.
		srv.stop()
		if c, err := net.Dial("tcp", cfg.MetricsAddr); err == nil {
			c.Close()
			t.Fatal("the metrics listener is still open after shutdown")
		}
	})

	t.Run("a metrics address and --metrics-public are one too many", func(t *testing.T) {
		_, err := parseConfig([]string{"--metrics-addr", "127.0.0.1:9090", "--metrics-public"}, func(string) string { return "" }, os.Stderr)
		if err == nil || !strings.Contains(err.Error(), "--metrics-public") {
			t.Fatalf("error %v", err)
		}
	})
}

// testMetricsToken is the --metrics-token of tests that read the metrics.
const testMetricsToken = "test-metrics-token"

// withMetrics is cfg with /metrics open to testMetricsToken.
func withMetrics(cfg Config) Config {
	cfg.MetricsToken = testMetricsToken
	return cfg
}

// metrics scrapes the server's /metrics with testMetricsToken.
func (c *client) metrics() response {
	c.t.Helper()
	return c.do("GET", "/metrics", nil, "Authorization", "Bearer "+testMetricsToken)
}

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
