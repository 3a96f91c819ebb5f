package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// This file is the harness of the browser tests: one headless Debian
// Chromium per test, started with the flags known to work in the loopback-only namespace (fake
// camera and microphone, WebRTC allowed on loopback), and a "user" per
// browser context so that a seller, viewers and a moderator each have their
// own cookies in the same browser process.

// chromiumPath is Debian's Chromium; .ci/run installs it.
const chromiumPath = "/usr/bin/chromium"

// stepTimeout bounds one step of a scenario (a navigation, a wait for some
// text). Generous because the machine is shared and runs tests in parallel.
const stepTimeout = 30 * time.Second

// requireBrowser skips the test unless it can run a browser on an isolated
// network: the browser tests only run where the only interface that is up
// is loopback (inside `unshare -n`). Under CI=true they always run.
func requireBrowser(t *testing.T) {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	if _, err := os.Stat(chromiumPath); err != nil {
		if ci {
			t.Fatalf("browser tests need %s (apt-get install chromium): %v", chromiumPath, err)
		}
		t.Skipf("browser tests need %s (apt-get install chromium)", chromiumPath)
	}
	if ci {
		return
	}
	if other := networkNotIsolated(); other != "" {
		t.Skipf("browser tests run only where loopback is the only interface up (%s); "+
			"run them with: unshare -n sh -c 'ip link set lo up && CI=true go test -race -run Browser ./cmd/liveshop/'", other)
	}
}

// networkNotIsolated says why the network is more than loopback (an
// interface other than loopback is up), or returns "" inside `unshare -n`.
func networkNotIsolated() string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return fmt.Sprintf("cannot list network interfaces: %v", err)
	}
	for _, i := range ifaces {
		if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagLoopback == 0 {
			return i.Name + " is up"
		}
	}
	return ""
}

// artifactDir is where scenarios leave their final screenshots:
// $LIVESHOP_ARTIFACTS, or the git-ignored artifacts/browser at the
// repository root.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LIVESHOP_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts", "browser")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifact dir: %v", err)
	}
	abs, _ := filepath.Abs(dir)
	return abs
}

// browser is one Chromium process serving the users of one test.
type browser struct {
	t    *testing.T
	ctx  context.Context // the browser's root context
	base string          // the server under test, http://127.0.0.1:port
}

// newBrowser starts Chromium for the test; it is closed when the test ends.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	requireBrowser(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
	}
	for _, f := range []string{
		"headless", "no-sandbox", "disable-gpu", "disable-quic", "no-first-run",
		"disable-background-networking", "disable-component-update", "disable-sync",
		"use-fake-device-for-media-stream", "use-fake-ui-for-media-stream",
		"allow-loopback-in-peer-connection",
	} {
		opts = append(opts, chromedp.Flag(f, true))
	}
	opts = append(opts, chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"))

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first Do starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx, base: base}
}

// viewport sizes for the users of a scenario.
var (
	phone   = [2]int64{390, 844}
	desktop = [2]int64{1280, 860}
)

// tab is one user's page: its own browser context (cookies, storage), one tab.
type tab struct {
	t       *testing.T
	name    string
	ctx     context.Context
	base    string
	mu      sync.Mutex
	console []consoleEntry
	// consoleMark is where consoleErrors starts reading console.
	consoleMark int
	// requests made to the server and not yet finished, the loader of the
	// page open now (its requests carry it), and when the last request
	// started or ended (see settle).
	inflight map[network.RequestID]pendingRequest
	page     cdp.LoaderID
	lastNet  time.Time
	// failed lists the page's requests to the server that answered 400 or
	// more, or failed without an answer (see failedRequests).
	failed []failedRequest
}

// consoleEntry is one message of a tab's console.
type consoleEntry struct {
	typ    chromedp.ConsoleType
	source string // of a browser log entry ("network" for a failed request)
	url    string
	line   int64
	text   string
}

func (e consoleEntry) String() string {
	return fmt.Sprintf("%s %s:%d %s", e.typ, e.url, e.line+1, e.text)
}

