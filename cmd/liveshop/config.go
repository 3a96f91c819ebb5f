package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/discovery"
	"github.com/liveshop/liveshop/commerce/flash"
	"github.com/liveshop/liveshop/live"
	"github.com/liveshop/liveshop/room"
)

// Config is the whole server configuration: flags, each with an environment
// variable as fallback (and *_FILE for secrets).
type Config struct {
	Addr            string
	DataDir         string
	DB              string
	Redis           string
	RedisPrefix     string
	Demo            bool
	AdminEmail      string
	AdminPassword   string
	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration
	MaxBodyBytes    int64
	// TrustedProxies are the networks whose X-Forwarded-For is believed;
	// empty means the client IP is the connection's peer address.
	TrustedProxies []*net.IPNet
	// HSTSPreload adds preload to the Strict-Transport-Security header sent
	// with --cookie-secure (the operator asks browsers to hard-code HTTPS).
	HSTSPreload bool
	// PublicURL is the scheme and host users reach the server at
	// ("https://shop.example"): link previews and share links are absolute
	// on it, and pages of it may open WebSockets. Empty means derived from
	// the listen address (see publicURL).
	PublicURL string
	// MetricsAddr, when set, is a listener of its own for /metrics (the
	// main listener then answers 404 there). MetricsToken, when set, is the
	// bearer token a scrape must send, on either listener. MetricsPublic
	// serves /metrics on the main listener without a token; otherwise the
	// main listener answers 404 unless a token is set.
	MetricsAddr   string
	MetricsToken  string
	MetricsPublic bool

	Commerce  commerce.Config
	FlashSale flash.Config
	Room      room.Config
	Live      live.Config
	Discovery discovery.Config
}

// DBURL is the database to open: the configured URL, or a SQLite file in
// the data directory.
func (c Config) DBURL() string {
	if c.DB != "" {
		return c.DB
	}
	return filepath.Join(c.DataDir, "liveshop.db")
}

const usageHeader = `liveshop — a live-stream shopping server.

With no settings it serves on 127.0.0.1:8080 with a SQLite database in ./data
and in-memory real-time plumbing. Point it at PostgreSQL (--db postgres://...)
and Redis (--redis redis://...) to run several nodes side by side.

Every flag can also be set by the environment variable shown in brackets;
for secrets, VAR_FILE names a file to read the value from.

Usage: liveshop [flags]

`

