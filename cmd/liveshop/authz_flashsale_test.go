package main

import (
	"fmt"
	"testing"

	"github.com/liveshop/liveshop/commerce/flash"
	"github.com/liveshop/liveshop/commerce/payments"
)

// flashSaleAuthzCases are the flash-sale, live-coupon and purchase-privacy
// routes in the authorization matrix. Sales and coupons are run by the
// shop's seller (and admins; moderators moderate, they do not sell);
// anyone signed in may buy; a reservation is its buyer's alone; sales and
// whether a code works are public.
func flashSaleAuthzCases(t *testing.T, fx authzFixture) []authzCase {
	t.Helper()
	owner, viewer := fx.owner, fx.viewer
	L := fmt.Sprintf("/api/streams/%d", fx.live)
	startSale := func(quantity int64) flash.Sale {
		var fs flash.Sale
		owner.expect(201, "POST", L+"/flash-sales", map[string]int64{"product_id": fx.product.ID, "price_minor": 500,
			"quantity": quantity, "per_buyer_limit": min(quantity, 2), "duration_s": 600}).decode(t, &fs)
		return fs
	}
	stopped := startSale(1)
	owner.expect(200, "POST", fmt.Sprintf("/api/flash-sales/%d/stop", stopped.ID), nil)
	sale := startSale(10)
	paid, cancelled := reserve(t, viewer.client, sale.ID, 1), reserve(t, viewer.client, sale.ID, 1)
	owner.expect(201, "POST", L+"/coupons", map[string]any{"code": "LIVE5", "kind": "percent", "value": 5, "max_uses": 10})

	F := fmt.Sprintf("/api/flash-sales/%d", sale.ID)
	const u, f, n = 401, 403, 404
	all := func(status int) [6]int { return [6]int{status, status, status, status, status, status} }
	signedIn := func(status int) [6]int { return [6]int{u, status, status, status, status, status} }
	sellers := func(status int) [6]int { return [6]int{u, f, f, status, f, status} }
	buyer := func(status int) [6]int { return [6]int{u, status, n, n, n, n} }
	return []authzCase{
		{"POST", L + "/flash-sales", map[string]any{}, nil, sellers(422)},
		{"GET", L + "/flash-sales", nil, nil, all(200)},
		{"GET", F, nil, nil, all(200)},
		// The stopped sale: allowed roles get past authorization to "ended".
		{"POST", fmt.Sprintf("/api/flash-sales/%d/stop", stopped.ID), nil, nil, sellers(409)},
		{"POST", F + "/reservations", map[string]int{"quantity": 0}, nil, signedIn(422)},
		{"POST", F + "/baseline-reservations", map[string]int{"quantity": 0}, nil, signedIn(422)},
		{"GET", fmt.Sprintf("%s/reservations/%d", F, paid.ID), nil, nil, buyer(200)},
		{"POST", fmt.Sprintf("%s/reservations/%d/checkout", F, paid.ID), flashCheckoutBody(payments.TestCardVisa),
			[]string{"Idempotency-Key", "authz-checkout"}, buyer(201)},
		{"DELETE", fmt.Sprintf("%s/reservations/%d", F, cancelled.ID), nil, nil, buyer(200)},
		{"POST", L + "/coupons", map[string]any{}, nil, sellers(422)},
		{"GET", L + "/coupons", nil, nil, sellers(200)},
		{"GET", L + "/coupons/live5", nil, nil, all(200)},
		{"GET", "/api/me/purchase-privacy", nil, nil, signedIn(200)},
		{"PUT", "/api/me/purchase-privacy", map[string]bool{"show_name_in_purchases": false}, nil, signedIn(200)},
	}
}
