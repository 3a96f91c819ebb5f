package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// limitedConfig trusts loopback as a proxy, so a test speaks for many client
// addresses through X-Forwarded-For.
func limitedConfig(t *testing.T, cfg Config) Config {
	t.Helper()
	var err error
	if cfg.TrustedProxies, err = parseCIDRs("127.0.0.0/8"); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// rateLimited fails the test unless r is 429 rate_limited (or code) with a
// Retry-After of at least a second.
func rateLimited(t *testing.T, what string, r response, code string) {
	t.Helper()
	secs, _ := strconv.Atoi(r.header.Get("Retry-After"))
	if r.status != http.StatusTooManyRequests || r.errorCode(t) != code || secs < 1 {
		t.Fatalf("%s: %d %s (Retry-After %q), want 429 %s with Retry-After", what, r.status, r.body, r.header.Get("Retry-After"), code)
	}
}

func TestAbuseLimits(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		cfg = limitedConfig(t, cfg)
		cfg.Discovery.ShareLimitAccount, cfg.Discovery.ShareLimitIP = 2, 3
		cfg.Commerce.MessageLimitAccount, cfg.Commerce.MessageLimitIP = 2, 3
		srv := startServer(t, cfg)
		seller := srv.shopper(t, "seller@example.com", "Sam")
		shopID := seller.openShop("limits-shop", "USD")
		mug := seller.product(shopID, "Blue Mug", 1250, 50)
		share := map[string]any{"type": "product", "id": mug.ID, "channel": "copy"}
		xff := func(ip string) []string { return []string{"X-Forwarded-For", ip} }

		t.Run("share links per account, and per address across accounts", func(t *testing.T) {
			ann := srv.shopper(t, "ann@example.com", "Ann")
			for range 2 {
				ann.expect(201, "POST", "/api/shares", share, xff("198.51.100.1")...)
			}
			rateLimited(t, "third share of one account", ann.do("POST", "/api/shares", share, xff("198.51.100.2")...), "rate_limited")

			anon := srv.client(t)
			for range 3 {
				anon.expect(201, "POST", "/api/shares", share, xff("198.51.100.9")...)
			}
			rateLimited(t, "fourth anonymous share from one address", anon.do("POST", "/api/shares", share, xff("198.51.100.9")...), "rate_limited")
			bob := srv.shopper(t, "bob@example.com", "Bob")
			rateLimited(t, "another account from that address", bob.do("POST", "/api/shares", share, xff("198.51.100.9")...), "rate_limited")
			bob.expect(201, "POST", "/api/shares", share, xff("198.51.100.10")...)
		})

		t.Run("support messages per account, and per address across accounts", func(t *testing.T) {
			buyer := srv.shopper(t, "buyer@example.com", "Bea")
			order := buyer.buy(mug, 1)
			path := fmt.Sprintf("/api/orders/%d/messages", order.ID)
			msg := map[string]string{"body": "When will it ship?"}
			for range 2 {
				buyer.expect(201, "POST", path, msg, xff("203.0.113.1")...)
			}
			rateLimited(t, "third message of one account", buyer.do("POST", path, msg, xff("203.0.113.2")...), "rate_limited")
			seller := seller.as(t)
			seller.expect(201, "POST", path, msg, xff("203.0.113.1")...)
			admin := srv.shopper(t, "admin@example.com", "Ada")
			rateLimited(t, "a fourth message from one address", admin.do("POST", path, msg, xff("203.0.113.1")...), "rate_limited")
			admin.expect(201, "POST", path, msg, xff("203.0.113.3")...)
		})
	})

	t.Run("room sockets per account are capped, with 429 and Retry-After", func(t *testing.T) {
		cfg := shopConfig(t)
		cfg.Room.SocketsPerAccount = 1
		srv := startServer(t, cfg)
		seller := srv.shopper(t, "seller@example.com", "Sam")
		shopID := seller.openShop("sockets-shop", "USD")
		var stream struct {
			ID int64 `json:"id"`
		}
		seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shopID), map[string]any{"title": "Show"}).decode(t, &stream)
		joinRoom(t, srv.URL, seller.client, stream.ID).wait("snapshot", nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+fmt.Sprintf("/api/streams/%d/room", stream.ID),
			&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + seller.token}}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("second room socket of one account: %v %v, want 429 with Retry-After", resp, err)
		}
	})

	t.Run("the notification socket cap of an account is a 429 and a warning, not a server error", func(t *testing.T) {
		srv, logs, _ := runLogged(t, shopConfig(t))
		viewer := srv.shopper(t, "viewer@example.com", "Vic")
		for range 16 {
			openAlerts(t, srv.URL, viewer.client).next(t, "snapshot")
		}
		_, resp, err := dialAlerts(srv.URL, viewer.client, nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("17th notification socket: %v %v, want 429 with Retry-After", resp, err)
		}
		eventually(t, "the refusal to be logged", 10*time.Second, func() bool {
			return strings.Contains(logs.String(), `"msg":"too many notification sockets"`)
		})
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `"level":"ERROR"`) {
				t.Fatalf("a client limit logged an error: %s", line)
			}
			if strings.Contains(line, `"msg":"too many notification sockets"`) && !strings.Contains(line, `"level":"WARN"`) {
				t.Fatalf("the refusal is not a warning: %s", line)
			}
		}
	})
}
