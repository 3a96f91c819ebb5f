package commerce

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/liveshop/liveshop/commerce/accounts"
	pwhash "github.com/liveshop/liveshop/commerce/internal/password"
	"github.com/liveshop/liveshop/commerce/payments"
)

// Config holds the commerce settings; New fills zero fields with defaults.
type Config struct {
	// Password is the argon2id cost used for new password hashes.
	Password PasswordParams
	// SessionTTL is how long a sign-in lasts.
	SessionTTL time.Duration
	// SessionCacheTTL bounds how long a node trusts a session it looked up
	// without asking the store again. Logouts and renames reach every
	// node's cache at once through SessionEvictions; this bound is what is
	// left when an eviction is lost (Redis unreachable for a moment).
	SessionCacheTTL time.Duration
	// SessionEvictions carries logouts and renames to every node's session
	// cache. Nil selects an in-process bus (one node); cmd/liveshop passes
	// RedisSessionEvictions when Redis is configured.
	SessionEvictions SessionEvictions
	// CookieName names the session cookie.
	CookieName string
	// CookieSecure marks the session cookie Secure (set it behind HTTPS).
	CookieSecure bool
	// PublicURL is the scheme and host users reach the server at
	// ("https://shop.example"). Share links are absolute on it, never on a
	// request's Host header, which the client writes; empty leaves them
	// relative.
	PublicURL string
	// Origins decides which pages may use a visitor's session: open a
	// notification socket, or write with the session cookie. cmd passes
	// the rooms' policy (room.Origins), so both sockets agree. Without
	// one, only requests that name no page origin pass.
	Origins OriginPolicy
	// LoginLimitPerAccount and LoginLimitPerIP cap login attempts per LoginWindow.
	LoginLimitPerAccount int
	LoginLimitPerIP      int
	LoginWindow          time.Duration
	// SignupLimitPerIP caps account creation per IP per LoginWindow.
	SignupLimitPerIP int
	// MessageLimitAccount and MessageLimitIP cap the support messages one
	// account and one client address send per minute, on every node
	// together (defaults 20 and 60; -1: no limit).
	MessageLimitAccount int
	MessageLimitIP      int
	// AdminEmails are accounts that get the admin role when they exist.
	AdminEmails []string

	// DataDir holds uploaded files; images go to DataDir/images. cmd passes
	// its --data-dir. Default "data".
	DataDir string
	// MaxImageBytes caps one uploaded image (default 5 MiB); larger uploads
	// get 413 before anything is written.
	MaxImageBytes int64
	// MaxImagePixels caps width×height of an uploaded image (default 40
	// million), so a small file cannot claim to be a gigantic picture.
	MaxImagePixels int
	// Payments is the card processor. Nil selects payments.TestProcessor, the built-in
	// processor that behaves like a real one for the test card numbers.
	Payments PaymentProvider
	// PaymentAttempts is how often a payment call that failed transiently is
	// tried in all (default 3); PaymentRetryDelay is the first pause between
	// attempts, doubled each time (default 50ms).
	PaymentAttempts   int
	PaymentRetryDelay time.Duration
	// IdempotencyLease is how long a request holds its Idempotency-Key
	// without renewing it; a running request renews it every third of it.
	// A retry within the lease gets 409 with Retry-After; after it (the
	// node running the first request died) the retry takes over and
	// finishes the work. Default 10 seconds.
	IdempotencyLease time.Duration
	// AbandonedCheckoutAfter is how long after its key's lease ended a
	// checkout whose request died, and nobody retried, is settled by the
	// sweeper (default 1 minute; see SweepAbandonedCheckouts).
	AbandonedCheckoutAfter time.Duration
	// IdempotencyRetention is how long a finished Idempotency-Key (its
	// stored answer) is kept; the checkout sweeper deletes older ones
	// (default 72 hours). A retry later than this runs as a new request, so
	// it should outlast any client's retries. Unfinished keys are kept until
	// they finish: the sweepers settle those.
	IdempotencyRetention time.Duration
	// ModeratorInvitationTTL is how long a moderator invitation can be
	// accepted (default 7 days).
	ModeratorInvitationTTL time.Duration
	// MaxPendingInvitations caps a shop's pending moderator invitations
	// (default 20).
	MaxPendingInvitations int
	// InvitationLimitPerShop caps the moderator invitations a shop sends
	// per hour, duplicates included (default 30; -1 disables).
	InvitationLimitPerShop int
}

