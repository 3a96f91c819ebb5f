package commerce

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/liveshop/liveshop/commerce/internal/api"
)

func (h *Handler) streamCoupons(c echo.Context) error {
	a, id, err := AccountAndID(c)
	if err != nil {
		return err
	}
	cs, err := h.svc.StreamCoupons(c.Request().Context(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": cs})
}

// couponCheck is what a viewer learns about a code.
type couponCheck struct {
	Code     string `json:"code"`
	Kind     string `json:"kind"`
	Value    int64  `json:"value"`
	Currency string `json:"currency"`
}

func (h *Handler) checkCoupon(c echo.Context) error {
	id, err := api.PathID(c, "id")
	if err != nil {
		return err
	}
	cp, err := h.svc.CheckCoupon(c.Request().Context(), id, c.Param("code"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, couponCheck{Code: cp.Code, Kind: cp.Kind, Value: cp.Value, Currency: cp.Currency})
}

func (h *Handler) privacy(c echo.Context) error {
	a, err := MustAccount(c)
	if err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.svc.PurchasePrivacy(c.Request().Context(), a))
}

func (h *Handler) setPrivacy(c echo.Context) error {
	a, err := MustAccount(c)
	if err != nil {
		return err
	}
	var p PurchasePrivacy
	if err := api.BindJSON(c, &p); err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.svc.SetPurchasePrivacy(c.Request().Context(), a, p))
}
