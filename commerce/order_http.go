package commerce

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
)

// IdempotencyKeyHeader carries the client's key for money-moving writes.
const IdempotencyKeyHeader = "Idempotency-Key"

func (h *Handler) getCart(c echo.Context) error {
	a, err := mustAccount(c)
	if err != nil {
		return err
	}
	cart, err := h.svc.Cart(c.Request().Context(), a)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cart)
}

func (h *Handler) addCartLine(c echo.Context) error {
	a, err := mustAccount(c)
	if err != nil {
		return err
	}
	var in struct {
		ProductID int64 `json:"product_id"`
		Quantity  int64 `json:"quantity"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if in.ProductID <= 0 {
		return Invalid("product_id is required")
	}
	cart, err := h.svc.AddToCart(c.Request().Context(), a, in.ProductID, in.Quantity)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cart)
}

func (h *Handler) setCartLine(c echo.Context) error {
	a, err := mustAccount(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Quantity int64 `json:"quantity"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	cart, err := h.svc.SetCartQuantity(c.Request().Context(), a, id, in.Quantity)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cart)
}

func (h *Handler) removeCartLine(c echo.Context) error {
	a, err := mustAccount(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	cart, err := h.svc.RemoveFromCart(c.Request().Context(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cart)
}

func (h *Handler) checkout(c echo.Context) error {
	a, err := mustAccount(c)
	if err != nil {
		return err
	}
	var in CheckoutRequest
	if err := bindJSON(c, &in); err != nil {
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
	a, err := mustAccount(c)
	if err != nil {
		return err
	}
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	orders, next, err := h.svc.Orders(c.Request().Context(), a, p)
	if err != nil {
		return err
	}
	return listJSON(c, orders, next)
}

func (h *Handler) shopOrders(c echo.Context) error {
	a, err := mustAccount(c)
	if err != nil {
		return err
	}
	id, err := h.shopParam(c)
	if err != nil {
		return err
	}
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	orders, next, err := h.svc.ShopOrders(c.Request().Context(), a, id, c.QueryParam("status"), p)
	if err != nil {
		return err
	}
	return listJSON(c, orders, next)
}

// orderAction reads the caller and the order ID of an /orders/:id/... route.
func orderAction(c echo.Context) (Account, int64, error) {
	a, err := mustAccount(c)
	if err != nil {
		return Account{}, 0, err
	}
	id, err := pathID(c, "id")
	return a, id, err
}

func (h *Handler) getOrder(c echo.Context) error {
	a, id, err := orderAction(c)
	if err != nil {
		return err
	}
	o, err := h.svc.Order(c.Request().Context(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

func (h *Handler) shipOrder(c echo.Context) error {
	a, id, err := orderAction(c)
	if err != nil {
		return err
	}
	var in struct {
		Carrier        string `json:"carrier"`
		TrackingNumber string `json:"tracking_number"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	o, err := h.svc.ShipOrder(c.Request().Context(), a, id, in.Carrier, in.TrackingNumber)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

func (h *Handler) deliverOrder(c echo.Context) error {
	a, id, err := orderAction(c)
	if err != nil {
		return err
	}
	o, err := h.svc.DeliverOrder(c.Request().Context(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

// reasonBody reads an optional {"reason": "..."} body.
func reasonBody(c echo.Context) (string, error) {
	var in struct {
		Reason string `json:"reason"`
	}
	if c.Request().ContentLength == 0 {
		return "", nil
	}
	err := bindJSON(c, &in)
	return in.Reason, err
}

func (h *Handler) cancelOrder(c echo.Context) error {
	a, id, err := orderAction(c)
	if err != nil {
		return err
	}
	reason, err := reasonBody(c)
	if err != nil {
		return err
	}
	o, err := h.svc.CancelOrder(c.Request().Context(), a, id, c.Request().Header.Get(IdempotencyKeyHeader), reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

func (h *Handler) refundOrder(c echo.Context) error {
	a, id, err := orderAction(c)
	if err != nil {
		return err
	}
	reason, err := reasonBody(c)
	if err != nil {
		return err
	}
	o, err := h.svc.RefundOrder(c.Request().Context(), a, id, c.Request().Header.Get(IdempotencyKeyHeader), reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

func (h *Handler) listMessages(c echo.Context) error {
	a, id, err := orderAction(c)
	if err != nil {
		return err
	}
	after, err := queryID(c, "after")
	if err != nil {
		return err
	}
	ms, err := h.svc.Messages(c.Request().Context(), a, id, after)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ms)
}

func (h *Handler) sendMessage(c echo.Context) error {
	a, id, err := orderAction(c)
	if err != nil {
		return err
	}
	var in struct {
		Body string `json:"body"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	m, err := h.svc.SendMessage(c.Request().Context(), a, id, in.Body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, m)
}
