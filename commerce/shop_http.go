package commerce

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/liveshop/liveshop/commerce/internal/api"

	"github.com/labstack/echo/v4"
)

// ShopParam resolves the :id path parameter, which may be a shop ID or its
// handle (so /api/shops/mara-ceramics works as a share link).
func (h *Handler) ShopParam(c echo.Context) (int64, error) {
	v := c.Param("id")
	if id, err := strconv.ParseInt(v, 10, 64); err == nil {
		if id <= 0 {
			return 0, ErrNotFound
		}
		return id, nil
	}
	shop, err := h.svc.ShopByHandle(c.Request().Context(), v)
	if err != nil {
		return 0, err
	}
	return shop.ID, nil
}

func (h *Handler) currencies(c echo.Context) error {
	return c.JSON(http.StatusOK, Currencies())
}

func (h *Handler) listShops(c echo.Context) error {
	return api.ListPage(c, func(p PageRequest) ([]Shop, string, error) {
		return h.svc.Shops(c.Request().Context(), p)
	})
}

func (h *Handler) openShop(c echo.Context) error {
	a, err := MustAccount(c)
	if err != nil {
		return err
	}
	var in OpenShop
	if err := api.BindJSON(c, &in); err != nil {
		return err
	}
	return api.Reply(c, http.StatusCreated)(h.svc.OpenShop(c.Request().Context(), a, in))
}

func (h *Handler) getShop(c echo.Context) error {
	id, err := h.ShopParam(c)
	if err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.svc.Shop(c.Request().Context(), id))
}

func (h *Handler) updateShop(c echo.Context) error {
	a, id, err := h.AccountAndShop(c)
	if err != nil {
		return err
	}
	var in ShopPatch
	if err := api.BindJSON(c, &in); err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.svc.UpdateShop(c.Request().Context(), a, id, in))
}

// uploadBody returns the image of an upload request: the "image" (or first
// file) part of a multipart/form-data body, or the raw body otherwise. The
// body is capped a little above Config.MaxImageBytes for multipart framing;
// the image itself is checked against the exact limit.
func (h *Handler) uploadBody(c echo.Context) (io.Reader, error) {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, h.svc.cfg.MaxImageBytes+64<<10)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return r.Body, nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, BadRequest("cannot read multipart body: %v", err)
	}
	for {
		part, err := mr.NextPart()
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return nil, api.New(413, ErrImageTooLarge.Code, fmt.Sprintf("image is larger than %d bytes", h.svc.cfg.MaxImageBytes))
		case errors.Is(err, io.EOF):
			return nil, BadRequest("the form has no image part (name it \"image\")")
		case err != nil:
			return nil, BadRequest("cannot read multipart body: %v", err)
		}
		if part.FormName() == "image" || part.FileName() != "" {
			return part, nil
		}
	}
}

func (h *Handler) uploadShopLogo(c echo.Context) error {
	a, id, err := h.AccountAndShop(c)
	if err != nil {
		return err
	}
	body, err := h.uploadBody(c)
	if err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.svc.SetShopLogo(c.Request().Context(), a, id, body))
}

func (h *Handler) listModerators(c echo.Context) error {
	a, id, err := h.AccountAndShop(c)
	if err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.svc.Moderators(c.Request().Context(), a, id))
}

// appointModerator answers the old route that appointed any account by
// email or ID without its consent (and told the seller its email): it
// points to invitations instead.
func (h *Handler) appointModerator(echo.Context) error {
	return ErrUseInvitations
}

func (h *Handler) removeModerator(c echo.Context) error {
	a, id, err := h.AccountAndShop(c)
	if err != nil {
		return err
	}
	accountID, err := api.PathID(c, "account")
	if err != nil {
		return err
	}
	if err := h.svc.RemoveModerator(c.Request().Context(), a, id, accountID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// serveImage serves an uploaded image. Names are random and files never
// change, so browsers and CDNs may keep them for a year without asking.
func (h *Handler) serveImage(c echo.Context) error {
	f, ct, err := h.svc.OpenImage(c.Param("name"))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := c.Response().Header()
	hdr.Set("Content-Type", ct)
	hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	hdr.Set("ETag", `"`+c.Param("name")+`"`)
	http.ServeContent(c.Response(), c.Request(), "", st.ModTime(), f)
	return nil
}
