package main

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAccountsAndErrorShapes(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		srv := startServer(t, cfg)
		ann := srv.client(t)
		ann.signUp("ann@example.com", "Ann")

		cases := []struct {
			name   string
			method string
			path   string
			body   any
			header []string
			status int
			code   string
		}{
			{"malformed JSON is a bad request", "POST", "/api/auth/signup", `{"email": "x@example.com",`, nil, 400, "bad_request"},
			{"a field of the wrong type is a bad request", "POST", "/api/auth/signup", `{"email": 42, "password": "long enough", "name": "X"}`, nil, 400, "bad_request"},
			{"two JSON values are a bad request", "POST", "/api/auth/signup", `{} {}`, nil, 400, "bad_request"},
			{"an empty body is a bad request", "POST", "/api/auth/login", ``, nil, 400, "bad_request"},
			{"a missing field is unprocessable", "POST", "/api/auth/signup", map[string]string{"email": "x@example.com", "name": "X"}, nil, 422, "invalid"},
			{"an invalid email is unprocessable", "POST", "/api/auth/signup", map[string]string{"email": "not-an-email", "password": "long enough", "name": "X"}, nil, 422, "invalid"},
			{"a short password is a weak password", "POST", "/api/auth/signup", map[string]string{"email": "y@example.com", "password": "short", "name": "Y"}, nil, 422, "weak_password"},
			{"a duplicate sign-up conflicts", "POST", "/api/auth/signup", map[string]string{"email": "ANN@example.com", "password": "another password", "name": "Ann 2"}, nil, 409, "email_taken"},
			{"a body that is not JSON is refused", "POST", "/api/auth/login", `email=a`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
			{"an oversized body is refused", "POST", "/api/auth/signup", `{"name": "` + strings.Repeat("x", 2<<20) + `"}`, nil, 413, "payload_too_large"},
			{"an unknown route is not found", "GET", "/api/no/such/route", nil, nil, 404, "not_found"},
			{"a wrong password is unauthenticated", "POST", "/api/auth/login", map[string]string{"email": "ann@example.com", "password": "wrong password"}, nil, 401, "bad_credentials"},
			{"an unknown email is unauthenticated", "POST", "/api/auth/login", map[string]string{"email": "nobody@example.com", "password": "whatever it is"}, nil, 401, "bad_credentials"},
			{"a forged token is unauthenticated", "GET", "/api/me", nil, []string{"Authorization", "Bearer ls_forgedforgedforgedforgedforgedforgedforged"}, 401, "unauthenticated"},
			{"a malformed authorization header is unauthenticated", "GET", "/api/me", nil, []string{"Authorization", "Basic YTpi"}, 401, "unauthenticated"},
			{"me without a session is unauthenticated", "GET", "/api/me", nil, nil, 401, "unauthenticated"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := srv.client(t).do(tc.method, tc.path, tc.body, tc.header...)
				if r.status != tc.status {
					t.Fatalf("status %d, want %d (body %s)", r.status, tc.status, r.body)
				}
				if code := r.errorCode(t); code != tc.code {
					t.Fatalf("code %q, want %q", code, tc.code)
				}
			})
		}

		t.Run("nothing was written by the refused sign-ups", func(t *testing.T) {
			for _, email := range []string{"x@example.com", "y@example.com"} {
				r := srv.client(t).do("POST", "/api/auth/login", map[string]string{"email": email, "password": "long enough"})
				if r.status != 401 {
					t.Fatalf("%s: status %d, want 401: the account must not exist", email, r.status)
				}
			}
		})
	})
}

