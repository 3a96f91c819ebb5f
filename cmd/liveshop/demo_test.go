package main

import (
	"fmt"
	"testing"

	"github.com/liveshop/liveshop/commerce"
)

// TestDemoShop starts the demo twice on one data directory: the demo seller
// gets a shop with pictured products, a moderator and a scheduled stream,
// and a restart adds nothing.
func TestDemoShop(t *testing.T) {
	cfg := shopConfig(t)
	cfg.Demo = true
	check := func(t *testing.T) {
		srv := startServer(t, cfg)
		anon := srv.client(t)
		var shop commerce.Shop
		anon.expect(200, "GET", "/api/shops/mara-ceramics", nil).decode(t, &shop)
		var products page[commerce.Product]
		anon.expect(200, "GET", fmt.Sprintf("/api/shops/%d/products", shop.ID), nil).decode(t, &products)
		if len(products.Items) != len(demoProducts) || shop.LogoURL == "" {
			t.Fatalf("%d products, logo %q", len(products.Items), shop.LogoURL)
		}
		for _, p := range products.Items {
			if len(p.Images) != 1 || p.Stock == 0 || p.Status != commerce.ProductActive {
				t.Fatalf("product %+v", p)
			}
			anon.expect(200, "GET", p.Images[0].URL, nil)
		}
		var streams page[commerce.Stream]
		anon.expect(200, "GET", "/api/shops/mara-ceramics/streams", nil).decode(t, &streams)
		if len(streams.Items) != 1 || streams.Items[0].Status != commerce.StreamScheduled || len(streams.Items[0].ProductIDs) != len(demoProducts) {
			t.Fatalf("streams %+v", streams.Items)
		}
		mod := srv.client(t)
		mod.expect(200, "POST", "/api/auth/login", map[string]string{"email": "mod@demo.liveshop", "password": "demo-mod-pass"})
		var me struct {
			Moderates []commerce.Shop `json:"moderates"`
		}
		mod.expect(200, "GET", "/api/me", nil).decode(t, &me)
		if len(me.Moderates) != 1 || me.Moderates[0].ID != shop.ID {
			t.Fatalf("moderator of %+v", me.Moderates)
		}
	}
	t.Run("the first start creates the demo shop", check)
	t.Run("a restart finds it and adds nothing", check)
}
