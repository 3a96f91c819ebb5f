package main

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/liveshop/liveshop/commerce"
)

// metaTag matches the link-preview tags the layout writes.
var metaTag = regexp.MustCompile(`<meta (?:name|property)="([^"]+)" content="([^"]*)">`)

// previewTags fetches a page as a chat app's link unfurler does (no
// scripts, no cookies) and returns its <title> and meta tags, unescaped.
func previewTags(t *testing.T, c *client, path string) (string, map[string]string) {
	t.Helper()
	r := c.expect(200, "GET", path, nil)
	body := string(r.body)
	if strings.Contains(body, `"><script>`) {
		t.Fatalf("GET %s: raw markup from data in the page:\n%s", path, body)
	}
	title := regexp.MustCompile(`<title>([^<]*)</title>`).FindStringSubmatch(body)
	if title == nil {
		t.Fatalf("GET %s: no <title>", path)
	}
	tags := map[string]string{}
	for _, m := range metaTag.FindAllStringSubmatch(body, -1) {
		tags[m[1]] = html.UnescapeString(m[2])
	}
	return html.UnescapeString(title[1]), tags
}

func TestLinkPreviews(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		srv := startServer(t, cfg)
		seller := srv.shopper(t, "seller@example.com", "Sam")
		anon := srv.client(t)
		shopID := seller.openShop("preview-shop", "USD")
		var shop commerce.Shop
		seller.upload(fmt.Sprintf("/api/shops/%d/logo/upload", shopID), testPNG(t, 4, 4)).decode(t, &shop)
		logo := srv.URL + shop.LogoURL

		evil := `Mug "><script>alert(1)</script> & co`
		var mug commerce.Product
		seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/products", shopID), map[string]any{
			"title": evil, "description": "Hand-thrown\nstoneware <b>mug</b>", "price_minor": 1250, "status": "active",
		}).decode(t, &mug)
		seller.upload(fmt.Sprintf("/api/products/%d/images/upload", mug.ID), testPNG(t, 16, 12)).decode(t, &mug)
		plain := seller.product(shopID, "Rice Bowl", 2000, 3)
		var draft, archived commerce.Product
		seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/products", shopID), map[string]any{"title": "Secret draft vase", "price_minor": 9900}).decode(t, &draft)
		archived = seller.product(shopID, "Old archived plate", 500, 1)
		seller.expect(200, "PATCH", fmt.Sprintf("/api/products/%d", archived.ID), map[string]string{"status": "archived"})
		var stream commerce.StreamWithKey
		seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shopID), map[string]any{
			"title": `Evening <show> "live"`, "description": "New glazes",
		}).decode(t, &stream)

		t.Run("a product page describes the product, escaped", func(t *testing.T) {
			title, tags := previewTags(t, anon, fmt.Sprintf("/product/%d", mug.ID))
			want := map[string]string{
				"og:title":       evil,
				"og:type":        "product",
				"og:url":         fmt.Sprintf("%s/product/%d", srv.URL, mug.ID),
				"og:image":       srv.URL + mug.Images[0].URL,
				"og:description": "12.50 USD · Shop preview-shop · Hand-thrown stoneware <b>mug</b>",
				"description":    "12.50 USD · Shop preview-shop · Hand-thrown stoneware <b>mug</b>",
				"twitter:card":   "summary_large_image",
				"og:site_name":   "Liveshop",
			}
			for k, v := range want {
				if tags[k] != v {
					t.Errorf("%s = %q, want %q", k, tags[k], v)
				}
			}
			if title != evil+" · Liveshop" {
				t.Errorf("title %q", title)
			}
		})

		t.Run("a product without pictures shows the shop logo", func(t *testing.T) {
			_, tags := previewTags(t, anon, fmt.Sprintf("/product/%d", plain.ID))
			if tags["og:image"] != logo || tags["og:title"] != "Rice Bowl" || tags["og:description"] != "20.00 USD · Shop preview-shop" {
				t.Errorf("tags %v, want logo %s", tags, logo)
			}
		})

		t.Run("a watch page describes the stream", func(t *testing.T) {
			title, tags := previewTags(t, anon, fmt.Sprintf("/watch/%d", stream.ID))
			if title != `Evening <show> "live" · Liveshop` || tags["og:title"] != `Evening <show> "live"` ||
				tags["og:type"] != "video.other" || tags["og:image"] != logo ||
				tags["og:url"] != fmt.Sprintf("%s/watch/%d", srv.URL, stream.ID) ||
				tags["og:description"] != "Coming up live · Shop preview-shop · New glazes" {
				t.Errorf("title %q tags %v", title, tags)
			}
		})

		t.Run("drafts, archived and unknown IDs get generic tags only", func(t *testing.T) {
			for _, path := range []string{
				fmt.Sprintf("/product/%d", draft.ID), fmt.Sprintf("/product/%d", archived.ID),
				"/product/999999", "/product/abc", "/product/-1", "/watch/999999", "/watch/x",
			} {
				r := anon.expect(200, "GET", path, nil)
				if strings.Contains(string(r.body), "Secret draft") || strings.Contains(string(r.body), "archived plate") {
					t.Errorf("GET %s leaks a non-public product:\n%s", path, r.body)
				}
				_, tags := previewTags(t, anon, path)
				if tags["og:type"] != "website" || tags["og:url"] != "" || tags["og:image"] != "" ||
					tags["description"] == "" || tags["twitter:card"] != "summary" {
					t.Errorf("GET %s: tags %v", path, tags)
				}
			}
			// The shop's staff see the draft in the page, not in its tags.
			if body := string(seller.expect(200, "GET", fmt.Sprintf("/product/%d", draft.ID), nil).body); strings.Contains(body, "Secret draft") {
				t.Errorf("the draft's title is in its page's tags")
			}
		})
	})
}
