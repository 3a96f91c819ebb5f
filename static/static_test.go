package static_test

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/liveshop/liveshop/static"
)

func TestPages(t *testing.T) {
	e := echo.New()
	static.Register(e, nil, "http://shop.test")

	t.Run("every page renders with its module and no inline script or style", func(t *testing.T) {
		rendered, err := static.Render()
		if err != nil {
			t.Fatal(err)
		}
		inline := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|<style|\sstyle=|\son[a-z]+=`)
		for _, p := range append(static.Pages[:len(static.Pages):len(static.Pages)], static.NotFound) {
			body := string(rendered[p.Path])
			if !strings.Contains(body, `src="/assets/js/pages/`+p.Script+`.js"`) {
				t.Errorf("%s does not load its module %s", p.Path, p.Script)
			}
			if m := inline.FindString(body); m != "" {
				t.Errorf("%s has inline code %q, which the Content-Security-Policy refuses", p.Path, m)
			}
		}
	})

	t.Run("every page route answers with HTML", func(t *testing.T) {
		for _, p := range static.Pages {
			path := strings.NewReplacer(":id", "1", ":handle", "demo").Replace(p.Path)
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
				t.Errorf("GET %s: %d %s", path, rec.Code, rec.Header().Get("Content-Type"))
			}
		}
	})

	t.Run("every asset a page or module refers to exists", func(t *testing.T) {
		ref := regexp.MustCompile(`(?:href|src)="(/assets/[^"]+)"|from '(\.{1,2}/[^']+)'|import\('(\.{1,2}/[^']+)'\)`)
		rendered, _ := static.Render()
		rendered["404"] = rendered[static.NotFound.Path]
		check := func(from, target string) {
			target, _, _ = strings.Cut(target, "#")
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
			if rec.Code != http.StatusOK {
				t.Errorf("%s refers to %s, which answers %d", from, target, rec.Code)
			}
		}
		for path, doc := range rendered {
			for _, m := range ref.FindAllStringSubmatch(string(doc), -1) {
				check(path, m[1])
			}
		}
		err := filepath.WalkDir("assets/js", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".js") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range ref.FindAllStringSubmatch(string(src), -1) {
				rel := m[2] + m[3]
				check(path, "/"+filepath.ToSlash(filepath.Join(filepath.Dir(path), rel)))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("the not-found page answers page requests only, with 404", func(t *testing.T) {
		for _, c := range []struct {
			method, path string
			page         bool
		}{
			{"GET", "/no/such/page", true},
			{"HEAD", "/watch", true},
			{"POST", "/no/such/page", false},
			{"GET", "/api/no/such/route", false},
			{"GET", "/api", false},
		} {
			if got := static.IsPageRequest(httptest.NewRequest(c.method, c.path, nil)); got != c.page {
				t.Errorf("IsPageRequest(%s %s) = %v", c.method, c.path, got)
			}
		}
		rec := httptest.NewRecorder()
		if err := static.ServeNotFound(e.NewContext(httptest.NewRequest(http.MethodGet, "/no/such/page", nil), rec)); err != nil {
			t.Fatal(err)
		}
		if rec.Code != http.StatusNotFound || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") ||
			!strings.Contains(rec.Body.String(), "Page not found") || !strings.Contains(rec.Body.String(), "/assets/js/pages/notfound.js") {
			t.Errorf("not-found page: %d %q %.200s", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
		}
	})

	t.Run("no module writes HTML from strings", func(t *testing.T) {
		banned := regexp.MustCompile(`\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(`)
		err := filepath.WalkDir("assets/js", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for i, line := range strings.Split(string(src), "\n") {
				if banned.MatchString(line) {
					t.Errorf("%s:%d: %s", path, i+1, strings.TrimSpace(line))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("modules are served as JavaScript", func(t *testing.T) {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/assets/js/api.js", nil))
		if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, "javascript") {
			t.Errorf("api.js served as %q; browsers refuse modules that are not JavaScript", ct)
		}
	})
}
