package main

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/discovery"
)

func TestPublicURLConfig(t *testing.T) {
	parse := func(args ...string) (Config, error) {
		return parseConfig(args, func(string) string { return "" }, io.Discard)
	}
	for _, tc := range []struct{ name, in, want string }{
		{"an https origin", "https://shop.example", "https://shop.example"},
		{"a trailing slash and capitals", "HTTPS://Shop.Example/", "https://shop.example"},
		{"a port", "http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"an IPv6 host", "http://[::1]:8080", "http://[::1]:8080"},
	} {
		t.Run("accepts "+tc.name, func(t *testing.T) {
			cfg, err := parse("--public-url", tc.in)
			if err != nil || cfg.PublicURL != tc.want {
				t.Fatalf("--public-url %s: %q, %v; want %q", tc.in, cfg.PublicURL, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"shop.example", "//shop.example", "ftp://shop.example", "https://", "https://shop.example/shop",
		"https://shop.example?x=1", "https://shop.example#top", "https://user:pw@shop.example", "javascript:alert(1)", "https://shop.example:http"} {
		t.Run("refuses "+bad, func(t *testing.T) {
			if _, err := parse("--public-url", bad); err == nil || !strings.Contains(err.Error(), "--public-url") {
				t.Fatalf("--public-url %s: error %v", bad, err)
			}
		})
	}
	t.Run("defaults to the listen address, https with Secure cookies", func(t *testing.T) {
		for _, tc := range []struct {
			args        []string
			bound, want string
		}{
			{nil, "127.0.0.1:8080", "http://127.0.0.1:8080"},
			{[]string{"--addr", "0.0.0.0:9000"}, "0.0.0.0:9000", "http://0.0.0.0:9000"},
			{[]string{"--addr", "shop.internal:9000", "--cookie-secure"}, "10.0.0.5:9000", "https://shop.internal:9000"},
			{[]string{"--addr", "127.0.0.1:0"}, "127.0.0.1:41234", "http://127.0.0.1:41234"},
			{[]string{"--addr", ":9000"}, "[::]:9000", "http://[::]:9000"},
		} {
			cfg, err := parse(tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.publicURL(tc.bound); cfg.PublicURL != "" || got != tc.want {
				t.Errorf("%v listening on %s: PublicURL %q, derived %q, want %q", tc.args, tc.bound, cfg.PublicURL, got, tc.want)
			}
		}
	})
}

func TestPublicURLNotHost(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		const public = "https://shop.example"
		cfg.PublicURL = public
		srv := startServer(t, cfg)
		seller := srv.shopper(t, "seller@example.com", "Sam")
		shopID := seller.openShop("public-shop", "USD")
		mug := seller.product(shopID, "Blue Mug", 1250, 5)
		seller.upload(fmt.Sprintf("/api/products/%d/images/upload", mug.ID), testPNG(t, 8, 8)).decode(t, &mug)
		var stream commerce.StreamWithKey
		seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shopID), map[string]any{"title": "Evening show"}).decode(t, &stream)
		// A forged Host, and forwarding headers nobody is trusted for.
		forged := []string{"Host", "evil.test", "X-Forwarded-Host", "evil.test", "X-Forwarded-Proto", "http"}

		t.Run("link previews are on the configured origin", func(t *testing.T) {
			anon := srv.client(t)
			for path, want := range map[string]string{
				fmt.Sprintf("/product/%d", mug.ID):  fmt.Sprintf("%s/product/%d", public, mug.ID),
				fmt.Sprintf("/watch/%d", stream.ID): fmt.Sprintf("%s/watch/%d", public, stream.ID),
			} {
				r := anon.expect(200, "GET", path, nil, forged...)
				tags := map[string]string{}
				for _, m := range metaTag.FindAllStringSubmatch(string(r.body), -1) {
					tags[m[1]] = m[2]
				}
				if tags["og:url"] != want {
					t.Errorf("GET %s with Host evil.test: og:url %q, want %q", path, tags["og:url"], want)
				}
				if img := tags["og:image"]; path[1] == 'p' && img != public+mug.Images[0].URL {
					t.Errorf("GET %s with Host evil.test: og:image %q", path, img)
				}
				if strings.Contains(string(r.body), "evil.test") {
					t.Errorf("GET %s: the forged host is in the page", path)
				}
			}
		})

		t.Run("share links are on the configured origin", func(t *testing.T) {
			anon := srv.client(t)
			for _, req := range []map[string]any{{"type": "product", "id": mug.ID}, {"type": "stream", "id": stream.ID}} {
				var link discovery.ShareLink
				anon.expect(201, "POST", "/api/shares", req, forged...).decode(t, &link)
				if link.URL != public+link.Path || !strings.HasPrefix(link.Path, "/s/") {
					t.Errorf("share %v with Host evil.test: %+v, want %s%s", req, link, public, link.Path)
				}
			}
		})
	})
}