// pendingRequest is a request of a page that has not finished yet.
type pendingRequest struct {
	method, url string
	loader      cdp.LoaderID // of the page that made it
}

// failedRequest is a request of the page to the server that failed.
type failedRequest struct {
	method, url string
	status      int64  // 0 when there was no answer
	reason      string // the status text or the network error
}

func (f failedRequest) String() string {
	return fmt.Sprintf("%s %s: %d %s", f.method, f.url, f.status, f.reason)
}

// user opens a tab in a fresh browser context, sized like size, for the
// whole test.
func (b *browser) user(name string, size [2]int64) *tab {
	b.t.Helper()
	return b.userFor(b.t, name, size)
}

// userFor opens a tab in a fresh browser context that reports to t and is
// closed when t ends: one case of a table test.
func (b *browser) userFor(t *testing.T, name string, size [2]int64) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	p := &tab{t: t, name: name, ctx: ctx, base: b.base, inflight: map[network.RequestID]pendingRequest{}}
	messages := chromedp.Console(ctx)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(size[0], size[1])); err != nil {
		t.Fatalf("%s: open tab: %v", name, err)
	}
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, consoleEntry{typ: m.Type, source: m.Source, url: m.URL, line: m.Line, text: m.Text})
			p.mu.Unlock()
		}
	}()
	if err := chromedp.Listen(ctx, p.watchNetwork); err != nil {
		t.Fatalf("%s: listen to the network: %v", name, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			p.saveScreenshot("failed-" + p.name)
			p.mu.Lock()
			for _, e := range p.console {
				t.Logf("%s console: %s", p.name, e)
			}
			p.mu.Unlock()
		}
		cancel()
	})
	return p
}

// watchNetwork records the page's requests to the server: which are in
// flight, and which failed.
func (p *tab) watchNetwork(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		if e.Type == network.ResourceTypeDocument && string(e.LoaderID) == string(e.RequestID) {
			p.page = e.LoaderID // a navigation: a new page
		}
		if p.ours(e.Request.URL) {
			p.inflight[e.RequestID] = pendingRequest{method: e.Request.Method, url: e.Request.URL, loader: e.LoaderID}
			p.lastNet = time.Now()
		}
	case *network.EventResponseReceived:
		if req, ok := p.inflight[e.RequestID]; ok && e.Response.Status >= 400 {
			p.failed = append(p.failed, failedRequest{method: req.method, url: e.Response.URL, status: e.Response.Status, reason: e.Response.StatusText})
		}
	case *network.EventLoadingFinished:
		p.finished(e.RequestID)
	case *network.EventLoadingFailed:
		// A request the page or a navigation cancelled is not a failure.
		if req, ok := p.inflight[e.RequestID]; ok && !e.Canceled {
			p.failed = append(p.failed, failedRequest{method: req.method, url: req.url, reason: e.ErrorText})
		}
		p.finished(e.RequestID)
	}
}

func (p *tab) finished(id network.RequestID) {
	if _, ok := p.inflight[id]; ok {
		delete(p.inflight, id)
		p.lastNet = time.Now()
	}
}

// ours reports whether url is on the server under test.
func (p *tab) ours(url string) bool {
	return url == p.base || strings.HasPrefix(url, p.base+"/")
}

// signInWith gives the tab's browser context a session cookie (as signing
// in would have set it), before the tab opens any page.
func (p *tab) signInWith(cookie *http.Cookie) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	httpOnly := true
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
		Name: cookie.Name, Value: cookie.Value, URL: p.base + "/", Path: "/", HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteLax,
	}); err != nil {
		p.t.Fatalf("%s: set the session cookie: %v", p.name, err)
	}
}

// use makes tabs report to t (a subtest) until it ends.
func use(t *testing.T, tabs ...*tab) {
	for _, p := range tabs {
		parent := p.t
		p.t = t
		t.Cleanup(func() { p.t = parent })
	}
}

// do runs steps with the step timeout, failing the test with what was
// being done.
func (p *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
}

