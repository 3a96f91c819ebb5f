package main

import (
	"strings"
	"testing"
)

// Browser tests: the pages in real Chromium against a real server on
// loopback. They run only on an isolated network (see requireBrowser).

func TestBrowserAccounts(t *testing.T) {
	srv := startServer(t, testConfig(t))
	b := newBrowser(t, srv.URL)
	ana := b.user("ana", phone)

	t.Run("a visitor signs up and sees themselves signed in", func(t *testing.T) {
		use(t, ana)
		ana.open("/")
		ana.click(`#account a[href^="/signup"]`)
		ana.waitJS("sign-up form", `location.pathname === "/signup" && document.body.dataset.ready === "1"`)
		ana.fill("#name", "Ana <b>Lima</b>")
		ana.fill("#email", "ana@example.test")
		ana.fill("#password", "correct horse battery")
		ana.click("#auth-submit")
		ana.waitText(`[data-testid="signed-in-as"]`, "Ana <b>Lima</b>")
		if n := evalJS[int](ana, `document.querySelectorAll("#account b").length`); n != 0 {
			t.Errorf("the display name was inserted as HTML (%d <b> elements)", n)
		}
	})

	t.Run("the session survives a reload and signing out ends it", func(t *testing.T) {
		use(t, ana)
		ana.open("/")
		ana.waitText(`[data-testid="signed-in-as"]`, "Ana")
		ana.click(`#account button`)
		ana.waitJS("signed out", `document.querySelector('#account a[href^="/login"]') !== null`)
	})

	t.Run("a wrong password is refused with a message and the right one signs in", func(t *testing.T) {
		use(t, ana)
		ana.open("/login")
		ana.fill("#email", "ana@example.test")
		ana.fill("#password", "wrong password")
		ana.click("#auth-submit")
		ana.waitJS("error shown", `document.querySelector(".form-error").textContent.length > 0`)
		ana.fill("#password", "correct horse battery")
		ana.click("#auth-submit")
		ana.waitText(`[data-testid="signed-in-as"]`, "Ana")
		ana.saveScreenshot("signed-in")
	})

	t.Run("signing out everywhere from the settings page ends every session", func(t *testing.T) {
		use(t, ana)
		other := srv.client(t)
		r := other.do("POST", "/api/auth/login", map[string]string{"email": "ana@example.test", "password": "correct horse battery"})
		var session struct {
			Token string `json:"token"`
		}
		r.decode(t, &session)
		other.token = session.Token
		other.expect(200, "GET", "/api/me", nil)

		ana.acceptDialogs()
		ana.click(`[data-testid="signed-in-as"]`)
		ana.waitJS("the settings page", `document.body.dataset.ready === "1" && location.pathname === "/settings"`)
		ana.waitText("#settings-name", "Ana <b>Lima</b>")
		ana.waitText("#settings-email", "ana@example.test")
		if n := evalJS[int](ana, `document.querySelectorAll("#settings-name b").length`); n != 0 {
			t.Errorf("the display name was inserted as HTML (%d <b> elements)", n)
		}
		ana.checkLabels("settings")
		ana.fill("#new-name", "Ana <i>Maria</i>")
		ana.click("#profile-save")
		ana.waitText("#settings-name", "Ana <i>Maria</i>")
		if !strings.Contains(string(other.expect(200, "GET", "/api/me", nil).body), `Ana \u003ci\u003eMaria`) {
			t.Error("the new display name did not reach the account")
		}
		ana.click("#logout-all")
		ana.waitJS("signed out, at home", `location.pathname === "/" && document.querySelector('#account a[href^="/login"]') !== null`)
		other.expect(401, "GET", "/api/me", nil)
	})

	t.Run("a path that names no page shows the not-found page", func(t *testing.T) {
		use(t, ana)
		ana.open("/no/such/page")
		ana.waitText("h1", "Page not found")
		ana.waitText("#missing-path", "/no/such/page")
		if status := evalJS[int](ana, `fetch(location.href).then((r) => r.status)`); status != 404 {
			t.Errorf("the not-found page answers %d", status)
		}
		ana.waitJS("the header works", `document.querySelector('#account a[href^="/login"]') !== null`)
		ana.checkLabels("not-found page")
		ana.saveScreenshot("not-found")
	})
	if ex := ana.exceptions(); len(ex) > 0 {
		t.Errorf("uncaught exceptions: %v", ex)
	}
}

