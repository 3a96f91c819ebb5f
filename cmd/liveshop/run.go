package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/accounts"
	"github.com/liveshop/liveshop/commerce/discovery"
	"github.com/liveshop/liveshop/commerce/flash"
	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/live"
	"github.com/liveshop/liveshop/room"
)

// app is the wired server: every subsystem and the HTTP front door. newApp
// builds it with plain assignments; close tears it down in reverse.
type app struct {
	cfg     Config
	log     *slog.Logger
	metrics *prometheus.Registry

	store     *sqlstore.DB
	redis     *redis.Client // nil when real-time state stays in memory
	limits    room.Limits   // rate limits, mutes, bans, slow mode for every subsystem
	commerce  *commerce.Service
	flash     *flash.Service     // flash sales and live coupons (wire_flashsale.go)
	rooms     *room.Hub          // live rooms over WebSocket (wire_room.go)
	sfu       *live.SFU          // WebRTC video (wire_live.go)
	discovery *discovery.Service // feed, search, follows, analytics (wire_discovery.go)

	echo    *echo.Echo
	api     *echo.Group
	openapi [][]byte

	// closers run in reverse order on shutdown, after HTTP has drained.
	closers []func()
}

// run serves until ctx is cancelled, then shuts down gracefully: it stops
// accepting, drains in-flight requests, and closes subsystems and stores.
// ready, if not nil, is told the listening address once requests are served.
func run(ctx context.Context, cfg Config, stdout io.Writer, ready func(addr string)) error {
	log, err := newLogger(cfg, stdout)
	if err != nil {
		return err
	}
	started := time.Now()
	// Listen first: the public URL may derive from the address bound.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = cfg.publicURL(ln.Addr().String())
		if u, err := url.Parse(cfg.PublicURL); err == nil && net.ParseIP(u.Hostname()).IsUnspecified() {
			log.Warn("--public-url is not set: link previews and share links point at the listen address; set it to the URL users reach", "public_url", cfg.PublicURL)
		}
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer a.close()
	a.liveListening(ln.Addr().String())
	srv := &http.Server{
		Handler:           a.echo,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	served := make(chan error, 2) // the main listener's end and the metrics listener's failure
	if cfg.MetricsAddr != "" {
		msrv, err := serveMetrics(a, served)
		if err != nil {
			ln.Close()
			return err
		}
		defer msrv.Close()
	}
	go func() { served <- srv.Serve(ln) }()
	log.Info("liveshop ready", "addr", "http://"+ln.Addr().String(), "db", string(a.store.Dialect()),
		"redis", a.redis != nil, "startup", time.Since(started).Round(time.Millisecond))
	if cfg.Demo {
		fmt.Fprint(stdout, demoBanner(ln.Addr().String()))
	}
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err := <-served:
		srv.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("requests still running at shutdown deadline", slog.Any("error", err))
	}
	return nil
}

// serveMetrics serves /metrics alone on --metrics-addr, for a Prometheus
// that reaches a private address. A failure to serve ends run like one of
// the main listener.
func serveMetrics(a *app, served chan<- error) (*http.Server, error) {
	ln, err := net.Listen("tcp", a.cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metricsHandler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			served <- fmt.Errorf("metrics: %w", err)
		}
	}()
	a.log.Info("metrics listening", "addr", "http://"+ln.Addr().String()+"/metrics")
	return srv, nil
}

func newLogger(cfg Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", cfg.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(cfg.LogFormat) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log format %q: use text or json", cfg.LogFormat)
	}
}

// newApp opens the stores and wires every subsystem. On error, whatever was
// opened is closed again.
func newApp(ctx context.Context, cfg Config, log *slog.Logger) (_ *app, err error) {
	cfg.PublicURL = cfg.publicURL(cfg.Addr) // run derived it from the bound address already
	cfg.Commerce.PublicURL, cfg.Room.PublicURL = cfg.PublicURL, cfg.PublicURL
	cfg.Commerce.Origins = room.NewOrigins(cfg.PublicURL, cfg.Room.AllowedOrigins)
	a := &app{cfg: cfg, log: log, metrics: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	a.store, err = sqlstore.Open(ctx, cfg.DBURL(), sqlstore.Options{Logger: log.With("component", "sqlstore")})
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	a.onClose(func() { a.store.Close() })

	if cfg.Redis != "" {
		opts, err := redis.ParseURL(cfg.Redis)
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", err)
		}
		a.redis = redis.NewClient(opts)
		a.onClose(func() { a.redis.Close() })
		pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := a.redis.Ping(pingCtx).Err(); err != nil {
			return nil, fmt.Errorf("redis at %s: %w", opts.Addr, err)
		}
	}

	commerceCfg := cfg.Commerce
	if a.redis != nil {
		a.limits = room.NewRedisLimits(a.redis, cfg.RedisPrefix)
		// Logouts and renames reach every node's session cache at once.
		evictions, err := accounts.NewRedisSessionEvictions(ctx, a.redis, cfg.RedisPrefix, log.With("component", "sessions"))
		if err != nil {
			return nil, fmt.Errorf("session evictions: %w", err)
		}
		a.onClose(func() { evictions.Close() })
		commerceCfg.SessionEvictions = evictions
	} else {
		a.limits = room.NewMemoryLimits()
	}
	news := &commerce.Events{}
	a.commerce = commerce.New(a.store, a.limits, news, commerceCfg, log.With("component", "commerce"))
	if cfg.AdminEmail != "" {
		if _, err := a.commerce.EnsureAdmin(ctx, cfg.AdminEmail, cfg.AdminPassword); err != nil {
			return nil, fmt.Errorf("bootstrap admin: %w", err)
		}
	}

	a.wireShop()

	a.echo = newEcho(a)
	a.api = a.echo.Group("/api")
	commerce.NewHandler(a.commerce).Register(a.api)
	a.openapi = append(a.openapi, commerce.OpenAPI, discovery.OpenAPI)
	bus, presence := a.roomBus()
	roomNews := room.NewPublisher(bus)
	if err := a.wireFlashSales(roomNews); err != nil {
		return nil, err
	}
	if err := a.wireDiscovery(ctx); err != nil {
		return nil, err
	}
	if err := a.wireRoom(bus, presence); err != nil {
		return nil, err
	}
	if err := a.wireLive(); err != nil {
		return nil, err
	}
	// The core's news, now that everyone it tells exists. A rotated key
	// closes the publisher using the old one: here at once, on another node
	// when it re-checks its publisher's key.
	news.Connect(commerce.Listeners{
		Orders:    a.discovery,
		Activity:  a.discovery,
		Stock:     pinnedStock{dir: roomDirectory{svc: a.commerce, store: a.store}, rooms: a.rooms},
		StreamEnd: streamEndNotifier{sfu: a.sfu, rooms: roomNews, log: a.log.With("component", "live")},
		StreamKey: a.sfu,
	})
	a.onClose(news.Disconnect)

	if cfg.Demo {
		if err := loadDemo(ctx, a); err != nil {
			return nil, fmt.Errorf("demo data: %w", err)
		}
	}
	return a, nil
}

func (a *app) onClose(fn func()) { a.closers = append(a.closers, fn) }

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// ready reports whether the database and, when configured, Redis answer.
func (a *app) ready(ctx context.Context) error {
	if err := a.store.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if a.redis != nil {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := a.redis.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
	}
	return nil
}
