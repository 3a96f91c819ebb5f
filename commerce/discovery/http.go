package discovery

import (
	_ "embed"
	"net/http"
	"strings"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/internal/api"

	"github.com/labstack/echo/v4"
)

// OpenAPI describes the discovery routes (interactions, feed,
// search, hashtags, follows, notifications, analytics, shares); cmd merges
// it into /api/openapi.json next to OpenAPI.
//
//go:embed openapi.json
var OpenAPI []byte

// Handler serves discovery and engagement over HTTP.
type Handler struct {
	d    *Service
	h    *commerce.Handler
	auth echo.MiddlewareFunc
}

// NewHandler returns the handler; h is the commerce Handler whose
// Authenticate identifies callers.
func NewHandler(d *Service, h *commerce.Handler) *Handler {
	return &Handler{d: d, h: h, auth: h.AuthenticateOnce}
}

// Register adds the routes to g, the /api group. Each route identifies the
// caller itself unless the group's middleware already did.
func (h *Handler) Register(g *echo.Group) {
	a := h.auth
	g.POST("/interactions", h.recordEvents, a)
	g.GET("/feed", h.feed, a)
	g.GET("/discover/live", h.liveNow, a)

	g.GET("/search", h.search, a)
	g.GET("/search/products", h.searchProducts, a)
	g.GET("/search/shops", h.searchShops, a)
	g.GET("/search/streams", h.searchStreams, a)
	g.GET("/hashtags", h.trendingTags, a)
	g.GET("/hashtags/:tag/products", h.hashtagProducts, a)
	g.GET("/hashtags/:tag/streams", h.hashtagStreams, a)

	g.GET("/shops/:id/follow", h.followState, a)
	g.PUT("/shops/:id/follow", h.follow, a)
	g.DELETE("/shops/:id/follow", h.unfollow, a)
	g.GET("/me/following", h.following, a)
	g.GET("/me/following/live", h.followingLive, a)
	g.GET("/me/notifications", h.notifications, a)

	g.GET("/streams/:id/analytics", h.streamAnalytics, a)
	g.GET("/shops/:id/analytics", h.shopAnalytics, a)
	g.GET("/products/:id/analytics", h.productAnalytics, a)

	g.POST("/shares", h.share, a)
}

// RegisterLinks serves share links, GET /s/:code, on the site's root.
func (h *Handler) RegisterLinks(e *echo.Echo) {
	e.GET("/s/:code", h.openShare)
}

// clientEvent is an interaction a page reports.
type clientEvent struct {
	// Type is product_viewed or product_clicked.
	Type      string `json:"type"`
	ProductID int64  `json:"product_id"`
	StreamID  int64  `json:"stream_id"`
	Source    string `json:"source"`
}

const maxClientEvents = 50

func (h *Handler) recordEvents(c echo.Context) error {
	a := commerce.Caller(c)
	var in struct {
		Events []clientEvent `json:"events"`
	}
	if err := api.BindJSON(c, &in); err != nil {
		return err
	}
	if len(in.Events) == 0 || len(in.Events) > maxClientEvents {
		return commerce.Invalid("send 1 to %d events", maxClientEvents)
	}
	evs := make([]Interaction, 0, len(in.Events))
	for i, e := range in.Events {
		ev := Interaction{AccountID: a.ID, ProductID: e.ProductID, StreamID: e.StreamID, Source: strings.TrimSpace(e.Source)}
		switch e.Type {
		case "product_viewed":
			ev.Kind = InteractionView
		case "product_clicked":
			ev.Kind = InteractionClick
		default:
			return commerce.Invalid("events[%d].type must be product_viewed or product_clicked", i)
		}
		if e.ProductID <= 0 || e.StreamID < 0 {
			return commerce.Invalid("events[%d] needs a product_id (and an optional stream_id)", i)
		}
		evs = append(evs, ev)
	}
	if err := h.d.allowClientEvents(c.Request().Context(), a, c.RealIP()); err != nil {
		return err
	}
	accepted := 0
	for _, ev := range evs {
		if h.d.Record(ev) {
			accepted++
		}
	}
	return c.JSON(http.StatusAccepted, map[string]int{"accepted": accepted})
}

func (h *Handler) feed(c echo.Context) error {
	p, err := api.PageOf(c)
	if err != nil {
		return err
	}
	page, err := h.d.Feed(c.Request().Context(), commerce.Caller(c), commerce.PageRequest{Cursor: c.QueryParam("cursor"), Limit: p.Limit})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "private, no-store")
	return c.JSON(http.StatusOK, page)
}

