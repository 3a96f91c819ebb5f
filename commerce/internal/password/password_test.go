package password

import (
	"strings"
	"testing"
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
