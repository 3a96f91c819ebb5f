package room_test

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"

	"github.com/liveshop/liveshop/room"
)

func TestOrigins(t *testing.T) {
	for _, tc := range []struct {
		name, public string
		extra        []string
		tls          bool
		host, origin string
		want         bool
	}{
		{"no Origin is not a page", "https://shop.example", nil, false, "shop.example", "", true},
		{"the public origin", "https://shop.example", nil, false, "10.0.0.5:8080", "https://shop.example", true},
		{"its default port spelled out", "https://shop.example", nil, false, "shop.example", "https://SHOP.example:443", true},
		{"the public host over the other scheme", "https://shop.example", nil, false, "shop.example", "http://shop.example", false},
		{"the request's host with the public scheme", "https://shop.example", nil, false, "alias.example", "https://alias.example", true},
		{"the request's host with the other scheme", "https://shop.example", nil, false, "alias.example", "http://alias.example", false},
		{"another port is another origin", "https://shop.example", nil, false, "shop.example", "https://shop.example:8443", false},
		{"an opaque origin", "https://shop.example", nil, false, "shop.example", "null", false},
		{"no public URL: plain HTTP request, HTTPS page", "", nil, false, "shop.example", "https://shop.example", false},
		{"no public URL: TLS request, HTTPS page", "", nil, true, "shop.example", "https://shop.example", true},
		{"no public URL: TLS request, HTTP page", "", nil, true, "shop.example", "http://shop.example", false},
		{"a host pattern, any scheme", "https://shop.example", []string{"*.partner.example"}, false, "shop.example", "http://tv.partner.example", true},
		{"a scheme and host pattern", "https://shop.example", []string{"https://embed.example"}, false, "shop.example", "http://embed.example", false},
		{"everyone, in development", "https://shop.example", []string{"*"}, false, "shop.example", "http://evil.example", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/streams/1/room", nil)
			r.Host = tc.host
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if got := room.NewOrigins(tc.public, tc.extra).AllowSocket(r); got != tc.want {
				t.Fatalf("AllowSocket from %q to %s (public %q): %v, want %v", tc.origin, tc.host, tc.public, got, tc.want)
			}
		})
	}
}
