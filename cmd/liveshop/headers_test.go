package main

import (
	"strings"
	"testing"
)

func TestSecurityHeaders(t *testing.T) {
	// permissions splits a Permissions-Policy into feature → allowlist.
	permissions := func(t *testing.T, r response) map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, d := range strings.Split(r.header.Get("Permissions-Policy"), ",") {
			name, allow, ok := strings.Cut(strings.TrimSpace(d), "=")
			if !ok {
				t.Fatalf("Permissions-Policy %q: directive %q has no allowlist", r.header.Get("Permissions-Policy"), d)
			}
			out[name] = allow
		}
		return out
	}

	t.Run("camera and microphone only on the studio page, other powerful features nowhere", func(t *testing.T) {
		c := startServer(t, testConfig(t)).client(t)
		studio := permissions(t, c.expect(200, "GET", "/studio", nil))
		if studio["camera"] != "(self)" || studio["microphone"] != "(self)" {
			t.Fatalf("studio Permissions-Policy %v: the studio needs camera and microphone", studio)
		}
		for _, path := range []string{"/", "/watch/1", "/product/1", "/moderate/1", "/api/me", "/healthz"} {
			r := c.do("GET", path, nil)
			pp := permissions(t, r)
			for _, feature := range []string{"camera", "microphone", "geolocation", "payment", "usb", "display-capture"} {
				if pp[feature] != "()" {
					t.Errorf("%s: Permissions-Policy %s=%q, want () (denied): %q", path, feature, pp[feature], r.header.Get("Permissions-Policy"))
				}
			}
			for _, used := range []string{"fullscreen", "web-share", "clipboard-write", "autoplay", "picture-in-picture"} {
				if _, denied := pp[used]; denied {
					t.Errorf("%s: Permissions-Policy names %s, which the pages use", path, used)
				}
			}
		}
		if studio["geolocation"] != "()" || studio["payment"] != "()" {
			t.Fatalf("studio Permissions-Policy %v still allows more than camera and microphone", studio)
		}
	})

	t.Run("HSTS only when cookies are Secure, for two years with subdomains and no preload", func(t *testing.T) {
		plain := startServer(t, testConfig(t)).client(t)
		if got := plain.expect(200, "GET", "/", nil).header.Get("Strict-Transport-Security"); got != "" {
			t.Fatalf("without --cookie-secure: Strict-Transport-Security %q, want none (the site may be plain HTTP)", got)
		}
		cfg := testConfig(t)
		cfg.Commerce.CookieSecure = true
		secure := startServer(t, cfg).client(t)
		for _, path := range []string{"/", "/api/me", "/healthz"} {
			if got := secure.do("GET", path, nil).header.Get("Strict-Transport-Security"); got != "max-age=63072000; includeSubDomains" {
				t.Errorf("%s with --cookie-secure: Strict-Transport-Security %q", path, got)
			}
		}
		cfg = testConfig(t)
		cfg.Commerce.CookieSecure, cfg.HSTSPreload = true, true
		preload := startServer(t, cfg).client(t)
		if got := preload.do("GET", "/", nil).header.Get("Strict-Transport-Security"); got != "max-age=63072000; includeSubDomains; preload" {
			t.Errorf("with --hsts-preload: Strict-Transport-Security %q", got)
		}
	})
}
