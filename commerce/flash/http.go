package flash

import (
	_ "embed"
	"net/http"
	"strconv"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/internal/api"

	"github.com/labstack/echo/v4"
)

// OpenAPIFlashSale describes the flash-sale, coupon and purchase-privacy
// routes; cmd merges it into /api/openapi.json next to OpenAPI.
//
//go:embed openapi.json
var OpenAPIFlashSale []byte

// Handler serves flash sales, live coupons and the buyer's ticker
// privacy.
type Handler struct {
	f    *Service
	auth echo.MiddlewareFunc
}

// NewHandler returns the handler; h is the commerce Handler whose
// Authenticate identifies callers.
func NewHandler(f *Service, h *commerce.Handler) *Handler {
	return &Handler{f: f, auth: h.AuthenticateOnce}
}

// Register adds the routes to g, the /api group. Each route identifies the
// caller itself unless the group's middleware already did.
func (h *Handler) Register(g *echo.Group) {
	a := h.auth
	g.POST("/streams/:id/flash-sales", commerce.OnIDWith(http.StatusCreated, h.f.CreateSale), a)
	g.GET("/streams/:id/flash-sales", h.streamSales, a)
	g.GET("/flash-sales/:id", h.sale, a)
	g.POST("/flash-sales/:id/stop", commerce.OnID(http.StatusOK, h.f.StopSale), a)
	g.POST("/flash-sales/:id/reservations", h.reserve, a)
	g.GET("/flash-sales/:id/reservations/:rid", h.reservation, a)
	g.DELETE("/flash-sales/:id/reservations/:rid", h.cancelReservation, a)
	g.POST("/flash-sales/:id/reservations/:rid/checkout", h.checkout, a)
	g.POST("/flash-sales/:id/baseline-reservations", h.baselineReserve, a)
}

func (h *Handler) streamSales(c echo.Context) error {
	id, err := api.PathID(c, "id")
	if err != nil {
		return err
	}
	sales, err := h.f.StreamSales(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if sales == nil {
		sales = []Sale{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": sales})
}

func (h *Handler) sale(c echo.Context) error {
	id, err := api.PathID(c, "id")
	if err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.f.Sale(c.Request().Context(), id))
}

// reserveRequest is the body of "Buy now"; an empty body reserves one unit.
type reserveRequest struct {
	Quantity int64 `json:"quantity"`
}

// reservationView is a reservation with the units the sale has left.
type reservationView struct {
	Reservation Reservation `json:"reservation"`
	Remaining   int64       `json:"remaining"`
	SoldOut     bool        `json:"sold_out"`
}

func (h *Handler) readQuantity(c echo.Context) (int64, error) {
	in := reserveRequest{Quantity: 1}
	if c.Request().ContentLength != 0 {
		if err := api.BindJSON(c, &in); err != nil {
			return 0, err
		}
	}
	return in.Quantity, nil
}

func (h *Handler) reserve(c echo.Context) error {
	a, id, err := commerce.AccountAndID(c)
	if err != nil {
		return err
	}
	q, err := h.readQuantity(c)
	if err != nil {
		return err
	}
	r, counts, err := h.f.Reserve(c.Request().Context(), a, id, q)
	if err != nil {
		return err
	}
	// The hot path of a sale: the answer is written by hand, the same JSON
	// encoding/json would write for reservationView, without reflection.
	buf := make([]byte, 0, 256)
	return c.Blob(http.StatusCreated, echo.MIMEApplicationJSON, appendReservationView(buf, r, counts))
}

// appendReservationView appends the JSON of reservationView{r, counts}.
func appendReservationView(b []byte, r Reservation, c StockCounts) []byte {
	b = append(b, `{"reservation":{"sale_id":`...)
	b = strconv.AppendInt(b, r.SaleID, 10)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, r.ID, 10)
	b = append(b, `,"buyer_id":`...)
	b = strconv.AppendInt(b, r.BuyerID, 10)
	b = append(b, `,"quantity":`...)
	b = strconv.AppendInt(b, r.Quantity, 10)
	b = append(b, `,"state":"`...)
	b = append(b, r.State...) // one of the ReservationState constants: no escaping
	b = append(b, `","expires_at":"`...)
	b = r.ExpiresAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `"},"remaining":`...)
	b = strconv.AppendInt(b, c.Remaining, 10)
	b = append(b, `,"sold_out":`...)
	b = strconv.AppendBool(b, c.SoldOut())
	return append(b, "}\n"...)
}

func (h *Handler) baselineReserve(c echo.Context) error {
	if !h.f.cfg.SQLBaseline {
		return api.New(404, "not_found", "the SQL baseline is off (start the server with --flash-sale-baseline)")
	}
	a, id, err := commerce.AccountAndID(c)
	if err != nil {
		return err
	}
	q, err := h.readQuantity(c)
	if err != nil {
		return err
	}
	if _, err := h.f.BaselineReserve(c.Request().Context(), a, id, q); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]int64{"quantity": q})
}

func (h *Handler) reservationIDs(c echo.Context) (commerce.Account, int64, int64, error) {
	a, sale, err := commerce.AccountAndID(c)
	if err != nil {
		return commerce.Account{}, 0, 0, err
	}
	rid, err := strconv.ParseInt(c.Param("rid"), 10, 64)
	if err != nil || rid <= 0 {
		return commerce.Account{}, 0, 0, ErrReservationNotFound
	}
	return a, sale, rid, nil
}

func (h *Handler) reservation(c echo.Context) error {
	a, sale, rid, err := h.reservationIDs(c)
	if err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.f.Reservation(c.Request().Context(), a, sale, rid))
}

func (h *Handler) cancelReservation(c echo.Context) error {
	a, sale, rid, err := h.reservationIDs(c)
	if err != nil {
		return err
	}
	return api.Reply(c, http.StatusOK)(h.f.CancelReservation(c.Request().Context(), a, sale, rid))
}

func (h *Handler) checkout(c echo.Context) error {
	a, sale, rid, err := h.reservationIDs(c)
	if err != nil {
		return err
	}
	var in CheckoutRequest
	if err := api.BindJSON(c, &in); err != nil {
		return err
	}
	res, err := h.f.Checkout(c.Request().Context(), a, sale, rid, c.Request().Header.Get("Idempotency-Key"), in)
	if err != nil {
		return err
	}
	if res.Replayed {
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	return c.JSON(http.StatusCreated, res)
}
