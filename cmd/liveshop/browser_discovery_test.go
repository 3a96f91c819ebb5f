package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/liveshop/liveshop/commerce/payments"
)

// TestBrowserDiscovery: a viewer follows a shop with the button on its page
// (the followers count goes up); browsing the home page, they are told in a
// toast the moment the shop goes live, and its stream is listed before
// other live streams; the seller reads the stream's numbers in the
// dashboard's Analytics tab (SVG chart drawn by the page, stream details,
// CSV link).
func TestBrowserDiscovery(t *testing.T) {
	n := startNode(t, withMetrics(shopConfig(t)))
	b := newBrowser(t, n.URL)
	seller := n.srv.shopper(t, "mara@example.test", "Mara")
	shopID := seller.openShop("maras", "USD")
	mug := seller.product(shopID, "Celadon mug", 2400, 20, "pottery")
	stream := createStream(t, seller, shopID, "Glaze night", mug.ID)
	// A rival is live already with a newer stream, which lists first among
	// equals: only the follow puts Glaze night ahead of it.
	rival := n.srv.shopper(t, "rex@example.test", "Rex")
	rivalStream := createStream(t, rival, rival.openShop("rexs", "USD"), "Rex live")
	n.goLive(t, rivalStream)
	fan := n.srv.shopper(t, "fan@example.test", "Fay")

	viewer := b.user("fan", phone)
	viewer.logIn("fan@example.test", "Fay")
	viewer.open("/shop/maras")
	viewer.waitText(`[data-testid="followers"]`, "0 followers")
	follow := `#shop-follow [data-testid="follow"]`
	viewer.waitJS("the follow button works", `!document.querySelector(`+jsString(follow)+`).disabled`)
	viewer.click(follow)
	viewer.waitJS("following", `document.querySelector(`+jsString(follow)+`).getAttribute("aria-pressed") === "true"`)
	viewer.waitText(`[data-testid="followers"]`, "1 follower")
	viewer.checkLabels("shop page")
	var state struct {
		Following bool  `json:"following"`
		Followers int64 `json:"followers"`
	}
	fan.expect(200, "GET", fmt.Sprintf("/api/shops/%d/follow", shopID), nil).decode(t, &state)
	if !state.Following || state.Followers != 1 {
		t.Fatalf("after the click the API says %+v", state)
	}
	viewer.saveScreenshot("discovery-shop-followed")

	viewer.open("/")
	anon := n.srv.client(t)
	eventually(t, "the page's notification socket", stepTimeout, func() bool {
		return strings.Contains(string(anon.metrics().body), "liveshop_follow_alert_sockets 1")
	})
	n.goLive(t, stream)
	viewer.waitText(`[data-testid="follow-alert"]`, "Shop maras is live")
	if href := evalJS[string](viewer, `document.querySelector('[data-testid="follow-alert"] a').getAttribute("href")`); href != fmt.Sprintf("/watch/%d", stream) {
		t.Fatalf("alert links to %q", href)
	}
	viewer.saveScreenshot("discovery-follow-alert")
	firstLive := `document.querySelector("#live-streams li")?.dataset.streamId`
	viewer.openUntil("/", "the followed shop's stream is listed first", fmt.Sprintf(`%s === "%d" && document.querySelectorAll("#live-streams li").length === 2`, firstLive, stream))
	visitor := b.user("visitor", phone)
	visitor.openUntil("/", "a visitor sees both streams, the newer first", fmt.Sprintf(`%s === "%d" && document.querySelectorAll("#live-streams li").length === 2`, firstLive, rivalStream))

	fan.expect(202, "POST", "/api/interactions", map[string]any{"events": []map[string]any{
		{"type": "product_clicked", "product_id": mug.ID, "stream_id": stream}}})
	fan.expect(200, "POST", "/api/cart/lines", map[string]int64{"product_id": mug.ID, "quantity": 2})
	body := checkoutBody(shopID, payments.TestCardVisa)
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
	dash.waitText("#stream-analytics", "Watching now")
	dash.waitText("#analytics-body", "Refunded (0 orders)")
	dash.waitText("#stream-analytics", "Celadon mug")
	if got := evalJS[string](dash, `document.querySelector('#stream-analytics a[download]').getAttribute("href")`); got != fmt.Sprintf("/api/streams/%d/analytics?format=csv", stream) {
		t.Fatalf("CSV link %q", got)
	}
	dash.checkLabels("dashboard analytics")
	dash.saveScreenshot("discovery-dashboard-analytics")
}