// limitParam reads ?limit= with a default.
func limitParam(c echo.Context, def int) (int, error) {
	p, err := api.PageOf(c)
	if err != nil {
		return 0, err
	}
	if p.Limit == 0 {
		return def, nil
	}
	return p.Limit, nil
}

func (h *Handler) liveNow(c echo.Context) error {
	limit, err := limitParam(c, 24)
	if err != nil {
		return err
	}
	live, err := h.d.LiveNow(c.Request().Context(), commerce.Caller(c), limit)
	if err != nil {
		return err
	}
	return api.ListJSON(c, live, "")
}

func (h *Handler) search(c echo.Context) error {
	limit, err := limitParam(c, 5)
	if err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.d.Search(c.Request().Context(), c.QueryParam("q"), min(limit, 20)))
}

func (h *Handler) searchProducts(c echo.Context) error {
	return api.ListPage(c, func(p commerce.PageRequest) ([]ProductSummary, string, error) {
		return h.d.SearchProducts(c.Request().Context(), c.QueryParam("q"), p)
	})
}

func (h *Handler) searchShops(c echo.Context) error {
	return api.ListPage(c, func(p commerce.PageRequest) ([]ShopHit, string, error) {
		return h.d.SearchShops(c.Request().Context(), c.QueryParam("q"), p)
	})
}

func (h *Handler) searchStreams(c echo.Context) error {
	return api.ListPage(c, func(p commerce.PageRequest) ([]StreamSummary, string, error) {
		return h.d.SearchStreams(c.Request().Context(), c.QueryParam("q"), p)
	})
}

func (h *Handler) trendingTags(c echo.Context) error {
	limit, err := limitParam(c, 20)
	if err != nil {
		return err
	}
	tags, err := h.d.TrendingTags(c.Request().Context(), c.QueryParam("prefix"), limit)
	if err != nil {
		return err
	}
	return api.ListJSON(c, tags, "")
}

func (h *Handler) hashtagProducts(c echo.Context) error {
	return api.ListPage(c, func(p commerce.PageRequest) ([]ProductSummary, string, error) {
		return h.d.HashtagProducts(c.Request().Context(), c.Param("tag"), p)
	})
}

func (h *Handler) hashtagStreams(c echo.Context) error {
	limit, err := limitParam(c, 20)
	if err != nil {
		return err
	}
	streams, err := h.d.HashtagStreams(c.Request().Context(), c.Param("tag"), limit)
	if err != nil {
		return err
	}
	return api.ListJSON(c, streams, "")
}

func (h *Handler) followState(c echo.Context) error {
	id, err := h.h.ShopParam(c)
	if err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.d.FollowState(c.Request().Context(), commerce.Caller(c), id))
}

func (h *Handler) follow(c echo.Context) error {
	a, id, err := h.h.AccountAndShop(c)
	if err != nil {
		return err
	}
	var in struct {
		StreamID int64 `json:"stream_id"`
	}
	if c.Request().ContentLength != 0 {
		if err := api.BindJSON(c, &in); err != nil {
			return err
		}
	}
	return api.Reply(c, http.StatusOK)(h.d.Follow(c.Request().Context(), a, id, in.StreamID))
}

func (h *Handler) unfollow(c echo.Context) error {
	a, id, err := h.h.AccountAndShop(c)
	if err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.d.Unfollow(c.Request().Context(), a, id))
}

func (h *Handler) following(c echo.Context) error {
	a, err := commerce.MustAccount(c)
	if err != nil {
		return err
	}
	return api.ListPage(c, func(p commerce.PageRequest) ([]FollowedShop, string, error) {
		return h.d.Following(c.Request().Context(), a, p)
	})
}

func (h *Handler) followingLive(c echo.Context) error {
	a, err := commerce.MustAccount(c)
	if err != nil {
		return err
	}
	live, err := h.d.FollowingLive(c.Request().Context(), a)
	if err != nil {
		return err
	}
	return api.ListJSON(c, live, "")
}

func (h *Handler) notifications(c echo.Context) error {
	a, err := commerce.MustAccount(c)
	if err != nil {
		return err
	}
	return h.d.alerts.serveAlerts(c.Response(), c.Request(), a)
}

func (h *Handler) share(c echo.Context) error {
	var in ShareRequest
	if err := api.BindJSON(c, &in); err != nil {
		return err
	}
	return api.Reply(c, http.StatusCreated)(h.d.Share(c.Request().Context(), commerce.Caller(c), in, c.RealIP()))
}

func (h *Handler) openShare(c echo.Context) error {
	a, _ := h.d.svc.AuthenticateRequest(c.Request())
	target, err := h.d.OpenShare(c.Request().Context(), a, c.Param("code"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusFound, target)
}
