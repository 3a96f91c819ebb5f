package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"
)

// testServer is a Liveshop server running in-process on a free loopback port.
type testServer struct {
	URL string
	cfg Config
	// stop shuts the server down and checks that run returned cleanly; it
	// also runs when the test ends.
	stop func()
}

// testConfig is the default configuration with a private data directory and
// cheap password hashing, as a test would set it from the command line.
func testConfig(t testing.TB) Config {
	t.Helper()
	cfg, err := parseConfig([]string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--argon2-memory-kib", "8192", "--log-level", "warn",
		// Video on loopback only, a port per connection (the tests' network rule: loopback only, as .ci/test-in-netns runs them).
		"--webrtc-udp-port", "-1", "--webrtc-loopback", "--webrtc-ip-networks", "127.0.0.0/8"},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// testNode is one Liveshop node running in-process on a loopback port, with
// its app at hand so tests can do what the live package would (put a stream
// on air) and seed accounts quickly.
type testNode struct {
	URL  string
	app  *app
	srv  *testServer
	stop func()
	// cut closes the node's HTTP server and its connections at once,
	// without draining requests (nil for nodes a test serves itself).
	cut func()
}

// startNode builds the app for cfg and serves it until the test ends
// or stop is called.
func startNode(t testing.TB, cfg Config) *testNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.PublicURL = cfg.publicURL(ln.Addr().String()) // as run derives it
	a, err := newApp(context.Background(), cfg, discardLogger())
	if err != nil {
		ln.Close()
		t.Fatalf("start node: %v", err)
	}
	a.liveListening(ln.Addr().String()) // as run does: other nodes pull video from here
	srv := &http.Server{Handler: a.echo, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	n := &testNode{URL: "http://" + ln.Addr().String(), app: a}
	n.srv = &testServer{URL: n.URL, cfg: cfg}
	n.cut = func() {
		_ = srv.Close()
		<-served
	}
	n.stop = sync.OnceFunc(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-served
		a.close()
	})
	n.srv.stop = n.stop
	t.Cleanup(n.stop)
	return n
}

// startServer starts a node for cfg and returns its server side, which is
// what most tests talk to.
func startServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	return startNode(t, cfg).srv
}

// serverOptions are how a test runs the server beyond its configuration.
type serverOptions struct {
	// stdout receives what run writes there (the log, the demo banner);
	// nil discards it.
	stdout io.Writer
}

// runServer runs the server as main does (run, with its logging, banner
// and metrics listener), for tests of that path.
func runServer(t testing.TB, cfg Config, opts serverOptions) *testServer {
	t.Helper()
	if opts.stdout == nil {
		opts.stdout = io.Discard
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, opts.stdout, func(a string) { addr <- a }) }()
	select {
	case a := <-addr:
		stop := sync.OnceFunc(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run returned %v after shutdown", err)
			}
		})
		t.Cleanup(stop)
		return &testServer{URL: "http://" + a, cfg: cfg, stop: stop}
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start within 30s")
	}
	return nil
}

// client is an HTTP client with its own cookie jar, like one browser.
type client struct {
	t     testing.TB
	base  string
	http  *http.Client
	token string // sent as a bearer token when set
}

func (s *testServer) client(t testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: s.URL, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorCode returns the code of an error response, failing the test when the
// body is not the one error shape.
func (r response) errorCode(t testing.TB) string {
	t.Helper()
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("status %d body %q is not the error shape", r.status, r.body)
	}
	return e.Error.Code
}

// do sends a request; body may be nil, a string (sent as is) or a value
// (sent as JSON).
func (c *client) do(method, path string, body any, header ...string) response {
	c.t.Helper()
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, contentType = strings.NewReader(b), "application/json"
	case []byte:
		rd, contentType = bytes.NewReader(b), "application/json"
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd, contentType = bytes.NewReader(buf), "application/json"
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
		if header[i] == "Host" {
			req.Host = header[i+1] // net/http sends req.Host, not the header
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// signUp creates an account and keeps its session (cookie and token).
func (c *client) signUp(email, name string) (id int64) {
	c.t.Helper()
	r := c.do("POST", "/api/auth/signup", map[string]string{"email": email, "password": "correct horse battery", "name": name})
	if r.status != http.StatusCreated {
		c.t.Fatalf("sign up %s: %d %s", email, r.status, r.body)
	}
	var out struct {
		Account struct {
			ID int64 `json:"id"`
		} `json:"account"`
		Token string `json:"token"`
	}
	r.decode(c.t, &out)
	c.token = out.Token
	return out.Account.ID
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// eventually polls cond until it holds, failing the test when it has not
// within the given time.
func eventually(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
