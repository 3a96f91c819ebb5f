package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestBrowserShop walks the shop pages end to end: a seller opens a shop and
// lists a product with a picture from the dashboard; a buyer finds it with
// the header's search box, adds it to the cart, is declined once, pays, and
// follows the order while the seller ships it.
func TestBrowserShop(t *testing.T) {
	srv := startServer(t, testConfig(t))
	b := newBrowser(t, srv.URL)
	seller := b.user("seller", desktop)
	buyer := b.user("buyer", phone)

	seller.signUp("Mara", "mara@example.test")
	seller.open("/dashboard")
	seller.fill("#shop-name-input", "Mara's Finds")
	seller.waitJS("handle suggested", `document.querySelector("#shop-handle").value === "mara-s-finds"`)
	seller.click(`#open-shop-form button[type=submit]`)
	seller.waitJS("dashboard shown", `document.body.dataset.ready === "1" && !document.querySelector("#dashboard").hidden`)

	seller.click("#new-product")
	seller.fill("#p-title", "Linen shirt")
	seller.fill("#p-description", "Soft, light, <b>washed</b> linen.")
	seller.fill("#p-price", "24.50")
	seller.fill("#p-stock", "5")
	seller.upload("#p-image", writePNG(t))
	seller.click(`#product-form button[type=submit]`)
	seller.waitText("#product-rows", "$24.50")
	seller.waitJS("picture uploaded", `document.querySelectorAll("#p-images img").length === 1`)
	seller.checkLabels("dashboard products")

	buyer.signUp("Ben", "ben@example.test")
	buyer.open("/")
	buyer.fill("#site-search-q", "linen")
	buyer.click(`.site-search button[type=submit]`)
	buyer.waitJS("search results", `document.body.dataset.ready === "1" && location.pathname === "/search"`)
	buyer.waitText("#found-products", "Linen shirt")
	buyer.click(`#found-products a[href^="/product/"]`)
	buyer.waitJS("product page", `document.body.dataset.ready === "1" && location.pathname.startsWith("/product/")`)
	buyer.waitText("#product-price", "$24.50")
	buyer.waitText("#product-description", "<b>washed</b>")
	buyer.checkLabels("product page")
	buyer.fill("#quantity", "2")
	buyer.click("#add-to-cart")
	buyer.waitJS("go-to-cart link", `!document.querySelector("#go-to-cart").hidden`)

	buyer.open("/cart")
	buyer.waitText("#cart", "$49.00")
	buyer.click(".cart-foot button.primary")
	buyer.fill(`dialog.sheet [name=name]`, "Ben Buyer")
	buyer.fill(`dialog.sheet [name=line1]`, "1 Test Street")
	buyer.fill(`dialog.sheet [name=city]`, "Springfield")
	buyer.fill(`dialog.sheet [name=postal_code]`, "12345")
	buyer.fill(`dialog.sheet [name=card]`, "4000 0000 0000 0002")
	buyer.checkLabels("checkout sheet")
	buyer.click(`dialog.sheet button.pay`)
	buyer.waitJS("decline shown", `/declined/i.test(document.querySelector("dialog.sheet .form-error").textContent)`)
	buyer.fill(`dialog.sheet [name=card]`, "4242 4242 4242 4242")
	buyer.click(`dialog.sheet button.pay`)
	buyer.waitText(`[data-testid="order-confirmed"]`, "Order confirmed")
	orderID := evalJS[string](buyer, `document.querySelector('[data-testid="order-confirmed"] a').getAttribute("href").split("/").pop()`)
	if _, err := strconv.Atoi(orderID); err != nil {
		t.Fatalf("confirmation links to order %q", orderID)
	}

	buyer.open("/orders")
	buyer.waitText("#orders", "#"+orderID)
	buyer.open("/orders/" + orderID)
	buyer.waitText(`[data-testid="order-status"]`, "Paid")
	buyer.fill("#message", "When will it ship?")
	buyer.click(`#message-form button[type=submit]`)
	buyer.waitText("#thread", "When will it ship?")

	seller.click("#tab-orders")
	seller.waitText("#shop-orders", "#"+orderID)
	seller.fill(`#shop-orders [name=carrier]`, "DHL")
	seller.fill(`#shop-orders [name=tracking]`, "JD0123")
	seller.click(`#shop-orders .ship-form button`)
	seller.waitText("#shop-orders", "Shipped")

	buyer.open("/orders/" + orderID)
	buyer.waitText(`[data-testid="order-status"]`, "Shipped")
	buyer.waitText("#order-tracking", "DHL: JD0123")
	buyer.waitText("#timeline", "Shipped")
	buyer.waitText("#thread", "When will it ship?")
	buyer.checkLabels("order page")
	seller.checkLabels("dashboard orders")
	buyer.saveScreenshot("order")

	for _, p := range []*tab{seller, buyer} {
		if ex := p.exceptions(); len(ex) > 0 {
			t.Errorf("%s: uncaught exceptions: %v", p.name, ex)
		}
	}
}

// writePNG writes a small picture for uploads and returns its path.
func writePNG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(200 + x/2), uint8(60 + y), 120, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shirt.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
