package main

import (
	"strings"
	"testing"
)

// TestSignUpRefusesWeakPasswords: sign-up refuses common and trivially weak
// passwords with 422 weak_password and a message that says why, and takes
// a passphrase.
func TestSignUpRefusesWeakPasswords(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		srv := startServer(t, cfg)
		signUp := func(email, name, password string) response {
			return srv.client(t).do("POST", "/api/auth/signup", map[string]string{"email": email, "password": password, "name": name})
		}
		for _, tc := range []struct {
			name, email, account, password, why string
		}{
			{"the most common password", "a1@example.com", "Al", "password", "common"},
			{"a common password in capitals, with spaces around it", "a2@example.com", "Al", "  PassWord1 ", "common"},
			{"a common password with a space inside", "a3@example.com", "Al", "pass word1", "common"},
			{"a run of digits", "a4@example.com", "Al", "12345678", "sequence"},
			{"a run of digits going down", "a5@example.com", "Al", "98765432", "sequence"},
			{"a run of letters", "a6@example.com", "Al", "cdefghij", "sequence"},
			{"a row of the keyboard", "a7@example.com", "Al", "zxcvbnm,", "sequence"},
			{"a row of the keyboard backwards", "a8@example.com", "Al", "lkjhgfdsa", "sequence"},
			{"eight spaces", "a9@example.com", "Al", "        ", "spaces"},
			{"tabs and spaces", "a10@example.com", "Al", " \t \t \t \t ", "spaces"},
			{"one character repeated", "a11@example.com", "Al", "zzzzzzzzzz", "repeat"},
			{"a short pattern repeated", "a12@example.com", "Al", "xyzwxyzwxyzw", "pattern"},
			{"short once the spaces around it are trimmed", "a13@example.com", "Al", "   kx7q   ", "at least 8"},
			{"the email's local part", "marguerite@example.com", "Al", "Marguerite", "email"},
			{"the email's local part inside", "marguerite.v@example.com", "Al", "i am Marguerite.V!", "email"},
			{"the whole email", "zo@example.com", "Zo", "zo@example.com", "email"},
			{"the account name inside", "a14@example.com", "Bartholomew", "bartholomew rocks", "name"},
		} {
			t.Run("refuses "+tc.name, func(t *testing.T) {
				r := signUp(tc.email, tc.account, tc.password)
				if r.status != 422 || r.errorCode(t) != "weak_password" {
					t.Fatalf("status %d %s, want 422 weak_password", r.status, r.body)
				}
				if !strings.Contains(string(r.body), tc.why) {
					t.Fatalf("message %s does not say why (%q)", r.body, tc.why)
				}
			})
		}
		t.Run("accepts a passphrase and signs in with it", func(t *testing.T) {
			if r := signUp("pat@example.com", "Pat", "tangerine kayak 42"); r.status != 201 {
				t.Fatalf("sign up: %d %s", r.status, r.body)
			}
			srv.client(t).expect(200, "POST", "/api/auth/login", map[string]string{"email": "pat@example.com", "password": "tangerine kayak 42"})
		})
		t.Run("an empty password is a missing field, a too long one invalid", func(t *testing.T) {
			for _, pw := range []string{"", strings.Repeat("x7", 129)} {
				if r := signUp("q@example.com", "Q", pw); r.status != 422 || r.errorCode(t) != "invalid" {
					t.Fatalf("password of %d bytes: %d %s, want 422 invalid", len(pw), r.status, r.body)
				}
			}
		})
	})
}
