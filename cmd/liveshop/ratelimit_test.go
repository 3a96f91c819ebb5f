package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/liveshop/liveshop/room/redistest"
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

// TestLoginLimitCountsFailuresOnly runs on SQLite and PostgreSQL, each with
// the in-process and the Redis rate limits: the per-account limit counts
// wrong passwords, never successful sign-ins, while the per-IP limit counts
// every attempt.
func TestLoginLimitCountsFailuresOnly(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		for _, limits := range []string{"memory", "redis"} {
			t.Run(limits, func(t *testing.T) {
				cfg := cfg
				cfg.Commerce.LoginLimitPerAccount = 10
				cfg.Commerce.LoginLimitPerIP = 60
				// A window long enough that no attempt comes back during
				// the test, however slow the machine.
				cfg.Commerce.LoginWindow = 24 * time.Hour
				if limits == "redis" {
					cfg.Redis, cfg.RedisPrefix = redistest.URL(t), uniqueName("test:")+":"
				}
				testLoginLimitCountsFailuresOnly(t, startServer(t, cfg))
			})
		}
	})
}

func testLoginLimitCountsFailuresOnly(t *testing.T, srv *testServer) {
	owner, other := uniqueName("owner")+"@example.com", uniqueName("other")+"@example.com"
	srv.client(t).signUp(owner, "Owner")
	srv.client(t).signUp(other, "Other")
	attempts := 0 // from this test's one IP address
	login := func(email, password string) response {
		attempts++
		return srv.client(t).do("POST", "/api/auth/login", map[string]string{"email": email, "password": password})
	}
	expect := func(t *testing.T, what string, r response, status int) {
		t.Helper()
		if r.status != status {
			t.Fatalf("%s: %d %s, want %d", what, r.status, r.body, status)
		}
	}

	t.Run("twenty successful sign-ins in a row all succeed", func(t *testing.T) {
		for i := range 20 {
			expect(t, fmt.Sprintf("sign-in %d", i+1), login(owner, "correct horse battery"), 200)
		}
	})

	t.Run("a successful sign-in clears the failures before it", func(t *testing.T) {
		for round := range 2 {
			for i := range 9 {
				expect(t, fmt.Sprintf("round %d, wrong password %d", round+1, i+1), login(owner, "wrong password"), 401)
			}
			expect(t, fmt.Sprintf("round %d, right password", round+1), login(owner, "correct horse battery"), 200)
		}
	})

	t.Run("ten failures lock the account, even for the right password", func(t *testing.T) {
		for i := range 10 {
			expect(t, fmt.Sprintf("wrong password %d", i+1), login(owner, "wrong password"), 401)
		}
		r := login(owner, "correct horse battery")
		if r.status != 429 || r.errorCode(t) != "rate_limited" || r.header.Get("Retry-After") == "" {
			t.Fatalf("right password after ten failures: %d %s %v, want 429 rate_limited with Retry-After", r.status, r.body, r.header)
		}
		expect(t, "another account", login(other, "correct horse battery"), 200)
	})

	t.Run("the per-IP limit still counts every attempt, successes included", func(t *testing.T) {
		for attempts < 60 {
			expect(t, fmt.Sprintf("attempt %d from the IP", attempts+1), login(other, "correct horse battery"), 200)
		}
		r := login(other, "correct horse battery")
		if r.status != 429 || r.errorCode(t) != "rate_limited" {
			t.Fatalf("attempt %d from the IP: %d %s, want 429 rate_limited", attempts, r.status, r.body)
		}
	})
}
