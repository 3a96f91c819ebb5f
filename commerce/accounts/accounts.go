// Package accounts keeps who people are: sign-up with the password policy,
// sign-in with its rate limits, server-side sessions behind a bearer token
// (a per-node cache that every node's logouts and renames evict at once),
// the bootstrap admin, and the rate limits other features spend per caller.
// The commerce core builds on it (every use case takes an Account).
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	pwhash "github.com/liveshop/liveshop/commerce/internal/password"

	"github.com/liveshop/liveshop/commerce/internal/api"
)

// Account is a person who signed up. Every account may watch, chat and buy;
// owning a shop makes it a seller there, accepting a seller's invitation a
// moderator.
type Account struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Admin     bool      `json:"admin"`
	CreatedAt time.Time `json:"created_at"`
}

// Session is a sign-in. Only the SHA-256 of its bearer token is stored, so a
// leaked database does not leak live sessions.
type Session struct {
	TokenHash []byte
	AccountID int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store keeps accounts and sessions.
type Store interface {
	// CreateAccount inserts a, setting its ID and CreatedAt; ErrEmailTaken if
	// the email is in use.
	CreateAccount(ctx context.Context, a *Account, passwordHash string) error
	// AccountByEmail returns the account and its password hash.
	AccountByEmail(ctx context.Context, email string) (Account, string, error)
	AccountByID(ctx context.Context, id int64) (Account, error)
	SetAdmin(ctx context.Context, accountID int64, admin bool) error
	// RenameAccount changes the display name and returns the account.
	RenameAccount(ctx context.Context, accountID int64, name string) (Account, error)
	CreateSession(ctx context.Context, s Session) error
	// SessionByTokenHash returns an unexpired session or ErrNotFound.
	SessionByTokenHash(ctx context.Context, hash []byte, now time.Time) (Session, error)
	DeleteSession(ctx context.Context, hash []byte) error
	DeleteAccountSessions(ctx context.Context, accountID int64) error
}

// Errors of signing up and in.
var (
	// ErrUnauthenticated means the request carries no valid session.
	ErrUnauthenticated = api.New(401, "unauthenticated", "sign in first")
	// ErrBadCredentials means the email or password is wrong.
	ErrBadCredentials = api.New(401, "bad_credentials", "wrong email or password")
	// ErrEmailTaken means an account with that email exists already.
	ErrEmailTaken = api.New(409, "email_taken", "an account with this email exists")
	// ErrRateLimited means the caller tried too often; retry later.
	ErrRateLimited = api.New(429, "rate_limited", "too many attempts, try again later")
)

// SignUp is what a new account gives.
type SignUp struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

const maxNameRunes = 50

// NormalizeEmail lower-cases and checks an email address.
func NormalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return "", api.Invalid("email is required")
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 {
		return "", api.Invalid("email is not a valid address")
	}
	return email, nil
}

// SignUp creates an account and signs it in, returning the session token.
func (s *Service) SignUp(ctx context.Context, in SignUp, ip string) (Account, string, error) {
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return Account{}, "", err
	}
	name, err := api.CleanText("name", in.Name, maxNameRunes)
	if err != nil {
		return Account{}, "", err
	}
	if err := pwhash.CheckNew(in.Password, email, name); err != nil {
		return Account{}, "", err
	}
	if err := s.limit(ctx, "signup:ip:"+ip, s.cfg.SignupLimitPerIP); err != nil {
		return Account{}, "", err
	}
	hash, err := pwhash.Hash(in.Password, s.cfg.Password)
	if err != nil {
		return Account{}, "", err
	}
	a := Account{Email: email, Name: name, Admin: slices.Contains(s.cfg.AdminEmails, email)}
	if err := s.store.CreateAccount(ctx, &a, hash); err != nil {
		return Account{}, "", fmt.Errorf("create account: %w", err)
	}
	token, err := s.newSession(ctx, a.ID)
	return a, token, err
}

