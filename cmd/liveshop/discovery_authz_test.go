package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/liveshop/liveshop/commerce/discovery"
)

// TestDiscoveryAuthorization walks every discovery route with every role
// (anonymous, viewer, other seller, owner, moderator, admin), like the shop
// API's matrix, and checks that no discovery route is left out.
func TestDiscoveryAuthorization(t *testing.T) {
	eachDiscoveryDatabase(t, func(t *testing.T, cfg Config) {
		srv := startServer(t, cfg)
		owner := srv.shopper(t, "owner@example.com", "Owner")
		viewer := srv.shopper(t, "viewer@example.com", "Viewer")
		other := srv.shopper(t, "other@example.com", "Other")
		mod := srv.shopper(t, "mod@example.com", "Mod")
		admin := srv.shopper(t, "admin@example.com", "Admin")
		anon := srv.client(t)
		shop := owner.openShop("owner-shop", "USD")
		other.openShop("other-shop", "USD")
		owner.appoint(shop, mod, "mod@example.com")
		product := owner.product(shop, "Mug", 1000, 50, "pottery")
		stream := createStream(t, owner, shop, "Show")

		S := fmt.Sprintf("/api/shops/%d", shop)
		const u, f = 401, 403
		all := func(status int) [6]int { return [6]int{status, status, status, status, status, status} }
		signedIn := func(status int) [6]int { return [6]int{u, status, status, status, status, status} }
		sellerOnly := [6]int{u, f, f, 200, f, 200}
		cases := []authzCase{
			{"POST", "/api/interactions", map[string]any{"events": []any{}}, nil, all(422)},
			{"GET", "/api/feed", nil, nil, all(200)},
			{"GET", "/api/discover/live", nil, nil, all(200)},
			{"GET", "/api/search?q=mug", nil, nil, all(200)},
			{"GET", "/api/search/products?q=mug", nil, nil, all(200)},
			{"GET", "/api/search/shops?q=mug", nil, nil, all(200)},
			{"GET", "/api/search/streams?q=mug", nil, nil, all(200)},
			{"GET", "/api/hashtags", nil, nil, all(200)},
			{"GET", "/api/hashtags/pottery/products", nil, nil, all(200)},
			{"GET", "/api/hashtags/pottery/streams", nil, nil, all(200)},
			{"GET", S + "/follow", nil, nil, all(200)},
			{"PUT", S + "/follow", nil, nil, [6]int{u, 200, 200, 422, 200, 200}},
			{"DELETE", S + "/follow", nil, nil, signedIn(200)},
			{"GET", "/api/me/following", nil, nil, signedIn(200)},
			{"GET", "/api/me/following/live", nil, nil, signedIn(200)},
			{"GET", "/api/me/notifications", nil, nil, signedIn(426)},
			{"GET", fmt.Sprintf("/api/streams/%d/analytics", stream), nil, nil, sellerOnly},
			{"GET", S + "/analytics", nil, nil, sellerOnly},
			{"GET", fmt.Sprintf("/api/products/%d/analytics", product.ID), nil, nil, sellerOnly},
			{"POST", "/api/shares", map[string]any{"type": "shop", "id": shop}, nil, all(422)},
		}
		callers := []*client{anon, viewer.client, other.client, owner.client, mod.client, admin.client}
		covered := map[string]bool{}
		for _, tc := range cases {
			covered[tc.method+" "+openAPIPath(discoveryRoute(tc.path))] = true
			t.Run(tc.method+" "+tc.path, func(t *testing.T) {
				for i, c := range callers {
					r := c.with(t).do(tc.method, tc.path, tc.body)
					if r.status != tc.want[i] {
						t.Errorf("%s: status %d, want %d: %.200s", authzRoles[i], r.status, tc.want[i], r.body)
					}
					if r.status >= 400 {
						r.errorCode(t)
					}
				}
			})
		}
		t.Run("every discovery route is in the matrix", func(t *testing.T) {
			var doc struct {
				Paths map[string]map[string]any `json:"paths"`
			}
			if err := json.Unmarshal(discovery.OpenAPI, &doc); err != nil {
				t.Fatal(err)
			}
			for path, ops := range doc.Paths {
				for method := range ops {
					if !covered[strings.ToUpper(method)+" "+path] {
						t.Errorf("%s %s is not in the discovery authorization matrix", strings.ToUpper(method), path)
					}
				}
			}
		})
	})
}

// discoveryRoute turns a concrete discovery path back into its route.
func discoveryRoute(path string) string {
	path, _, _ = strings.Cut(path, "?")
	parts := strings.Split(path, "/")
	for i := 3; i < len(parts); i++ {
		switch prev := parts[i-1]; {
		case isDigits(parts[i]) && (prev == "shops" || prev == "products" || prev == "streams"):
			parts[i] = ":id"
		case prev == "hashtags":
			parts[i] = ":tag"
		}
	}
	return strings.Join(parts, "/")
}
