package commerce

import (
	"net/http"

	"github.com/liveshop/liveshop/commerce/internal/api"

	"github.com/labstack/echo/v4"
)

func (h *Handler) listProducts(c echo.Context) error {
	p, err := api.PageOf(c)
	if err != nil {
		return err
	}
	shopID, err := api.QueryID(c, "shop")
	if err != nil {
		return err
	}
	f := ProductFilter{ShopID: shopID, Hashtag: c.QueryParam("hashtag"), Query: c.QueryParam("q"), PageRequest: p}
	return h.products(c, f)
}

func (h *Handler) products(c echo.Context, f ProductFilter) error {
	products, next, err := h.svc.Products(c.Request().Context(), Caller(c), f)
	if err != nil {
		return err
	}
	return api.ListJSON(c, products, next)
}

func (h *Handler) shopProducts(c echo.Context) error {
	id, err := h.ShopParam(c)
	if err != nil {
		return err
	}
	p, err := api.PageOf(c)
	if err != nil {
		return err
	}
	f := ProductFilter{ShopID: id, Hashtag: c.QueryParam("hashtag"), Query: c.QueryParam("q"), Status: c.QueryParam("status"), PageRequest: p}
	return h.products(c, f)
}

func (h *Handler) createProduct(c echo.Context) error {
	a, id, err := h.AccountAndShop(c)
	if err != nil {
		return err
	}
	var in ProductPatch
	if err := api.BindJSON(c, &in); err != nil {
		return err
	}
	return api.Reply(c, http.StatusCreated)(h.svc.CreateProduct(c.Request().Context(), a, id, in))
}

func (h *Handler) getProduct(c echo.Context) error {
	id, err := api.PathID(c, "id")
	if err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.svc.Product(c.Request().Context(), Caller(c), id))
}

func (h *Handler) uploadProductImage(c echo.Context) error {
	a, id, err := AccountAndID(c)
	if err != nil {
		return err
	}
	body, err := h.uploadBody(c)
	if err != nil {
		return err
	}
	return api.Reply(c, http.StatusCreated)(h.svc.AddProductImage(c.Request().Context(), a, id, body))
}

func (h *Handler) deleteProductImage(c echo.Context) error {
	a, id, err := AccountAndID(c)
	if err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.svc.RemoveProductImage(c.Request().Context(), a, id, c.Param("name")))
}

func (h *Handler) listReviews(c echo.Context) error {
	id, err := api.PathID(c, "id")
	if err != nil {
		return err
	}
	return api.ListPage(c, func(p PageRequest) ([]Review, string, error) {
		return h.svc.Reviews(c.Request().Context(), Caller(c), id, p)
	})
}
