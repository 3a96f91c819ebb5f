package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/liveshop/liveshop/commerce"
)

// TestBrowserDiscovery: a follower browsing the home page is told, in a
// toast, the moment the shop they follow goes live; the seller reads the
// stream's numbers in the dashboard's Analytics tab (SVG chart drawn by the
// page, stream details, CSV link).
func TestBrowserDiscovery(t *testing.T) {
	n := startDiscNode(t, shopConfig(t))
	b := newBrowser(t, n.URL)
	seller := n.srv.shopper(t, "mara@example.test", "Mara")
	shopID := seller.openShop("maras", "USD")
	mug := seller.product(shopID, "Celadon mug", 2400, 20, "pottery")
	stream := createStream(t, seller, shopID, "Glaze night", mug.ID)
	fan := n.srv.shopper(t, "fan@example.test", "Fay")
	fan.expect(200, "PUT", fmt.Sprintf("/api/shops/%d/follow", shopID), nil)

	viewer := b.user("fan", phone)
	viewer.logIn("fan@example.test", "Fay")
	viewer.open("/")
	anon := n.srv.client(t)
	discWaitUntil(t, stepTimeout, "the page's notification socket", func() bool {
		return strings.Contains(string(anon.do("GET", "/metrics", nil).body), "liveshop_follow_alert_sockets 1")
	})
	n.goLive(t, stream)
	viewer.waitText(`[data-testid="follow-alert"]`, "Shop maras is live")
	if href := evalJS[string](viewer, `document.querySelector('[data-testid="follow-alert"] a').getAttribute("href")`); href != fmt.Sprintf("/watch/%d", stream) {
		t.Fatalf("alert links to %q", href)
	}
	viewer.saveScreenshot("discovery-follow-alert")

	fan.expect(202, "POST", "/api/interactions", map[string]any{"events": []map[string]any{
		{"type": "product_clicked", "product_id": mug.ID, "stream_id": stream}}})
	fan.expect(200, "POST", "/api/cart/lines", map[string]int64{"product_id": mug.ID, "quantity": 2})
	body := checkoutBody(shopID, commerce.TestCardVisa)
	body["stream_id"] = stream
	fan.expect(201, "POST", "/api/checkout", body, "Idempotency-Key", newKey())
	n.flush(t)

	dash := b.user("seller", desktop)
	dash.logIn("mara@example.test", "Mara")
	dash.open("/dashboard#analytics")
	dash.waitJS("chart drawn", `document.querySelector("#analytics-panel svg.analytics-chart rect") !== null`)
	dash.waitText("#analytics-body", "$48.00")
	dash.click(`#analytics-body button[aria-label="Details of Glaze night"]`)
	dash.waitText("#stream-analytics", "Peak viewers")
	dash.waitText("#stream-analytics", "Celadon mug")
	if got := evalJS[string](dash, `document.querySelector('#stream-analytics a[download]').getAttribute("href")`); got != fmt.Sprintf("/api/streams/%d/analytics?format=csv", stream) {
		t.Fatalf("CSV link %q", got)
	}
	dash.checkLabels("dashboard analytics")
	dash.saveScreenshot("discovery-dashboard-analytics")
}
