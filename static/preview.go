package static

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// Link previews: a chat app that is pasted a product or watch link (or a
// share link redirecting to one) reads the page's Open Graph and Twitter
// card tags without running its scripts, so those two pages are rendered
// per request with the product's or stream's title, description and
// picture. Every value goes through html/template, which escapes it.

// Preview kinds, the values of Page.Preview.
const (
	PreviewProduct = "product"
	PreviewStream  = "stream"
)

// Preview is what a link preview shows of a page's subject.
type Preview struct {
	// Title names the subject: the product's or stream's title.
	Title string
	// Description is one short line of plain text.
	Description string
	// Image is the picture's path on this server ("/api/images/...") or
	// an absolute URL; "" for none.
	Image string
}

// PreviewSource looks up the preview of the thing a page names: kind is
// the page's Preview, id its :id. ok is false for anything that is not
// public (unknown IDs, draft or archived products, lookup failures): the
// page then gets generic tags that leak nothing.
type PreviewSource interface {
	Preview(ctx context.Context, kind string, id int64) (p Preview, ok bool)
}

// meta is the layout's link-preview tags; URL and Image are absolute.
type meta struct {
	Title, Description, Type, URL, Image string
}

// genericDescription describes a page whose subject is unknown.
const genericDescription = "Live shopping on Liveshop: watch sellers live and buy from the stream."

// genericMeta is the tags of a page with a Preview kind before (or
// without) a lookup; nil for other pages.
func genericMeta(p Page) *meta {
	if p.Preview == "" {
		return nil
	}
	return &meta{Title: p.Title, Description: genericDescription, Type: "website"}
}

// ogTypes is the Open Graph type of each preview kind.
var ogTypes = map[string]string{PreviewProduct: "product", PreviewStream: "video.other"}

// previewHandler serves p, filling its link-preview tags from src, with
// URLs absolute on origin.
func previewHandler(p Page, src PreviewSource, origin string) echo.HandlerFunc {
	layout, err := parseLayout()
	if err != nil {
		panic(err) // embedded templates: caught by the package's tests
	}
	t, err := parsePage(layout, p)
	if err != nil {
		panic(err)
	}
	return func(c echo.Context) error {
		m := genericMeta(p)
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if src != nil && err == nil && id > 0 {
			if pv, ok := src.Preview(c.Request().Context(), p.Preview, id); ok {
				m = &meta{
					Title:       pv.Title,
					Description: pv.Description,
					Type:        ogTypes[p.Preview],
					URL:         origin + strings.Replace(p.Path, ":id", strconv.FormatInt(id, 10), 1),
					Image:       absolute(origin, pv.Image),
				}
			}
		}
		body, err := executePage(t, p, m)
		if err != nil {
			return err
		}
		c.Response().Header().Set("Cache-Control", "no-cache")
		return c.HTMLBlob(http.StatusOK, body)
	}
}

// absolute makes a path on this server absolute on origin; http(s) URLs
// pass through and anything else is dropped.
func absolute(origin, ref string) string {
	switch {
	case strings.HasPrefix(ref, "/") && !strings.HasPrefix(ref, "//"):
		return origin + ref
	case strings.HasPrefix(ref, "https://"), strings.HasPrefix(ref, "http://"):
		return ref
	}
	return ""
}
