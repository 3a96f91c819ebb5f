package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

// logBuffer collects a server's log output; the server writes from many
// goroutines while the test reads.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runLogged runs the server like startServer, logging at debug level into
// the returned buffer; stop shuts it down (it is also called at cleanup).
func runLogged(t *testing.T, cfg Config) (srv *testServer, logs *logBuffer, stop func()) {
	t.Helper()
	cfg.LogLevel, cfg.LogFormat = "debug", "json"
	logs = &logBuffer{}
	srv = runServer(t, cfg, serverOptions{stdout: logs})
	return srv, logs, srv.stop
}

func TestPanickingHandler(t *testing.T) {
	cfg := testConfig(t)
	logs := &logBuffer{}
	log, err := newLogger(cfg, logs)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(t.Context(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	const secret = "panic text with internal detail 0x5eC12e7"
	a.echo.GET("/api/test/panic", func(echo.Context) error { panic(secret) })
	a.echo.GET("/api/test/panic-error", func(echo.Context) error { panic(fmt.Errorf("wrapped: %s", secret)) })
	ts := httptest.NewServer(a.echo)
	defer ts.Close()
	srv := &testServer{URL: ts.URL, cfg: cfg}

	for _, path := range []string{"/api/test/panic", "/api/test/panic-error", "/api/test/panic"} {
		r := srv.client(t).do("GET", path, nil)
		var body struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatalf("%s: body %q is not JSON: %v", path, r.body, err)
		}
		if r.status != http.StatusInternalServerError || body.Error.Code != "internal" || body.Error.Message == "" {
			t.Fatalf("%s: %d %s, want 500 in the error shape", path, r.status, r.body)
		}
		if strings.Contains(string(r.body), "0x5eC12e7") || strings.Contains(string(r.body), "goroutine") {
			t.Fatalf("%s: the panic leaked to the client: %s", path, r.body)
		}
		if rid := r.header.Get(echo.HeaderXRequestID); rid == "" || !strings.Contains(logs.String(), rid) {
			t.Fatalf("%s: request ID %q is not in the log, so the panic cannot be traced", path, rid)
		}
		// The server keeps serving.
		if r := srv.client(t).do("GET", "/healthz", nil); r.status != http.StatusOK {
			t.Fatalf("after a panic: healthz %d %s", r.status, r.body)
		}
	}
	if !strings.Contains(logs.String(), "panic in handler") || !strings.Contains(logs.String(), secret) {
		t.Fatalf("the panic was not logged for the operator: %s", logs.String())
	}
}

func TestPasswordsNeverLogged(t *testing.T) {
	const password = "Zq7Secret9PassWordXy"
	const wrong = "Wr0ngGuess7PassWordQ"
	const admin = "Adm1nBootstrap8Secret"
	cfg := testConfig(t)
	cfg.AdminEmail, cfg.AdminPassword = "root@example.com", admin
	cfg.Commerce.AdminEmails = []string{"root@example.com"}
	srv, logs, _ := runLogged(t, cfg)

	c := srv.client(t)
	var tokens []string
	steps := []struct {
		path   string
		body   any
		status int
	}{
		{"/api/auth/signup", map[string]string{"email": "pat@example.com", "password": password, "name": "Pat"}, 201},
		{"/api/auth/signup", map[string]string{"email": "pat@example.com", "password": password, "name": "Pat"}, 409},
		{"/api/auth/signup", map[string]string{"email": "not an email", "password": password, "name": "Pat"}, 422},
		{"/api/auth/login", map[string]string{"email": "pat@example.com", "password": wrong}, 401},
		{"/api/auth/login", map[string]string{"email": "nobody@example.com", "password": wrong}, 401},
		{"/api/auth/login", `{"email": "pat@example.com", "password": "` + wrong + `"`, 400},
		{"/api/auth/login", `{"email": "pat@example.com", "password": ["` + wrong + `"]}`, 400},
		{"/api/auth/login", map[string]string{"email": "pat@example.com", "password": password}, 200},
		{"/api/auth/login", map[string]string{"email": "root@example.com", "password": admin}, 200},
	}
	for _, s := range steps {
		r := c.do("POST", s.path, s.body)
		if r.status != s.status {
			t.Fatalf("POST %s %v: %d %s, want %d", s.path, s.body, r.status, r.body, s.status)
		}
		var out struct {
			Token string `json:"token"`
		}
		if json.Unmarshal(r.body, &out) == nil && out.Token != "" {
			tokens = append(tokens, out.Token)
		}
	}
	if len(tokens) != 3 {
		t.Fatalf("%d session tokens, want 3", len(tokens))
	}
	out := logs.String()
	if !strings.Contains(out, "/api/auth/login") || !strings.Contains(out, "liveshop ready") {
		t.Fatalf("the log did not capture the requests: %s", out)
	}
	for _, secret := range append([]string{password, wrong, admin}, tokens...) {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains the secret %q:\n%s", secret, out)
		}
	}
}