// openUntil opens path until expr holds: for lists the server shares
// between viewers and refreshes every few seconds (the feed, live now).
func (p *tab) openUntil(path, what, expr string) {
	p.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		p.open(path)
		if evalJS[bool](p, "!!("+expr+")") {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: %s: not within %s", p.name, what, stepTimeout)
		}
		select { // poll again in a moment
		case <-time.After(500 * time.Millisecond):
		case <-p.ctx.Done():
			p.t.Fatalf("%s: %s: %v", p.name, what, p.ctx.Err())
		}
	}
}

// TestBrowserSearchTagsAndShares: a visitor's For You feed shows the
// catalogue a page at a time; a viewer searches and finds products ranked
// (title over hashtag over description), pages through many results, and a
// hostile query is only text; a product's hashtag opens its hashtag page,
// an unknown hashtag is an empty page; share links of a product and a
// stream open the right pages.
func TestBrowserSearchTagsAndShares(t *testing.T) {
	n := startNode(t, shopConfig(t))
	b := newBrowser(t, n.URL)
	seller := n.srv.shopper(t, "mara@example.test", "Mara")
	shopID := seller.openShop("maras", "USD")
	mug := seller.product(shopID, "Celadon mug", 2400, 20, "pottery")
	newProduct := func(title, description string, tags ...string) {
		seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/products", shopID), map[string]any{
			"title": title, "description": description, "price_minor": 1800, "stock": 5, "status": "active", "hashtags": tags})
	}
	newProduct("Plain cup", "A cup in a pale celadon glaze.")
	newProduct("Jade teapot", "Holds four cups.", "celadon")
	for i := range 30 {
		newProduct(fmt.Sprintf("Stoneware plate %02d", i), "Fired twice.", "tableware")
	}
	stream := createStream(t, seller, shopID, "Glaze night", mug.ID)

	t.Run("a visitor's For You feed pages through the catalogue", func(t *testing.T) {
		visitor := b.user("visitor", desktop)
		use(t, visitor)
		visitor.openUntil("/", "the feed lists a first page", `document.querySelectorAll("#feed li").length === 24`)
		visitor.waitJS("more to load", `!document.querySelector("#feed ~ .pager .load-more").hidden`)
		visitor.click("#feed ~ .pager .load-more")
		visitor.waitJS("the next page", `document.querySelectorAll("#feed li.product-card").length === 33`)
		if n := evalJS[int](visitor, `new Set(Array.from(document.querySelectorAll("#feed li"), (li) => li.dataset.productId)).size`); n != 33 {
			t.Errorf("the feed shows %d different products, want all 33 once", n)
		}
		visitor.checkLabels("home page")
		visitor.saveScreenshot("for-you")
	})

	viewer := b.user("viewer", phone)
	viewer.signUp("Vic", "vic@example.test")

	t.Run("a viewer searches and finds products ranked", func(t *testing.T) {
		use(t, viewer)
		viewer.fill("#site-search-q", "celadon")
		viewer.click(`.site-search button[type=submit]`)
		viewer.waitJS("search results", `document.body.dataset.ready === "1" && location.pathname === "/search"`)
		viewer.waitText("#search-title", "Results for “celadon”")
		got := evalJS[[]string](viewer, `Array.from(document.querySelectorAll("#found-products .title"), (e) => e.textContent)`)
		if want := []string{"Celadon mug", "Jade teapot", "Plain cup"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("products found %q, want %q", got, want)
		}
		viewer.waitText("#found-shops-empty", "No shops match")
		viewer.checkLabels("search results")
		viewer.saveScreenshot("search")

		viewer.fill("#q", "stoneware")
		viewer.click(`#search-form button[type=submit]`)
		viewer.waitJS("a first page", `location.search === "?q=stoneware" && document.querySelectorAll("#found-products li").length === 24`)
		viewer.click("#found-products ~ .pager .load-more")
		viewer.waitJS("the rest", `document.querySelectorAll("#found-products li").length === 30`)
		viewer.waitJS("focus on the first new result", `document.activeElement === document.querySelectorAll("#found-products li a")[24]`)
		viewer.waitText("#found-products ~ .pager [role=status]", "6 products more")
		viewer.waitJS("no more to load", `document.querySelector("#found-products ~ .pager .load-more").hidden`)

		viewer.click(`#found-products a[href^="/product/"]`)
		viewer.waitJS("the product page", `document.body.dataset.ready === "1" && location.pathname.startsWith("/product/")`)
		if from := evalJS[string](viewer, `location.search`); from != "?from=search" {
			t.Errorf("the product page was opened with %q; its view is credited to search with ?from=search", from)
		}
	})

	t.Run("a hostile query is only text", func(t *testing.T) {
		use(t, viewer)
		hostile := `<img src=x onerror="window.pwned=1"> "celadon" OR 1=1; -- (mug) & %00 \ `
		viewer.open("/search?q=" + url.QueryEscape(hostile))
		viewer.waitText("#search-title", `<img src=x onerror="window.pwned=1">`)
		viewer.waitJS("every list answered", `Array.from(document.querySelectorAll("#results ul")).every((ul) => !ul.hasAttribute("aria-busy"))`)
		if bad := evalJS[bool](viewer, `window.pwned === 1 || document.querySelector("main img[src=x]") !== null`); bad {
			t.Error("the hostile query ran or was inserted as HTML")
		}
		if errs := evalJS[string](viewer, `Array.from(document.querySelectorAll(".pager [role=status]"), (e) => e.textContent).join("")`); errs != "" {
			t.Errorf("the search failed: %s", errs)
		}
		if got := evalJS[string](viewer, `document.querySelector("#q").value`); got != strings.TrimSpace(hostile) {
			t.Errorf("the search box holds %q", got)
		}
	})

	t.Run("hashtag pages list what carries the hashtag; unknown ones are empty", func(t *testing.T) {
		use(t, viewer)
		viewer.open(fmt.Sprintf("/product/%d", mug.ID))
		viewer.click(`#product-hashtags a[href="/tag/pottery"]`)
		viewer.waitJS("the hashtag page", `document.body.dataset.ready === "1" && location.pathname === "/tag/pottery"`)
		viewer.waitText("#tag-title", "#pottery")
		viewer.waitText("#tag-products", "Celadon mug")
		if n := evalJS[int](viewer, `document.querySelectorAll("#tag-products li").length`); n != 1 {
			t.Errorf("#pottery lists %d products, want 1", n)
		}
		viewer.saveScreenshot("hashtag")
		for _, tag := range []string{"nosuchtag", "%3Cb%3Ebold%3C%2Fb%3E", "a%20b%22'"} {
			viewer.open("/tag/" + tag)
			viewer.waitJS("the empty note", `!document.querySelector("#tag-empty").hidden && document.querySelectorAll("#tag-products li").length === 0`)
			if bad := evalJS[bool](viewer, `document.querySelector("main b, main .notice.error") !== null`); bad {
				t.Errorf("/tag/%s: an error or markup on the page", tag)
			}
		}
	})

	t.Run("share links open the product and the stream", func(t *testing.T) {
		use(t, viewer)
		for _, c := range []struct{ page, link, lands string }{
			{fmt.Sprintf("/product/%d", mug.ID), "/s/p" + strconv.FormatInt(mug.ID, 36), fmt.Sprintf("/product/%d", mug.ID)},
			{fmt.Sprintf("/watch/%d", stream), "/s/w" + strconv.FormatInt(stream, 36), fmt.Sprintf("/watch/%d", stream)},
		} {
			viewer.open(c.page)
			viewer.click(`[data-testid="share"]`)
			viewer.waitJS("the link is shown", `document.querySelector('[data-testid="share-url"]')?.value.endsWith(`+jsString(c.link)+`)`)
			viewer.checkLabels("share panel on " + c.page)
			viewer.saveScreenshot("share-" + strings.Split(c.page, "/")[1])
			viewer.do("open the link", chromedp.Navigate(viewer.base+c.link))
			viewer.waitJS("the shared page", `location.pathname === `+jsString(c.lands))
		}
	})

	if ex := viewer.exceptions(); len(ex) > 0 {
		t.Errorf("uncaught exceptions: %v", ex)
	}
}
