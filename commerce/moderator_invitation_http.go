package commerce

import (
	"net/http"

	"github.com/liveshop/liveshop/commerce/internal/api"

	"github.com/labstack/echo/v4"
)

func (h *Handler) inviteModerator(c echo.Context) error {
	a, id, err := h.AccountAndShop(c)
	if err != nil {
		return err
	}
	var in struct {
		Email string `json:"email"`
	}
	if err := api.BindJSON(c, &in); err != nil {
		return err
	}
	// 202 whatever the email: the invitation waits for its account, which
	// may not exist yet.
	return api.Reply(c, http.StatusAccepted)(h.svc.InviteModerator(c.Request().Context(), a, id, in.Email))
}

func (h *Handler) listModeratorInvitations(c echo.Context) error {
	a, id, err := h.AccountAndShop(c)
	if err != nil {
		return err
	}
	return api.ListPage(c, func(p PageRequest) ([]ModeratorInvitation, string, error) {
		return h.svc.ModeratorInvitations(c.Request().Context(), a, id, p)
	})
}

func (h *Handler) revokeModeratorInvitation(c echo.Context) error {
	a, id, err := h.AccountAndShop(c)
	if err != nil {
		return err
	}
	inv, err := api.PathID(c, "invitation")
	if err != nil {
		return err
	}
	if err := h.svc.RevokeModeratorInvitation(c.Request().Context(), a, id, inv); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *Handler) receivedInvitations(c echo.Context) error {
	a, err := MustAccount(c)
	if err != nil {
		return err
	}
	invs, err := h.svc.ReceivedInvitations(c.Request().Context(), a)
	if err != nil {
		return err
	}
	return api.ListJSON(c, invs, "")
}

func (h *Handler) declineInvitation(c echo.Context) error {
	a, id, err := AccountAndID(c)
	if err != nil {
		return err
	}
	if err := h.svc.DeclineModeratorInvitation(c.Request().Context(), a, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
