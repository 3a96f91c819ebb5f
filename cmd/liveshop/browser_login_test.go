package main

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserLoginNextStaysOnSite signs in at /login?next=... with every
// trick that makes a browser read a "path" as another site (backslashes,
// tabs and newlines it strips, dot segments that leave "//" behind,
// schemes, spaces and control characters around it) and checks the page
// then goes to a page of this site: the harmless target, or "/" for
// anything that would leave. It checks both ways the login page follows
// next: after the form is sent, and at once for a visitor already signed in.
func TestBrowserLoginNextStaysOnSite(t *testing.T) {
	srv := startServer(t, testConfig(t))
	srv.client(t).signUp("nina@example.test", "Nina")
	b := newBrowser(t, srv.URL)
	nina := b.user("nina", desktop)

	for _, tc := range []struct {
		name string
		next string // as written in the address, after "next="
		want string // where the browser must end up on this site
	}{
		{"a page of the site is followed", "/orders", "/orders"},
		{"a query and a fragment are kept", "%2Fsearch%3Fq%3Dlamp%23results", "/search?q=lamp#results"},
		{"a backslash after the slash", `/\evil.test/`, "/"},
		{"an encoded backslash", "/%5Cevil.test/", "/"},
		{"an encoded slash and backslash", "%2F%5Cevil.test%2F", "/"},
		{"a tab between the slashes", "/%09/evil.test/", "/"},
		{"a newline between the slashes", "/%0A/evil.test/", "/"},
		{"a carriage return and newline between the slashes", "/%0D%0A/evil.test/", "/"},
		{"two slashes", "//evil.test/", "/"},
		{"encoded slashes", "%2F%2Fevil.test", "/"},
		{"a slash and an encoded slash", "/%2F/evil.test", "/"},
		{"a dot segment leaving two slashes", "/.//evil.test/", "/"},
		{"a parent segment leaving two slashes", "/..//evil.test/", "/"},
		{"an absolute address", "https://evil.test/", "/"},
		{"a scheme without slashes", "https:evil.test", "/"},
		{"a javascript address", "javascript:alert(document.domain)", "/"},
		{"leading and trailing spaces", "%20//evil.test/%20", "/"},
		{"a leading control character", "%01//evil.test/", "/"},
		{"a leading tab", "%09/%5Cevil.test", "/"},
		{"a doubly encoded slash stays a path of this site", "/%252F/evil.test", "/%2F/evil.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			use(t, nina)
			// Start signed out, whatever the previous case left.
			nina.open("/")
			evalJS[int](nina, `fetch("/api/auth/logout", {method: "POST"}).then((r) => r.status)`)

			nina.open("/login?next=" + tc.next)
			nina.fill("#email", "nina@example.test")
			nina.fill("#password", "correct horse battery")
			nina.click("#auth-submit")
			nina.landsOn(srv.URL, tc.want, "after signing in")

			// Signed in now: the login page moves on at once.
			nina.do("open the login page signed in", chromedp.Navigate(srv.URL+"/login?next="+tc.next))
			nina.landsOn(srv.URL, tc.want, "visiting the login page signed in")
		})
	}
}

// landsOn waits until the tab has left the login page and checks that it
// went to path on base.
func (p *tab) landsOn(base, path, when string) {
	p.t.Helper()
	p.waitJS("the login page moves on "+when, `!location.href.startsWith(`+jsString(base+"/login")+`)`)
	if got := evalJS[string](p, `location.href`); got != base+path {
		p.t.Fatalf("%s: %s went to %s, want %s", p.name, when, got, base+path)
	}
}