// open navigates to a path of the server and waits for the page's module to
// have finished its first render (body[data-ready]). A page that throws
// before then never gets there: open fails at once with the exception.
func (p *tab) open(path string) {
	p.t.Helper()
	p.do("open "+path, chromedp.Navigate(p.base+path))
	thrown := len(p.exceptions())
	p.waitJSOr("page "+path+" ready", `document.body.dataset.ready === "1"`, func() []string { return p.exceptions()[thrown:] })
}

// waitJS polls a JavaScript expression (or a promise) until it is truthy.
// It evaluates afresh each time, so it keeps working across navigations.
func (p *tab) waitJS(what, expr string) {
	p.t.Helper()
	p.waitJSOr(what, expr, func() []string { return nil })
}

// waitJSOr is waitJS that gives up as soon as failed lists something.
func (p *tab) waitJSOr(what, expr string, failed func() []string) {
	p.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("(async () => !!(await ("+expr+")))()", chromedp.EvalAwaitPromise))
		cancel()
		if err == nil && ok {
			return
		}
		if err != nil {
			last = err
		}
		if f := failed(); len(f) > 0 {
			p.t.Fatalf("%s: wait until %s: %v", p.name, what, f)
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: wait until %s: not within %s (last error: %v)", p.name, what, stepTimeout, last)
		}
		select {
		case <-tick.C:
		case <-p.ctx.Done():
			p.t.Fatalf("%s: wait until %s: %v", p.name, what, p.ctx.Err())
		}
	}
}

// eval evaluates an expression (awaiting a promise) and decodes its value.
func evalJS[T any](p *tab, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: evaluate %s: %v", p.name, expr, err)
	}
	return v
}

// waitText waits until the element matching css contains text.
func (p *tab) waitText(css, text string) {
	p.t.Helper()
	p.waitJS(fmt.Sprintf("%s shows %q", css, text),
		fmt.Sprintf(`(document.querySelector(%s)?.textContent ?? "").includes(%s)`, jsString(css), jsString(text)))
}

