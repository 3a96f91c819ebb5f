package main

import (
	"strings"
	"testing"
)

// TestSignUpRefusesWeakPasswords: sign-up answers a weak password with 422
// weak_password and a message that says why, and takes a passphrase it then
// signs in with (the policy's rules: commerce/internal/password).
func TestSignUpRefusesWeakPasswords(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		srv := startServer(t, cfg)
		signUp := func(email, name, password string) response {
			return srv.client(t).do("POST", "/api/auth/signup", map[string]string{"email": email, "password": password, "name": name})
		}
		if r := signUp("al@example.com", "Al", "12345678"); r.status != 422 || r.errorCode(t) != "weak_password" || !strings.Contains(string(r.body), "sequence") {
			t.Fatalf("a run of digits: %d %s, want 422 weak_password saying why", r.status, r.body)
		}
		if r := signUp("pat@example.com", "Pat", "tangerine kayak 42"); r.status != 201 {
			t.Fatalf("sign up: %d %s", r.status, r.body)
		}
		srv.client(t).expect(200, "POST", "/api/auth/login", map[string]string{"email": "pat@example.com", "password": "tangerine kayak 42"})
	})
}
