package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/liveshop/liveshop/static"
)

// newEcho builds the HTTP front door: middleware, error rendering,
// operations endpoints and the embedded pages. Subsystems add their routes.
func newEcho(a *app) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(a.log)
	e.IPExtractor = ipExtractor(a.cfg.TrustedProxies)

	requests := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "liveshop_http_request_duration_seconds",
		Help:    "HTTP requests by route, method and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "method", "status"})
	inFlight := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "liveshop_http_requests_in_flight",
		Help: "HTTP requests being served now, metric scrapes aside.",
	})
	a.metrics.MustRegister(requests, inFlight)

	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{TargetHeader: echo.HeaderXRequestID}))
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURI: true, LogMethod: true, LogLatency: true, LogRemoteIP: true,
		LogRequestID: true, LogRoutePath: true, LogResponseSize: true, HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			requests.WithLabelValues(v.RoutePath, v.Method, strconv.Itoa(v.Status)).Observe(v.Latency.Seconds())
			level := slog.LevelInfo
			if v.RoutePath == "/healthz" || v.RoutePath == "/metrics" || v.RoutePath == "/readyz" {
				level = slog.LevelDebug
			}
			a.log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("method", v.Method), slog.String("uri", v.URI), slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency), slog.String("ip", v.RemoteIP),
				slog.String("request_id", v.RequestID), slog.Int64("bytes", v.ResponseSize))
			return nil
		},
	}))
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Path() == "/metrics" {
				return next(c)
			}
			inFlight.Inc()
			defer inFlight.Dec()
			return next(c)
		}
	})
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			a.log.Error("panic in handler", slog.Any("error", err), slog.String("stack", string(stack)),
				slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)))
			return err
		},
	}))
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{
		Limit: strconv.FormatInt(a.cfg.MaxBodyBytes, 10) + "B",
		// Upload routes set their own, larger limit.
		Skipper: func(c echo.Context) bool { return strings.HasSuffix(c.Path(), "/upload") },
	}))
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection:         "0",
		ContentTypeNosniff:    "nosniff",
		XFrameOptions:         "DENY",
		ReferrerPolicy:        "same-origin",
		ContentSecurityPolicy: "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
	}))
	e.Use(browserPolicies(a.cfg))

	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", func(c echo.Context) error {
		if err := a.ready(c.Request().Context()); err != nil {
			a.log.Warn("not ready", slog.Any("error", err))
			return c.JSON(http.StatusServiceUnavailable, errorBody("unavailable", err.Error()))
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	})
	e.GET("/metrics", mainMetrics(a.cfg, a.metricsHandler()))
	e.GET("/api/openapi.json", func(c echo.Context) error {
		doc, err := mergeOpenAPI(a.openapi)
		if err != nil {
			return err
		}
		return c.JSONBlob(http.StatusOK, doc)
	})
	static.Register(e, pagePreviews{svc: a.commerce, log: a.log.With("component", "previews")}, a.cfg.PublicURL)
	return e
}

