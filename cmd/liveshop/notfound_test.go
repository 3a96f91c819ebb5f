package main

import (
	"strings"
	"testing"
)

// TestNotFoundPage: a browser that follows a link to a path naming nothing
// gets an HTML page with status 404; API clients, other methods and known
// routes answer as before.
func TestNotFoundPage(t *testing.T) {
	srv := startServer(t, testConfig(t))
	c := srv.client(t)
	for _, tc := range []struct {
		name, method, path string
		status             int
		html               bool
		code               string
	}{
		{"an unknown page is the not-found page", "GET", "/no/such/page", 404, true, ""},
		{"HEAD of an unknown page is a 404 too", "HEAD", "/no/such/page", 404, true, ""},
		{"an unknown API route keeps the JSON shape", "GET", "/api/no/such/route", 404, false, "not_found"},
		{"another method on an unknown path is JSON", "POST", "/no/such/page", 404, false, "not_found"},
		{"a known path with the wrong method is still 405", "POST", "/healthz", 405, false, "method_not_allowed"},
		{"a page answers as before", "GET", "/search", 200, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do(tc.method, tc.path, nil)
			html := strings.HasPrefix(r.header.Get("Content-Type"), "text/html")
			if r.status != tc.status || html != tc.html {
				t.Fatalf("%s %s: %d %s", tc.method, tc.path, r.status, r.header.Get("Content-Type"))
			}
			if tc.code != "" {
				if got := r.errorCode(t); got != tc.code {
					t.Errorf("code %q, want %q", got, tc.code)
				}
			}
			if tc.status == 404 && tc.html && tc.method == "GET" && !strings.Contains(string(r.body), "Page not found") {
				t.Errorf("not the not-found page: %.200s", r.body)
			}
		})
	}
}
