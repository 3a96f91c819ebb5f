package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/liveshop/liveshop/commerce"
)

// The pages' error net: every page, opened on first load (a fresh browser
// context, signed in by its session cookie, no earlier navigation) by every
// role that can see it, must show what it exists to show and nothing that
// went wrong — no uncaught exception or unhandled rejection, no console
// error, no failed request to the server the page did not mean to make, no
// error shown on the page.

// Roles of the net. A visitor has no account; the moderator accepted the
// seller's invitation; the admin has an admin email and no shop.
type role string

const (
	roleVisitor   role = "visitor"
	roleBuyer     role = "buyer"
	roleSeller    role = "seller"
	roleModerator role = "moderator"
	roleAdmin     role = "admin"
)

var everyone = []role{roleVisitor, roleBuyer, roleSeller, roleModerator, roleAdmin}

// expectedFailure is a failed request a page makes on purpose and handles.
// The net lets through only these, named one by one.
type expectedFailure struct {
	path   string
	status int64
}

// visitorsMe is the failure every page of a visitor makes: /api/me answers
// 401 for nobody, and session.js takes that to mean "a visitor".
var visitorsMe = expectedFailure{"/api/me", 401}

// pageCase is one page of the net, opened by each of roles.
type pageCase struct {
	path  string
	roles []role
	// shows are JavaScript conditions that hold as soon as the page is
	// ready (body[data-ready]): what it exists to show, on first load.
	shows []string
	// later are conditions the page meets soon after (video connecting,
	// the room's first state); they are waited for.
	later []string
	// expect lists the failed requests the page makes on purpose.
	expect []expectedFailure
}

// pagesWorld is what the pages show: a shop with products, a live stream
// (video, a pinned product, a running flash sale), an ended and an
// upcoming stream, a paid order with support messages both ways, a cart,
// analytics, and a session per role.
type pagesWorld struct {
	sessions              map[role]*http.Cookie // what signing up set in each role's browser
	emails                map[role]string
	shirt, hat            commerce.Product
	live, ended, upcoming int64
	order                 int64
}

func seedPagesWorld(t *testing.T, n *testNode) pagesWorld {
	t.Helper()
	w := pagesWorld{sessions: map[role]*http.Cookie{}, emails: map[role]string{
		roleBuyer: "ben@example.test", roleSeller: "mara@example.test", roleModerator: "theo@example.test", roleAdmin: "admin@example.com",
	}}
	seller := n.srv.shopper(t, w.emails[roleSeller], "Mara")
	buyer := n.srv.shopper(t, w.emails[roleBuyer], "Ben")
	mod := n.srv.shopper(t, w.emails[roleModerator], "Theo")
	admin := n.srv.shopper(t, w.emails[roleAdmin], "Ada")
	for role, c := range map[role]shopper{roleSeller: seller, roleBuyer: buyer, roleModerator: mod, roleAdmin: admin} {
		w.sessions[role] = c.sessionCookie()
	}
	shop := seller.openShop("maras", "USD")
	seller.appoint(shop, mod, w.emails[roleModerator])
	w.shirt = seller.product(shop, "Linen shirt", 2450, 40, "linen")
	w.hat = seller.product(shop, "Straw hat", 1800, 10, "summer")

	var live commerce.StreamWithKey
	seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shop), map[string]any{
		"title": "Summer linen drop", "product_ids": []int64{w.shirt.ID, w.hat.ID},
	}).decode(t, &live)
	w.live = live.ID
	goLiveWithVideo(t, n.URL, seller, live)
	seller.expect(204, "PUT", fmt.Sprintf("/api/streams/%d/pin", w.live), map[string]int64{"product_id": w.shirt.ID})
	seller.expect(201, "POST", fmt.Sprintf("/api/streams/%d/flash-sales", w.live), map[string]int64{
		"product_id": w.hat.ID, "price_minor": 900, "quantity": 5, "per_buyer_limit": 1, "countdown_s": 0, "duration_s": 3600,
	})

	w.ended = createStream(t, seller, shop, "Spring glazes", w.shirt.ID)
	if err := n.app.commerce.MarkStreamLive(context.Background(), w.ended); err != nil {
		t.Fatal(err)
	}
	seller.expect(200, "POST", fmt.Sprintf("/api/streams/%d/end", w.ended), nil)
	w.upcoming = createStream(t, seller, shop, "Next week")

	buyer.expect(202, "POST", "/api/interactions", map[string]any{"events": []map[string]any{
		{"type": "product_clicked", "product_id": w.shirt.ID, "stream_id": w.live}}})
	w.order = buyer.buy(w.shirt, 1).ID
	buyer.expect(201, "POST", fmt.Sprintf("/api/orders/%d/messages", w.order), map[string]string{"body": "When will it ship?"})
	seller.expect(201, "POST", fmt.Sprintf("/api/orders/%d/messages", w.order), map[string]string{"body": "Tomorrow morning."})
	buyer.expect(200, "POST", "/api/cart/lines", map[string]int64{"product_id": w.hat.ID, "quantity": 1})
	n.flush(t)
	return w
}

