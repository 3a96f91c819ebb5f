package commerce

import (
	"net/http"
	"strings"

	"github.com/liveshop/liveshop/commerce/internal/api"

	"github.com/labstack/echo/v4"
)

// sessionResponse is what sign-up and log-in return. The token is for API
// clients (send it as "Authorization: Bearer <token>"); browsers use the
// HttpOnly cookie set alongside and never need it.
type sessionResponse struct {
	Account Account `json:"account"`
	Token   string  `json:"token"`
}

func (h *Handler) signUp(c echo.Context) error {
	var in SignUp
	if err := api.BindJSON(c, &in); err != nil {
		return err
	}
	a, token, err := h.svc.SignUp(c.Request().Context(), in, c.RealIP())
	if err != nil {
		return err
	}
	h.setSessionCookie(c, token)
	return c.JSON(http.StatusCreated, sessionResponse{a, token})
}

func (h *Handler) logIn(c echo.Context) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := api.BindJSON(c, &in); err != nil {
		return err
	}
	a, token, err := h.svc.LogIn(c.Request().Context(), in.Email, in.Password, c.RealIP())
	if err != nil {
		return err
	}
	h.setSessionCookie(c, token)
	return c.JSON(http.StatusOK, sessionResponse{a, token})
}

// currentToken is the token the caller authenticated with.
func (h *Handler) currentToken(c echo.Context) string {
	if token, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(token)
	}
	if cookie, err := c.Cookie(h.svc.cfg.CookieName); err == nil {
		return cookie.Value
	}
	return ""
}

func (h *Handler) logOut(c echo.Context) error {
	if _, err := MustAccount(c); err != nil {
		return err
	}
	if err := h.svc.LogOut(c.Request().Context(), h.currentToken(c)); err != nil {
		return err
	}
	h.clearSessionCookie(c)
	return c.NoContent(http.StatusNoContent)
}

func (h *Handler) logOutEverywhere(c echo.Context) error {
	a, err := MustAccount(c)
	if err != nil {
		return err
	}
	if err := h.svc.LogOutEverywhere(c.Request().Context(), a.ID); err != nil {
		return err
	}
	h.clearSessionCookie(c)
	return c.NoContent(http.StatusNoContent)
}

// meResponse is the caller's account with the shop it runs (null when
// none) and the shops it moderates.
type meResponse struct {
	Account
	Memberships
}

func (h *Handler) me(c echo.Context) error {
	a, err := MustAccount(c)
	if err != nil {
		return err
	}
	m, err := h.svc.MembershipsOf(c.Request().Context(), a)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, meResponse{a, m})
}

func (h *Handler) updateMe(c echo.Context) error {
	a, err := MustAccount(c)
	if err != nil {
		return err
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := api.BindJSON(c, &in); err != nil {
		return err
	}
	if a, err = h.svc.Rename(c.Request().Context(), a.ID, in.Name); err != nil {
		return err
	}
	c.Set(accountKey, a)
	return h.me(c)
}
