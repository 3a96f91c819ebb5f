package main

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserKeyboardOnly: a viewer who uses only the keyboard signs in
// (typing, Tab, Enter), then on the watch page of a live stream with a
// pinned product tabs to the comment box and sends a comment with Enter,
// goes back with Shift+Tab to the pinned product's Buy now and opens the
// checkout sheet with Enter, finds focus inside the sheet, closes it with
// Escape — after the card behind it refreshed — and is back on Buy now; opens it again with Space and closes it
// with its close button, reached by Tab, again landing on Buy now. Every
// key is a real key event; focus is read from document.activeElement.
func TestBrowserKeyboardOnly(t *testing.T) {
	n := startNode(t, shopConfig(t)) // streams go live without video
	b := newBrowser(t, n.URL)
	ls := newLiveShop(t, n.srv)
	n.goLive(t, ls.streamID)
	ls.seller.expect(204, "PUT", fmt.Sprintf("/api/streams/%d/pin", ls.streamID), map[string]any{"product_id": ls.shirt.ID})
	n.srv.shopper(t, "ana@example.test", "Ana")

	ana := b.user("ana", desktop)
	ana.open("/login")
	ana.tabTo("#email", false)
	ana.keys("ana@example.test")
	ana.keys(kb.Tab)
	ana.focused("#password")
	ana.keys("correct horse battery" + kb.Enter)
	ana.waitText(`[data-testid="signed-in-as"]`, "Ana")

	ana.open(fmt.Sprintf("/watch/%d", ls.streamID))
	ana.waitText(`[data-testid="pinned-card"]`, "Linen shirt")
	ana.tabTo("#comment-text", false)
	ana.keys("Typed without a mouse" + kb.Enter)
	ana.waitJS("the comment is in the list", commentCount("#comments", "Typed without a mouse")+" === 1")
	ana.waitJS("the comment box is empty again", `document.querySelector("#comment-text").value === ""`)

	const buy = "#pinned button.buy-pinned"
	const sheetOpen = `document.querySelector("dialog.sheet")?.open === true`
	ana.tabTo(buy, true)
	ana.keys(kb.Enter)
	ana.waitJS("the checkout sheet opened", sheetOpen)
	ana.focused("dialog.sheet *")
	ana.keys(kb.Tab)
	ana.focused("dialog.sheet *") // focus stays in the modal sheet
	ana.checkLabels("checkout sheet opened by keyboard")
	// The card behind the sheet refreshes (the seller restocks) while the
	// sheet is open: closing it must still land on Buy now.
	ls.seller.expect(200, "PATCH", fmt.Sprintf("/api/products/%d", ls.shirt.ID), map[string]int64{"stock": 39})
	ana.waitText(`[data-testid="pinned-card"]`, "39 in stock")
	ana.keys(kb.Escape)
	ana.waitJS("Escape closed the sheet", "!("+sheetOpen+")")
	ana.waitJS("focus is back on Buy now", focusedIs(buy))

	ana.keys(" ")
	ana.waitJS("Space opened the sheet again", sheetOpen)
	ana.tabTo("dialog.sheet button.close", true)
	ana.keys(kb.Enter)
	ana.waitJS("the close button closed the sheet", "!("+sheetOpen+")")
	ana.waitJS("focus is back on Buy now", focusedIs(buy))

	if ex := ana.exceptions(); len(ex) > 0 {
		t.Errorf("uncaught exceptions: %v", ex)
	}
}

// keys types keys as real key events to whatever has focus.
func (p *tab) keys(keys string, opts ...chromedp.KeyOption) {
	p.t.Helper()
	p.do(fmt.Sprintf("press %q", keys), chromedp.KeyEvent(keys, opts...))
}

// focusedIs is a JavaScript expression: the focused element matches css.
func focusedIs(css string) string {
	return fmt.Sprintf(`document.activeElement?.matches(%s) === true`, jsString(css))
}

// focused fails the test unless the focused element matches css.
func (p *tab) focused(css string) {
	p.t.Helper()
	if !evalJS[bool](p, focusedIs(css)) {
		p.t.Fatalf("%s: focus is on %s, want %s", p.name, evalJS[string](p, `document.activeElement?.outerHTML.slice(0, 160) ?? "nothing"`), css)
	}
}

// tabTo presses Tab (Shift+Tab when back) until the element matching css
// has focus, as a keyboard user would; it fails when the element is not
// reached within 40 presses.
func (p *tab) tabTo(css string, back bool) {
	p.t.Helper()
	var opts []chromedp.KeyOption
	if back {
		opts = append(opts, chromedp.KeyModifiers(chromedp.ModifierShift))
	}
	for range 40 {
		p.keys(kb.Tab, opts...)
		if evalJS[bool](p, focusedIs(css)) {
			return
		}
	}
	p.t.Fatalf("%s: Tab (back %v) did not reach %s in 40 presses", p.name, back, css)
}