// pageCases lists every page with the roles that can open it.
func pageCases(w pagesWorld) []pageCase {
	live, ended, order := fmt.Sprint(w.live), fmt.Sprint(w.ended), fmt.Sprint(w.order)
	signedIn := func(path string) pageCase { // a visitor is sent to sign in and come back
		return pageCase{path: path, roles: []role{roleVisitor}, shows: []string{
			`location.pathname === "/login"`, fmt.Sprintf(`new URLSearchParams(location.search).get("next") === %s`, jsString(path)),
			`shown("#auth-form")`}}
	}
	thread := []string{`txt("#thread").includes("When will it ship?")`, `txt("#thread").includes("Tomorrow morning.")`, `!shown("#thread-empty")`,
		`txt('[data-testid="order-status"]') === "Paid"`}
	// Moderators find their consoles from the header of every page.
	moderateLink := `!!document.querySelector('.site-nav a[href="/settings#moderating"]') === (role === "moderator")`
	return []pageCase{
		{path: "/", roles: everyone, shows: []string{moderateLink, `txt("#live-streams").includes("Summer linen drop")`,
			`txt("#soon-streams").includes("Next week")`, `document.querySelectorAll("#feed li").length > 0`}},
		{path: "/shop/maras", roles: everyone, shows: []string{moderateLink, `txt("#shop-name") === "Shop maras"`,
			`txt("#shop-products").includes("Linen shirt")`, `txt("#shop-streams").includes("Summer linen drop")`}},
		{path: fmt.Sprintf("/product/%d", w.shirt.ID), roles: everyone, shows: []string{`txt("#product-title") === "Linen shirt"`,
			`txt("#product-price") === "$24.50"`, `txt("#product-live").includes("Summer linen drop")`}},
		{path: "/search?q=linen", roles: everyone, shows: []string{`txt("#found-products").includes("Linen shirt")`}},
		{path: "/search", roles: everyone, shows: []string{`shown("#q")`, `!shown("#results")`}},
		{path: "/tag/linen", roles: everyone, shows: []string{`txt("#tag-title") === "#linen"`, `txt("#tag-products").includes("Linen shirt")`}},
		{path: "/login", roles: []role{roleVisitor}, shows: []string{`shown("#auth-form")`, `!shown("#name-field")`}},
		{path: "/signup", roles: []role{roleVisitor}, shows: []string{`shown("#auth-form")`, `shown("#name-field")`}},
		{path: "/watch/" + live, roles: everyone,
			shows: []string{`txt('[data-testid="pinned-card"]').includes("Linen shirt")`, `txt("#sale").includes("Straw hat")`,
				`shown("#live-badge")`, `txt("#stream-title") === "Summer linen drop"`, `txt("#room-status") === ""`},
			later: []string{`window.liveshop.player.status === "playing"`}},
		{path: "/watch/" + ended, roles: everyone,
			shows: []string{`txt("#stream-title") === "Spring glazes"`, `txt("#video-status") === "This stream has ended."`,
				`!shown("#live-badge")`, `txt("#room-status") === ""`}},
		{path: "/no/such/page", roles: everyone, shows: []string{`txt("h1") === "Page not found"`, `txt("#missing-path") === "/no/such/page"`},
			expect: []expectedFailure{{"/no/such/page", 404}}},

		{path: "/cart", roles: []role{roleBuyer}, shows: []string{`txt("#cart").includes("Straw hat")`, `!shown("#cart-empty")`}},
		{path: "/cart", roles: []role{roleSeller, roleModerator, roleAdmin}, shows: []string{`shown("#cart-empty")`}},
		signedIn("/cart"),
		{path: "/orders", roles: []role{roleBuyer}, shows: []string{`txt("#orders").includes("#` + order + `")`, `!shown("#orders-empty")`}},
		{path: "/orders", roles: []role{roleSeller, roleModerator, roleAdmin}, shows: []string{`shown("#orders-empty")`}},
		signedIn("/orders"),
		{path: "/orders/" + order, roles: []role{roleBuyer}, shows: append([]string{`!shown("#seller-actions")`}, thread...)},
		{path: "/orders/" + order, roles: []role{roleSeller, roleAdmin}, shows: append([]string{`shown("#seller-actions")`}, thread...)},
		signedIn("/orders/" + order),
		{path: "/settings", roles: []role{roleBuyer, roleSeller, roleAdmin}, shows: []string{`txt("#settings-email").includes("@example.")`, `!shown("#moderating")`}},
		{path: "/settings", roles: []role{roleModerator}, shows: []string{`txt("#settings-email") === "theo@example.test"`,
			`document.querySelector('#moderated-shops a[href="/moderate/` + live + `"]') !== null`}},
		signedIn("/settings"),

		{path: "/studio", roles: []role{roleSeller}, shows: []string{`shown("#studio")`, `txt("#lineup").includes("Linen shirt")`},
			later: []string{`document.querySelector("#lineup li.is-pinned")?.textContent.includes("Linen shirt")`,
				`txt("#studio-sale").includes("Straw hat")`, `txt("#live-state") === "Live, not from this page"`}},
		{path: "/studio?stream=" + fmt.Sprint(w.upcoming), roles: []role{roleSeller}, shows: []string{`shown("#studio")`,
			`document.querySelector("#stream-select").value === "` + fmt.Sprint(w.upcoming) + `"`}},
		{path: "/studio", roles: []role{roleBuyer, roleModerator, roleAdmin}, shows: []string{`shown("#no-shop")`}},
		signedIn("/studio"),
		{path: "/moderate/" + live, roles: []role{roleSeller, roleModerator, roleAdmin}, shows: []string{`txt("#console-title") === "Moderating: Summer linen drop"`}},
		{path: "/moderate/" + ended, roles: []role{roleSeller}, shows: []string{`txt("#console-title") === "Moderating: Spring glazes"`}},
		{path: "/moderate/" + live, roles: []role{roleBuyer}, shows: []string{`txt("h1") === "Not a moderator"`}},
		signedIn("/moderate/" + live),

		{path: "/dashboard", roles: []role{roleSeller}, shows: []string{`txt("#dash-title") === "Shop maras"`, `shown("#products-panel")`,
			`txt("#product-rows").includes("Linen shirt")`, `txt("#product-rows").includes("Straw hat")`}},
		{path: "/dashboard#products", roles: []role{roleSeller}, shows: []string{`txt("#product-rows").includes("Linen shirt")`}},
		{path: "/dashboard#orders", roles: []role{roleSeller}, shows: []string{`shown("#orders-panel")`, `txt("#shop-orders").includes("#` + order + `")`}},
		{path: "/dashboard#streams", roles: []role{roleSeller}, shows: []string{`shown("#streams-panel")`,
			`txt("#stream-rows").includes("Summer linen drop")`, `txt("#stream-rows").includes("Spring glazes")`}},
		{path: "/dashboard#moderators", roles: []role{roleSeller}, shows: []string{`shown("#moderators-panel")`, `txt("#moderators").includes("Theo")`}},
		{path: "/dashboard#analytics", roles: []role{roleSeller}, shows: []string{`shown("#analytics-panel")`,
			`txt("#analytics-body").includes("Summer linen drop")`}},
		{path: "/dashboard", roles: []role{roleBuyer, roleAdmin}, shows: []string{`shown("#open-shop")`}},
		{path: "/dashboard", roles: []role{roleModerator}, shows: []string{
			`document.querySelector('#dashboard-moderating a[href="/moderate/` + live + `"]') !== null`}},
		signedIn("/dashboard"),
	}
}

