package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/liveshop/liveshop/commerce"
)

// TestDemoShop starts the demo twice on one data directory: the demo seller
// gets a shop with pictured products, a moderator and a scheduled stream,
// and a restart adds nothing. The logins printed at start work and have
// the roles they are printed with.
func TestDemoShop(t *testing.T) {
	cfg := shopConfig(t)
	cfg.Demo = true
	check := func(t *testing.T) {
		stdout := &logBuffer{}
		srv := runServer(t, cfg, serverOptions{stdout: stdout})
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
		stream := streams.Items[0].ID

		logins := demoLogins(t, srv, stdout.String())
		seller, mod, viewer := logins["seller"], logins["moderator"], logins["viewer"]
		for role, want := range map[string]struct {
			owns      bool
			moderates bool
		}{"seller": {owns: true}, "moderator": {moderates: true}, "viewer": {}} {
			var me commerce.Memberships
			logins[role].expect(200, "GET", "/api/me", nil).decode(t, &me)
			owns := me.Shop != nil && me.Shop.ID == shop.ID
			moderates := len(me.Moderates) == 1 && me.Moderates[0].ID == shop.ID
			if owns != want.owns || moderates != want.moderates || (!want.owns && me.Shop != nil) || (!want.moderates && len(me.Moderates) != 0) {
				t.Fatalf("%s: shop %+v, moderates %+v", role, me.Shop, me.Moderates)
			}
		}

		audit := fmt.Sprintf("/api/shops/%d/moderation/audit", shop.ID)
		mod.expect(200, "GET", audit, nil)
		viewer.expect(403, "GET", audit, nil)
		seller.expect(200, "GET", audit, nil)

		// In the demo stream's room the moderator is a moderator and removes
		// the viewer's comment.
		v := joinRoom(t, srv.URL, viewer, stream)
		m := joinRoom(t, srv.URL, mod, stream)
		v.wait("snapshot", func(d json.RawMessage) bool { return strings.Contains(string(d), `"role":"viewer"`) })
		m.wait("snapshot", func(d json.RawMessage) bool { return strings.Contains(string(d), `"role":"moderator"`) })
		v.send(map[string]any{"type": "comment", "id": "1", "cid": uniqueName("c"), "text": "first!"}) // a fresh cid: the restart run comments again
		var c struct {
			ID int64 `json:"id"`
		}
		json.Unmarshal(m.wait("comment", nil).Data, &c)
		m.send(map[string]any{"type": "remove_comment", "id": "2", "comment_id": c.ID})
		v.wait("comment_removed", hasID(c.ID))
	}
	t.Run("the first start creates the demo shop", check)
	t.Run("a restart finds it and adds nothing", check)
}

// demoLogins reads the demo banner run printed to stdout and logs in with
// each login it lists, by role.
func demoLogins(t *testing.T, srv *testServer, stdout string) map[string]*client {
	t.Helper()
	if !strings.Contains(stdout, "Liveshop demo is running at "+srv.URL+"\n") {
		t.Fatalf("no demo banner with the server's address %s in %q", srv.URL, stdout)
	}
	logins := map[string]*client{}
	for _, m := range regexp.MustCompile(`(?m)^  (\w+) +(\S+@\S+) +password: (\S+)$`).FindAllStringSubmatch(stdout, -1) {
		role, email, password := m[1], m[2], m[3]
		c := srv.client(t)
		var out struct {
			Token string `json:"token"`
		}
		c.expect(200, "POST", "/api/auth/login", map[string]string{"email": email, "password": password}).decode(t, &out)
		c.token = out.Token
		logins[role] = c
	}
	for _, role := range []string{"seller", "moderator", "viewer"} {
		if logins[role] == nil {
			t.Fatalf("the banner prints no %s login: %q", role, stdout)
		}
	}
	return logins
}