// LogIn checks email and password and returns a new session token. Attempts
// are rate limited per IP address (every attempt counts) and per account
// (only failures count: a success clears the account's earlier failures,
// so an owner who signs in often never locks themselves out).
func (s *Service) LogIn(ctx context.Context, email, password, ip string) (Account, string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" || password == "" {
		return Account{}, "", api.Invalid("email and password are required")
	}
	if err := s.limit(ctx, "login:ip:"+ip, s.cfg.LoginLimitPerIP); err != nil {
		return Account{}, "", err
	}
	// Every attempt takes a slot before the password is checked, and a
	// success gives them all back: checking first and counting only after a
	// failure would let many guesses sent at once pass the check together.
	accountKey := "login:account:" + email
	if err := s.limit(ctx, accountKey, s.cfg.LoginLimitPerAccount); err != nil {
		return Account{}, "", err
	}
	a, hash, err := s.store.AccountByEmail(ctx, email)
	if errors.Is(err, api.ErrNotFound) {
		// Spend the same time as a real check so timing does not reveal
		// which emails have accounts.
		_, _ = pwhash.Check(password, dummyHash)
		return Account{}, "", ErrBadCredentials
	}
	if err != nil {
		return Account{}, "", fmt.Errorf("find account: %w", err)
	}
	ok, err := pwhash.Check(password, hash)
	if err != nil {
		return Account{}, "", fmt.Errorf("check password of account %d: %w", a.ID, err)
	}
	if !ok {
		return Account{}, "", ErrBadCredentials
	}
	s.clearLimit(ctx, accountKey, s.cfg.LoginLimitPerAccount)
	token, err := s.newSession(ctx, a.ID)
	return a, token, err
}

// dummyHash is checked against when an email is unknown.
var dummyHash, _ = pwhash.Hash("not a real password", pwhash.DefaultParams)

func (s *Service) limit(ctx context.Context, key string, limit int) error {
	return s.LimitPer(ctx, key, limit, s.cfg.LoginWindow)
}

// LimitPer spends one event under key, at most limit per window on every
// node together (429 with Retry-After beyond).
func (s *Service) LimitPer(ctx context.Context, key string, limit int, window time.Duration) error {
	if s.limiter == nil || limit < 0 {
		return nil
	}
	ok, retry, err := s.limiter.Allow(ctx, key, limit, window)
	if err != nil {
		return fmt.Errorf("rate limit %s: %w", key, err)
	}
	if !ok {
		msg := fmt.Sprintf("too many attempts, try again in %d seconds", int(retry.Seconds())+1)
		return &RateLimitError{Err: api.New(429, ErrRateLimited.Code, msg), RetryAfter: retry}
	}
	return nil
}

// LimitCaller spends one event called name of account a (when signed in)
// and one of its client address ip, each per minute on every node
// together: many accounts behind one address share that address's budget.
// The account is asked first, so one caller over its own limit does not
// use up its neighbours'.
func (s *Service) LimitCaller(ctx context.Context, name string, a Account, ip string, perAccount, perIP int) error {
	if a.ID != 0 {
		if err := s.LimitPer(ctx, name+":a:"+strconv.FormatInt(a.ID, 10), perAccount, time.Minute); err != nil {
			return err
		}
	}
	if ip == "" {
		return nil
	}
	return s.LimitPer(ctx, name+":ip:"+ip, perIP, time.Minute)
}

// clearLimit forgets the events counted under key. A failure only means
// the count lasts until its window passes, so it is logged, not returned.
func (s *Service) clearLimit(ctx context.Context, key string, limit int) {
	if s.limiter == nil || limit < 0 {
		return
	}
	if err := s.limiter.Reset(ctx, key); err != nil {
		s.log.Warn("clear rate limit", "key", key, slog.Any("error", err))
	}
}

