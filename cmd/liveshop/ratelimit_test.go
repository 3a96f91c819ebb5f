package main

import (
	"fmt"
	"testing"
)

func TestLoginRateLimits(t *testing.T) {
	cfg := testConfig(t)
	cfg.Commerce.LoginLimitPerAccount = 3
	cfg.Commerce.LoginLimitPerIP = 6
	srv := startServer(t, cfg)
	srv.client(t).signUp("gil@example.com", "Gil")
	srv.client(t).signUp("hal@example.com", "Hal")

	login := func(email, password string) response {
		return srv.client(t).do("POST", "/api/auth/login", map[string]string{"email": email, "password": password})
	}

	t.Run("refuses an account after too many attempts, even with the right password", func(t *testing.T) {
		for i := range 3 {
			if r := login("gil@example.com", "wrong password"); r.status != 401 {
				t.Fatalf("attempt %d: %d %s", i+1, r.status, r.body)
			}
		}
		r := login("gil@example.com", "correct horse battery")
		if r.status != 429 || r.errorCode(t) != "rate_limited" || r.header.Get("Retry-After") == "" {
			t.Fatalf("fourth attempt: %d %s %v", r.status, r.body, r.header)
		}
	})

	t.Run("refuses an IP address after too many attempts across accounts", func(t *testing.T) {
		// Four attempts from this IP so far; two more are allowed.
		for i := range 2 {
			if r := login("hal@example.com", "correct horse battery"); r.status != 200 {
				t.Fatalf("attempt %d: %d %s", i+1, r.status, r.body)
			}
		}
		if r := login("hal@example.com", "correct horse battery"); r.status != 429 {
			t.Fatalf("attempt over the IP limit: %d %s", r.status, r.body)
		}
	})
}

func TestClientIPForRateLimits(t *testing.T) {
	limited := func(t *testing.T, trusted string) *testServer {
		cfg := testConfig(t)
		cfg.Commerce.LoginLimitPerAccount = -1
		cfg.Commerce.LoginLimitPerIP = 3
		cfg.Commerce.SignupLimitPerIP = 2
		if trusted != "" {
			var err error
			if cfg.TrustedProxies, err = parseCIDRs(trusted); err != nil {
				t.Fatal(err)
			}
		}
		return startServer(t, cfg)
	}
	login := func(srv *testServer, header ...string) response {
		return srv.client(t).do("POST", "/api/auth/login",
			map[string]string{"email": "nobody@example.com", "password": "wrong password"}, header...)
	}
	refused := func(t *testing.T, r response) {
		t.Helper()
		if r.status != 429 || r.errorCode(t) != "rate_limited" || r.header.Get("Retry-After") == "" {
			t.Fatalf("got %d %s %v, want 429 rate_limited with Retry-After", r.status, r.body, r.header)
		}
	}

	t.Run("forwarding headers from a client are ignored", func(t *testing.T) {
		srv := limited(t, "")
		for i := range 3 {
			ip := fmt.Sprintf("198.51.100.%d", i+1)
			if r := login(srv, "X-Forwarded-For", ip, "X-Real-IP", ip); r.status != 401 {
				t.Fatalf("attempt %d: %d %s", i+1, r.status, r.body)
			}
		}
		refused(t, login(srv, "X-Forwarded-For", "198.51.100.77", "X-Real-IP", "198.51.100.78"))
		refused(t, login(srv))

		for i := range 2 {
			srv.client(t).do("POST", "/api/auth/signup", map[string]string{
				"email": fmt.Sprintf("s%d@example.com", i), "password": "correct horse battery", "name": "S"},
				"X-Forwarded-For", fmt.Sprintf("198.51.100.%d", 10+i))
		}
		refused(t, srv.client(t).do("POST", "/api/auth/signup", map[string]string{
			"email": "s9@example.com", "password": "correct horse battery", "name": "S"},
			"X-Forwarded-For", "198.51.100.99"))
	})

	t.Run("behind a trusted proxy the limit follows the forwarded address", func(t *testing.T) {
		srv := limited(t, "127.0.0.0/8")
		for i := range 3 {
			if r := login(srv, "X-Forwarded-For", "203.0.113.1"); r.status != 401 {
				t.Fatalf("attempt %d: %d %s", i+1, r.status, r.body)
			}
		}
		refused(t, login(srv, "X-Forwarded-For", "203.0.113.1"))
		// A client prepending its own hop is still known by the address the
		// proxy saw; loopback is trusted only because it is listed, private
		// networks are not.
		refused(t, login(srv, "X-Forwarded-For", "203.0.113.50, 203.0.113.1"))
		if r := login(srv, "X-Forwarded-For", "203.0.113.2"); r.status != 401 {
			t.Fatalf("another forwarded client: %d %s", r.status, r.body)
		}
		for i := range 3 {
			if r := login(srv, "X-Forwarded-For", "10.1.2.3"); r.status != 401 {
				t.Fatalf("private client attempt %d: %d %s", i+1, r.status, r.body)
			}
		}
		refused(t, login(srv, "X-Forwarded-For", "10.1.2.3"))
		refused(t, login(srv, "X-Forwarded-For", "203.0.113.60, 10.1.2.3"))
	})
}
