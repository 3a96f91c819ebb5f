// Package static holds Liveshop's pages, styles and scripts, embedded in the
// binary so one file is all a deployment needs.
package static

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed pages assets
var files embed.FS

// Register serves the pages and their assets on e.
func Register(e *echo.Echo) {
	assets, _ := fs.Sub(files, "assets")
	fileServer := http.StripPrefix("/assets/", http.FileServer(http.FS(assets)))
	e.GET("/assets/*", echo.WrapHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Assets change only with a new binary; let browsers revalidate
		// cheaply rather than cache stale scripts across an upgrade.
		w.Header().Set("Cache-Control", "no-cache")
		fileServer.ServeHTTP(w, r)
	})))
	e.GET("/", page("index.html"))
}

// page serves one embedded HTML page.
func page(name string) echo.HandlerFunc {
	return func(c echo.Context) error {
		body, err := files.ReadFile("pages/" + name)
		if err != nil {
			return err
		}
		c.Response().Header().Set("Cache-Control", "no-cache")
		return c.HTMLBlob(http.StatusOK, body)
	}
}