func TestExpiredSessionsAreRefused(t *testing.T) {
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			const ttl = 2 * time.Second
			cfg := testConfig(t)
			cfg.DB = sqltest.URL(t, d)
			cfg.Commerce.SessionTTL = ttl
			srv := startServer(t, cfg)

			r := srv.client(t).do("POST", "/api/auth/signup", map[string]string{"email": "eve@example.com", "password": "correct horse battery", "name": "Eve"})
			signedUp := time.Now()
			if r.status != http.StatusCreated {
				t.Fatalf("sign up: %d %s", r.status, r.body)
			}
			var out struct {
				Token string `json:"token"`
			}
			r.decode(t, &out)
			var cookie string
			for _, c := range r.header.Values("Set-Cookie") {
				if v, ok := strings.CutPrefix(c, "liveshop_session="); ok {
					cookie, _, _ = strings.Cut(v, ";")
				}
			}
			if cookie == "" || out.Token == "" {
				t.Fatalf("no session cookie or token: %v %s", r.header, r.body)
			}
			// Each credential is sent by hand: a cookie jar would drop the
			// expired cookie itself and prove nothing about the server.
			me := func(header ...string) int {
				c := srv.client(t)
				c.http.Jar = nil
				return c.do("GET", "/api/me", nil, header...).status
			}
			credentials := [][]string{{"Cookie", "liveshop_session=" + cookie}, {"Authorization", "Bearer " + out.Token}}
			for _, h := range credentials {
				if status := me(h...); status != http.StatusOK && time.Since(signedUp) < ttl {
					t.Fatalf("fresh session by %s: %d", h[0], status)
				}
			}
			// The session's expiry is set before the sign-up answer is sent,
			// so it has passed once ttl has elapsed since that answer: the
			// condition to wait for is the clock itself.
			eventually(t, "the session's TTL to pass", ttl+10*time.Second, func() bool {
				return time.Since(signedUp) > ttl+10*time.Millisecond
			})
			for _, h := range credentials {
				if status := me(h...); status != http.StatusUnauthorized {
					t.Errorf("expired session by %s: %d, want 401", h[0], status)
				}
			}
		})
	}
}

func TestBootstrapAdmin(t *testing.T) {
	dataDir := t.TempDir()
	config := func(args ...string) Config {
		cfg, err := parseConfig(append([]string{"--addr", "127.0.0.1:0", "--data-dir", dataDir, "--argon2-memory-kib", "8192",
			"--webrtc-udp-port", "-1", "--webrtc-loopback", "--webrtc-ip-networks", "127.0.0.0/8"}, args...),
			func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	isAdmin := func(srv *testServer, email, password string) bool {
		t.Helper()
		c := srv.client(t)
		if r := c.do("POST", "/api/auth/login", map[string]string{"email": email, "password": password}); r.status != http.StatusOK {
			t.Fatalf("log in %s: %d %s", email, r.status, r.body)
		}
		var me struct {
			Email string `json:"email"`
			Admin bool   `json:"admin"`
		}
		c.do("GET", "/api/me", nil).decode(t, &me)
		if me.Email != email {
			t.Fatalf("/api/me is %q, want %s", me.Email, email)
		}
		return me.Admin
	}

	t.Run("creates the admin account on first start", func(t *testing.T) {
		srv, _, stop := runLogged(t, config("--admin-email", "Root@Example.com", "--admin-password", "stable orchid 41"))
		defer stop()
		if !isAdmin(srv, "root@example.com", "stable orchid 41") {
			t.Fatal("the bootstrap account is not an admin")
		}
		c := srv.client(t)
		c.signUp("bo@example.com", "Bo")
		if isAdmin(srv, "bo@example.com", "correct horse battery") {
			t.Fatal("an ordinary sign-up is an admin")
		}
	})

	t.Run("promotes an existing account, keeping its password", func(t *testing.T) {
		srv, _, stop := runLogged(t, config("--admin-email", "bo@example.com"))
		defer stop()
		if !isAdmin(srv, "bo@example.com", "correct horse battery") {
			t.Fatal("the existing account was not promoted")
		}
		if !isAdmin(srv, "root@example.com", "stable orchid 41") {
			t.Fatal("the earlier admin lost the role")
		}
	})

	for _, weak := range []string{"short", "password123", "admin@new"} {
		t.Run("refuses to create an admin with the weak password "+weak, func(t *testing.T) {
			err := run(t.Context(), config("--admin-email", "new@example.com", "--admin-password", weak), io.Discard, nil)
			if err == nil || !strings.Contains(err.Error(), "bootstrap admin") || !strings.Contains(err.Error(), "password") {
				t.Fatalf("got %v, want a bootstrap admin password error", err)
			}
		})
	}
}

func TestAccessLogClientIP(t *testing.T) {
	logged := func(t *testing.T, trusted string) string {
		cfg := testConfig(t)
		var err error
		if cfg.TrustedProxies, err = parseCIDRs(trusted); err != nil {
			t.Fatal(err)
		}
		srv, logs, stop := runLogged(t, cfg)
		r := srv.client(t).do("GET", "/api/currencies", nil, "X-Forwarded-For", "198.51.100.7", "X-Real-IP", "198.51.100.8")
		if r.status != http.StatusOK {
			t.Fatalf("currencies: %d %s", r.status, r.body)
		}
		stop()
		for _, line := range strings.Split(logs.String(), "\n") {
			var entry struct {
				Msg string `json:"msg"`
				URI string `json:"uri"`
				IP  string `json:"ip"`
			}
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "request" && entry.URI == "/api/currencies" {
				return entry.IP
			}
		}
		t.Fatalf("no access log line for the request:\n%s", logs.String())
		return ""
	}
	if ip := logged(t, ""); ip != "127.0.0.1" {
		t.Errorf("without trusted proxies the access log shows %q, want the peer 127.0.0.1", ip)
	}
	if ip := logged(t, "127.0.0.1"); ip != "198.51.100.7" {
		t.Errorf("behind a trusted proxy the access log shows %q, want the forwarded 198.51.100.7", ip)
	}
}
