package main

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
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
	ana.fill(`dialog.sheet [name=name]`, "Ana Buyer")
	ana.fill(`dialog.sheet [name=line1]`, "2 Market Street")
	ana.fill(`dialog.sheet [name=city]`, "Lisbon")
	ana.fill(`dialog.sheet [name=postal_code]`, "1100-001")
	ana.fill(`dialog.sheet [name=country]`, "PT")
	ana.fill(`dialog.sheet [name=card]`, "4242 4242 4242 4242")
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
