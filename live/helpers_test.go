package live_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/liveshop/liveshop/live"
	"github.com/liveshop/liveshop/live/liveclient"
)

// keys is a StreamAuthorizer with fixed stream keys; other streams do not
// exist.
type keys map[int64]string

// StreamExists makes keys the catalog too: its streams are the ones that
// exist.
func (k keys) StreamExists(_ context.Context, id int64) (bool, error) {
	_, ok := k[id]
	return ok, nil
}

func (k keys) AuthorizePublish(_ context.Context, id int64, key string) error {
	want, ok := k[id]
	if !ok {
		return fmt.Errorf("stream %d: %w", id, live.ErrNotFound)
	}
	if key != want {
		return live.ErrUnauthorized
	}
	return nil
}

// recorder is an Events that remembers what it heard, as "started 1".
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) StreamStarted(_ context.Context, id int64) { r.add(fmt.Sprintf("started %d", id)) }
func (r *recorder) StreamEnded(_ context.Context, id int64)   { r.add(fmt.Sprintf("ended %d", id)) }

func (r *recorder) add(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// eventually polls cond until it holds, failing the test when it has not
// within d.
func eventually(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type node struct {
	sfu     *live.SFU
	srv     *httptest.Server
	url     string
	metrics *prometheus.Registry
	events  *recorder
}

type nodeOptions struct {
	cfg      live.Config
	registry live.OriginRegistry
	keys     keys
	auth     live.StreamAuthorizer // overrides keys
	// liveStreams, when set, lets the node end streams recorded live
	// that no node carries.
	liveStreams live.LiveStreams
}

// loopback is the network configuration every test uses: loopback
// candidates only, no mDNS, no ICE servers (the tests' network rule: loopback only, as .ci/test-in-netns runs them).
func loopback(cfg live.Config) live.Config {
	cfg.IncludeLoopback = true
	cfg.IPNetworks = []string{"127.0.0.0/8"}
	cfg.MDNS = "disabled"
	if cfg.UDPPort == 0 {
		cfg.UDPPort = -1
	}
	return cfg
}

var testNet = liveclient.Network{LoopbackOnly: true}

// testClient keeps no idle connections, so goroutine counts settle.
var testClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 20 * time.Second}

// startNode runs an SFU behind its own HTTP server on 127.0.0.1, with an
// error handler rendering errors the way cmd/liveshop does.
func startNode(t testing.TB, o nodeOptions) *node {
	t.Helper()
	n := &node{metrics: prometheus.NewRegistry(), events: &recorder{}}
	e := echo.New()
	// Like cmd/liveshop behind a trusted proxy on loopback: X-Forwarded-For
	// names the client, so tests can speak for several addresses.
	e.IPExtractor = echo.ExtractIPFromXFFHeader()
	e.HTTPErrorHandler = renderError
	n.srv = httptest.NewServer(e)
	n.url = n.srv.URL
	cfg := loopback(o.cfg)
	cfg.AdvertiseURL = n.url
	if o.keys == nil {
		o.keys = keys{1: "key-1", 2: "key-2", 3: "key-3"}
	}
	var auth live.StreamAuthorizer = o.keys
	var catalog live.StreamCatalog = o.keys
	if o.auth != nil {
		auth = o.auth
		if c, ok := o.auth.(live.StreamCatalog); ok {
			catalog = c
		}
	}
	var err error
	n.sfu, err = live.New(cfg, live.Deps{
		Auth: auth, Catalog: catalog, Events: n.events, Registry: o.registry, LiveStreams: o.liveStreams, Metrics: n.metrics,
		Logger: testLogger(t),
	})
	if err != nil {
		n.srv.Close()
		t.Fatal(err)
	}
	live.NewHandler(n.sfu).Register(e.Group("/api"))
	t.Cleanup(n.close)
	return n
}

func (n *node) close() {
	_ = n.sfu.Close()
	n.srv.Close()
}

func (n *node) whip(id int64) string { return fmt.Sprintf("%s/api/streams/%d/whip", n.url, id) }
func (n *node) whep(id int64) string { return fmt.Sprintf("%s/api/streams/%d/whep", n.url, id) }

// renderError is the test stand-in for cmd/liveshop's error handler.
func renderError(err error, c echo.Context) {
	var ae interface {
		HTTPStatus() int
		ErrorCode() string
	}
	status, code, msg := http.StatusInternalServerError, "internal", "internal error"
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
		status, code, msg = ae.HTTPStatus(), ae.ErrorCode(), err.Error()
	case errors.As(err, &he):
		status, code, msg = he.Code, "http", fmt.Sprint(he.Message)
	}
	_ = c.JSON(status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// testLogger logs to stderr when LIVE_TEST_LOG is set, and nowhere
// otherwise.
func testLogger(testing.TB) *slog.Logger {
	if os.Getenv("LIVE_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// counter reads a counter or gauge (summing label sets that match labels).
func counter(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !labelsMatch(m, labels) {
				continue
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == k && l.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// publish starts a synthetic publisher on n sending at bitrate until the
// test ends.
func publish(t testing.TB, n *node, id int64, key string, opts liveclient.PublishOptions) (*liveclient.Publisher, context.CancelFunc) {
	t.Helper()
	opts.Network, opts.Key, opts.Client = testNet, key, testClient
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := liveclient.Publish(ctx, n.whip(id), opts)
	if err != nil {
		t.Fatalf("publish stream %d: %v", id, err)
	}
	eventually(t, "stream to be live", 10*time.Second, func() bool { return n.sfu.IsLive(context.Background(), id) })
	sendCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Send(sendCtx, 300_000)
	}()
	stopAll := func() {
		stop()
		<-done
		_ = p.Close()
	}
	t.Cleanup(stopAll)
	return p, stopAll
}

func subscribe(t testing.TB, url string) *liveclient.Subscriber {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := liveclient.Subscribe(ctx, url, liveclient.SubscribeOptions{Network: testNet, Client: testClient})
	if err != nil {
		t.Fatalf("subscribe %s: %v", url, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// goroutinesSettle waits until the goroutine count is back to base.
func goroutinesSettle(t testing.TB, base int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutines: %d now, %d at start; leaked:\n%s", n, base, trimStacks(string(buf)))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func trimStacks(s string) string {
	if len(s) > 20000 {
		return s[:20000] + "\n..."
	}
	return strings.TrimSpace(s)
}
