package discovery

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/liveshop/liveshop/commerce"
)

// csvWriter is what the three reports have in common.
type csvWriter interface{ WriteCSV(w io.Writer) error }

// wantsCSV reports whether the client asked for CSV: ?format=csv or an
// Accept header that prefers text/csv.
func wantsCSV(c echo.Context) (bool, error) {
	switch c.QueryParam("format") {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
		return strings.HasPrefix(c.Request().Header.Get("Accept"), "text/csv"), nil
	}
	return false, commerce.BadRequest("format must be json or csv")
}

// report writes r as JSON or, when asked, as a CSV attachment named name.
func report(c echo.Context, r csvWriter, name string) error {
	asCSV, err := wantsCSV(c)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "private, no-store")
	if !asCSV {
		return c.JSON(http.StatusOK, r)
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`.csv"`)
	res.WriteHeader(http.StatusOK)
	return r.WriteCSV(res)
}

// reportRange checks ?format= and reads ?from= and ?to= of a dated report,
// so that a bad request is refused before the report is built.
func (h *Handler) reportRange(c echo.Context) (from, to time.Time, err error) {
	if _, err := wantsCSV(c); err != nil {
		return time.Time{}, time.Time{}, err
	}
	return h.d.ReportRange(c.QueryParam("from"), c.QueryParam("to"))
}

func (h *Handler) streamAnalytics(c echo.Context) error {
	a, id, err := commerce.AccountAndID(c)
	if err != nil {
		return err
	}
	if _, err := wantsCSV(c); err != nil {
		return err
	}
	r, err := h.d.StreamAnalytics(c.Request().Context(), a, id)
	if err != nil {
		return err
	}
	return report(c, r, "stream-"+strconv.FormatInt(id, 10)+"-analytics")
}

func (h *Handler) shopAnalytics(c echo.Context) error {
	a, id, err := h.h.AccountAndShop(c)
	if err != nil {
		return err
	}
	from, to, err := h.reportRange(c)
	if err != nil {
		return err
	}
	r, err := h.d.ShopAnalytics(c.Request().Context(), a, id, from, to)
	if err != nil {
		return err
	}
	return report(c, r, "shop-"+strconv.FormatInt(id, 10)+"-"+from.Format(reportDateLayout)+"-analytics")
}

func (h *Handler) productAnalytics(c echo.Context) error {
	a, id, err := commerce.AccountAndID(c)
	if err != nil {
		return err
	}
	from, to, err := h.reportRange(c)
	if err != nil {
		return err
	}
	r, err := h.d.ProductAnalytics(c.Request().Context(), a, id, from, to)
	if err != nil {
		return err
	}
	return report(c, r, "product-"+strconv.FormatInt(id, 10)+"-analytics")
}
