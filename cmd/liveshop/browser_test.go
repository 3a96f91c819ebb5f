package main

import (
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
	if ex := ana.exceptions(); len(ex) > 0 {
		t.Errorf("uncaught exceptions: %v", ex)
	}
}