// TestBrowserModules checks the shared modules' rules in the browser that
// runs them: exact money formatting and parsing, no HTML through dom.h,
// and the room client's de-duplication by sequence number.
func TestBrowserModules(t *testing.T) {
	srv := startServer(t, testConfig(t))
	b := newBrowser(t, srv.URL)
	p := b.user("modules", phone)
	p.open("/")
	checks := map[string]string{
		`m.formatMoney(12345, "USD", "en-US")`:       "$123.45",
		`m.formatMoney(5, "USD", "en-US")`:           "$0.05",
		`m.formatMoney(-250, "EUR", "en-US")`:        "-€2.50",
		`m.formatMoney(500, "JPY", "en-US")`:         "¥500",
		`m.formatMoney(1234, "BHD", "en-US")`:        "BHD\u00a01.234",
		`String(m.parseMoney("12,5", "EUR"))`:        "1250",
		`String(m.parseMoney("19.99", "USD"))`:       "1999",
		`String(m.parseMoney("1.234", "USD"))`:       "NaN",
		`String(m.parseMoney("-3", "USD"))`:          "NaN",
		`String(m.parseMoney("700", "JPY"))`:         "700",
		`m.toDecimal(100000000000001, "USD")`:        "1000000000000.01",
		`String(m.parseMoney("0.1", "JPY"))`:         "NaN",
		`String(m.minorDigits("jpy"))`:               "0",
		`String(m.formatMoney(199, "usd", "en-US"))`: "$1.99",
	}
	for expr, want := range checks {
		got := evalJS[string](p, `import("/assets/js/money.js").then((m) => `+expr+`)`)
		if got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
	dom := evalJS[string](p, `import("/assets/js/dom.js").then((d) => {
		const out = [];
		try { d.h("div", { innerHTML: "<b>x</b>" }); out.push("innerHTML accepted"); } catch { out.push("refused"); }
		try { d.h("img", { onerror: "alert(1)" }); out.push("handler accepted"); } catch { out.push("refused"); }
		out.push(d.h("a", { href: "javascript:alert(1)" }).getAttribute("href"));
		out.push(d.h("p", {}, "<i>text</i>").innerHTML);
		return out.join(" | ");
	})`)
	if want := "refused | refused | # | &lt;i&gt;text&lt;/i&gt;"; dom != want {
		t.Errorf("dom.h: %s, want %s", dom, want)
	}
	key := evalJS[string](p, `import("/assets/js/api.js").then((a) => a.newIdempotencyKey() + " " + (a.newIdempotencyKey() !== a.newIdempotencyKey()))`)
	if len(key) != 37 || !strings.HasSuffix(key, " true") {
		t.Errorf("idempotency keys: %q, want 32 hex digits, different each time", key)
	}
	seen := evalJS[string](p, `import("/assets/js/room.js").then(({ Room }) => {
		const r = new Room(1);
		const got = [];
		r.on("comment", (d) => got.push(d.id));
		r.dispatch({ type: "snapshot", seq: 4, data: { comments: [] } });
		for (const seq of [5, 6, 5, 4, 7, 6]) r.dispatch({ type: "comment", seq, data: { id: seq } });
		r.dispatch([]); // frames may hold nothing
		return got.join(",") + " last " + r.lastSeq;
	})`)
	if seen != "5,6,7 last 7" {
		t.Errorf("room de-duplication: handled %s, want 5,6,7 last 7", seen)
	}
}
