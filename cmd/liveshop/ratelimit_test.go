package main

import "testing"

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