func (c *Config) fillDefaults() {
	if c.Password.MemoryKiB == 0 {
		c.Password = pwhash.DefaultParams
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 30 * 24 * time.Hour
	}
	if c.SessionCacheTTL == 0 {
		c.SessionCacheTTL = 5 * time.Second
	}
	if c.SessionEvictions == nil {
		c.SessionEvictions = accounts.NewMemorySessionEvictions()
	}
	if c.CookieName == "" {
		c.CookieName = "liveshop_session"
	}
	if c.LoginLimitPerAccount == 0 {
		c.LoginLimitPerAccount = 10
	}
	if c.LoginLimitPerIP == 0 {
		c.LoginLimitPerIP = 100
	}
	if c.SignupLimitPerIP == 0 {
		c.SignupLimitPerIP = 100
	}
	if c.MessageLimitAccount == 0 {
		c.MessageLimitAccount = 20
	}
	if c.MessageLimitIP == 0 {
		c.MessageLimitIP = 60
	}
	if c.LoginWindow == 0 {
		c.LoginWindow = 15 * time.Minute
	}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.MaxImageBytes == 0 {
		c.MaxImageBytes = 5 << 20
	}
	if c.MaxImagePixels == 0 {
		c.MaxImagePixels = 40_000_000
	}
	if c.Payments == nil {
		c.Payments = payments.NewTestProcessor()
	}
	if c.PaymentAttempts == 0 {
		c.PaymentAttempts = 3
	}
	if c.PaymentRetryDelay == 0 {
		c.PaymentRetryDelay = 50 * time.Millisecond
	}
	if c.IdempotencyLease == 0 {
		c.IdempotencyLease = 10 * time.Second
	}
	if c.AbandonedCheckoutAfter == 0 {
		c.AbandonedCheckoutAfter = time.Minute
	}
	if c.IdempotencyRetention == 0 {
		c.IdempotencyRetention = 72 * time.Hour
	}
	if c.ModeratorInvitationTTL == 0 {
		c.ModeratorInvitationTTL = 7 * 24 * time.Hour
	}
	if c.MaxPendingInvitations == 0 {
		c.MaxPendingInvitations = 20
	}
	if c.InvitationLimitPerShop == 0 {
		c.InvitationLimitPerShop = 30
	}
}

// Store is everything commerce keeps in its system of record.
type Store interface {
	AccountStore
	ShopStore
	InvitationStore
	ProductStore
	StreamStore
	CartStore
	OrderStore
	CouponStore
	IdempotencyStore
	SupportStore
	ReviewStore
	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error
}

// Service implements the commerce use cases on top of a Store.
type Service struct {
	*accounts.Service // who people are: sign-up, sign-in, sessions, rate limits per caller

	store     Store
	cfg       Config
	log       *slog.Logger
	now       func() time.Time
	origins   OriginPolicy // which pages may use a session
	images    string       // directory of uploaded images
	news      *Events      // what the core tells the rest of Liveshop
	stockNews *stockNews   // stock changes for news.Stock, coalesced
}

// New returns a Service that tells what happens to the listeners connected
// to news (nil: to nobody). limiter may be nil only in tests that do not
// log in.
func New(store Store, limiter Limiter, news *Events, cfg Config, log *slog.Logger) *Service {
	cfg.fillDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		Service: accounts.New(store, limiter, accounts.Config{
			Password: cfg.Password, SessionTTL: cfg.SessionTTL, SessionCacheTTL: cfg.SessionCacheTTL,
			SessionEvictions: cfg.SessionEvictions, LoginLimitPerAccount: cfg.LoginLimitPerAccount,
			LoginLimitPerIP: cfg.LoginLimitPerIP, SignupLimitPerIP: cfg.SignupLimitPerIP,
			LoginWindow: cfg.LoginWindow, AdminEmails: cfg.AdminEmails,
		}, log),
		store:   store,
		cfg:     cfg,
		log:     log,
		now:     time.Now,
		origins: cfg.Origins,
		images:  filepath.Join(cfg.DataDir, "images"),
		news:    news,
	}
	if s.origins == nil {
		s.origins = noPageOrigins{}
	}
	if s.news == nil {
		s.news = &Events{}
	}
	s.stockNews = newStockNews(s)
	return s
}

// Config returns the effective configuration, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// Ping reports whether the store is reachable.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// OriginPolicy decides which web pages may act with a visitor's session.
type OriginPolicy interface {
	// AllowSocket reports whether a WebSocket handshake may go ahead.
	AllowSocket(r *http.Request) bool
	// Same reports whether origin (an Origin or Referer value) is one of
	// the server's own pages for r.
	Same(origin string, r *http.Request) bool
}

// noPageOrigins is the policy without configuration: no page is trusted,
// so only clients that name no page origin (tokens, not cookies) pass.
type noPageOrigins struct{}

// AllowSocket reports whether a WebSocket handshake may go ahead under the
// node's origin policy (pages of other origins may not open sockets).
func (s *Service) AllowSocket(r *http.Request) bool { return s.origins.AllowSocket(r) }

func (noPageOrigins) AllowSocket(r *http.Request) bool { return r.Header.Get("Origin") == "" }
func (noPageOrigins) Same(string, *http.Request) bool  { return false }