// RateLimitError is ErrRateLimited with the time after which a retry may
// succeed, sent to clients as the Retry-After header.
type RateLimitError struct {
	Err        *api.Error
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string { return e.Err.Message }

// Unwrap lets errors.As find the underlying *Error with its status and code.
func (e *RateLimitError) Unwrap() error { return e.Err }

// RetryAfterSeconds is the Retry-After value, rounded up.
func (e *RateLimitError) RetryAfterSeconds() int {
	return int((e.RetryAfter + time.Second - 1) / time.Second)
}

const tokenPrefix = "ls_"

func (s *Service) newSession(ctx context.Context, accountID int64) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("read token: %w", err)
	}
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	now := s.now()
	sess := Session{TokenHash: hashToken(token), AccountID: accountID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return token, nil
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Authenticate returns the account behind a session token, or
// ErrUnauthenticated when the token is unknown, expired or revoked.
func (s *Service) Authenticate(ctx context.Context, token string) (Account, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 100 {
		return Account{}, ErrUnauthenticated
	}
	hash := hashToken(token)
	key := string(hash)
	now := s.now()
	a, gen, ok := s.sessions.get(key, now)
	if ok {
		return a, nil
	}
	sess, err := s.store.SessionByTokenHash(ctx, hash, now)
	if errors.Is(err, api.ErrNotFound) {
		return Account{}, ErrUnauthenticated
	}
	if err != nil {
		return Account{}, fmt.Errorf("find session: %w", err)
	}
	a, err = s.store.AccountByID(ctx, sess.AccountID)
	if errors.Is(err, api.ErrNotFound) {
		return Account{}, ErrUnauthenticated
	}
	if err != nil {
		return Account{}, fmt.Errorf("find account of session: %w", err)
	}
	until := now.Add(s.cfg.SessionCacheTTL)
	if sess.ExpiresAt.Before(until) {
		until = sess.ExpiresAt
	}
	s.sessions.put(key, a, until, gen)
	return a, nil
}

// LogOut revokes the session behind token, on every node at once.
func (s *Service) LogOut(ctx context.Context, token string) error {
	hash := hashToken(token)
	if err := s.store.DeleteSession(ctx, hash); err != nil && !errors.Is(err, api.ErrNotFound) {
		return fmt.Errorf("delete session: %w", err)
	}
	s.evictSessions(ctx, SessionEviction{TokenHash: hex.EncodeToString(hash)})
	return nil
}

// LogOutEverywhere revokes every session of the account, on every node at
// once.
func (s *Service) LogOutEverywhere(ctx context.Context, accountID int64) error {
	if err := s.store.DeleteAccountSessions(ctx, accountID); err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	s.evictSessions(ctx, SessionEviction{AccountID: accountID})
	return nil
}

// evictSessions makes every node's session cache forget what e names, after
// the store has changed (so no node can cache the old state again). This
// node forgets at once whatever happens to the bus; when the bus cannot
// publish, other nodes forget within Config.SessionCacheTTL, which is why
// that failure is logged rather than returned: the store change stands.
func (s *Service) evictSessions(ctx context.Context, e SessionEviction) {
	s.sessions.evict(e)
	// The store has changed: publish even if the caller has gone, and do
	// not hold a logout for long while Redis is unreachable.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := s.cfg.SessionEvictions.Publish(ctx, e); err != nil {
		s.log.Warn("publish session eviction; other nodes catch up within the session cache TTL",
			"ttl", s.cfg.SessionCacheTTL, slog.Any("error", err))
	}
}

// EnsureAdmin creates the bootstrap admin account from configuration, or
// grants the admin role to the existing account with that email.
func (s *Service) EnsureAdmin(ctx context.Context, email, password string) (Account, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return Account{}, fmt.Errorf("admin email: %w", err)
	}
	a, _, err := s.store.AccountByEmail(ctx, email)
	if errors.Is(err, api.ErrNotFound) {
		a = Account{Email: email, Name: "Admin", Admin: true}
		if err := pwhash.CheckNew(password, email, a.Name); err != nil {
			return Account{}, fmt.Errorf("admin password: %w", err)
		}
		hash, err := pwhash.Hash(password, s.cfg.Password)
		if err != nil {
			return Account{}, err
		}
		err = s.store.CreateAccount(ctx, &a, hash)
		return a, err
	}
	if err != nil {
		return Account{}, err
	}
	if !a.Admin {
		if err := s.store.SetAdmin(ctx, a.ID, true); err != nil {
			return Account{}, err
		}
		a.Admin = true
	}
	return a, nil
}

// AccountByEmail finds an account by its email.
func (s *Service) AccountByEmail(ctx context.Context, email string) (Account, error) {
	a, _, err := s.store.AccountByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	return a, err
}

// Rename changes the caller's display name, which rooms and tickers show.
// Every node's session cache sees the new name at once.
func (s *Service) Rename(ctx context.Context, accountID int64, name string) (Account, error) {
	name, err := api.CleanText("name", name, maxNameRunes)
	if err != nil {
		return Account{}, err
	}
	a, err := s.store.RenameAccount(ctx, accountID, name)
	if err != nil {
		return Account{}, fmt.Errorf("rename account: %w", err)
	}
	s.evictSessions(ctx, SessionEviction{AccountID: accountID})
	return a, nil
}
