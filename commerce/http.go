package commerce

import (
	"context"
	_ "embed"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/api"

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
	g.POST("/me/moderator-invitations/:id/accept", OnID(http.StatusOK, h.svc.AcceptModeratorInvitation))
	g.POST("/me/moderator-invitations/:id/decline", h.declineInvitation)
	g.GET("/shops/:id/products", h.shopProducts)
	g.POST("/shops/:id/products", h.createProduct)
	g.GET("/shops/:id/streams", h.shopStreams)
	g.POST("/shops/:id/streams", h.createStream)
	g.GET("/shops/:id/orders", h.shopOrders)

	g.GET("/products", h.listProducts)
	g.GET("/products/:id", h.getProduct)
	g.PATCH("/products/:id", OnIDWith(http.StatusOK, h.svc.UpdateProduct))
	g.POST("/products/:id/images/upload", h.uploadProductImage)
	g.DELETE("/products/:id/images/:name", h.deleteProductImage)
	g.GET("/products/:id/reviews", h.listReviews)
	g.POST("/products/:id/reviews", OnIDWith(http.StatusCreated, h.svc.WriteReview))
	g.GET("/images/:name", h.serveImage)

	g.GET("/streams", h.listStreams)
	g.GET("/streams/:id", h.getStream)
	g.PATCH("/streams/:id", OnIDWith(http.StatusOK, h.svc.UpdateStream))
	g.POST("/streams/:id/key", h.rotateStreamKey)
	g.POST("/streams/:id/end", OnID(http.StatusOK, h.svc.EndStream))

	g.GET("/cart", h.getCart)
	g.POST("/cart/lines", h.addCartLine)
	g.PATCH("/cart/lines/:id", h.setCartLine)
	g.DELETE("/cart/lines/:id", OnID(http.StatusOK, h.svc.RemoveFromCart))

	g.POST("/checkout", h.checkout)
	g.GET("/orders", h.listOrders)
	g.GET("/orders/:id", OnID(http.StatusOK, h.svc.Order))
	g.POST("/orders/:id/ship", h.shipOrder)
	g.POST("/orders/:id/deliver", OnID(http.StatusOK, h.svc.DeliverOrder))
	g.POST("/orders/:id/cancel", h.cancelOrder)
	g.POST("/orders/:id/refund", h.refundOrder)
	g.GET("/orders/:id/messages", h.listMessages)
	g.POST("/orders/:id/messages", h.sendMessage)

	g.POST("/streams/:id/coupons", OnIDWith(http.StatusCreated, h.svc.CreateCoupon))
	g.GET("/streams/:id/coupons", h.streamCoupons)
	g.GET("/streams/:id/coupons/:code", h.checkCoupon)
	g.GET("/me/purchase-privacy", h.privacy)
	g.PUT("/me/purchase-privacy", h.setPrivacy)
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

// AuthenticateOnce is Authenticate for routes that may also sit behind it
// (the discovery and flash-sale handlers register into the same group): a
// caller an earlier Authenticate identified is not looked up again.
func (h *Handler) AuthenticateOnce(next echo.HandlerFunc) echo.HandlerFunc {
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

// MustAccount returns the caller or ErrUnauthenticated.
func MustAccount(c echo.Context) (Account, error) {
	a, ok := CurrentAccount(c)
	if !ok {
		return Account{}, ErrUnauthenticated
	}
	return a, nil
}

// AccountAndID returns the caller (or ErrUnauthenticated) and the :id path
// parameter, in that order, for routes that act on one thing as someone.
func AccountAndID(c echo.Context) (Account, int64, error) {
	a, err := MustAccount(c)
	if err != nil {
		return Account{}, 0, err
	}
	id, err := api.PathID(c, "id")
	return a, id, err
}

// OnID serves a route on which the signed-in caller acts on the :id thing
// with do, answering status with what do returns.
func OnID[Out any](status int, do func(ctx context.Context, a Account, id int64) (Out, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		a, id, err := AccountAndID(c)
		if err != nil {
			return err
		}
		return api.Reply(c, status)(do(c.Request().Context(), a, id))
	}
}

// OnIDWith is OnID for a route with a JSON body, which do is given.
func OnIDWith[In, Out any](status int, do func(ctx context.Context, a Account, id int64, in In) (Out, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		a, id, err := AccountAndID(c)
		if err != nil {
			return err
		}
		var in In
		if err := api.BindJSON(c, &in); err != nil {
			return err
		}
		return api.Reply(c, status)(do(c.Request().Context(), a, id, in))
	}
}

// AccountAndShop is AccountAndID for /shops/:id routes, where :id may also
// be the shop's handle.
func (h *Handler) AccountAndShop(c echo.Context) (Account, int64, error) {
	a, err := MustAccount(c)
	if err != nil {
		return Account{}, 0, err
	}
	id, err := h.ShopParam(c)
	return a, id, err
}

// Caller is the signed-in account, or the zero Account for anonymous callers.
func Caller(c echo.Context) Account {
	a, _ := CurrentAccount(c)
	return a
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
