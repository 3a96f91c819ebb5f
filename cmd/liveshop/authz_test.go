package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/liveshop/liveshop/commerce"
)

// The roles of the authorization matrix, in the order of authzCase.want.
var authzRoles = []string{"anonymous", "viewer", "other seller", "owner seller", "moderator", "admin"}

// authzCase is one endpoint and the status each role gets. Allowed calls
// are made harmless (an invalid body, an idempotent change) so the order of
// cases does not matter; what matters is that denied roles get 401, 403 or
// 404 and allowed roles get past authorization (their status is exact).
type authzCase struct {
	method, path string
	body         any
	header       []string
	want         [6]int
}

// TestAuthorizationMatrix walks every shop-API endpoint with every role.
func TestAuthorizationMatrix(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		srv := startServer(t, cfg)
		owner := srv.shopper(t, "owner@example.com", "Owner")
		viewer := srv.shopper(t, "viewer@example.com", "Viewer")
		other := srv.shopper(t, "other@example.com", "Other")
		mod := srv.shopper(t, "mod@example.com", "Mod")
		admin := srv.shopper(t, "admin@example.com", "Admin")
		anon := srv.client(t)

		shop := owner.openShop("owner-shop", "USD")
		other.openShop("other-shop", "USD")
		owner.expect(201, "POST", fmt.Sprintf("/api/shops/%d/moderators", shop), map[string]int64{"account_id": mod.id})
		var logo commerce.Shop
		owner.upload(fmt.Sprintf("/api/shops/%d/logo/upload", shop), testPNG(t, 4, 4)).decode(t, &logo)
		product := owner.product(shop, "Mug", 1000, 50)
		var draft commerce.Product
		owner.expect(201, "POST", fmt.Sprintf("/api/shops/%d/products", shop), map[string]any{"title": "Draft", "price_minor": 500}).decode(t, &draft)
		var stream, stream2 commerce.StreamWithKey
		owner.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shop), map[string]any{"title": "Show"}).decode(t, &stream)
		owner.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shop), map[string]any{"title": "Show 2"}).decode(t, &stream2)
		order := viewer.buy(product, 1)

		S := fmt.Sprintf("/api/shops/%d", shop)
		P := fmt.Sprintf("/api/products/%d", product.ID)
		D := fmt.Sprintf("/api/products/%d", draft.ID)
		O := fmt.Sprintf("/api/orders/%d", order.ID)
		ST := fmt.Sprintf("/api/streams/%d", stream.ID)
		notAnImage := []byte("plain text, not a picture")
		const u, f, n = 401, 403, 404 // denials
		cases := []authzCase{
			{"GET", "/api/me", nil, nil, [6]int{u, 200, 200, 200, 200, 200}},
			{"GET", "/api/currencies", nil, nil, [6]int{200, 200, 200, 200, 200, 200}},
			{"GET", "/api/shops", nil, nil, [6]int{200, 200, 200, 200, 200, 200}},
			{"POST", "/api/shops", map[string]string{}, nil, [6]int{u, 422, 422, 422, 422, 422}},
			{"GET", S, nil, nil, [6]int{200, 200, 200, 200, 200, 200}},
			{"PATCH", S, map[string]string{"description": "Hand-thrown"}, nil, [6]int{u, f, f, 200, f, 200}},
			{"POST", S + "/logo/upload", notAnImage, nil, [6]int{u, f, f, 415, f, 415}},
			{"GET", S + "/moderators", nil, nil, [6]int{u, f, f, 200, f, 200}},
			{"POST", S + "/moderators", map[string]int64{"account_id": mod.id}, nil, [6]int{u, f, f, 201, f, 201}},
			{"DELETE", fmt.Sprintf("%s/moderators/%d", S, viewer.id), nil, nil, [6]int{u, f, f, n, f, n}},
			{"GET", S + "/products", nil, nil, [6]int{200, 200, 200, 200, 200, 200}},
			{"GET", S + "/products?status=draft", nil, nil, [6]int{u, f, f, 200, 200, 200}},
			{"POST", S + "/products", map[string]string{}, nil, [6]int{u, f, f, 422, f, 422}},
			{"GET", S + "/streams", nil, nil, [6]int{200, 200, 200, 200, 200, 200}},
			{"POST", S + "/streams", map[string]string{}, nil, [6]int{u, f, f, 422, f, 422}},
			{"GET", S + "/orders", nil, nil, [6]int{u, f, f, 200, f, 200}},
			{"GET", "/api/products", nil, nil, [6]int{200, 200, 200, 200, 200, 200}},
			{"GET", P, nil, nil, [6]int{200, 200, 200, 200, 200, 200}},
			{"GET", D, nil, nil, [6]int{n, n, n, 200, 200, 200}},
			{"PATCH", P, map[string]string{"description": "Blue"}, nil, [6]int{u, f, f, 200, f, 200}},
			{"PATCH", D, map[string]string{"description": "Soon"}, nil, [6]int{u, n, n, 200, f, 200}},
			{"POST", P + "/images/upload", notAnImage, nil, [6]int{u, f, f, 415, f, 415}},
			{"DELETE", P + "/images/00000000000000000000000000000000.png", nil, nil, [6]int{u, f, f, n, f, n}},
			{"GET", P + "/reviews", nil, nil, [6]int{200, 200, 200, 200, 200, 200}},
			{"GET", D + "/reviews", nil, nil, [6]int{n, n, n, 200, 200, 200}},
			{"POST", P + "/reviews", map[string]int{"rating": 9}, nil, [6]int{u, 422, 422, 422, 422, 422}},
			{"GET", logo.LogoURL, nil, nil, [6]int{200, 200, 200, 200, 200, 200}},
			{"GET", "/api/streams", nil, nil, [6]int{200, 200, 200, 200, 200, 200}},
			{"GET", ST, nil, nil, [6]int{200, 200, 200, 200, 200, 200}},
			{"PATCH", ST, map[string]string{"description": "Tonight"}, nil, [6]int{u, f, f, 200, f, 200}},
			{"POST", ST + "/key", nil, nil, [6]int{u, f, f, 200, f, 200}},
			{"POST", fmt.Sprintf("/api/streams/%d/end", stream2.ID), nil, nil, [6]int{u, f, f, 200, f, 200}},
			{"GET", "/api/cart", nil, nil, [6]int{u, 200, 200, 200, 200, 200}},
			{"POST", "/api/cart/lines", map[string]int64{"product_id": product.ID, "quantity": 0}, nil, [6]int{u, 422, 422, 422, 422, 422}},
			{"PATCH", fmt.Sprintf("/api/cart/lines/%d", product.ID), map[string]int{"quantity": 1}, nil, [6]int{u, n, n, n, n, n}},
			{"DELETE", fmt.Sprintf("/api/cart/lines/%d", product.ID), nil, nil, [6]int{u, n, n, n, n, n}},
			{"POST", "/api/checkout", checkoutBody(shop, commerce.TestCardVisa), nil, [6]int{u, 400, 400, 400, 400, 400}},
			{"GET", "/api/orders", nil, nil, [6]int{u, 200, 200, 200, 200, 200}},
			{"GET", O, nil, nil, [6]int{u, 200, n, 200, n, 200}},
			{"POST", O + "/ship", map[string]string{}, nil, [6]int{u, f, n, 422, n, 422}},
			{"POST", O + "/deliver", nil, nil, [6]int{u, f, n, 409, n, 409}},
			{"POST", O + "/cancel", nil, nil, [6]int{u, f, n, 400, n, 400}},
			{"POST", O + "/refund", nil, nil, [6]int{u, f, n, 400, n, 400}},
			{"GET", O + "/messages", nil, nil, [6]int{u, 200, n, 200, n, 200}},
			{"POST", O + "/messages", map[string]string{"body": " "}, nil, [6]int{u, 422, n, 422, n, 422}},
		}
		callers := []*client{anon, viewer.client, other.client, owner.client, mod.client, admin.client}
		for _, tc := range cases {
			t.Run(tc.method+" "+tc.path, func(t *testing.T) {
				for i, c := range callers {
					c := c.with(t)
					var r response
					if b, ok := tc.body.([]byte); ok {
						r = c.upload(tc.path, b)
					} else {
						r = c.do(tc.method, tc.path, tc.body, tc.header...)
					}
					if r.status != tc.want[i] {
						t.Errorf("%s: status %d, want %d: %.200s", authzRoles[i], r.status, tc.want[i], r.body)
					}
					if r.status >= 400 {
						r.errorCode(t) // every refusal has the one error shape
					}
				}
			})
		}

		t.Run("every commerce route is in the matrix", func(t *testing.T) {
			a, err := newApp(t.Context(), shopConfig(t), discardLogger())
			if err != nil {
				t.Fatal(err)
			}
			defer a.close()
			covered := map[string]bool{}
			for _, tc := range cases {
				covered[tc.method+" "+routePattern(tc.path)] = true
			}
			for _, r := range a.echo.Routes() {
				if !isShopRoute(r.Path) || r.Method == "echo_route_any" {
					continue
				}
				if !covered[r.Method+" "+r.Path] {
					t.Errorf("%s %s is not in the authorization matrix", r.Method, r.Path)
				}
			}
		})
	})
}