// metricsHandler serves the Prometheus registry; with --metrics-token, only
// to scrapes that send it as a bearer token. Anything else gets 401 in the
// one error shape.
func (a *app) metricsHandler() http.Handler {
	h := promhttp.HandlerFor(a.metrics, promhttp.HandlerOpts{Registry: a.metrics})
	if a.cfg.MetricsToken == "" {
		return h
	}
	want := sha256.Sum256([]byte(a.cfg.MetricsToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(token))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(errorBody("unauthenticated", "send the metrics token as Authorization: Bearer TOKEN"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// mainMetrics is /metrics on the main listener, which faces the users:
// metrics name routes, counts and the process's memory, so by default the
// route answers like one that does not exist. A token (--metrics-token) or
// --metrics-public opens it; --metrics-addr moves it to a listener of its
// own.
func mainMetrics(cfg Config, h http.Handler) echo.HandlerFunc {
	if cfg.MetricsAddr != "" || (cfg.MetricsToken == "" && !cfg.MetricsPublic) {
		return func(echo.Context) error { return echo.ErrNotFound }
	}
	return echo.WrapHandler(h)
}

// Permissions-Policy values. Only the studio captures camera and
// microphone; no page asks for location, payment handlers, devices or the
// screen, so a script injected anywhere cannot either. Features the pages
// use (fullscreen video, picture-in-picture, autoplay of muted video, the
// share sheet, copying a share link) keep the browser's default.
const (
	deniedFeatures  = "geolocation=(), payment=(), usb=(), serial=(), hid=(), midi=(), display-capture=(), accelerometer=(), gyroscope=(), magnetometer=(), browsing-topics=()"
	pagePermissions = "camera=(), microphone=(), " + deniedFeatures
	// studioPermissions lets the studio page (and no frame: frames are
	// refused anyway) use the camera and microphone.
	studioPermissions = "camera=(self), microphone=(self), " + deniedFeatures
)

// hstsMaxAge is two years, what HSTS preload lists ask for.
const hstsMaxAge = "max-age=63072000; includeSubDomains"

// browserPolicies sets Permissions-Policy on every answer and, when session
// cookies are Secure (so the site is served over HTTPS),
// Strict-Transport-Security: browsers then never try plain HTTP, where a
// network attacker could strip TLS. It is sent whatever the request's
// scheme, since TLS usually ends at a proxy in front; browsers ignore it
// over plain HTTP.
func browserPolicies(cfg Config) echo.MiddlewareFunc {
	hsts := ""
	if cfg.Commerce.CookieSecure {
		hsts = hstsMaxAge
		if cfg.HSTSPreload {
			hsts += "; preload"
		}
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			if c.Path() == "/studio" {
				h.Set("Permissions-Policy", studioPermissions)
			} else {
				h.Set("Permissions-Policy", pagePermissions)
			}
			if hsts != "" {
				h.Set("Strict-Transport-Security", hsts)
			}
			return next(c)
		}
	}
}

// ipExtractor decides what c.RealIP() — rate limits, access logs — takes
// as the client's address. By default it is the connection's peer: a
// client's own X-Forwarded-For or X-Real-IP is ignored, so it cannot dodge
// a per-IP limit by sending a fresh one each time. Behind reverse proxies,
// X-Forwarded-For is read from the right, skipping only hops inside the
// configured networks; loopback and private ranges are trusted only when
// listed.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func errorBody(code, message string) map[string]errorDetail {
	return map[string]errorDetail{"error": {Code: code, Message: message}}
}

// apiError is what the domain packages' error types have in common.
type apiError interface {
	error
	HTTPStatus() int
	ErrorCode() string
}

// errorHandler renders every error in the one shape
// {"error":{"code","message"}}. Domain errors carry their own status and
// code; Echo's own (unknown route, body too large) are mapped by status;
// anything else is an internal error, logged with the request ID and never
// shown to the client. The one exception is a browser asking for a page
// at a path that names nothing: it gets the HTML not-found page.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
			// The client went away; nobody is left to answer and nothing failed.
			log.Debug("request cancelled by client", slog.String("uri", c.Request().RequestURI))
			c.Response().WriteHeader(statusClientClosedRequest)
			return
		}
		if errors.Is(err, echo.ErrNotFound) && static.IsPageRequest(c.Request()) {
			// A person followed a broken link: show a page, not JSON.
			if err := static.ServeNotFound(c); err != nil {
				log.Warn("write not-found page", slog.Any("error", err))
			}
			return
		}
		status, code, message := describeError(err)
		if status >= 500 {
			log.Error("request failed", slog.Any("error", err), slog.Int("status", status),
				slog.String("method", c.Request().Method), slog.String("uri", c.Request().RequestURI),
				slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)))
		}
		var retry interface{ RetryAfterSeconds() int }
		if errors.As(err, &retry) {
			c.Response().Header().Set("Retry-After", strconv.Itoa(max(1, retry.RetryAfterSeconds())))
		} else if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
			if c.Response().Header().Get("Retry-After") == "" {
				c.Response().Header().Set("Retry-After", "1")
			}
		}
		if c.Request().Method == http.MethodHead {
			err = c.NoContent(status)
		} else {
			err = c.JSON(status, errorBody(code, message))
		}
		if err != nil {
			log.Warn("write error response", slog.Any("error", err))
		}
	}
}

func describeError(err error) (status int, code, message string) {
	var domain apiError
	if errors.As(err, &domain) {
		return domain.HTTPStatus(), domain.ErrorCode(), domain.Error()
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		message := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok && m != "" {
			message = m
		}
		if he.Code == http.StatusNotFound {
			message = "no such route"
		}
		if he.Code >= 500 {
			message = http.StatusText(he.Code)
		}
		return he.Code, statusCode(he.Code), strings.ToLower(message)
	}
	return http.StatusInternalServerError, "internal", "internal error; it has been logged"
}

// statusClientClosedRequest is nginx's non-standard 499, recorded in access
// logs and metrics when a client hangs up before its answer is ready.
const statusClientClosedRequest = 499

// statusCode names a status for errors that carry no code of their own.
func statusCode(status int) string {
	switch status {
	case 400:
		return "bad_request"
	case 401:
		return "unauthenticated"
	case 403:
		return "forbidden"
	case 404:
		return "not_found"
	case 405:
		return "method_not_allowed"
	case 409:
		return "conflict"
	case 413:
		return "payload_too_large"
	case 415:
		return "unsupported_media_type"
	case 422:
		return "invalid"
	case 429:
		return "rate_limited"
	case 503:
		return "unavailable"
	}
	if status >= 500 {
		return "internal"
	}
	return fmt.Sprintf("http_%d", status)
}
