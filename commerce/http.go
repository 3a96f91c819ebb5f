package commerce

import (
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
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
	g.PATCH("/me", h.updateMe)
	g.GET("/currencies", h.currencies)

	g.GET("/shops", h.listShops)
	g.POST("/shops", h.openShop)
	g.GET("/shops/:id", h.getShop)
	g.PATCH("/shops/:id", h.updateShop)
	g.POST("/shops/:id/logo/upload", h.uploadShopLogo)
	g.GET("/shops/:id/moderators", h.listModerators)
	g.POST("/shops/:id/moderators", h.appointModerator)
	g.DELETE("/shops/:id/moderators/:account", h.removeModerator)
	g.GET("/shops/:id/moderator-invitations", h.listModeratorInvitations)
	g.POST("/shops/:id/moderator-invitations", h.inviteModerator)
	g.DELETE("/shops/:id/moderator-invitations/:invitation", h.revokeModeratorInvitation)
	g.GET("/me/moderator-invitations", h.receivedInvitations)
	g.POST("/me/moderator-invitations/:id/accept", h.acceptInvitation)
	g.POST("/me/moderator-invitations/:id/decline", h.declineInvitation)
	g.GET("/shops/:id/products", h.shopProducts)
	g.POST("/shops/:id/products", h.createProduct)
	g.GET("/shops/:id/streams", h.shopStreams)
	g.POST("/shops/:id/streams", h.createStream)
	g.GET("/shops/:id/orders", h.shopOrders)

	g.GET("/products", h.listProducts)
	g.GET("/products/:id", h.getProduct)
	g.PATCH("/products/:id", h.updateProduct)
	g.POST("/products/:id/images/upload", h.uploadProductImage)
	g.DELETE("/products/:id/images/:name", h.deleteProductImage)
	g.GET("/products/:id/reviews", h.listReviews)
	g.POST("/products/:id/reviews", h.writeReview)
	g.GET("/images/:name", h.serveImage)

	g.GET("/streams", h.listStreams)
	g.GET("/streams/:id", h.getStream)
	g.PATCH("/streams/:id", h.updateStream)
	g.POST("/streams/:id/key", h.rotateStreamKey)
	g.POST("/streams/:id/end", h.endStream)

	g.GET("/cart", h.getCart)
	g.POST("/cart/lines", h.addCartLine)
	g.PATCH("/cart/lines/:id", h.setCartLine)
	g.DELETE("/cart/lines/:id", h.removeCartLine)

	g.POST("/checkout", h.checkout)
	g.GET("/orders", h.listOrders)
	g.GET("/orders/:id", h.getOrder)
	g.POST("/orders/:id/ship", h.shipOrder)
	g.POST("/orders/:id/deliver", h.deliverOrder)
	g.POST("/orders/:id/cancel", h.cancelOrder)
	g.POST("/orders/:id/refund", h.refundOrder)
	g.GET("/orders/:id/messages", h.listMessages)
	g.POST("/orders/:id/messages", h.sendMessage)
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

// authenticateOnce is Authenticate for routes that may also sit behind it
// (the discovery and flash-sale handlers register into the same group): a
// caller an earlier Authenticate identified is not looked up again.
func (h *Handler) authenticateOnce(next echo.HandlerFunc) echo.HandlerFunc {
	withAuth := h.Authenticate(next)
	return func(c echo.Context) error {
		if _, ok := CurrentAccount(c); ok {
			return next(c)
		}
		return withAuth(c)
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
	if !safeMethod(r.Method) && !s.sameOrigin(r) {
		return Account{}, ErrCrossOrigin
	}
	return s.Authenticate(r.Context(), cookie.Value)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin reports whether a browser request came from a page of this
// server: its Origin header (or, failing that, Referer) names this server's
// scheme and host (see OriginPolicy). Requests without either header are
// not from a browser form and pass.
func (s *Service) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = r.Header.Get("Referer")
	}
	if origin == "" {
		return r.Header.Get("Sec-Fetch-Site") != "cross-site"
	}
	return s.origins.Same(origin, r)
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

// accountAndID returns the caller (or ErrUnauthenticated) and the :id path
// parameter, in that order, for routes that act on one thing as someone.
func accountAndID(c echo.Context) (Account, int64, error) {
	a, err := mustAccount(c)
	if err != nil {
		return Account{}, 0, err
	}
	id, err := pathID(c, "id")
	return a, id, err
}

// accountAndShop is accountAndID for /shops/:id routes, where :id may also
// be the shop's handle.
func (h *Handler) accountAndShop(c echo.Context) (Account, int64, error) {
	a, err := mustAccount(c)
	if err != nil {
		return Account{}, 0, err
	}
	id, err := h.shopParam(c)
	return a, id, err
}

// reply ends a handler with a service call's result: it writes v as JSON
// with status, or returns err for the error handler. A (T, error) call fits
// it directly: return reply(c, http.StatusOK)(h.svc.Shop(ctx, id)).
func reply(c echo.Context, status int) func(v any, err error) error {
	return func(v any, err error) error {
		if err != nil {
			return err
		}
		return c.JSON(status, v)
	}
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

// caller is the signed-in account, or the zero Account for anonymous callers.
func caller(c echo.Context) Account {
	a, _ := CurrentAccount(c)
	return a
}

// pageOf reads the cursor and limit query parameters.
func pageOf(c echo.Context) (Page, error) {
	p := Page{Cursor: c.QueryParam("cursor")}
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 || n > maxPageSize {
			return Page{}, BadRequest("limit must be a whole number from 1 to %d", maxPageSize)
		}
		p.Limit = n
	}
	return p, nil
}

// listResponse is one page of a list; NextCursor is absent on the last page.
type listResponse[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func listJSON[T any](c echo.Context, items []T, next string) error {
	return c.JSON(http.StatusOK, listResponse[T]{Items: items, NextCursor: next})
}

// listPage reads the page query parameters, runs the listing with them and
// writes the page it returns.
func listPage[T any](c echo.Context, run func(Page) ([]T, string, error)) error {
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	items, next, err := run(p)
	if err != nil {
		return err
	}
	return listJSON(c, items, next)
}

// queryID reads an optional positive integer query parameter (0 when absent).
func queryID(c echo.Context, name string) (int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, BadRequest("%s must be a positive whole number", name)
	}
	return id, nil
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