// isShopRoute reports whether an Echo route belongs to the shop API of this
// matrix. Flash sales, coupons, reservations and purchase privacy have their
// own authorization tests, and so do the room package's moderation routes
// (mutes, bans, blocked words, restrictions, audit log) and discovery's
// follows, notifications and analytics (discovery_test.go).
func isShopRoute(path string) bool {
	for _, other := range []string{"sale", "coupon", "reserv", "privacy", "/mutes", "/bans", "/blocked-words", "/restrictions", "/moderation/",
		"/follow", "/notifications", "/analytics"} {
		if strings.Contains(path, other) {
			return false
		}
	}
	for _, p := range []string{"/api/me", "/api/currencies", "/api/shops", "/api/products", "/api/images", "/api/cart", "/api/checkout", "/api/orders"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	if !strings.HasPrefix(path, "/api/streams") {
		return false
	}
	// /whip, /whep and /room belong to the live and room packages.
	rest := strings.TrimPrefix(path, "/api/streams")
	return rest == "" || rest == "/:id" || rest == "/:id/key" || rest == "/:id/end"
}

// routePattern turns a concrete path back into its Echo route pattern.
func routePattern(path string) string {
	path, _, _ = strings.Cut(path, "?")
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if i < 3 {
			continue
		}
		prev := parts[i-1]
		switch {
		case isDigits(p) && (prev == "shops" || prev == "products" || prev == "orders" || prev == "streams" || prev == "lines"):
			parts[i] = ":id"
		case isDigits(p) && prev == "moderators":
			parts[i] = ":account"
		case prev == "images" && p != "upload":
			parts[i] = ":name"
		}
	}
	return strings.Join(parts, "/")
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