func TestSessions(t *testing.T) {
	srv := startServer(t, testConfig(t))

	t.Run("sign-up sets an HttpOnly SameSite=Lax cookie that authenticates", func(t *testing.T) {
		c := srv.client(t)
		r := c.do("POST", "/api/auth/signup", map[string]string{"email": "bo@example.com", "password": "correct horse battery", "name": "Bo"})
		if r.status != 201 {
			t.Fatalf("sign up: %d %s", r.status, r.body)
		}
		cookie := r.header.Get("Set-Cookie")
		for _, want := range []string{"liveshop_session=ls_", "HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(cookie, want) {
				t.Fatalf("cookie %q lacks %q", cookie, want)
			}
		}
		if r := c.do("GET", "/api/me", nil); r.status != 200 || !strings.Contains(string(r.body), `"bo@example.com"`) {
			t.Fatalf("me by cookie: %d %s", r.status, r.body)
		}
	})

	t.Run("a bearer token authenticates and logging out revokes it", func(t *testing.T) {
		c := srv.client(t)
		c.signUp("cy@example.com", "Cy")
		api := &client{t: t, base: srv.URL, http: &http.Client{}, token: c.token}
		if r := api.do("GET", "/api/me", nil); r.status != 200 {
			t.Fatalf("me by token: %d %s", r.status, r.body)
		}
		if r := api.do("POST", "/api/auth/logout", nil); r.status != 204 {
			t.Fatalf("logout: %d %s", r.status, r.body)
		}
		if r := api.do("GET", "/api/me", nil); r.status != 401 {
			t.Fatalf("me after logout: %d, want 401", r.status)
		}
	})

	t.Run("logging out everywhere revokes every session", func(t *testing.T) {
		first := srv.client(t)
		first.signUp("di@example.com", "Di")
		second := srv.client(t)
		r := second.do("POST", "/api/auth/login", map[string]string{"email": "di@example.com", "password": "correct horse battery"})
		if r.status != 200 {
			t.Fatalf("second login: %d %s", r.status, r.body)
		}
		if r := first.do("POST", "/api/auth/logout-all", nil); r.status != 204 {
			t.Fatalf("logout-all: %d %s", r.status, r.body)
		}
		second.token = ""
		if r := second.do("GET", "/api/me", nil); r.status != 401 {
			t.Fatalf("other session after logout-all: %d, want 401", r.status)
		}
	})

	t.Run("a cookie-authenticated write from another origin is refused", func(t *testing.T) {
		c := srv.client(t)
		c.signUp("ed@example.com", "Ed")
		c.token = "" // rely on the cookie alone, as a browser would
		r := c.do("POST", "/api/auth/logout", nil, "Origin", "https://evil.example")
		if r.status != 403 || r.errorCode(t) != "cross_origin" {
			t.Fatalf("cross-origin logout: %d %s", r.status, r.body)
		}
		if r := c.do("GET", "/api/me", nil); r.status != 200 {
			t.Fatalf("session must survive the refused request: %d", r.status)
		}
		if r := c.do("POST", "/api/auth/logout", nil, "Origin", srv.URL); r.status != 204 {
			t.Fatalf("same-origin logout: %d %s", r.status, r.body)
		}
	})
}

func TestOperationsEndpoints(t *testing.T) {
	srv := startServer(t, withMetrics(testConfig(t)))
	c := srv.client(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := c.do("GET", path, nil); r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
	}
	c.do("GET", "/api/me", nil)
	r := c.metrics()
	if r.status != 200 || !strings.Contains(string(r.body), `liveshop_http_request_duration_seconds_count{method="GET",route="/api/me",status="401"}`) {
		t.Fatalf("metrics lack the request histogram: %d\n%.2000s", r.status, r.body)
	}
	if got := c.do("GET", "/healthz", nil).header.Get("X-Request-Id"); got == "" {
		t.Fatal("responses carry no X-Request-Id")
	}
}

