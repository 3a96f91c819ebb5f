package commerce

import (
	"context"
	"net/http"
	"strconv"

	"github.com/liveshop/liveshop/commerce/internal/api"

	"github.com/labstack/echo/v4"
)

// IdempotencyKeyHeader carries the client's key for money-moving writes.
const IdempotencyKeyHeader = "Idempotency-Key"

func (h *Handler) getCart(c echo.Context) error {
	a, err := MustAccount(c)
	if err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.svc.Cart(c.Request().Context(), a))
}

func (h *Handler) addCartLine(c echo.Context) error {
	a, err := MustAccount(c)
	if err != nil {
		return err
	}
	var in struct {
		ProductID int64 `json:"product_id"`
		Quantity  int64 `json:"quantity"`
	}
	if err := api.BindJSON(c, &in); err != nil {
		return err
	}
	if in.ProductID <= 0 {
		return Invalid("product_id is required")
	}
	return api.Reply(c, http.StatusOK)(h.svc.AddToCart(c.Request().Context(), a, in.ProductID, in.Quantity))
}

func (h *Handler) setCartLine(c echo.Context) error {
	a, id, err := AccountAndID(c)
	if err != nil {
		return err
	}
	var in struct {
		Quantity int64 `json:"quantity"`
	}
	if err := api.BindJSON(c, &in); err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.svc.SetCartQuantity(c.Request().Context(), a, id, in.Quantity))
}

func (h *Handler) checkout(c echo.Context) error {
	a, err := MustAccount(c)
	if err != nil {
		return err
	}
	var in CheckoutRequest
	if err := api.BindJSON(c, &in); err != nil {
		return err
	}
	res, err := h.svc.Checkout(c.Request().Context(), a, c.Request().Header.Get(IdempotencyKeyHeader), in)
	if err != nil {
		return err
	}
	if res.Replayed {
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	c.Response().Header().Set("Location", "/api/orders/"+strconv.FormatInt(res.Order.ID, 10))
	return c.JSON(http.StatusCreated, res.Order)
}

func (h *Handler) listOrders(c echo.Context) error {
	a, err := MustAccount(c)
	if err != nil {
		return err
	}
	return api.ListPage(c, func(p PageRequest) ([]Order, string, error) {
		return h.svc.Orders(c.Request().Context(), a, p)
	})
}

func (h *Handler) shopOrders(c echo.Context) error {
	a, id, err := h.AccountAndShop(c)
	if err != nil {
		return err
	}
	return api.ListPage(c, func(p PageRequest) ([]Order, string, error) {
		return h.svc.ShopOrders(c.Request().Context(), a, id, c.QueryParam("status"), p)
	})
}

func (h *Handler) shipOrder(c echo.Context) error {
	a, id, err := AccountAndID(c)
	if err != nil {
		return err
	}
	var in struct {
		Carrier        string `json:"carrier"`
		TrackingNumber string `json:"tracking_number"`
	}
	if err := api.BindJSON(c, &in); err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.svc.ShipOrder(c.Request().Context(), a, id, in.Carrier, in.TrackingNumber))
}

// reasonBody reads an optional {"reason": "..."} body.
func reasonBody(c echo.Context) (string, error) {
	var in struct {
		Reason string `json:"reason"`
	}
	if c.Request().ContentLength == 0 {
		return "", nil
	}
	err := api.BindJSON(c, &in)
	return in.Reason, err
}

func (h *Handler) cancelOrder(c echo.Context) error {
	return orderWithReason(c, h.svc.CancelOrder)
}

func (h *Handler) refundOrder(c echo.Context) error {
	return orderWithReason(c, h.svc.RefundOrder)
}

// orderWithReason serves cancel and refund: the caller, the order, the
// Idempotency-Key and an optional reason go to change, which returns the
// order as it now is.
func orderWithReason(c echo.Context, change func(ctx context.Context, a Account, id int64, key, reason string) (Order, error)) error {
	a, id, err := AccountAndID(c)
	if err != nil {
		return err
	}
	reason, err := reasonBody(c)
	if err != nil {
		return err
	}
	key := c.Request().Header.Get(IdempotencyKeyHeader)
	return api.Reply(c, http.StatusOK)(change(c.Request().Context(), a, id, key, reason))
}

func (h *Handler) listMessages(c echo.Context) error {
	a, id, err := AccountAndID(c)
	if err != nil {
		return err
	}
	after, err := api.QueryID(c, "after")
	if err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.svc.Messages(c.Request().Context(), a, id, after))
}

func (h *Handler) sendMessage(c echo.Context) error {
	a, id, err := AccountAndID(c)
	if err != nil {
		return err
	}
	var in struct {
		Body string `json:"body"`
	}
	if err := api.BindJSON(c, &in); err != nil {
		return err
	}
	return api.Reply(c, http.StatusCreated)(h.svc.SendMessage(c.Request().Context(), a, id, in.Body, c.RealIP()))
}
