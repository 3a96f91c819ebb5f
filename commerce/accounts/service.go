package accounts

import (
	"context"
	"log/slog"
	"time"

	pwhash "github.com/liveshop/liveshop/commerce/internal/password"
)

// PasswordParams are the argon2id cost settings.
type PasswordParams = pwhash.Params

// Limiter counts events per key in a sliding window. The room package has an
// in-process and a Redis implementation; cmd/liveshop passes one in.
type Limiter interface {
	// Allow records one event under key and reports whether the key stays
	// within limit events per window; when it does not, retryAfter says when
	// the next event would be allowed.
	Allow(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error)
	// Reset forgets the events recorded under key.
	Reset(ctx context.Context, key string) error
}

// Config tunes accounts. The commerce core fills it from its own Config,
// defaults included.
type Config struct {
	Password PasswordParams
	// SessionTTL is how long a sign-in lasts; SessionCacheTTL how long a
	// node trusts a session it looked up without asking the store again.
	SessionTTL      time.Duration
	SessionCacheTTL time.Duration
	// SessionEvictions carries logouts and renames to every node's cache.
	SessionEvictions SessionEvictions
	// LoginLimitPerAccount and LoginLimitPerIP cap sign-in attempts, and
	// SignupLimitPerIP account creation, per LoginWindow.
	LoginLimitPerAccount int
	LoginLimitPerIP      int
	SignupLimitPerIP     int
	LoginWindow          time.Duration
	// AdminEmails are accounts that get the admin role when they exist.
	AdminEmails []string
}

// Service signs people up and in and keeps their sessions.
type Service struct {
	store    Store
	limiter  Limiter
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	sessions *sessionCache
}

// New returns the accounts service on store. limiter may be nil only in
// tests that do not sign in.
func New(store Store, limiter Limiter, cfg Config, log *slog.Logger) *Service {
	s := &Service{store: store, limiter: limiter, cfg: cfg, log: log, now: time.Now,
		sessions: newSessionCache(cfg.SessionCacheTTL, 100_000)}
	if _, err := cfg.SessionEvictions.Subscribe(s.sessions.evict); err != nil {
		log.Error("session evictions: other nodes' logouts reach this node's cache only when entries expire", slog.Any("error", err))
	}
	return s
}
