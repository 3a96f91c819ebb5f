package commerce

import (
	"strconv"
)

// Page asks for one page of a list that is ordered newest first. Cursor is
// the opaque next_cursor of the previous page ("" for the first page).
// Cursors are keyset positions, so pages stay stable while rows are added.
type Page struct {
	Cursor string
	Limit  int
}

const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// parse returns the ID to continue below (0: from the start) and the page size.
func (p Page) parse() (before int64, limit int, err error) {
	limit = p.Limit
	switch {
	case limit == 0:
		limit = defaultPageSize
	case limit < 0 || limit > maxPageSize:
		return 0, 0, BadRequest("limit must be between 1 and %d", maxPageSize)
	}
	if p.Cursor != "" {
		before, err = strconv.ParseInt(p.Cursor, 36, 64)
		if err != nil || before <= 0 {
			return 0, 0, BadRequest("cursor is not one this API returned")
		}
	}
	return before, limit, nil
}

// cutPage trims a result fetched with limit+1 rows to limit and returns the
// cursor of the next page, "" on the last page.
func cutPage[T any](items []T, limit int, id func(T) int64) ([]T, string) {
	if items == nil {
		items = []T{}
	}
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, strconv.FormatInt(id(items[limit-1]), 36)
}
