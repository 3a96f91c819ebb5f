// Package static holds Liveshop's pages, styles and scripts, embedded in the
// binary so one file is all a deployment needs.
//
// There is no build step: pages are HTML templates rendered once at start-up
// (one shared layout, so the header and head are written once), and the
// behaviour is plain ES modules under assets/js. Every page route serves the
// same document whatever its path parameters; the page's module reads them
// from location and asks the API for data. The one exception is the
// link-preview tags of the product and watch pages (preview.go), filled
// per request from a PreviewSource so that links unfurl in chat apps.
package static

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

//go:embed pages assets
var files embed.FS

// Page is one browser page: the route it answers, the template that holds
// its main content and the module that drives it.
type Page struct {
	// Path is the Echo route, for example "/product/:id".
	Path string
	// File is the template under pages/ that defines "main".
	File string
	// Title goes into <title>; the module may refine it once data arrives.
	Title string
	// Script is the module under assets/js/pages/ (without ".js").
	Script string
	// Style, if set, is an extra stylesheet under assets/css/ (without
	// ".css") for pages with a layout of their own.
	Style string
	// Immersive pages (the watch page) fill the screen without the site
	// header.
	Immersive bool
	// Preview, if set, is the kind of thing the page's :id names
	// ("product", "stream"): the page is rendered per request with
	// link-preview tags (Open Graph, Twitter card) from a PreviewSource.
	Preview string
}

// Pages lists every page route in one place.
var Pages = []Page{
	{Path: "/", File: "home.html", Title: "Live now", Script: "home"},
	{Path: "/search", File: "search.html", Title: "Search", Script: "search"},
	{Path: "/tag/:name", File: "tag.html", Title: "Hashtag", Script: "tag"},
	{Path: "/login", File: "login.html", Title: "Sign in", Script: "login"},
	{Path: "/signup", File: "login.html", Title: "Create an account", Script: "login"},
	{Path: "/shop/:handle", File: "shop.html", Title: "Shop", Script: "shop"},
	{Path: "/product/:id", File: "product.html", Title: "Product", Script: "product", Preview: PreviewProduct},
	{Path: "/cart", File: "cart.html", Title: "Cart", Script: "cart"},
	{Path: "/orders", File: "orders.html", Title: "Your orders", Script: "orders"},
	{Path: "/orders/:id", File: "order.html", Title: "Order", Script: "order"},
	{Path: "/settings", File: "settings.html", Title: "Settings", Script: "settings"},
	{Path: "/watch/:id", File: "watch.html", Title: "Live", Script: "watch", Style: "watch", Immersive: true, Preview: PreviewStream},
	{Path: "/studio", File: "studio.html", Title: "Studio", Script: "studio", Style: "console"},
	{Path: "/moderate/:id", File: "moderate.html", Title: "Moderate", Script: "moderate", Style: "console"},
	{Path: "/dashboard", File: "dashboard.html", Title: "Dashboard", Script: "dashboard", Style: "console"},
}

// NotFound is the page for paths that name nothing. It has no route: the
// server's error handler answers with it (ServeNotFound) when a page
// request (IsPageRequest) matched no route.
var NotFound = Page{File: "notfound.html", Title: "Page not found", Script: "notfound"}

// navLink is an entry of the site header.
type navLink struct{ Href, Label string }

// nav is the site header's menu. Only pages that exist are linked.
var nav = []navLink{
	{"/", "Live now"},
	{"/cart", "Cart"},
	{"/orders", "Orders"},
	{"/dashboard", "Sell"},
}

// layoutData is what the layout template sees.
type layoutData struct {
	Page
	Nav []navLink
	// Meta, on pages with a Preview kind, fills the link-preview tags.
	Meta *meta
}

// Register serves the pages and their assets on e. previews fills the
// link-preview tags of pages with a Preview kind; nil gives them generic
// tags only. origin is the server's public URL ("https://shop.example"),
// which the tags' URLs are absolute on: never the request's Host, which
// the client writes.
func Register(e *echo.Echo, previews PreviewSource, origin string) {
	rendered, err := Render()
	if err != nil {
		// The templates are embedded: a failure here is a programming
		// error that the package's tests catch before release.
		panic(err)
	}
	assets, _ := fs.Sub(files, "assets")
	fileServer := http.StripPrefix("/assets/", http.FileServer(http.FS(assets)))
	e.GET("/assets/*", echo.WrapHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Assets change only with a new binary; let browsers revalidate
		// cheaply rather than cache stale scripts across an upgrade.
		w.Header().Set("Cache-Control", "no-cache")
		fileServer.ServeHTTP(w, r)
	})))
	for _, p := range Pages {
		if p.Preview != "" {
			e.GET(p.Path, previewHandler(p, previews, origin))
			continue
		}
		body := rendered[p.Path]
		e.GET(p.Path, func(c echo.Context) error {
			c.Response().Header().Set("Cache-Control", "no-cache")
			return c.HTMLBlob(http.StatusOK, body)
		})
	}
}

// IsPageRequest reports whether a request is one a browser makes for a
// page (GET or HEAD outside /api/), so that a path naming nothing gets the
// not-found page; API clients keep the JSON error shape.
func IsPageRequest(r *http.Request) bool {
	p := r.URL.Path
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && p != "/api" && !strings.HasPrefix(p, "/api/")
}

// ServeNotFound answers with the not-found page and status 404.
func ServeNotFound(c echo.Context) error {
	doc, err := notFoundDocument()
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.HTMLBlob(http.StatusNotFound, doc)
}

// notFoundDocument renders NotFound once, on first use; the document never
// changes while the binary runs.
var notFoundDocument = sync.OnceValues(func() ([]byte, error) {
	layout, err := parseLayout()
	if err != nil {
		return nil, err
	}
	return renderPage(layout, NotFound)
})

// Render executes every page template and returns the documents by route,
// NotFound's under its empty path.
func Render() (map[string][]byte, error) {
	layout, err := parseLayout()
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(Pages)+1)
	for _, p := range append(Pages[:len(Pages):len(Pages)], NotFound) {
		if out[p.Path], err = renderPage(layout, p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func parseLayout() (*template.Template, error) {
	layout, err := template.ParseFS(files, "pages/layout.html")
	if err != nil {
		return nil, fmt.Errorf("static: layout: %w", err)
	}
	return layout, nil
}

// parsePage is the layout with p's template.
func parsePage(layout *template.Template, p Page) (*template.Template, error) {
	t, err := layout.Clone()
	if err == nil {
		t, err = t.ParseFS(files, "pages/"+p.File)
	}
	if err != nil {
		return nil, fmt.Errorf("static: page %s: %w", p.File, err)
	}
	return t, nil
}

// renderPage executes the layout with p's template; pages with a Preview
// kind get their generic link-preview tags.
func renderPage(layout *template.Template, p Page) ([]byte, error) {
	t, err := parsePage(layout, p)
	if err != nil {
		return nil, err
	}
	return executePage(t, p, genericMeta(p))
}

// executePage renders a parsed page with its link-preview tags (nil for
// none).
func executePage(t *template.Template, p Page, m *meta) ([]byte, error) {
	var buf bytes.Buffer
	if m != nil {
		p.Title = m.Title
	}
	if err := t.ExecuteTemplate(&buf, "layout", layoutData{Page: p, Nav: nav, Meta: m}); err != nil {
		return nil, fmt.Errorf("static: render %s: %w", p.File, err)
	}
	return buf.Bytes(), nil
}
