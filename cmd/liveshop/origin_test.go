package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/liveshop/liveshop/commerce"
)

// dialWith opens a WebSocket on path with a bearer token and an Origin, as
// a page of that origin would; it returns the handshake's status (101 when
// the socket opened, then closed again).
func dialWith(t *testing.T, base, path, token, origin string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hdr := http.Header{"Authorization": {"Bearer " + token}, "Origin": {origin}}
	ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+path, &websocket.DialOptions{HTTPHeader: hdr})
	if err == nil {
		ws.CloseNow()
		return http.StatusSwitchingProtocols
	}
	if resp == nil {
		t.Fatalf("dial %s from %s: %v", path, origin, err)
	}
	return resp.StatusCode
}

func TestWebSocketOriginScheme(t *testing.T) {
	// sockets are every WebSocket a page opens with the visitor's session.
	sockets := func(t *testing.T, srv *testServer) (token string, paths []string) {
		seller := srv.shopper(t, "seller@example.com", "Sam")
		shopID := seller.openShop("origin-shop", "USD")
		var stream commerce.StreamWithKey
		seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shopID), map[string]any{"title": "Show"}).decode(t, &stream)
		return seller.token, []string{fmt.Sprintf("/api/streams/%d/room", stream.ID), "/api/me/notifications"}
	}
	check := func(t *testing.T, srv *testServer, cases map[string]int) {
		t.Helper()
		token, paths := sockets(t, srv)
		for _, path := range paths {
			for origin, want := range cases {
				if got := dialWith(t, srv.URL, path, token, origin); got != want {
					t.Errorf("%s from a page of %s: status %d, want %d", path, origin, got, want)
				}
			}
		}
	}

	t.Run("behind HTTPS, a plain-HTTP page of the same host is refused", func(t *testing.T) {
		cfg := shopConfig(t)
		cfg.PublicURL = "https://shop.example"
		srv := startServer(t, cfg)
		host := strings.TrimPrefix(srv.URL, "http://")
		check(t, srv, map[string]int{
			"https://shop.example":     http.StatusSwitchingProtocols,
			"https://shop.example:443": http.StatusSwitchingProtocols,
			"https://" + host:          http.StatusSwitchingProtocols, // the proxy kept the Host
			"http://shop.example":      http.StatusForbidden,
			"http://" + host:           http.StatusForbidden,
			"https://evil.example":     http.StatusForbidden,
			"null":                     http.StatusForbidden,
		})
	})

	t.Run("on plain HTTP, an HTTPS page of the same host is refused", func(t *testing.T) {
		srv := startServer(t, shopConfig(t))
		host := strings.TrimPrefix(srv.URL, "http://")
		check(t, srv, map[string]int{
			"http://" + host:      http.StatusSwitchingProtocols,
			"https://" + host:     http.StatusForbidden,
			"http://evil.example": http.StatusForbidden,
			"ws://" + host:        http.StatusForbidden,
		})
	})

	t.Run("extra origins may open both sockets, and only those", func(t *testing.T) {
		cfg := shopConfig(t)
		cfg.Room.AllowedOrigins = []string{"https://embed.example", "*.partner.example"}
		srv := startServer(t, cfg)
		check(t, srv, map[string]int{
			"https://embed.example":      http.StatusSwitchingProtocols,
			"http://embed.example":       http.StatusForbidden,
			"https://tv.partner.example": http.StatusSwitchingProtocols,
			"https://evil.example":       http.StatusForbidden,
		})
	})

	t.Run("a cookie-authenticated write from the other scheme is refused too", func(t *testing.T) {
		srv := startServer(t, shopConfig(t))
		c := srv.client(t)
		c.signUp("ann@example.com", "Ann")
		c.token = "" // the cookie alone
		host := strings.TrimPrefix(srv.URL, "http://")
		r := c.do("PATCH", "/api/me", map[string]string{"name": "Mallory"}, "Origin", "https://"+host)
		if r.status != http.StatusForbidden || r.errorCode(t) != "cross_origin" {
			t.Fatalf("PATCH /api/me from https://%s: %d %s, want 403 cross_origin", host, r.status, r.body)
		}
		c.expect(200, "PATCH", "/api/me", map[string]string{"name": "Ann B"}, "Origin", srv.URL)
	})
}
