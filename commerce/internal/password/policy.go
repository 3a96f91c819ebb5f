package password

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/liveshop/liveshop/commerce/internal/api"
)

// commonPasswordList is one lower-case password a line: the 10,000 most
// frequent passwords of at least 8 characters in Mark Burnett's 10 million
// password sample, in the frequency order Dropbox's zxcvbn counted them
// (data/passwords.txt there). Shorter ones need no list: the length rule
// refuses them.
//
//go:embed common_passwords.txt
var commonPasswordList string

// commonPasswords is commonPasswordList as a set, built on first use.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 10_000)
	for line := range strings.Lines(commonPasswordList) {
		if line = strings.TrimSpace(line); line != "" {
			set[line] = struct{}{}
		}
	}
	return set
})

// MinLen and MaxLen bound a password: MinLen characters at least (not
// counting spaces at either end), MaxLen bytes at most (argon2 hashes
// whatever it is given, so a megabyte password costs the server).
const (
	MinLen = 8
	MaxLen = 256
)

// keyboardRows are runs of neighbouring keys (US, German and French
// layouts), which people type as passwords in either direction.
var keyboardRows = []string{
	"`1234567890-=", "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./",
	"qwertzuiopü+", "asdfghjklöä#", "yxcvbnm,.-",
	"azertyuiop^$", "qsdfghjklmù*", "wxcvbn,;:!",
}

// WeakPassword reports a password that a guesser would try early (422).
func Weak(format string, args ...any) error {
	return api.New(422, "weak_password", fmt.Sprintf(format, args...))
}

// checkNewPassword applies the password policy to a password chosen for
// the account with email (normalized) and display name. Rules look at the
// password as a guesser would: case-insensitive and without the spaces
// around it. The password itself is stored exactly as given.
func CheckNew(password, email, name string) error {
	if password == "" {
		return api.Invalid("password is required")
	}
	if len(password) > MaxLen {
		return api.Invalid("password must be at most %d bytes", MaxLen)
	}
	p := strings.ToLower(strings.TrimSpace(password))
	switch {
	case p == "":
		return Weak("password must not be only spaces")
	case utf8.RuneCountInString(p) < MinLen:
		return Weak("password must be at least %d characters, not counting spaces at either end", MinLen)
	case repeatsUnit(p, 1):
		return Weak("password must not repeat one character")
	case repeatsUnit(p, 4):
		return Weak("password must not repeat a short pattern such as abcabc")
	case isSequence(p):
		return Weak("password must not be a simple sequence such as 12345678, abcdefgh or qwertyui")
	case strings.Contains(p, email) || containsPart(p, localPart(email)):
		return Weak("password must not contain your email address")
	case containsPart(p, strings.ToLower(strings.TrimSpace(name))):
		return Weak("password must not contain your name")
	case isCommonPassword(p):
		return Weak("password is one of the most common passwords; choose another, such as a few unrelated words")
	}
	return nil
}

// repeatsUnit reports whether p is its first k runes or fewer over and over
// ("aaaaaaaa", "abcabcab").
func repeatsUnit(p string, maxUnit int) bool {
	r := []rune(p)
	for k := 1; k <= maxUnit && k < len(r); k++ {
		same := true
		for i := k; i < len(r) && same; i++ {
			same = r[i] == r[i%k]
		}
		if same {
			return true
		}
	}
	return false
}

// isSequence reports whether p counts up or down one character at a time
// ("12345678", "hgfedcba") or runs along a keyboard row either way.
func isSequence(p string) bool {
	r := []rune(p)
	up, down := true, true
	for i := 1; i < len(r); i++ {
		up = up && r[i] == r[i-1]+1
		down = down && r[i] == r[i-1]-1
	}
	if up || down {
		return true
	}
	backwards := make([]rune, len(r))
	for i, c := range r {
		backwards[len(r)-1-i] = c
	}
	for _, row := range keyboardRows {
		if strings.Contains(row, p) || strings.Contains(row, string(backwards)) {
			return true
		}
	}
	return false
}

func localPart(email string) string {
	local, _, _ := strings.Cut(email, "@")
	return local
}

// containsPart reports whether p contains part, for parts long enough to
// matter: a two-letter name inside a passphrase does not make it weak.
func containsPart(p, part string) bool {
	return utf8.RuneCountInString(part) >= 4 && strings.Contains(p, part)
}

// isCommonPassword looks p up as written and with its spaces taken out
// ("pass word1" is "password1").
func isCommonPassword(p string) bool {
	set := commonPasswords()
	if _, ok := set[p]; ok {
		return true
	}
	_, ok := set[strings.Join(strings.FieldsFunc(p, unicode.IsSpace), "")]
	return ok
}
