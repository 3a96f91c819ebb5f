package commerce

import (
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// OpenAPI describes the routes Handler registers (paths and schemas); cmd
// merges it into /api/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte

// Handler serves the commerce API.
type Handler struct {
	svc *Service
}

// NewHandler returns a Handler for svc.
func NewHandler(svc *Service) *Handler { return &Handler{svc: svc} }

// Register adds the commerce routes to g, the /api group. Every route runs
// behind Authenticate, which identifies the caller when it can and otherwise
// lets the request through anonymously; routes that need an account check it.
func (h *Handler) Register(g *echo.Group) {
	g.Use(h.Authenticate)

	g.POST("/auth/signup", h.signUp)
	g.POST("/auth/login", h.logIn)
	g.POST("/auth/logout", h.logOut)
	g.POST("/auth/logout-all", h.logOutEverywhere)
	g.GET("/me", h.me)
}

const accountKey = "commerce.account"

// Authenticate resolves the caller from the session cookie or an
// "Authorization: Bearer" token. A cookie-authenticated write from another
// origin is refused, which together with SameSite=Lax cookies shuts out
// cross-site request forgery.
func (h *Handler) Authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		a, err := h.svc.AuthenticateRequest(c.Request())
		switch {
		case err == nil:
			c.Set(accountKey, a)
		case errors.Is(err, ErrUnauthenticated):
			if token := c.Request().Header.Get("Authorization"); token != "" {
				// A client that sent credentials wants to know they failed.
				return err
			}
		default:
			return err
		}
		return next(c)
	}
}

// AuthenticateRequest returns the account behind r's bearer token or session
// cookie; ErrUnauthenticated when there is none or it is not valid. Room and
// live sockets call it through cmd/liveshop adapters.
func (s *Service) AuthenticateRequest(r *http.Request) (Account, error) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			return Account{}, ErrUnauthenticated
		}
		return s.Authenticate(r.Context(), strings.TrimSpace(token))
	}
	cookie, err := r.Cookie(s.cfg.CookieName)
	if err != nil || cookie.Value == "" {
		return Account{}, ErrUnauthenticated
	}
	if !safeMethod(r.Method) && !SameOrigin(r) {
		return Account{}, &Error{403, "cross_origin", "cross-origin request refused"}
	}
	return s.Authenticate(r.Context(), cookie.Value)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// SameOrigin reports whether a browser request came from a page of this
// host: its Origin header (or, failing that, Referer) names the Host it was
// sent to. Requests without either header are not from a browser form and
// pass.
func SameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = r.Header.Get("Referer")
	}
	if origin == "" {
		return r.Header.Get("Sec-Fetch-Site") != "cross-site"
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// CurrentAccount returns the caller, if signed in.
func CurrentAccount(c echo.Context) (Account, bool) {
	a, ok := c.Get(accountKey).(Account)
	return a, ok
}

// mustAccount returns the caller or ErrUnauthenticated.
func mustAccount(c echo.Context) (Account, error) {
	a, ok := CurrentAccount(c)
	if !ok {
		return Account{}, ErrUnauthenticated
	}
	return a, nil
}

// bindJSON decodes a JSON request body into v, reporting a clear 400 for
// anything that is not one well-formed JSON value of the right shape.
func bindJSON(c echo.Context, v any) error {
	r := c.Request()
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &Error{415, "unsupported_media_type", "send the body as application/json"}
		}
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return BadRequest("body must hold a single JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &Error{413, "payload_too_large", "request body is too large"}
	case errors.Is(err, io.EOF):
		return BadRequest("request body is empty")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("request body is not valid JSON")
	case errors.As(err, &typeErr):
		return BadRequest("field %q must be a %s", typeErr.Field, typeErr.Type.String())
	default:
		return BadRequest("cannot read request body: %v", err)
	}
}

// pathID reads a positive integer path parameter.
func pathID(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, ErrNotFound
	}
	return id, nil
}

func (h *Handler) setSessionCookie(c echo.Context, token string) {
	c.SetCookie(&http.Cookie{
		Name:     h.svc.cfg.CookieName,
		Value:    token,
		Path:     "/",
		MaxAge:   int(h.svc.cfg.SessionTTL / time.Second),
		HttpOnly: true,
		Secure:   h.svc.cfg.CookieSecure,
		SameSite: http.SameSiteLaxMode,
	})
}

func (h *Handler) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{
		Name: h.svc.cfg.CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.svc.cfg.CookieSecure, SameSite: http.SameSiteLaxMode,
	})
}
