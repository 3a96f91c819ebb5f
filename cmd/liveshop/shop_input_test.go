package main

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/payments"
)

// TestBadShopInput sends nonsense to every kind of endpoint: each gets a
// clear error with the right status, and nothing is written.
func TestBadShopInput(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		srv := startServer(t, cfg)
		seller := srv.shopper(t, "seller@example.com", "Mara")
		buyer := srv.shopper(t, "buyer@example.com", "Ann")
		shop := seller.openShop("mara", "USD")
		mug := seller.product(shop, "Mug", 1000, 2)
		var draft, archived commerce.Product
		seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/products", shop), map[string]any{"title": "Draft", "price_minor": 100}).decode(t, &draft)
		seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/products", shop), map[string]any{"title": "Old", "price_minor": 100, "status": "archived"}).decode(t, &archived)
		other := srv.shopper(t, "other@example.com", "Otto")
		otherProduct := other.product(other.openShop("otto", "USD"), "Pen", 300, 1)
		order := buyer.buy(mug, 1)
		products := fmt.Sprintf("/api/shops/%d/products", shop)
		huge := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`

		for _, tc := range []struct {
			name         string
			c            shopper
			method, path string
			body         any
			header       []string
			status       int
			code         string
		}{
			{"a handle with spaces", buyer, "POST", "/api/shops", map[string]string{"handle": "A B", "name": "x", "currency": "USD"}, nil, 422, "invalid"},
			{"an unknown currency", buyer, "POST", "/api/shops", map[string]string{"handle": "ann", "name": "x", "currency": "XYZ"}, nil, 422, "unknown_currency"},
			{"a shop without currency", buyer, "POST", "/api/shops", map[string]string{"handle": "ann", "name": "x"}, nil, 422, "invalid"},
			{"a handle in use", buyer, "POST", "/api/shops", map[string]string{"handle": "mara", "name": "x", "currency": "USD"}, nil, 409, "handle_taken"},
			{"a second shop", seller, "POST", "/api/shops", map[string]string{"handle": "mara2", "name": "x", "currency": "USD"}, nil, 409, "shop_exists"},
			{"a body that is not JSON", buyer, "POST", "/api/shops", "{handle:", nil, 400, "bad_request"},
			{"a body of the wrong type", buyer, "POST", "/api/shops", "x", []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type"},
			{"a body over the limit", buyer, "POST", "/api/shops", huge, nil, 413, "payload_too_large"},
			{"a negative price", seller, "POST", products, map[string]any{"title": "x", "price_minor": -1}, nil, 422, "invalid"},
			{"a zero price", seller, "POST", products, map[string]any{"title": "x", "price_minor": 0}, nil, 422, "invalid"},
			{"an absurd price", seller, "POST", products, map[string]any{"title": "x", "price_minor": int64(1e15)}, nil, 422, "invalid"},
			{"a fractional price", seller, "POST", products, `{"title":"x","price_minor":12.5}`, nil, 400, "bad_request"},
			{"a price without title", seller, "POST", products, map[string]any{"price_minor": 100}, nil, 422, "invalid"},
			{"a title of 121 characters", seller, "POST", products, map[string]any{"title": strings.Repeat("é", 121), "price_minor": 100}, nil, 422, "invalid"},
			{"a negative stock", seller, "POST", products, map[string]any{"title": "x", "price_minor": 100, "stock": -1}, nil, 422, "invalid"},
			{"an absurd stock", seller, "POST", products, map[string]any{"title": "x", "price_minor": 100, "stock": int64(1e9)}, nil, 422, "invalid"},
			{"another currency than the shop's", seller, "POST", products, map[string]any{"title": "x", "price_minor": 100, "currency": "EUR"}, nil, 422, "currency_mismatch"},
			{"an unknown product currency", seller, "POST", products, map[string]any{"title": "x", "price_minor": 100, "currency": "ABC"}, nil, 422, "unknown_currency"},
			{"an unknown product status", seller, "POST", products, map[string]any{"title": "x", "price_minor": 100, "status": "sold"}, nil, 422, "invalid"},
			{"a hashtag with punctuation", seller, "POST", products, map[string]any{"title": "x", "price_minor": 100, "hashtags": []string{"ok", "not ok!"}}, nil, 422, "invalid"},
			{"a title with control characters", seller, "PATCH", fmt.Sprintf("/api/products/%d", mug.ID), map[string]any{"title": "a\x00b"}, nil, 422, "invalid"},
			{"an unknown product", buyer, "GET", "/api/products/999999", nil, nil, 404, "not_found"},
			{"a product ID that is not a number", buyer, "GET", "/api/products/abc", nil, nil, 404, "not_found"},
			{"an unknown shop", buyer, "GET", "/api/shops/no-such-shop", nil, nil, 404, "not_found"},
			{"a negative quantity", buyer, "POST", "/api/cart/lines", map[string]int64{"product_id": mug.ID, "quantity": -1}, nil, 422, "invalid"},
			{"an absurd quantity", buyer, "POST", "/api/cart/lines", map[string]int64{"product_id": mug.ID, "quantity": 1001}, nil, 422, "invalid"},
			{"more than the stock", buyer, "POST", "/api/cart/lines", map[string]int64{"product_id": mug.ID, "quantity": 2}, nil, 409, "out_of_stock"},
			{"a draft product in the cart", buyer, "POST", "/api/cart/lines", map[string]int64{"product_id": draft.ID, "quantity": 1}, nil, 404, "not_found"},
			{"an archived product in the cart", buyer, "POST", "/api/cart/lines", map[string]int64{"product_id": archived.ID, "quantity": 1}, nil, 409, "product_unavailable"},
			{"an unknown product in the cart", buyer, "POST", "/api/cart/lines", map[string]int64{"product_id": 999999, "quantity": 1}, nil, 404, "not_found"},
			{"a checkout without key", buyer, "POST", "/api/checkout", checkoutBody(shop, payments.TestCardVisa), nil, 400, "idempotency_key_required"},
			{"a checkout with an absurd key", buyer, "POST", "/api/checkout", checkoutBody(shop, payments.TestCardVisa), []string{"Idempotency-Key", strings.Repeat("k", 300)}, 400, "bad_request"},
			{"a checkout to a country that is not a code", buyer, "POST", "/api/checkout", map[string]any{"shipping_address": map[string]string{"name": "A", "line1": "1", "city": "C", "postal_code": "1", "country": "USA"}, "payment_method": map[string]string{"card_number": payments.TestCardVisa}}, []string{"Idempotency-Key", "k1"}, 422, "invalid"},
			{"a checkout without payment method", buyer, "POST", "/api/checkout", map[string]any{"shipping_address": testAddress}, []string{"Idempotency-Key", "k2"}, 422, "invalid"},
			{"a checkout from another shop's stream", buyer, "POST", "/api/checkout", map[string]any{"shop_id": otherProduct.ShopID, "stream_id": 999999, "shipping_address": testAddress, "payment_method": map[string]string{"card_number": payments.TestCardVisa}}, []string{"Idempotency-Key", "k3"}, 422, "invalid"},
			{"an unknown order", buyer, "GET", "/api/orders/999999", nil, nil, 404, "not_found"},
			{"shipping without carrier", seller, "POST", fmt.Sprintf("/api/orders/%d/ship", order.ID), map[string]string{"tracking_number": "1"}, nil, 422, "invalid"},
			{"a review rated 0", buyer, "POST", fmt.Sprintf("/api/products/%d/reviews", mug.ID), map[string]int{"rating": 0}, nil, 422, "invalid"},
			{"a review without delivery", buyer, "POST", fmt.Sprintf("/api/products/%d/reviews", mug.ID), map[string]int{"rating": 4}, nil, 403, "not_eligible"},
			{"an empty message", buyer, "POST", fmt.Sprintf("/api/orders/%d/messages", order.ID), map[string]string{"body": ""}, nil, 422, "invalid"},
			{"a stream lining up another shop's product", seller, "POST", fmt.Sprintf("/api/shops/%d/streams", shop), map[string]any{"title": "x", "product_ids": []int64{otherProduct.ID}}, nil, 422, "invalid"},
			{"a stream in ten years", seller, "POST", fmt.Sprintf("/api/shops/%d/streams", shop), map[string]any{"title": "x", "scheduled_at": "2036-01-01T00:00:00Z"}, nil, 422, "invalid"},
			{"a page of 1000", buyer, "GET", "/api/products?limit=1000", nil, nil, 400, "bad_request"},
			{"a forged cursor", buyer, "GET", "/api/products?cursor=%27%3B--", nil, nil, 400, "bad_request"},
		} {
			t.Run("refuses "+tc.name, func(t *testing.T) {
				r := tc.c.as(t).do(tc.method, tc.path, tc.body, tc.header...)
				if r.status != tc.status || r.errorCode(t) != tc.code {
					t.Fatalf("status %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
				}
			})
		}

		t.Run("nothing was written by the refused requests", func(t *testing.T) {
			var all page[commerce.Product]
			seller.as(t).expect(200, "GET", products+"?status=all", nil).decode(t, &all)
			if got := fmt.Sprint(titles(all.Items)); got != "[Old Draft Mug]" {
				t.Fatalf("products %s", got)
			}
			var cart commerce.Cart
			buyer.as(t).expect(200, "GET", "/api/cart", nil).decode(t, &cart)
			var orders page[commerce.Order]
			buyer.as(t).expect(200, "GET", "/api/orders", nil).decode(t, &orders)
			if len(cart.Lines) != 0 || len(orders.Items) != 1 || buyer.as(t).productPage(mug.ID).Stock != 1 {
				t.Fatalf("cart %+v, %d orders", cart.Lines, len(orders.Items))
			}
		})

		t.Run("zero-decimal and three-decimal currencies take whole minor units", func(t *testing.T) {
			jp := srv.shopper(t, "jp@example.com", "Jun")
			p := jp.product(jp.openShop("jun", "JPY"), "Teapot", 4800, 1)
			kw := srv.shopper(t, "kw@example.com", "Kay")
			k := kw.product(kw.openShop("kay", "KWD"), "Lamp", 12_345, 1)
			if p.PriceMinor != 4800 || p.Currency != "JPY" || k.Currency != "KWD" {
				t.Fatalf("products %+v %+v", p, k)
			}
			if r := jp.do("POST", fmt.Sprintf("/api/shops/%d/products", p.ShopID), map[string]any{"title": "x", "price_minor": 10_000_001}); r.status != 422 {
				t.Fatalf("JPY 10,000,001: %d %s", r.status, r.body)
			}
			if r := kw.do("POST", fmt.Sprintf("/api/shops/%d/products", k.ShopID), map[string]any{"title": "x", "price_minor": 10_000_000_000}); r.status != 201 {
				t.Fatalf("KWD 10,000,000.000: %d %s", r.status, r.body)
			}
		})
	})
}

// TestImageUploads checks type sniffing, size limits and cache headers.
func TestImageUploads(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		cfg.Commerce.MaxImageBytes = 4096
		srv := startServer(t, cfg)
		seller := srv.shopper(t, "seller@example.com", "Mara")
		shop := seller.openShop("mara", "USD")
		mug := seller.product(shop, "Mug", 1000, 2)
		upload := fmt.Sprintf("/api/products/%d/images/upload", mug.ID)
		imageDir := filepath.Join(cfg.DataDir, "images")
		good := testPNG(t, 10, 10)
		noise := image.NewNRGBA(image.Rect(0, 0, 64, 64))
		_, _ = rand.Read(noise.Pix)
		var big bytes.Buffer
		if err := png.Encode(&big, noise); err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			name   string
			data   []byte
			status int
			code   string
		}{
			{"text", []byte("hello, not an image"), 415, "unsupported_image"},
			{"an SVG", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 415, "unsupported_image"},
			{"a truncated PNG", good[:30], 415, "unsupported_image"},
			{"an image over the size limit", big.Bytes(), 413, "image_too_large"},
			{"an empty body", nil, 400, "bad_request"},
			{"a small PNG claiming 50000×50000 pixels", claimSize(t, good, 50000, 50000), 413, "image_too_large"},
			{"a small WebP claiming 16384×16384 pixels", webpClaiming(16384, 16384), 413, "image_too_large"},
		} {
			t.Run("refuses "+tc.name, func(t *testing.T) {
				r := seller.as(t).upload(upload, tc.data)
				if r.status != tc.status || r.errorCode(t) != tc.code {
					t.Fatalf("status %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
				}
			})
		}
		if entries, _ := os.ReadDir(imageDir); len(entries) != 0 {
			t.Fatalf("refused uploads left files: %v", entries)
		}
		if p := seller.as(t).productPage(mug.ID); len(p.Images) != 0 {
			t.Fatalf("refused uploads left images on the product: %+v", p.Images)
		}

		t.Run("accepts a multipart upload and serves it cacheably", func(t *testing.T) {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			fw, _ := mw.CreateFormFile("image", "../../etc/evil.png")
			fw.Write(good)
			mw.Close()
			req, _ := http.NewRequest("POST", srv.URL+upload, &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("Authorization", "Bearer "+seller.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 201 {
				t.Fatalf("multipart upload: %d", resp.StatusCode)
			}
			p := seller.as(t).productPage(mug.ID)
			if len(p.Images) != 1 || strings.Contains(p.Images[0].Name, "evil") {
				t.Fatalf("images %+v", p.Images)
			}
			anon := srv.client(t)
			r := anon.expect(200, "GET", p.Images[0].URL, nil)
			if !bytes.Equal(r.body, good) || r.header.Get("Content-Type") != "image/png" ||
				r.header.Get("Cache-Control") != "public, max-age=31536000, immutable" || r.header.Get("ETag") == "" {
				t.Fatalf("served %d bytes with headers %v", len(r.body), r.header)
			}
			anon.expect(304, "GET", p.Images[0].URL, nil, "If-None-Match", r.header.Get("ETag"))
			for _, bad := range []string{"/api/images/..%2F..%2Fliveshop.db", "/api/images/" + strings.TrimSuffix(p.Images[0].Name, ".png") + ".gif", "/api/images/x.png"} {
				anon.expect(404, "GET", bad, nil)
			}

			seller.as(t).expect(200, "DELETE", upload[:len(upload)-len("/upload")]+"/"+p.Images[0].Name, nil)
			if entries, _ := os.ReadDir(imageDir); len(entries) != 0 {
				t.Fatalf("deleted image left its file: %v", entries)
			}
			anon.expect(404, "GET", p.Images[0].URL, nil)
		})
	})
}

// claimSize rewrites a PNG's header to declare w×h pixels (with a valid
// checksum), keeping its few real bytes: a decompression bomb's shape.
func claimSize(t testing.TB, pngData []byte, w, h uint32) []byte {
	t.Helper()
	const ihdr = 8 + 4 // after the signature and the chunk length
	if string(pngData[ihdr:ihdr+4]) != "IHDR" {
		t.Fatal("not a PNG starting with IHDR")
	}
	b := bytes.Clone(pngData)
	binary.BigEndian.PutUint32(b[ihdr+4:], w)
	binary.BigEndian.PutUint32(b[ihdr+8:], h)
	binary.BigEndian.PutUint32(b[ihdr+4+13:], crc32.ChecksumIEEE(b[ihdr:ihdr+4+13]))
	return b
}

// webpClaiming is an extended-format (VP8X) WebP header declaring w×h
// pixels, with no image data behind it.
func webpClaiming(w, h int) []byte {
	b := make([]byte, 30)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	copy(b[8:], "WEBPVP8X")
	binary.LittleEndian.PutUint32(b[16:], 10)
	for i, v := range []int{w - 1, h - 1} {
		b[24+3*i], b[25+3*i], b[26+3*i] = byte(v), byte(v>>8), byte(v>>16)
	}
	return b
}
