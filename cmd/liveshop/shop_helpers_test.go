package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"testing"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/payments"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

// eachDatabase runs fn against a server on SQLite and, when
// LIVESHOP_TEST_POSTGRES is set, on PostgreSQL (its own schema).
func eachDatabase(t *testing.T, fn func(t *testing.T, cfg Config)) {
	t.Helper()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			cfg := shopConfig(t)
			if db == "postgres" {
				cfg.DB = sqltest.PostgresURL(t)
			}
			fn(t, cfg)
		})
	}
}

// shopConfig is testConfig with the sign-up limits off (tests create many
// accounts from one address) and a fresh test payment processor.
func shopConfig(t testing.TB) Config {
	cfg := testConfig(t)
	cfg.Commerce.SignupLimitPerIP = -1
	cfg.Commerce.LoginLimitPerIP = -1
	cfg.Commerce.LoginLimitPerAccount = -1
	cfg.Commerce.Payments = payments.NewTestProcessor()
	cfg.Commerce.AdminEmails = []string{"admin@example.com"}
	return cfg
}

// expect sends a request and fails unless the status is want.
func (c *client) expect(want int, method, path string, body any, header ...string) response {
	c.t.Helper()
	r := c.do(method, path, body, header...)
	if r.status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// upload sends raw bytes as an image upload.
func (c *client) upload(path string, data []byte) response {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.base+path, bytes.NewReader(data))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("upload %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// testPNG draws a small picture.
func testPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{uint8(x * 40), uint8(y * 40), 200, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func newKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// shopper is a signed-in client with its account ID.
type shopper struct {
	*client
	id int64
}

// as returns the same shopper reporting failures to t (a subtest).
func (c shopper) as(t testing.TB) shopper {
	cc := *c.client
	cc.t = t
	return shopper{&cc, c.id}
}

func (s *testServer) shopper(t testing.TB, email, name string) shopper {
	c := s.client(t)
	return shopper{c, c.signUp(email, name)}
}

// openShop opens a shop for the seller and returns its ID.
func (c shopper) openShop(handle, currency string) int64 {
	c.t.Helper()
	var shop commerce.Shop
	c.expect(201, "POST", "/api/shops", map[string]string{"handle": handle, "name": "Shop " + handle, "currency": currency}).decode(c.t, &shop)
	return shop.ID
}

// appoint makes mod, signed up with email, a moderator of the shop the only
// way there is: the seller invites the email and mod accepts.
func (c shopper) appoint(shopID int64, mod shopper, email string) {
	c.t.Helper()
	var inv commerce.ModeratorInvitation
	c.expect(202, "POST", fmt.Sprintf("/api/shops/%d/moderator-invitations", shopID), map[string]string{"email": email}).decode(c.t, &inv)
	mod.expect(200, "POST", fmt.Sprintf("/api/me/moderator-invitations/%d/accept", inv.ID), nil)
}

// product creates an active product and returns it.
func (c shopper) product(shopID int64, title string, price, stock int64, tags ...string) commerce.Product {
	c.t.Helper()
	var p commerce.Product
	c.expect(201, "POST", fmt.Sprintf("/api/shops/%d/products", shopID), map[string]any{
		"title": title, "price_minor": price, "stock": stock, "status": "active", "hashtags": tags,
	}).decode(c.t, &p)
	return p
}

var testAddress = map[string]string{"name": "Ann Buyer", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}

func checkoutBody(shopID int64, card string) map[string]any {
	return map[string]any{"shop_id": shopID, "shipping_address": testAddress, "payment_method": map[string]string{"card_number": card}}
}

// buy puts qty units of a product in the cart and checks out with a Visa.
func (c shopper) buy(p commerce.Product, qty int64) commerce.Order {
	c.t.Helper()
	c.expect(200, "POST", "/api/cart/lines", map[string]int64{"product_id": p.ID, "quantity": qty})
	var o commerce.Order
	c.expect(201, "POST", "/api/checkout", checkoutBody(p.ShopID, payments.TestCardVisa), "Idempotency-Key", newKey()).decode(c.t, &o)
	return o
}

func (c shopper) order(id int64) commerce.Order {
	c.t.Helper()
	var o commerce.Order
	c.expect(200, "GET", fmt.Sprintf("/api/orders/%d", id), nil).decode(c.t, &o)
	return o
}

func (c shopper) productPage(id int64) commerce.Product {
	c.t.Helper()
	var p commerce.Product
	c.expect(200, "GET", fmt.Sprintf("/api/products/%d", id), nil).decode(c.t, &p)
	return p
}

// timeline lists the events of an order's timeline.
func timeline(o commerce.Order) []string {
	var out []string
	for _, e := range o.Timeline {
		out = append(out, e.Event)
	}
	return out
}

// with returns the same client reporting failures to t (a subtest).
func (c *client) with(t testing.TB) *client {
	cc := *c
	cc.t = t
	return &cc
}