// fill replaces the value of a field as a person typing it would.
func (p *tab) fill(css, value string) {
	p.t.Helper()
	p.do("fill "+css,
		chromedp.WaitVisible(chromedp.CSS(css)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).value = ""`, jsString(css))),
		chromedp.SendKeys(chromedp.CSS(css), value))
}

// click clicks the element matching css once it is visible.
func (p *tab) click(css string) {
	p.t.Helper()
	p.do("click "+css, chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))
}

// checkLabels fails the test for every visible control (button, field,
// link, tab) that has no accessible name: a screen reader would announce
// it as just "button" or "edit text".
func (p *tab) checkLabels(where string) {
	p.t.Helper()
	unnamed := evalJS[[]string](p, `(() => {
		const out = [];
		const named = (el) => [
			el.getAttribute("aria-label"),
			(el.getAttribute("aria-labelledby") || "").split(" ").map((id) => document.getElementById(id)?.textContent || "").join(" "),
			el.labels ? Array.from(el.labels).map((l) => l.textContent).join(" ") : "",
			el.matches("input, select, textarea") ? "" : el.textContent,
			el.getAttribute("title"),
		].some((n) => n && n.trim());
		for (const el of document.querySelectorAll('button, input:not([type=hidden]), select, textarea, a[href], [role=tab]')) {
			if (el.getClientRects().length === 0 || el.closest('[aria-hidden="true"]')) continue; // not shown, or not for readers
			if (!named(el)) out.push(el.outerHTML.slice(0, 160));
		}
		return out;
	})()`)
	for _, u := range unnamed {
		p.t.Errorf("%s: %s: control without an accessible name: %s", p.name, where, u)
	}
}

// acceptDialogs answers every confirm() of the page with OK, as a person
// who means it would.
func (p *tab) acceptDialogs() {
	dialogs := chromedp.Events(p.ctx, cdppage.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			go func() {
				_, _ = chromedp.Call(p.ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
			}()
		}
	}()
}

// upload chooses a file for a file input.
func (p *tab) upload(css, path string) {
	p.t.Helper()
	p.do("choose file for "+css, chromedp.SetUploadFiles(chromedp.CSS(css), []string{path}))
}

// signUp creates an account through the sign-up page and waits until the
// header shows the user signed in.
func (p *tab) signUp(name, email string) {
	p.t.Helper()
	p.open("/signup")
	p.fill("#name", name)
	p.fill("#email", email)
	p.fill("#password", "correct horse battery")
	p.click("#auth-submit")
	p.waitText(`[data-testid="signed-in-as"]`, name)
}

// logIn signs in through the sign-in page as an account made with the API
// (whose password is the test clients' "correct horse battery").
func (p *tab) logIn(email, name string) {
	p.t.Helper()
	p.open("/login")
	p.fill("#email", email)
	p.fill("#password", "correct horse battery")
	p.click("#auth-submit")
	p.waitText(`[data-testid="signed-in-as"]`, name)
}

// settle waits until no request of the open page to the server has been in
// flight for quiet: what the first load started has been answered, and any
// failure of it recorded. (A page left behind may never hear the end of
// its requests.)
func (p *tab) settle(quiet time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		p.mu.Lock()
		var pending []string
		for _, r := range p.inflight {
			if r.loader == p.page {
				pending = append(pending, r.method+" "+r.url)
			}
		}
		idle := len(pending) == 0 && time.Since(p.lastNet) >= quiet
		p.mu.Unlock()
		if idle {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: requests still in flight after %s: %v", p.name, stepTimeout, pending)
		}
		select {
		case <-tick.C:
		case <-p.ctx.Done():
			p.t.Fatalf("%s: settle: %v", p.name, p.ctx.Err())
		}
	}
}

// failedRequests lists the page's requests to the server that answered 400
// or more, or got no answer, except a cancelled one.
func (p *tab) failedRequests() []failedRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.failed)
}

// consoleEntries returns the tab's console so far.
func (p *tab) consoleEntries() []consoleEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.console)
}

// saveScreenshot writes the visible page to the artifact directory.
func (p *tab) saveScreenshot(name string) string {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	// The page as a person lands on it: scrolled to the top.
	_, _ = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	return p.writeScreenshot(name, png, err)
}

// saveScreenshotOf writes the element matching css, scrolled into view, to
// the artifact directory: for a part of a page below the fold.
func (p *tab) saveScreenshotOf(name, css string) string {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(css), chromedp.NodeVisible))
	return p.writeScreenshot(name, png, err)
}

func (p *tab) writeScreenshot(name string, png []byte, err error) string {
	if err != nil {
		p.t.Logf("%s: screenshot %s: %v", p.name, name, err)
		return ""
	}
	path := filepath.Join(artifactDir(p.t), safeName(p.t.Name()+"-"+name)+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	p.t.Logf("screenshot: %s", path)
	return path
}

// exceptions lists the uncaught exceptions the page has thrown so far.
func (p *tab) exceptions() []string { return p.consoleOf(0, chromedp.ConsoleException) }

// markConsole starts the part of the console that consoleErrors checks:
// what comes after, say, a visitor's expected 401 from /api/me.
func (p *tab) markConsole() {
	p.mu.Lock()
	p.consoleMark = len(p.console)
	p.mu.Unlock()
}

// consoleErrors lists the uncaught exceptions and the console and browser
// log errors (a failed request among them) since markConsole.
func (p *tab) consoleErrors() []string {
	p.mu.Lock()
	from := p.consoleMark
	p.mu.Unlock()
	return p.consoleOf(from, chromedp.ConsoleException, chromedp.ConsoleError)
}

// consoleOf lists the console lines of the given types, from line from on.
func (p *tab) consoleOf(from int, types ...chromedp.ConsoleType) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, e := range p.console[from:] {
		if slices.Contains(types, e.typ) {
			out = append(out, e.String())
		}
	}
	return out
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string { return strings.Trim(unsafeChars.ReplaceAllString(s, "_"), "_") }

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