// parseConfig reads flags from args with environment fallbacks.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var cfg Config
	fs := flag.NewFlagSet("liveshop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := envReader{getenv: getenv}

	fs.StringVar(&cfg.Addr, "addr", env.str("LIVESHOP_ADDR", "127.0.0.1:8080"), "HTTP listen address [LIVESHOP_ADDR]")
	fs.StringVar(&cfg.DataDir, "data-dir", env.str("LIVESHOP_DATA_DIR", "data"), "directory for the SQLite database and uploaded images [LIVESHOP_DATA_DIR]")
	fs.StringVar(&cfg.DB, "db", env.secret("LIVESHOP_DB", ""), "database URL: postgres://... for PostgreSQL, or a SQLite file path (default: <data-dir>/liveshop.db) [LIVESHOP_DB, LIVESHOP_DB_FILE]")
	fs.StringVar(&cfg.Redis, "redis", env.secret("LIVESHOP_REDIS", ""), "Redis URL (redis://host:6379/0); empty keeps real-time state in memory on this node [LIVESHOP_REDIS, LIVESHOP_REDIS_FILE]")
	fs.StringVar(&cfg.RedisPrefix, "redis-prefix", env.str("LIVESHOP_REDIS_PREFIX", "liveshop:"), "prefix of every Redis key, so several deployments can share a server [LIVESHOP_REDIS_PREFIX]")
	fs.BoolVar(&cfg.Demo, "demo", env.boolean("LIVESHOP_DEMO", false), "load demo data (once) and print its logins [LIVESHOP_DEMO]")
	fs.StringVar(&cfg.AdminEmail, "admin-email", env.str("LIVESHOP_ADMIN_EMAIL", ""), "email of the bootstrap admin account, created or promoted at start [LIVESHOP_ADMIN_EMAIL]")
	fs.StringVar(&cfg.AdminPassword, "admin-password", env.secret("LIVESHOP_ADMIN_PASSWORD", ""), "password for the bootstrap admin when it is created [LIVESHOP_ADMIN_PASSWORD, LIVESHOP_ADMIN_PASSWORD_FILE]")
	fs.StringVar(&cfg.LogLevel, "log-level", env.str("LIVESHOP_LOG_LEVEL", "info"), "log level: debug, info, warn, error [LIVESHOP_LOG_LEVEL]")
	fs.StringVar(&cfg.LogFormat, "log-format", env.str("LIVESHOP_LOG_FORMAT", "text"), "log format: text or json [LIVESHOP_LOG_FORMAT]")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", env.duration("LIVESHOP_SHUTDOWN_TIMEOUT", 15*time.Second), "how long to drain in-flight requests on shutdown [LIVESHOP_SHUTDOWN_TIMEOUT]")
	var trustedProxies string
	fs.StringVar(&trustedProxies, "trusted-proxies", env.str("LIVESHOP_TRUSTED_PROXIES", ""), "comma-separated CIDRs of reverse proxies (e.g. 10.0.0.0/8) whose X-Forwarded-For names the client IP used for rate limits and logs; empty trusts no header and uses the connection's address [LIVESHOP_TRUSTED_PROXIES]")
	fs.StringVar(&cfg.PublicURL, "public-url", env.str("LIVESHOP_PUBLIC_URL", ""), "scheme and host users reach this server at, like https://shop.example (no path): link previews and share links use it, never the request's Host; default http://<addr> (https:// with --cookie-secure) [LIVESHOP_PUBLIC_URL]")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", env.str("LIVESHOP_METRICS_ADDR", ""), "serve /metrics only on this separate address (e.g. 127.0.0.1:9090, reachable by Prometheus alone); the main listener then answers 404 there [LIVESHOP_METRICS_ADDR]")
	fs.StringVar(&cfg.MetricsToken, "metrics-token", env.secret("LIVESHOP_METRICS_TOKEN", ""), "bearer token a /metrics scrape must send (Authorization: Bearer TOKEN); with it /metrics is served on the main listener too [LIVESHOP_METRICS_TOKEN, LIVESHOP_METRICS_TOKEN_FILE]")
	fs.BoolVar(&cfg.MetricsPublic, "metrics-public", env.boolean("LIVESHOP_METRICS_PUBLIC", false), "serve /metrics on the main listener to anyone, without a token; off, it answers 404 there unless --metrics-token is set [LIVESHOP_METRICS_PUBLIC]")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", env.int64("LIVESHOP_MAX_BODY_BYTES", 1<<20), "largest request body accepted by the API, uploads aside [LIVESHOP_MAX_BODY_BYTES]")

	cc := &cfg.Commerce
	fs.BoolVar(&cc.CookieSecure, "cookie-secure", env.boolean("LIVESHOP_COOKIE_SECURE", false), "mark session cookies Secure (serve over HTTPS) [LIVESHOP_COOKIE_SECURE]")
	fs.BoolVar(&cfg.HSTSPreload, "hsts-preload", env.boolean("LIVESHOP_HSTS_PRELOAD", false), "with --cookie-secure, add preload to Strict-Transport-Security (only once the domain and its subdomains are HTTPS for good) [LIVESHOP_HSTS_PRELOAD]")
	fs.DurationVar(&cc.SessionTTL, "session-ttl", env.duration("LIVESHOP_SESSION_TTL", 30*24*time.Hour), "how long a sign-in lasts [LIVESHOP_SESSION_TTL]")
	fs.IntVar(&cc.LoginLimitPerAccount, "login-limit-account", env.integer("LIVESHOP_LOGIN_LIMIT_ACCOUNT", 10), "login attempts per account per login window; -1 disables [LIVESHOP_LOGIN_LIMIT_ACCOUNT]")
	fs.IntVar(&cc.LoginLimitPerIP, "login-limit-ip", env.integer("LIVESHOP_LOGIN_LIMIT_IP", 100), "login attempts per IP per login window; -1 disables [LIVESHOP_LOGIN_LIMIT_IP]")
	fs.IntVar(&cc.SignupLimitPerIP, "signup-limit-ip", env.integer("LIVESHOP_SIGNUP_LIMIT_IP", 100), "sign-ups per IP per login window; -1 disables [LIVESHOP_SIGNUP_LIMIT_IP]")
	fs.IntVar(&cc.MessageLimitAccount, "message-limit-account", env.integer("LIVESHOP_MESSAGE_LIMIT_ACCOUNT", 20), "support messages per account per minute, all nodes together; -1 disables [LIVESHOP_MESSAGE_LIMIT_ACCOUNT]")
	fs.IntVar(&cc.MessageLimitIP, "message-limit-ip", env.integer("LIVESHOP_MESSAGE_LIMIT_IP", 60), "support messages per client IP per minute, whatever the accounts; -1 disables [LIVESHOP_MESSAGE_LIMIT_IP]")
	fs.DurationVar(&cc.LoginWindow, "login-window", env.duration("LIVESHOP_LOGIN_WINDOW", 15*time.Minute), "window for the login and sign-up limits [LIVESHOP_LOGIN_WINDOW]")
	fs.DurationVar(&cc.IdempotencyRetention, "idempotency-retention", env.duration("LIVESHOP_IDEMPOTENCY_RETENTION", 72*time.Hour), "how long the answer stored under a finished Idempotency-Key is kept (a retry after that runs as a new request); at least 1h [LIVESHOP_IDEMPOTENCY_RETENTION]")
	fs.DurationVar(&cc.IdempotencyLease, "idempotency-lease", env.duration("LIVESHOP_IDEMPOTENCY_LEASE", 10*time.Second), "how long a money-moving request holds its Idempotency-Key unrenewed (it renews every third of it while it runs); when its node dies, a retry takes the work over after this; 2s to 5m [LIVESHOP_IDEMPOTENCY_LEASE]")
	fs.DurationVar(&cc.AbandonedCheckoutAfter, "abandoned-checkout-after", env.duration("LIVESHOP_ABANDONED_CHECKOUT_AFTER", time.Minute), "how long after its lease lapsed a checkout that died and was not retried is settled by the sweeper (captured if authorized, else cancelled with its stock back); at least 10s [LIVESHOP_ABANDONED_CHECKOUT_AFTER]")
	fs.Int64Var(&cc.MaxImageBytes, "max-image-bytes", env.int64("LIVESHOP_MAX_IMAGE_BYTES", 5<<20), "largest uploaded image (product pictures, shop logos) [LIVESHOP_MAX_IMAGE_BYTES]")
	fsc := &cfg.FlashSale
	fs.DurationVar(&fsc.ReservationTTL, "reservation-ttl", env.duration("LIVESHOP_RESERVATION_TTL", 5*time.Minute), "how long a flash-sale reservation holds before its units go back on sale [LIVESHOP_RESERVATION_TTL]")
	fs.DurationVar(&fsc.SweepInterval, "flash-sale-sweep", env.duration("LIVESHOP_FLASH_SALE_SWEEP", time.Second), "how often each node expires lapsed reservations and ends and reconciles due flash sales [LIVESHOP_FLASH_SALE_SWEEP]")
	fs.BoolVar(&fsc.SQLBaseline, "flash-sale-baseline", env.boolean("LIVESHOP_FLASH_SALE_BASELINE", false), "serve the SQL row-lock baseline route for liveshop-load's sale -baseline sql; benchmarks only [LIVESHOP_FLASH_SALE_BASELINE]")
	dc := &cfg.Discovery
	fs.IntVar(&dc.BufferSize, "interaction-buffer", env.integer("LIVESHOP_INTERACTION_BUFFER", 16384), "interactions (views, clicks, watch time...) held for the next batched write; beyond it they are dropped and counted, never waited for [LIVESHOP_INTERACTION_BUFFER]")
	fs.DurationVar(&dc.InteractionRetention, "interaction-retention", env.duration("LIVESHOP_INTERACTION_RETENTION", 180*24*time.Hour), "how long the interaction log keeps views, clicks, watch sessions...; older days are rolled up per day for the seller reports, then deleted hourly; at least 720h [LIVESHOP_INTERACTION_RETENTION]")
	fs.IntVar(&dc.ClientEventLimit, "interaction-limit", env.integer("LIVESHOP_INTERACTION_LIMIT", 120), "POST /api/interactions requests per account (or IP) per minute; -1 disables [LIVESHOP_INTERACTION_LIMIT]")
	fs.IntVar(&dc.ShareLimitAccount, "share-limit-account", env.integer("LIVESHOP_SHARE_LIMIT_ACCOUNT", 30), "share links an account makes per minute, all nodes together; -1 disables [LIVESHOP_SHARE_LIMIT_ACCOUNT]")
	fs.IntVar(&dc.ShareLimitIP, "share-limit-ip", env.integer("LIVESHOP_SHARE_LIMIT_IP", 120), "share links per client IP per minute, signed in or not; -1 disables [LIVESHOP_SHARE_LIMIT_IP]")
	rc := &cfg.Room
	var roomOrigins string
	fs.StringVar(&roomOrigins, "room-allowed-origins", env.str("LIVESHOP_ROOM_ALLOWED_ORIGINS", ""), "comma-separated extra origins whose pages may open room and notification WebSockets: host patterns (*.example.com, any scheme) or scheme://host patterns; pages of --public-url always may [LIVESHOP_ROOM_ALLOWED_ORIGINS]")
	fs.IntVar(&rc.CommentLimit, "room-comment-limit", env.integer("LIVESHOP_ROOM_COMMENT_LIMIT", 20), "comments per account per --room-comment-window, on all nodes together [LIVESHOP_ROOM_COMMENT_LIMIT]")
	fs.IntVar(&rc.CommentIPLimit, "room-comment-limit-ip", env.integer("LIVESHOP_ROOM_COMMENT_LIMIT_IP", 100), "comments per client IP per --room-comment-window, whatever the accounts, on all nodes together (moderators exempt); -1 disables [LIVESHOP_ROOM_COMMENT_LIMIT_IP]")
	fs.IntVar(&rc.SocketsPerAccount, "room-socket-limit-account", env.integer("LIVESHOP_ROOM_SOCKET_LIMIT_ACCOUNT", 16), "room sockets one account holds open on this node; -1 disables [LIVESHOP_ROOM_SOCKET_LIMIT_ACCOUNT]")
	fs.IntVar(&rc.SocketsPerIP, "room-socket-limit-ip", env.integer("LIVESHOP_ROOM_SOCKET_LIMIT_IP", 500), "room sockets one client IP holds open on this node; -1 disables [LIVESHOP_ROOM_SOCKET_LIMIT_IP]")
	fs.IntVar(&rc.JoinLimitAccount, "room-join-limit-account", env.integer("LIVESHOP_ROOM_JOIN_LIMIT_ACCOUNT", 60), "room sockets an account opens per minute, all nodes together; -1 disables [LIVESHOP_ROOM_JOIN_LIMIT_ACCOUNT]")
	fs.IntVar(&rc.JoinLimitIP, "room-join-limit-ip", env.integer("LIVESHOP_ROOM_JOIN_LIMIT_IP", 600), "room sockets a client IP opens per minute, all nodes together; -1 disables [LIVESHOP_ROOM_JOIN_LIMIT_IP]")
	fs.DurationVar(&rc.CommentWindow, "room-comment-window", env.duration("LIVESHOP_ROOM_COMMENT_WINDOW", 10*time.Second), "window of the per-account comment limit [LIVESHOP_ROOM_COMMENT_WINDOW]")
	fs.DurationVar(&rc.FlushInterval, "room-flush-interval", env.duration("LIVESHOP_ROOM_FLUSH_INTERVAL", 50*time.Millisecond), "batching window of room events: busy rooms send one frame per connection per interval [LIVESHOP_ROOM_FLUSH_INTERVAL]")
	fs.IntVar(&rc.QueueSize, "room-queue-size", env.integer("LIVESHOP_ROOM_QUEUE_SIZE", 256), "frames queued per room connection before it is dropped as a slow consumer [LIVESHOP_ROOM_QUEUE_SIZE]")
	var argonMem uint
	fs.UintVar(&argonMem, "argon2-memory-kib", uint(env.integer("LIVESHOP_ARGON2_MEMORY_KIB", 19*1024)), "argon2id memory per password hash, in KiB [LIVESHOP_ARGON2_MEMORY_KIB]")

	finishLive := liveFlags(fs, &env, &cfg.Live)

	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHeader)
		fs.PrintDefaults()
	}
	err := fs.Parse(args)
	if err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	if env.err != nil {
		return Config{}, env.err
	}
	if err := finishLive(); err != nil {
		return Config{}, err
	}
	if argonMem < 8*1024 {
		return Config{}, errors.New("--argon2-memory-kib must be at least 8192")
	}
	cc.Password = commerce.PasswordParams{MemoryKiB: uint32(argonMem), Time: 2, Threads: 1}
	cc.DataDir = cfg.DataDir // uploaded images live in <data-dir>/images
	if cc.MaxImageBytes <= 0 {
		return Config{}, errors.New("--max-image-bytes must be positive")
	}
	if cc.IdempotencyLease < 2*time.Second || cc.IdempotencyLease > 5*time.Minute {
		return Config{}, errors.New("--idempotency-lease must be between 2s and 5m")
	}
	if cc.AbandonedCheckoutAfter < 10*time.Second {
		return Config{}, errors.New("--abandoned-checkout-after must be at least 10s, so a buyer's retry usually comes first")
	}
	if cc.IdempotencyRetention < time.Hour {
		return Config{}, errors.New("--idempotency-retention must be at least 1h, so retries and the checkout sweeper find their keys")
	}
	if dc.InteractionRetention < 30*24*time.Hour {
		return Config{}, errors.New("--interaction-retention must be at least 720h (30 days): the feed's \"also bought\" looks that far back")
	}
	if cfg.PublicURL != "" {
		if cfg.PublicURL, err = parsePublicURL(cfg.PublicURL); err != nil {
			return Config{}, fmt.Errorf("--public-url: %w", err)
		}
	}
	if cfg.MetricsPublic && cfg.MetricsAddr != "" {
		return Config{}, errors.New("--metrics-public serves /metrics on the main listener, --metrics-addr on another one only: choose one")
	}
	if cfg.TrustedProxies, err = parseCIDRs(trustedProxies); err != nil {
		return Config{}, fmt.Errorf("--trusted-proxies: %w", err)
	}
	for _, o := range splitList(roomOrigins) {
		if _, err := path.Match(o, ""); err != nil {
			return Config{}, fmt.Errorf("--room-allowed-origins: %q is not a pattern like shop.example, *.example.com or https://*.example.com", o)
		}
		rc.AllowedOrigins = append(rc.AllowedOrigins, o)
	}
	if cfg.AdminEmail != "" {
		cc.AdminEmails = []string{strings.ToLower(cfg.AdminEmail)}
	}
	return cfg, nil
}