// TestOpenAPIDescribesEveryRoute keeps /api/openapi.json true: every
// registered route is documented with its method, and every documented
// operation is served.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	cfg := testConfig(t)
	a, err := newApp(t.Context(), cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()

	doc, err := mergeOpenAPI(a.openapi)
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(doc, &spec); err != nil || !strings.HasPrefix(spec.OpenAPI, "3.") {
		t.Fatalf("not an OpenAPI 3 document: %v", err)
	}
	documented := map[string]bool{}
	for path, ops := range spec.Paths {
		for method := range ops {
			if slices.Contains([]string{"get", "post", "put", "patch", "delete", "options", "head"}, method) {
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	served := map[string]bool{}
	for _, r := range a.echo.Routes() {
		if !strings.HasPrefix(r.Path, "/api/") && !slices.Contains([]string{"/healthz", "/readyz", "/metrics"}, r.Path) {
			continue // pages and assets
		}
		if r.Method == "echo_route_any" || strings.HasSuffix(r.Path, "/*") {
			continue
		}
		served[r.Method+" "+openAPIPath(r.Path)] = true
	}
	for route := range served {
		if !documented[route] {
			t.Errorf("route %s is served but not in /api/openapi.json", route)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("%s is documented but not served", op)
		}
	}
}

// openAPIPath turns Echo's /a/:id into OpenAPI's /a/{id}.
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.HasPrefix(part, ":") {
			parts[i] = "{" + part[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func TestConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	t.Run("defaults to the embedded setup on 127.0.0.1:8080", func(t *testing.T) {
		cfg, err := parseConfig(nil, env(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Addr != "127.0.0.1:8080" || cfg.Redis != "" || cfg.DBURL() != filepath.Join("data", "liveshop.db") {
			t.Fatalf("defaults: %+v", cfg)
		}
	})

	t.Run("flags win over the environment, which wins over defaults", func(t *testing.T) {
		cfg, err := parseConfig([]string{"--addr", "127.0.0.1:9000"},
			env(map[string]string{"LIVESHOP_ADDR": "127.0.0.1:7000", "LIVESHOP_REDIS": "redis://127.0.0.1:6379/0", "LIVESHOP_SESSION_TTL": "2h"}), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Addr != "127.0.0.1:9000" || cfg.Redis != "redis://127.0.0.1:6379/0" || cfg.Commerce.SessionTTL != 2*time.Hour {
			t.Fatalf("precedence: %+v", cfg)
		}
	})

	t.Run("reads secrets from _FILE variables", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "db")
		if err := os.WriteFile(path, []byte("postgres://u:secret@127.0.0.1/db\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := parseConfig(nil, env(map[string]string{"LIVESHOP_DB_FILE": path}), io.Discard)
		if err != nil || cfg.DB != "postgres://u:secret@127.0.0.1/db" {
			t.Fatalf("db from file: %q %v", cfg.DB, err)
		}
	})

	t.Run("rejects malformed values with the variable's name", func(t *testing.T) {
		_, err := parseConfig(nil, env(map[string]string{"LIVESHOP_SESSION_TTL": "forever"}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "LIVESHOP_SESSION_TTL") {
			t.Fatalf("got %v", err)
		}
		if _, err := parseConfig([]string{"--no-such-flag"}, env(nil), io.Discard); err == nil {
			t.Fatal("unknown flag accepted")
		}
	})

	t.Run("keeps finished idempotency keys 72h by default, and at least an hour", func(t *testing.T) {
		cfg, err := parseConfig(nil, env(nil), io.Discard)
		if err != nil || cfg.Commerce.IdempotencyRetention != 72*time.Hour {
			t.Fatalf("default retention %v (%v)", cfg.Commerce.IdempotencyRetention, err)
		}
		cfg, err = parseConfig(nil, env(map[string]string{"LIVESHOP_IDEMPOTENCY_RETENTION": "168h"}), io.Discard)
		if err != nil || cfg.Commerce.IdempotencyRetention != 168*time.Hour {
			t.Fatalf("retention from the environment %v (%v)", cfg.Commerce.IdempotencyRetention, err)
		}
		if _, err := parseConfig([]string{"--idempotency-retention", "30m"}, env(nil), io.Discard); err == nil {
			t.Fatal("a retention shorter than an hour was accepted")
		}
	})

	t.Run("video viewer caps and WHEP limits are on by default; 0 lifts each, a negative value is refused", func(t *testing.T) {
		cfg, err := parseConfig(nil, env(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		lc := cfg.Live
		if lc.MaxViewers != 2000 || lc.MaxViewersPerStream != 1000 || lc.MaxViewersPerIP != 20 ||
			lc.WHEPRate != 30 || lc.WHEPRateWindow != time.Minute || lc.ConnectTimeout != 10*time.Second {
			t.Fatalf("defaults %+v", lc)
		}
		cfg, err = parseConfig([]string{"--live-max-viewers", "0", "--live-max-viewers-per-stream", "0",
			"--live-max-viewers-per-ip", "0", "--live-whep-rate", "0"}, env(map[string]string{"LIVESHOP_LIVE_CONNECT_TIMEOUT": "15s"}), io.Discard)
		lc = cfg.Live
		if err != nil || lc.MaxViewers != 0 || lc.MaxViewersPerStream != 0 || lc.MaxViewersPerIP != 0 || lc.WHEPRate != 0 ||
			lc.ConnectTimeout != 15*time.Second {
			t.Fatalf("limits lifted: %+v (%v)", lc, err)
		}
		if _, err := parseConfig([]string{"--live-max-viewers-per-ip", "-1"}, env(nil), io.Discard); err == nil ||
			!strings.Contains(err.Error(), "--live-max-viewers-per-ip") {
			t.Fatalf("a negative cap: %v", err)
		}
	})

	t.Run("reads trusted proxy networks and names a malformed one", func(t *testing.T) {
		cfg, err := parseConfig(nil, env(map[string]string{"LIVESHOP_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7,::1"}), io.Discard)
		if err != nil || len(cfg.TrustedProxies) != 3 || cfg.TrustedProxies[0].String() != "10.0.0.0/8" ||
			cfg.TrustedProxies[1].String() != "192.0.2.7/32" || cfg.TrustedProxies[2].String() != "::1/128" {
			t.Fatalf("trusted proxies %v (%v)", cfg.TrustedProxies, err)
		}
		_, err = parseConfig([]string{"--trusted-proxies", "10.0.0.0/8,proxy.local"}, env(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--trusted-proxies") || !strings.Contains(err.Error(), "proxy.local") {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("documents every setting in --help", func(t *testing.T) {
		var out strings.Builder
		_, err := parseConfig([]string{"--help"}, env(nil), &out)
		if !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("got %v, want flag.ErrHelp", err)
		}
		for _, want := range []string{"LIVESHOP_ADDR", "LIVESHOP_DB", "LIVESHOP_REDIS", "LIVESHOP_DATA_DIR", "-demo", "LIVESHOP_TRUSTED_PROXIES"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("--help does not mention %s", want)
			}
		}
	})
}

func TestStartFailsClearlyOnABadDatabase(t *testing.T) {
	cfg := testConfig(t)
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.DB = filepath.Join(blocker, "liveshop.db") // a path under a regular file
	err := run(t.Context(), cfg, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "database") {
		t.Fatalf("got %v, want a database error", err)
	}
}

func TestRenameAccount(t *testing.T) {
	srv := startServer(t, testConfig(t))
	c := srv.client(t)
	c.signUp("ivy@example.com", "Ivy")

	if r := c.do("PATCH", "/api/me", map[string]string{"name": "  Ivy <b>Rose</b>  "}); r.status != 200 || !strings.Contains(string(r.body), `"name":"Ivy \u003cb\u003eRose\u003c/b\u003e"`) {
		t.Fatalf("rename: %d %s", r.status, r.body)
	}
	if r := c.do("GET", "/api/me", nil); !strings.Contains(string(r.body), `"name":"Ivy \u003cb\u003eRose\u003c/b\u003e"`) {
		t.Fatalf("me after rename: %s", r.body)
	}
	for _, bad := range []string{"", "   ", strings.Repeat("x", 51), "tab\there"} {
		if r := c.do("PATCH", "/api/me", map[string]string{"name": bad}); r.status != 422 || r.errorCode(t) != "invalid" {
			t.Fatalf("name %q: %d %s", bad, r.status, r.body)
		}
	}
	if r := srv.client(t).do("PATCH", "/api/me", map[string]string{"name": "Nobody"}); r.status != 401 {
		t.Fatalf("anonymous rename: %d", r.status)
	}
}
