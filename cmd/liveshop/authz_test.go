package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/discovery"
	"github.com/liveshop/liveshop/commerce/payments"
	"github.com/liveshop/liveshop/live"
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

// TestAuthorizationMatrix walks every /api endpoint with every role: the
// shop API here, rooms (authz_room_test.go) and flash sales, live coupons and
// purchase privacy (authz_flashsale_test.go). Discovery has its own matrix
// (discovery_authz_test.go); WHIP and WHEP are authorized by stream key or
// not at all, and are tested in the live package.
func TestAuthorizationMatrix(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		cfg.FlashSale.SQLBaseline = true // so its route checks the caller
		node := startNode(t, cfg)
		srv := node.srv
		owner := srv.shopper(t, "owner@example.com", "Owner")
		viewer := srv.shopper(t, "viewer@example.com", "Viewer")
		other := srv.shopper(t, "other@example.com", "Other")
		mod := srv.shopper(t, "mod@example.com", "Mod")
		admin := srv.shopper(t, "admin@example.com", "Admin")
		anon := srv.client(t)

		shop := owner.openShop("owner-shop", "USD")
		other.openShop("other-shop", "USD")
		owner.appoint(shop, mod, "mod@example.com")
		var invitation commerce.ModeratorInvitation // for an email no caller has
		owner.expect(202, "POST", fmt.Sprintf("/api/shops/%d/moderator-invitations", shop), map[string]string{"email": "invitee@example.com"}).decode(t, &invitation)
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
			{"GET", "/api/openapi.json", nil, nil, [6]int{200, 200, 200, 200, 200, 200}},
			{"POST", "/api/auth/signup", map[string]string{}, nil, [6]int{422, 422, 422, 422, 422, 422}},
			{"POST", "/api/auth/login", map[string]string{}, nil, [6]int{422, 422, 422, 422, 422, 422}},
			{"GET", "/api/me", nil, nil, [6]int{u, 200, 200, 200, 200, 200}},
			{"PATCH", "/api/me", map[string]string{"name": "Renamed"}, nil, [6]int{u, 200, 200, 200, 200, 200}},
			{"GET", "/api/currencies", nil, nil, [6]int{200, 200, 200, 200, 200, 200}},
			{"GET", "/api/shops", nil, nil, [6]int{200, 200, 200, 200, 200, 200}},
			{"POST", "/api/shops", map[string]string{}, nil, [6]int{u, 422, 422, 422, 422, 422}},
			{"GET", S, nil, nil, [6]int{200, 200, 200, 200, 200, 200}},
			{"PATCH", S, map[string]string{"description": "Hand-thrown"}, nil, [6]int{u, f, f, 200, f, 200}},
			{"POST", S + "/logo/upload", notAnImage, nil, [6]int{u, f, f, 415, f, 415}},
			{"GET", S + "/moderators", nil, nil, [6]int{u, f, f, 200, f, 200}},
			{"POST", S + "/moderators", map[string]int64{"account_id": mod.id}, nil, [6]int{410, 410, 410, 410, 410, 410}},
			{"DELETE", fmt.Sprintf("%s/moderators/%d", S, viewer.id), nil, nil, [6]int{u, f, f, n, f, n}},
			{"GET", S + "/moderator-invitations", nil, nil, [6]int{u, f, f, 200, f, 200}},
			{"POST", S + "/moderator-invitations", map[string]string{"email": "not an email"}, nil, [6]int{u, f, f, 422, f, 422}},
			{"DELETE", fmt.Sprintf("%s/moderator-invitations/%d", S, invitation.ID), nil, nil, [6]int{u, f, f, 204, f, 204}},
			{"GET", "/api/me/moderator-invitations", nil, nil, [6]int{u, 200, 200, 200, 200, 200}},
			{"POST", fmt.Sprintf("/api/me/moderator-invitations/%d/accept", invitation.ID), nil, nil, [6]int{u, n, n, n, n, n}},
			{"POST", fmt.Sprintf("/api/me/moderator-invitations/%d/decline", invitation.ID), nil, nil, [6]int{u, n, n, n, n, n}},
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
			{"POST", "/api/checkout", checkoutBody(shop, payments.TestCardVisa), nil, [6]int{u, 400, 400, 400, 400, 400}},
			{"GET", "/api/orders", nil, nil, [6]int{u, 200, 200, 200, 200, 200}},
			{"GET", O, nil, nil, [6]int{u, 200, n, 200, n, 200}},
			{"POST", O + "/ship", map[string]string{}, nil, [6]int{u, f, n, 422, n, 422}},
			{"POST", O + "/deliver", nil, nil, [6]int{u, f, n, 409, n, 409}},
			{"POST", O + "/cancel", nil, nil, [6]int{u, f, n, 400, n, 400}},
			{"POST", O + "/refund", nil, nil, [6]int{u, f, n, 400, n, 400}},
			{"GET", O + "/messages", nil, nil, [6]int{u, 200, n, 200, n, 200}},
			{"POST", O + "/messages", map[string]string{"body": " "}, nil, [6]int{u, 422, n, 422, n, 422}},
		}
		fx := authzFixture{node: node, owner: owner, viewer: viewer, shop: shop, product: product, live: liveStream(t, node, owner, shop)}
		cases = append(cases, roomAuthzCases(t, fx)...)
		cases = append(cases, flashSaleAuthzCases(t, fx)...)
		callers := []*client{anon, viewer.client, other.client, owner.client, mod.client, admin.client}
		for _, tc := range cases {
			t.Run(tc.method+" "+tc.path, func(t *testing.T) { checkAuthz(t, tc, callers) })
		}
		// Signing out ends the session it is sent with, so each role signs
		// out of a session of its own.
		emails := []string{"", "viewer@example.com", "other@example.com", "owner@example.com", "mod@example.com", "admin@example.com"}
		sessionCases := []authzCase{
			{"POST", "/api/auth/logout", nil, nil, [6]int{u, 204, 204, 204, 204, 204}},
			{"POST", "/api/auth/logout-all", nil, nil, [6]int{u, 204, 204, 204, 204, 204}},
		}
		for _, tc := range sessionCases {
			t.Run(tc.method+" "+tc.path, func(t *testing.T) {
				fresh := []*client{anon}
				for _, email := range emails[1:] {
					fresh = append(fresh, srv.signIn(t, email))
				}
				checkAuthz(t, tc, fresh)
			})
		}
		cases = append(cases, sessionCases...)

		t.Run("every API route is in a matrix", func(t *testing.T) {
			a, err := newApp(t.Context(), shopConfig(t), discardLogger())
			if err != nil {
				t.Fatal(err)
			}
			defer a.close()
			covered := map[string]bool{}
			for _, tc := range cases {
				covered[tc.method+" "+routePattern(tc.path)] = true
			}
			elsewhere := documentedRoutes(t, discovery.OpenAPI, live.OpenAPI)
			for _, r := range a.echo.Routes() {
				if !strings.HasPrefix(r.Path, "/api/") || strings.HasPrefix(r.Method, "echo_route_") || elsewhere[r.Method+" "+openAPIPath(r.Path)] {
					continue
				}
				if !covered[r.Method+" "+r.Path] {
					t.Errorf("%s %s is not in the authorization matrix", r.Method, r.Path)
				}
			}
		})
	})
}

