package main

import (
	"fmt"
	"testing"

	"github.com/liveshop/liveshop/commerce"
)

// TestBrowserModeratorInvitation walks the invitation flow in Chromium: the
// seller invites an email from the dashboard; someone signs up with that
// address, follows the header's invitation badge to the settings page and
// accepts; the seller sees the moderator (with the email typed) and the
// accepted invitation, and withdraws another; the new moderator follows
// the header's Moderate link to the shops they moderate and opens the
// moderator console of the shop's stream. Markup in
// the shop's and the moderator's names stays text, and no page a signed-in
// user opens logs an error.
func TestBrowserModeratorInvitation(t *testing.T) {
	srv := startServer(t, testConfig(t))
	b := newBrowser(t, srv.URL)
	api := srv.shopper(t, "mara@example.test", "Mara")
	var shop commerce.Shop
	api.expect(201, "POST", "/api/shops", map[string]string{"handle": "maras", "name": "Mara's <b>Glazes</b>", "currency": "USD"}).decode(t, &shop)
	var st commerce.StreamWithKey
	api.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shop.ID), map[string]any{"title": "Spring glazes"}).decode(t, &st)

	seller := b.user("seller", desktop)
	theo := b.user("theo", phone)
	tabs := []*tab{seller, theo}

	seller.logIn("mara@example.test", "Mara")
	seller.markConsole() // the sign-in page's /api/me answered 401: a visitor
	seller.open("/dashboard")
	seller.click("#tab-moderators")
	seller.waitJS("the moderators tab", `document.querySelector("#moderators-empty").hidden === false`)
	seller.fill("#moderator-email", "Theo@Example.test")
	seller.click(`#moderator-form button[type=submit]`)
	seller.waitText("#invitations", "theo@example.test")
	seller.waitText(`#invitations li[data-status="pending"]`, "Waiting for an answer")
	seller.checkLabels("dashboard moderators")

	theo.signUp("Theo <i>Mod</i>", "theo@example.test")
	theo.markConsole()
	theo.click(`[data-testid="invitations-link"]`)
	theo.waitJS("the settings page", `document.body.dataset.ready === "1" && location.pathname === "/settings"`)
	theo.waitText("#invitations", "Mara's <b>Glazes</b>")
	if n := evalJS[int](theo, `document.querySelectorAll("#invitations b").length`); n != 0 {
		t.Errorf("the shop name was inserted as HTML (%d <b> elements)", n)
	}
	theo.checkLabels("settings with an invitation")
	theo.saveScreenshot("invitation")
	theo.click(`#invitations button.primary`)
	theo.waitText("#invitations-empty", "No invitations waiting")
	theo.waitJS("the invitation badge is gone", `document.querySelector('[data-testid="invitations-link"]') === null`)
	theo.waitText("#moderated-shops", "Mara's <b>Glazes</b>")

	seller.open("/dashboard")
	seller.click("#tab-moderators")
	seller.waitText("#moderators", "Theo <i>Mod</i>")
	seller.waitText("#moderators", "theo@example.test")
	seller.waitText(`#invitations li[data-status="accepted"]`, "Accepted")
	if n := evalJS[int](seller, `document.querySelectorAll("#moderators i").length`); n != 0 {
		t.Errorf("the moderator's name was inserted as HTML (%d <i> elements)", n)
	}
	seller.fill("#moderator-email", "nobody@example.test")
	seller.click(`#moderator-form button[type=submit]`)
	seller.waitText(`#invitations li[data-status="pending"]`, "nobody@example.test")
	seller.click(`#invitations li[data-status="pending"] button`)
	seller.waitText(`#invitations li[data-status="revoked"]`, "Withdrawn")
	seller.checkLabels("dashboard moderators and invitations")
	seller.saveScreenshotOf("moderators", "#moderators-panel")

	theo.click(`[data-testid="moderate-link"]`) // the header's way in, there once the invitation is accepted
	theo.waitJS("the shops' consoles in focus", `location.hash === "#moderating" && document.activeElement?.id === "moderating"`)
	theo.click(fmt.Sprintf(`#moderated-shops a[href="/moderate/%d"]`, st.ID))
	theo.waitJS("the moderator console", `document.body.dataset.ready === "1" && location.pathname.startsWith("/moderate/")`)
	theo.waitText("#console-title", "Moderating: Spring glazes")
	theo.checkLabels("moderator console")

	for _, p := range tabs {
		if errs := p.consoleErrors(); len(errs) > 0 {
			t.Errorf("%s: console errors: %v", p.name, errs)
		}
	}
}
