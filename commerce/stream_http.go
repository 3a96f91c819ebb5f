package commerce

import (
	"net/http"

	"github.com/liveshop/liveshop/commerce/internal/api"

	"github.com/labstack/echo/v4"
)

func (h *Handler) listStreams(c echo.Context) error {
	p, err := api.PageOf(c)
	if err != nil {
		return err
	}
	shopID, err := api.QueryID(c, "shop")
	if err != nil {
		return err
	}
	return h.streams(c, StreamFilter{ShopID: shopID, Status: c.QueryParam("status"), PageRequest: p})
}

func (h *Handler) shopStreams(c echo.Context) error {
	id, err := h.ShopParam(c)
	if err != nil {
		return err
	}
	p, err := api.PageOf(c)
	if err != nil {
		return err
	}
	return h.streams(c, StreamFilter{ShopID: id, Status: c.QueryParam("status"), PageRequest: p})
}

func (h *Handler) streams(c echo.Context, f StreamFilter) error {
	sts, next, err := h.svc.Streams(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return api.ListJSON(c, sts, next)
}

func (h *Handler) createStream(c echo.Context) error {
	a, id, err := h.AccountAndShop(c)
	if err != nil {
		return err
	}
	var in StreamPatch
	if err := api.BindJSON(c, &in); err != nil {
		return err
	}
	st, err := h.svc.CreateStream(c.Request().Context(), a, id, in)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, st)
}

func (h *Handler) getStream(c echo.Context) error {
	id, err := api.PathID(c, "id")
	if err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.svc.Stream(c.Request().Context(), id))
}

func (h *Handler) rotateStreamKey(c echo.Context) error {
	a, id, err := AccountAndID(c)
	if err != nil {
		return err
	}
	st, err := h.svc.RotateStreamKey(c.Request().Context(), a, id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, st)
}
