package api

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
)

// PageRequest asks for one page of a list that is ordered newest first. Cursor is
// the opaque next_cursor of the previous page ("" for the first page).
// Cursors are keyset positions, so pages stay stable while rows are added.
type PageRequest struct {
	Cursor string
	Limit  int
}

// Page sizes: the default, and the most one request may ask for.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Parse returns the ID to continue below (0: from the start) and the page size.
func (p PageRequest) Parse() (before int64, limit int, err error) {
	limit = p.Limit
	switch {
	case limit == 0:
		limit = DefaultPageSize
	case limit < 0 || limit > MaxPageSize:
		return 0, 0, BadRequest("limit must be between 1 and %d", MaxPageSize)
	}
	if p.Cursor != "" {
		before, err = strconv.ParseInt(p.Cursor, 36, 64)
		if err != nil || before <= 0 {
			return 0, 0, BadRequest("cursor is not one this API returned")
		}
	}
	return before, limit, nil
}

// CutPage trims a result fetched with limit+1 rows to limit and returns the
// cursor of the next page, "" on the last page.
func CutPage[T any](items []T, limit int, id func(T) int64) ([]T, string) {
	if items == nil {
		items = []T{}
	}
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, strconv.FormatInt(id(items[limit-1]), 36)
}

// PageOf reads the cursor and limit query parameters.
func PageOf(c echo.Context) (PageRequest, error) {
	p := PageRequest{Cursor: c.QueryParam("cursor")}
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 || n > MaxPageSize {
			return PageRequest{}, BadRequest("limit must be a whole number from 1 to %d", MaxPageSize)
		}
		p.Limit = n
	}
	return p, nil
}

// listResponse is one page of a list; NextCursor is absent on the last page.
type listResponse[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// ListJSON writes one page of a list.
func ListJSON[T any](c echo.Context, items []T, next string) error {
	return c.JSON(http.StatusOK, listResponse[T]{Items: items, NextCursor: next})
}

// ListPage reads the page query parameters, runs the listing with them and
// writes the page it returns.
func ListPage[T any](c echo.Context, run func(PageRequest) ([]T, string, error)) error {
	p, err := PageOf(c)
	if err != nil {
		return err
	}
	items, next, err := run(p)
	if err != nil {
		return err
	}
	return ListJSON(c, items, next)
}