// pagePrelude defines the helpers the conditions of pageCase use: the text
// of the element a selector finds ("" for none), and whether it is shown.
// (conditionsFailing adds role, the role opening the page.)
const pagePrelude = `const txt = (css) => (document.querySelector(css)?.textContent ?? "").trim();
const shown = (css) => { const el = document.querySelector(css); return !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden"; };`

// pageTabs is how many cases the net runs at once: each waits mostly on
// the browser and the server, not on this machine's cores.
const pageTabs = 4

// TestBrowserEveryPageOpensClean is the net. One server and one browser
// serve every case; each case is a fresh browser context.
func TestBrowserEveryPageOpensClean(t *testing.T) {
	n := startNode(t, shopConfig(t))
	b := newBrowser(t, n.URL)
	w := seedPagesWorld(t, n)
	type job struct {
		c pageCase
		r role
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range pageTabs {
		wg.Go(func() {
			for j := range jobs {
				t.Run(fmt.Sprintf("%s opens %s", j.r, caseName(j.c.path)), func(t *testing.T) { openCleanly(t, b, w, j.c, j.r) })
			}
		})
	}
	for _, c := range pageCases(w) {
		for _, r := range c.roles {
			jobs <- job{c, r}
		}
	}
	close(jobs)
	wg.Wait()
}

// openCleanly opens c's page on first load as r and fails t for anything
// that went wrong on it.
func openCleanly(t *testing.T, b *browser, w pagesWorld, c pageCase, r role) {
	size := desktop
	if r == roleVisitor || r == roleBuyer {
		size = phone
	}
	p := b.userFor(t, string(r), size)
	expect := slices.Clip(c.expect)
	if r == roleVisitor {
		expect = append(expect, visitorsMe)
	} else {
		p.signInWith(w.sessions[r])
	}
	p.open(c.path)
	for _, cond := range evalJS[[]string](p, conditionsFailing(r, c.shows)) {
		t.Errorf("%s: on first load, not %s", p.name, cond)
	}
	shown := p.pageProblems()
	for _, cond := range c.later {
		p.waitJS(cond, "(() => { "+pagePrelude+" return "+cond+"; })()")
	}
	p.settle(300 * time.Millisecond)
	for _, problem := range p.errorsBut(expect) {
		t.Error(problem)
	}
	for _, problem := range p.pageProblems() {
		if !slices.Contains(shown, problem) {
			shown = append(shown, problem)
		}
	}
	for _, problem := range shown {
		t.Error(problem)
	}
}

// conditionsFailing is a JavaScript expression listing which of conds do
// not hold for r.
func conditionsFailing(r role, conds []string) string {
	var b strings.Builder
	b.WriteString("(() => { " + pagePrelude + " const role = " + jsString(string(r)) + "; const failing = [];\n")
	for _, c := range conds {
		fmt.Fprintf(&b, "if (!(%s)) failing.push(%s);\n", c, jsString(c))
	}
	b.WriteString("return failing; })()")
	return b.String()
}

// errorsBut lists the tab's uncaught exceptions, console errors and failed
// requests to the server, except the expected failures (and the browser's
// console line about each).
func (p *tab) errorsBut(expected []expectedFailure) []string {
	// is reports whether a request to rawURL that failed with status (or
	// whose console line says so) is expected.
	is := func(rawURL string, status func(int64) bool) bool {
		u, err := url.Parse(rawURL)
		return err == nil && slices.ContainsFunc(expected, func(e expectedFailure) bool { return u.Path == e.path && status(e.status) })
	}
	var out []string
	for _, e := range p.consoleEntries() {
		switch e.typ {
		case chromedp.ConsoleException:
			out = append(out, "uncaught: "+e.String())
		case chromedp.ConsoleError:
			if e.source == "network" && is(e.url, func(s int64) bool { return strings.Contains(e.text, fmt.Sprintf("status of %d ", s)) }) {
				continue // the browser's line about an expected failure
			}
			out = append(out, "console error: "+e.String())
		}
	}
	for _, f := range p.failedRequests() {
		if !is(f.url, func(s int64) bool { return f.status == s }) {
			out = append(out, "failed request: "+f.String())
		}
	}
	return out
}

// pageProblems lists what the page shows that went wrong: a visible error
// message (role=alert, .notice.error, .form-error, an error toast, an
// element whose id ends in -error), or text that only a bug prints —
// "undefined", "NaN", "[object Object]", "Invalid Date", a JavaScript
// error's name or message, "Cannot reach Liveshop".
func (p *tab) pageProblems() []string {
	p.t.Helper()
	return evalJS[[]string](p, `(() => {
		const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
		const out = [];
		for (const el of document.querySelectorAll('[role=alert], .notice.error, .form-error, .toast.error, .error, [id$="-error"]')) {
			const text = el.textContent.trim();
			if (text && shown(el)) out.push("error shown: " + text.slice(0, 200));
		}
		const text = document.body.innerText;
		for (const re of [/\bundefined\b/, /\bNaN\b/, /\[object [A-Z]\w*\]/, /Invalid Date/, /\b(Type|Reference|Syntax|Range)Error\b/,
			/Cannot (access|read|set|reach) /, /is not (defined|a function|iterable)/]) {
			const m = re.exec(text);
			if (m) out.push("page text: …" + text.slice(Math.max(0, m.index - 60), m.index + 60).replace(/\s+/g, " ") + "…");
		}
		return out;
	})()`)
}

// caseName is a page's path as a subtest name: no slashes (which -run
// would read as levels), the home page as "home".
func caseName(path string) string {
	if path == "/" {
		return "home"
	}
	return strings.ReplaceAll(strings.TrimPrefix(path, "/"), "/", " ")
}

// sessionCookie is the session cookie the client's sign-up or sign-in set.
func (c *client) sessionCookie() *http.Cookie {
	c.t.Helper()
	u, _ := url.Parse(c.base)
	for _, k := range c.http.Jar.Cookies(u) {
		return k
	}
	c.t.Fatalf("no session cookie for %s", c.base)
	return nil
}