// parsePublicURL checks that s is an absolute http(s) URL of an origin
// alone (no user, path, query or fragment) and returns it in canonical
// form: lower case, no trailing slash.
func parsePublicURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL", s)
	}
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%q: use an http:// or https:// URL", s)
	case u.Hostname() == "" || u.Opaque != "":
		return "", fmt.Errorf("%q names no host", s)
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("%q: give the scheme and host only (like https://shop.example), no user, path, query or fragment", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("%q: bad port", s)
		}
	}
	return u.Scheme + "://" + u.Host, nil
}

// publicURL is the configured --public-url or, without one, the listen
// address as a URL: http://ADDR (https:// when cookies are Secure, which
// they only are behind HTTPS). bound is the address the server listens on,
// used when --addr leaves the host or port to the system.
func (c Config) publicURL(bound string) string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	addr := c.Addr
	if host, port, err := net.SplitHostPort(addr); err != nil || host == "" || port == "0" {
		addr = bound
	}
	scheme := "http://"
	if c.Commerce.CookieSecure {
		scheme = "https://"
	}
	return scheme + addr
}

// parseCIDRs reads a comma-separated list of networks; a bare address
// stands for itself alone.
func parseCIDRs(list string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			ip := net.ParseIP(s)
			if ip == nil {
				return nil, fmt.Errorf("%q is neither a CIDR like 10.0.0.0/8 nor an IP address", s)
			}
			bits := 128
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR like 10.0.0.0/8", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// envReader reads defaults from the environment and remembers the first
// malformed value.
type envReader struct {
	getenv func(string) string
	err    error
}

func (e *envReader) str(name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}

// secret reads name, or the contents of the file named by name_FILE.
func (e *envReader) secret(name, def string) string {
	if path := e.getenv(name + "_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			e.fail(fmt.Errorf("%s_FILE: %w", name, err))
			return def
		}
		return strings.TrimSpace(string(b))
	}
	return e.str(name, def)
}

func (e *envReader) boolean(name string, def bool) bool {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.fail(fmt.Errorf("%s: %q is not true or false", name, v))
	}
	return b
}

func (e *envReader) duration(name string, def time.Duration) time.Duration {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.fail(fmt.Errorf("%s: %q is not a duration like 30s or 5m", name, v))
	}
	return d
}

func (e *envReader) integer(name string, def int) int {
	return int(e.int64(name, int64(def)))
}

func (e *envReader) int64(name string, def int64) int64 {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		e.fail(fmt.Errorf("%s: %q is not a whole number", name, v))
	}
	return n
}

func (e *envReader) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}
