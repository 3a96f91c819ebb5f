package password

import (
	"errors"
	"strings"
	"testing"

	"github.com/liveshop/liveshop/commerce/internal/api"
)

func TestPasswordHashing(t *testing.T) {
	p := Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1}
	hash, err := Hash("correct horse battery", p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=8192,t=1,p=1$") || strings.Contains(hash, "correct horse") {
		t.Fatalf("hash %q is not a PHC argon2id string", hash)
	}
	again, _ := Hash("correct horse battery", p)
	if again == hash {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}

	for _, tc := range []struct {
		name     string
		password string
		hash     string
		ok       bool
		wantErr  bool
	}{
		{"accepts the right password", "correct horse battery", hash, true, false},
		{"refuses a wrong password", "correct horse battery!", hash, false, false},
		{"verifies a hash made with other parameters", "pw-under-old-params", mustHash(t, "pw-under-old-params", DefaultParams), true, false},
		{"reports a hash of another algorithm", "x", "$2a$10$abcdefghijklmnopqrstuv", false, true},
		{"reports a truncated hash", "x", "$argon2id$v=19$m=8192,t=1,p=1$c2FsdA", false, true},
		{"reports garbage parameters", "x", "$argon2id$v=19$m=x,t=1,p=1$c2FsdA$a2V5", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := Check(tc.password, tc.hash)
			if ok != tc.ok || (err != nil) != tc.wantErr {
				t.Fatalf("got %v, %v; want %v, error %v", ok, err, tc.ok, tc.wantErr)
			}
		})
	}
}

func mustHash(t *testing.T, pw string, p Params) string {
	t.Helper()
	h, err := Hash(pw, p)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestPasswordPolicyAcceptsOrdinaryPassphrases(t *testing.T) {
	if n := len(commonPasswords()); n != 10_000 {
		t.Fatalf("the common password list has %d entries, want 10000", n)
	}
	for _, pw := range []string{
		"correct horse battery", "tangerine kayak 42", "abcdefgh1", "Zq7Secret9PassWordXy",
		"  spaces around are fine  ", "ünïcödé wörds 7", "annabelle's garden",
	} {
		if err := CheckNew(pw, "ann@example.com", "Ann"); err != nil {
			t.Errorf("%q refused: %v", pw, err)
		}
	}
}

// TestPasswordPolicyRefusesWhatGuessersTryFirst: common and trivially weak
// passwords are refused with weak_password and a message that says why.
func TestPasswordPolicyRefusesWhatGuessersTryFirst(t *testing.T) {
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
			err := CheckNew(tc.password, tc.email, tc.account)
			var e *api.Error
			if !errors.As(err, &e) || e.Status != 422 || e.Code != "weak_password" || !strings.Contains(e.Message, tc.why) {
				t.Fatalf("%v, want 422 weak_password saying %q", err, tc.why)
			}
		})
	}
	for _, pw := range []string{"", strings.Repeat("x7", 129)} {
		var e *api.Error
		if err := CheckNew(pw, "q@example.com", "Q"); !errors.As(err, &e) || e.Code != "invalid" {
			t.Errorf("a password of %d bytes: %v, want invalid", len(pw), err)
		}
	}
}