// checkAuthz sends tc's request as each caller (in authzRoles order) and
// checks the status each gets.
func checkAuthz(t *testing.T, tc authzCase, callers []*client) {
	t.Helper()
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
}

// signIn opens a new session of an account made by signUp (its own
// client, so it does not share the account's other sessions).
func (s *testServer) signIn(t *testing.T, email string) *client {
	t.Helper()
	c := s.client(t)
	var out struct {
		Token string `json:"token"`
	}
	c.expect(200, "POST", "/api/auth/login", map[string]string{"email": email, "password": "correct horse battery"}).decode(t, &out)
	c.token = out.Token
	return c
}

// documentedRoutes returns "METHOD /path/{param}" of every operation in
// the OpenAPI documents: routes another matrix or package tests.
func documentedRoutes(t *testing.T, docs ...[]byte) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, d := range docs {
		var doc struct {
			Paths map[string]map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(d, &doc); err != nil {
			t.Fatal(err)
		}
		for path, ops := range doc.Paths {
			for method := range ops {
				out[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	return out
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
		case isDigits(p) && (prev == "shops" || prev == "products" || prev == "orders" || prev == "streams" || prev == "lines" || prev == "flash-sales"):
			parts[i] = ":id"
		case isDigits(p) && prev == "moderators":
			parts[i] = ":account"
		case isDigits(p) && prev == "moderator-invitations" && parts[2] == "me":
			parts[i] = ":id"
		case isDigits(p) && prev == "moderator-invitations":
			parts[i] = ":invitation"
		case isDigits(p) && prev == "comments":
			parts[i] = ":comment_id"
		case isDigits(p) && (prev == "mutes" || prev == "bans"):
			parts[i] = ":user_id"
		case isDigits(p) && prev == "reservations":
			parts[i] = ":rid"
		case prev == "blocked-words":
			parts[i] = ":word"
		case prev == "coupons":
			parts[i] = ":code"
		case prev == "images" && p != "upload":
			parts[i] = ":name"
		}
	}
	return strings.Join(parts, "/")
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// authzFixture is what the room and flash-sale cases act on: the owner's
// shop with a product and a live stream, and the viewer who buys there.
type authzFixture struct {
	node          *testNode
	owner, viewer shopper
	shop          int64
	product       commerce.Product
	live          int64
}

// liveStream creates a stream of the shop and puts it on air, as the live
// package would when its publisher connects.
func liveStream(t *testing.T, n *testNode, owner shopper, shop int64) int64 {
	t.Helper()
	var st commerce.StreamWithKey
	owner.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shop), map[string]any{"title": "On air"}).decode(t, &st)
	if err := n.app.commerce.MarkStreamLive(t.Context(), st.ID); err != nil {
		t.Fatal(err)
	}
	return st.ID
}
