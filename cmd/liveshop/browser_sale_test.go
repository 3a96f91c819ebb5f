package main

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/liveshop/liveshop/commerce"
)

// TestBrowserPinAndFlashSale: the seller, live, pins a product and starts a
// flash sale; two viewers see the card and the countdown; one buys through
// the checkout sheet over the video; the other sees the stock fall; the
// order shows in the seller's dashboard and in the buyer's orders.
func TestBrowserPinAndFlashSale(t *testing.T) {
	srv := startServer(t, testConfig(t)) // loopback-only WebRTC
	b := newBrowser(t, srv.URL)
	ls := newLiveShop(t, srv)
	stream := fmt.Sprint(ls.streamID)

	seller := b.user("seller", desktop)
	seller.acceptDialogs()
	seller.logIn("mara@example.test", ls.sellerName)
	seller.goLive(stream)

	ana := b.user("ana", phone)
	ben := b.user("ben", phone)
	for _, v := range []*tab{ana, ben} {
		v.signUp(map[*tab]string{ana: "Ana", ben: "Ben"}[v], v.name+"@example.test")
		v.open("/watch/" + stream)
		v.waitJS("the player is playing", `window.liveshop.player.status === "playing"`)
	}

	seller.click(fmt.Sprintf(`#lineup li[data-product-id="%d"] button[data-action="pin"]`, ls.shirt.ID))
	for _, v := range []*tab{ana, ben} {
		v.waitText(`[data-testid="pinned-card"]`, "Linen shirt")
		v.waitText(`[data-testid="pinned-card"]`, "$24.50")
	}
	seller.waitJS("the studio marks it pinned", fmt.Sprintf(`document.querySelector('#lineup li[data-product-id="%d"]').classList.contains("is-pinned")`, ls.shirt.ID))

	seller.do("choose the hat for the sale", chromedp.SetValue(chromedp.CSS("#sale-product"), fmt.Sprint(ls.hat.ID)))
	seller.fill("#sale-price", "9.00")
	seller.fill("#sale-quantity", "5")
	seller.fill("#sale-limit", "1")
	seller.click("#start-sale")
	for _, v := range []*tab{ana, ben} {
		v.waitText("#sale", "Straw hat")
		v.waitText("#sale", "$9.00")
		v.waitText("#sale .stock-left", "5 of 5 left")
		v.waitJS("the countdown runs", `/^\d+:\d\d$/.test(document.querySelector("#sale .countdown").textContent)`)
	}

	ana.click("#sale button.buy-sale")
	ana.fillCheckout("Ana Buyer")
	ana.waitText(`[data-testid="checkout-total"]`, "$9.00")
	ana.click(`dialog.sheet button.pay`)
	ana.waitText(`[data-testid="order-confirmed"]`, "Order confirmed")
	if path := evalJS[string](ana, `location.pathname`); path != "/watch/"+stream {
		t.Errorf("the buyer left the stream: at %s", path)
	}
	orderID := evalJS[string](ana, `document.querySelector('[data-testid="order-confirmed"] a').getAttribute("href").split("/").pop()`)

	ben.comment("Is the hat one size?")
	seller.waitJS("the studio shows Ben's question", commentCount("#chat", "Is the hat one size?")+" === 1")
	ben.waitText("#sale .stock-left", "4 of 5 left")
	seller.waitText("#studio-sale .stock-left", "4 of 5 left")
	seller.waitText("#count-orders", "1")
	seller.waitText("#count-revenue", "$9.00")
	for range 3 {
		ben.click("#like")
	}
	seller.waitJS("the studio counts the hearts", `Number(document.querySelector("#count-likes").textContent) >= 3`)
	ben.checkLabels("watch page during a sale")
	seller.checkLabels("studio during a sale")
	ben.saveScreenshot("watch-pinned-flash-sale")
	seller.saveScreenshot("studio-flash-sale")

	ana.click(`[data-testid="order-confirmed"] button.primary`)
	ana.waitJS("the sheet closed", `!document.querySelector("dialog.sheet").open`)
	ana.videoDecodes()

	ana.open("/orders")
	ana.waitText("#orders", "#"+orderID)
	seller.open("/dashboard#orders")
	seller.waitText("#shop-orders", "#"+orderID)
	seller.waitText("#shop-orders", "Ana")
	for _, p := range []*tab{seller, ana, ben} {
		if ex := p.exceptions(); len(ex) > 0 {
			t.Errorf("%s: uncaught exceptions: %v", p.name, ex)
		}
	}
}

// confirmedOrder is the order the checkout sheet on p confirmed, as the
// seller reads it from the API.
func confirmedOrder(t *testing.T, p *tab, seller shopper) commerce.Order {
	t.Helper()
	id := evalJS[string](p, `document.querySelector('[data-testid="order-confirmed"] a').getAttribute("href").split("/").pop()`)
	var o commerce.Order
	seller.expect(200, "GET", "/api/orders/"+id, nil).decode(t, &o)
	return o
}

// fillCheckout types a shipping address and the test card into the open
// checkout sheet.
func (p *tab) fillCheckout(name string) {
	p.t.Helper()
	p.fill(`dialog.sheet [name=name]`, name)
	p.fill(`dialog.sheet [name=line1]`, "2 Market Street")
	p.fill(`dialog.sheet [name=city]`, "Lisbon")
	p.fill(`dialog.sheet [name=postal_code]`, "1100-001")
	p.fill(`dialog.sheet [name=country]`, "PT")
	p.fill(`dialog.sheet [name=card]`, "4242 4242 4242 4242")
}

// TestBrowserLiveCouponAndTickerPrivacy: the seller creates live coupons in
// the studio (a percentage and a fixed amount, with a cap) and runs a flash
// sale; a buyer applies a coupon in the checkout sheet over the video — one
// of another stream is refused with the reason — and the order's total is
// the server's, with the discount; the studio counts the use. The ticker
// says "Someone" bought; the buyer chooses on the settings page to show
// their name, buys again (where using the coupon twice is refused) and the
// ticker shows their name. Another viewer buys the pinned product with the
// fixed coupon, and from the cart with the percentage.
func TestBrowserLiveCouponAndTickerPrivacy(t *testing.T) {
	n := startNode(t, shopConfig(t)) // streams go live without video
	b := newBrowser(t, n.URL)
	ls := newLiveShop(t, n.srv)
	stream := fmt.Sprint(ls.streamID)
	n.goLive(t, ls.streamID)
	next := createStream(t, ls.seller, ls.shopID, "Next week")
	ls.seller.expect(201, "POST", fmt.Sprintf("/api/streams/%d/coupons", next), map[string]any{"code": "NEXTWEEK", "kind": "fixed", "value": 500, "max_uses": 10})

	seller := b.user("seller", desktop)
	seller.logIn("mara@example.test", ls.sellerName)
	seller.open("/studio?stream=" + stream)
	seller.fill("#coupon-code", "live10")
	seller.fill("#coupon-value", "10")
	seller.fill("#coupon-uses", "5")
	seller.click("#create-coupon")
	seller.waitText(`#coupons li[data-code="LIVE10"]`, "10% off")
	seller.waitText(`#coupons li[data-code="LIVE10"]`, "0 of 5 used")
	seller.do("choose a fixed amount", chromedp.SetValue(chromedp.CSS("#coupon-kind"), "fixed"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#coupon-kind").dispatchEvent(new Event("change"))`))
	seller.waitText(`label[for="coupon-value"]`, "Amount off (USD)")
	seller.fill("#coupon-code", "FLAT2")
	seller.fill("#coupon-value", "2.00")
	seller.fill("#coupon-uses", "3")
	seller.click("#create-coupon")
	seller.waitText(`#coupons li[data-code="FLAT2"]`, "$2.00 off")
	seller.do("choose the hat for the sale", chromedp.SetValue(chromedp.CSS("#sale-product"), fmt.Sprint(ls.hat.ID)))
	seller.fill("#sale-price", "9.00")
	seller.fill("#sale-quantity", "5")
	seller.fill("#sale-limit", "2")
	seller.click("#start-sale")

	ana := b.user("ana", phone)
	ben := b.user("ben", phone)
	for _, v := range []*tab{ana, ben} {
		v.signUp(map[*tab]string{ana: "Ana", ben: "Ben"}[v], v.name+"@example.test")
		v.open("/watch/" + stream)
		v.waitText("#sale", "Straw hat")
	}

	ana.click("#sale button.buy-sale")
	ana.fillCheckout("Ana Buyer")
	ana.waitText(`[data-testid="checkout-total"]`, "$9.00")
	ana.fill(`dialog.sheet [name=coupon]`, "nextweek")
	ana.click("dialog.sheet .apply-coupon")
	ana.waitText(`[data-testid="coupon-status"]`, "This coupon is for another live stream.")
	ana.waitText(`[data-testid="checkout-total"]`, "$9.00")
	ana.fill(`dialog.sheet [name=coupon]`, "live10")
	ana.click("dialog.sheet .apply-coupon")
	ana.waitText(`[data-testid="coupon-status"]`, "LIVE10: 10% off applied")
	ana.waitText(`[data-testid="checkout-total"]`, "$8.10")
	ana.waitText(`[data-testid="checkout-discount"]`, "−$0.90")
	ana.checkLabels("checkout sheet with a coupon")
	ana.saveScreenshot("coupon-applied")
	ana.click(`dialog.sheet button.pay`)
	ana.waitText(`[data-testid="order-confirmed"]`, "$8.10")
	ana.waitText(`[data-testid="order-discount"]`, "$0.90")
	if o := confirmedOrder(t, ana, ls.seller); o.TotalMinor != 810 || o.Payment.AmountMinor != 810 || o.DiscountMinor != 90 {
		t.Errorf("the order's total is %d, paid %d, discount %d; want 810 (9.00 less 10%%)", o.TotalMinor, o.Payment.AmountMinor, o.DiscountMinor)
	}
	ben.waitText("#ticker", "Someone just bought Straw hat")
	seller.waitText(`#coupons li[data-code="LIVE10"]`, "1 of 5 used")
	seller.checkLabels("studio coupons")
	seller.saveScreenshotOf("studio-coupons", ".studio-coupons")

	ana.open("/settings")
	ana.waitJS("anonymous by default", `document.querySelector("#privacy-anonymous").checked`)
	ana.click("#privacy-name")
	ana.click("#privacy-save")
	ana.waitText("#privacy-saved", "the ticker shows your name")
	ana.checkLabels("settings")
	ana.saveScreenshot("settings")

	ana.open("/watch/" + stream)
	ana.waitText("#sale .stock-left", "4 of 5 left")
	ana.click("#sale button.buy-sale")
	ana.fillCheckout("Ana Buyer")
	ana.fill(`dialog.sheet [name=coupon]`, "LIVE10")
	ana.click(`dialog.sheet button.pay`)
	ana.waitText(`dialog.sheet .form-error`, "You have used this coupon already.")
	ana.waitText(`[data-testid="coupon-status"]`, "This code was not applied.")
	ana.waitText(`[data-testid="checkout-total"]`, "$9.00")
	ana.fill(`dialog.sheet [name=coupon]`, "")
	ana.click(`dialog.sheet button.pay`)
	ana.waitText(`[data-testid="order-confirmed"]`, "$9.00")
	ben.waitText("#ticker", "Ana just bought Straw hat")
	ben.saveScreenshot("ticker-shows-name")

	// The pinned product's Buy now takes the stream's coupons too.
	seller.click(fmt.Sprintf(`#lineup li[data-product-id="%d"] button[data-action="pin"]`, ls.shirt.ID))
	ben.waitText(`[data-testid="pinned-card"]`, "Linen shirt")
	ben.click("#pinned button.buy-pinned")
	ben.fillCheckout("Ben Buyer")
	ben.fill(`dialog.sheet [name=coupon]`, "flat2")
	ben.click("dialog.sheet .apply-coupon")
	ben.waitText(`[data-testid="coupon-status"]`, "FLAT2: $2.00 off applied")
	ben.waitText(`[data-testid="checkout-total"]`, "$22.50")
	ben.click(`dialog.sheet button.pay`)
	ben.waitText(`[data-testid="order-confirmed"]`, "$22.50")
	ben.waitText(`[data-testid="order-discount"]`, "$2.00")
	if o := confirmedOrder(t, ben, ls.seller); o.TotalMinor != 2250 || o.DiscountMinor != 200 || o.CouponCode != "FLAT2" ||
		o.StreamID != ls.streamID || o.Source != commerce.OrderSourceBuyNow {
		t.Errorf("the shirt's order: total %d, discount %d, coupon %q, stream %d, source %s; want a buy_now of 2250 after 200 off with FLAT2 in stream %d",
			o.TotalMinor, o.DiscountMinor, o.CouponCode, o.StreamID, o.Source, ls.streamID)
	}
	seller.waitText(`#coupons li[data-code="FLAT2"]`, "1 of 3 used")

	// The cart's checkout takes the live coupon while the shop is live,
	// and credits the order to the coupon's stream.
	ben.open(fmt.Sprintf("/product/%d", ls.shirt.ID))
	ben.click("#add-to-cart")
	ben.waitJS("added", `!document.querySelector("#go-to-cart").hidden`)
	ben.open("/cart")
	ben.click(".cart-foot button.primary")
	ben.fillCheckout("Ben Buyer")
	ben.fill(`dialog.sheet [name=coupon]`, "live10")
	ben.click("dialog.sheet .apply-coupon")
	ben.waitText(`[data-testid="checkout-total"]`, "$22.05")
	ben.click(`dialog.sheet button.pay`)
	ben.waitText(`[data-testid="order-confirmed"]`, "$22.05")
	if o := confirmedOrder(t, ben, ls.seller); o.TotalMinor != 2205 || o.DiscountMinor != 245 || o.CouponCode != "LIVE10" || o.StreamID != ls.streamID {
		t.Errorf("the cart's order: total %d, discount %d, coupon %q, stream %d; want 2205 after 245 off with LIVE10 in stream %d",
			o.TotalMinor, o.DiscountMinor, o.CouponCode, o.StreamID, ls.streamID)
	}
	seller.waitText(`#coupons li[data-code="LIVE10"]`, "2 of 5 used")

	for _, p := range []*tab{seller, ana, ben} {
		if ex := p.exceptions(); len(ex) > 0 {
			t.Errorf("%s: uncaught exceptions: %v", p.name, ex)
		}
	}
}
