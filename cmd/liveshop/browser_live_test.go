package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/room/redistest"
)

// The four scenarios of the browser issue: a seller live from the studio,
// viewers watching and chatting, a moderator, a flash sale, and a viewer
// whose network drops out.

// liveShop is a seller with a shop, two products and a stream, made with
// the API (the shop pages have their own test), plus a moderator.
type liveShop struct {
	seller, mod         shopper
	shopID, streamID    int64
	shirt, hat          commerce.Product
	sellerName, modName string
}

func newLiveShop(t *testing.T, srv *testServer) liveShop {
	t.Helper()
	var ls liveShop
	ls.sellerName, ls.modName = "Mara", "Theo"
	ls.seller = srv.shopper(t, "mara@example.test", ls.sellerName)
	ls.mod = srv.shopper(t, "theo@example.test", ls.modName)
	ls.shopID = ls.seller.openShop("mara", "USD")
	ls.shirt = ls.seller.product(ls.shopID, "Linen shirt", 2450, 40)
	ls.hat = ls.seller.product(ls.shopID, "Straw hat", 1800, 10)
	var st commerce.StreamWithKey
	ls.seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", ls.shopID), map[string]any{
		"title": "Summer linen drop", "product_ids": []int64{ls.shirt.ID, ls.hat.ID},
	}).decode(t, &st)
	ls.streamID = st.ID
	ls.seller.appoint(ls.shopID, ls.mod, "theo@example.test")
	return ls
}

// comment types a comment on the watch page and waits for it to show.
func (p *tab) comment(text string) {
	p.t.Helper()
	p.fill("#comment-text", text)
	p.click("#comment-form button[type=submit]")
	p.waitJS("own comment shown", commentCount("#comments", text)+" === 1")
}

// commentCount is a JavaScript expression counting the comments in list
// whose text is exactly text.
func commentCount(list, text string) string {
	return fmt.Sprintf(`Array.from(document.querySelectorAll(%s + " .comment .text")).filter((e) => e.textContent === %s).length`,
		jsString(list), jsString(text))
}

// watchRemovals makes the page note when each comment leaves list, so a
// test can tell how long a removal took to arrive.
func (p *tab) watchRemovals(list string) {
	p.t.Helper()
	evalJS[bool](p, fmt.Sprintf(`(() => {
		window.removedAt = {};
		new MutationObserver((records) => {
			for (const r of records) for (const n of r.removedNodes) {
				if (n.dataset && n.dataset.commentId) window.removedAt[n.dataset.commentId] = Date.now();
			}
		}).observe(document.querySelector(%s), { childList: true });
		return true;
	})()`, jsString(list)))
}

func TestBrowserCommentsAndModeration(t *testing.T) {
	srv := startServer(t, testConfig(t))
	b := newBrowser(t, srv.URL)
	ls := newLiveShop(t, srv)
	stream := fmt.Sprint(ls.streamID)

	seller := b.user("seller", desktop)
	mod := b.user("moderator", desktop)
	ana := b.user("ana", phone)
	ben := b.user("ben", phone)
	seller.logIn("mara@example.test", ls.sellerName)
	seller.open("/studio?stream=" + stream)
	mod.logIn("theo@example.test", ls.modName)
	mod.open("/moderate/" + stream)
	ana.signUp("Ana", "ana@example.test")
	ana.open("/watch/" + stream)
	ben.signUp("Ben", "ben@example.test")
	ben.open("/watch/" + stream)

	hello := "Hello from Ana, love the shirts"
	ana.comment(hello)
	for _, p := range []*tab{seller, mod, ben} {
		list := map[*tab]string{seller: "#chat", mod: "#feed", ben: "#comments"}[p]
		p.waitJS(p.name+" sees Ana's comment", commentCount(list, hello)+" === 1")
	}

	xss := `<img src=x onerror="window.pwned=1;document.title='pwned'"> <script>window.pwned=2</script>`
	ana.comment(xss)
	ben.waitJS("the markup shows as text", commentCount("#comments", xss)+" === 1")
	seller.waitJS("the markup shows as text in the studio", commentCount("#chat", xss)+" === 1")
	for _, p := range []*tab{seller, mod, ana, ben} {
		if got := evalJS[string](p, `String(window.pwned) + " " + document.querySelectorAll(".comment img, .comment script").length`); got != "undefined 0" {
			t.Errorf("%s: the comment's markup ran or was inserted as HTML (pwned, elements: %s)", p.name, got)
		}
	}

	t.Run("a moderator removes a comment and it disappears everywhere within a second", func(t *testing.T) {
		use(t, seller, mod, ana, ben)
		for _, p := range []*tab{ana, ben} {
			p.watchRemovals("#comments")
		}
		seller.watchRemovals("#chat")
		id := evalJS[string](mod, fmt.Sprintf(`Array.from(document.querySelectorAll("#feed .comment")).find((li) => li.querySelector(".text").textContent === %s).dataset.commentId`, jsString(hello)))
		clickedAt := evalJS[float64](mod, fmt.Sprintf(`(() => {
			const li = document.querySelector('#feed .comment[data-comment-id="%s"]');
			const at = Date.now();
			li.querySelector('button[data-action="remove"]').click();
			return at;
		})()`, id))
		for _, p := range []*tab{ana, ben, seller} {
			p.waitJS(p.name+" no longer shows the comment", fmt.Sprintf(`window.removedAt[%q] > 0`, id))
			took := time.Duration(evalJS[float64](p, fmt.Sprintf(`window.removedAt[%q]`, id))-clickedAt) * time.Millisecond
			t.Logf("%s: removal arrived %v after the click", p.name, took)
			if took > time.Second {
				t.Errorf("%s: the removed comment stayed %v, more than a second", p.name, took)
			}
		}
		mod.waitJS("the console feed drops it", commentCount("#feed", hello)+" === 0")
		mod.waitText("#audit", "removed a comment by Ana")
	})

	t.Run("a muted viewer is told and cannot comment until unmuted", func(t *testing.T) {
		use(t, seller, mod, ana, ben)
		mod.do("mute for 5 minutes", chromedp.SetValue(chromedp.CSS("#mute-minutes"), "5"))
		ben.comment("Ben here")
		mod.waitJS("Ben's comment in the console", commentCount("#feed", "Ben here")+" === 1")
		evalJS[bool](mod, `(() => { Array.from(document.querySelectorAll("#feed .comment")).find((li) => li.querySelector(".text").textContent === "Ben here").querySelector('button[data-action="mute"]').click(); return true; })()`)
		ben.waitText("#room-status", "muted")
		mod.waitText("#restrictions", "Ben")
		ben.fill("#comment-text", "Am I muted?")
		ben.click("#comment-form button[type=submit]")
		ben.waitText("#room-status", "muted")
		if n := evalJS[int](seller, commentCount("#chat", "Am I muted?")); n != 0 {
			t.Errorf("a muted viewer's comment reached the studio")
		}
		mod.click(`#restrictions button[aria-label="Unmute Ben"]`)
		mod.waitJS("no restrictions left", `document.querySelectorAll("#restrictions li").length === 0`)
		ben.comment("Thanks for unmuting")
		seller.waitJS("the studio sees it", commentCount("#chat", "Thanks for unmuting")+" === 1")
	})

	t.Run("a blocked word holds a comment for review until a moderator approves it", func(t *testing.T) {
		use(t, seller, mod, ana, ben)
		mod.fill("#word", "knockoff")
		mod.click("#word-form button[type=submit]")
		mod.waitText("#words", "knockoff")
		held := "Is this a knockoff?"
		ana.comment(held)
		ana.waitText("#comments .comment.held", "held for review")
		mod.waitJS("the comment waits in the queue", commentCount("#held", held)+" === 1")
		if n := evalJS[int](ben, commentCount("#comments", held)); n != 0 {
			t.Errorf("other viewers see a held comment")
		}
		mod.click("#held .comment button[data-action=approve]")
		ben.waitJS("Ben sees it once approved", commentCount("#comments", held)+" === 1")
		mod.waitJS("the queue is empty again", `document.querySelectorAll("#held .comment").length === 0`)
		ana.comment("Only a knockoff would be this cheap")
		mod.waitJS("a second held comment waits", `document.querySelectorAll("#held .comment").length === 1`)
		mod.waitText("#audit", "approved a comment by Ana")
	})

	t.Run("a banned viewer loses the chat and the ban shows in the console", func(t *testing.T) {
		use(t, seller, mod, ana, ben)
		mod.acceptDialogs()
		evalJS[bool](mod, `(() => { Array.from(document.querySelectorAll("#feed .comment")).find((li) => li.querySelector(".text").textContent === "Thanks for unmuting").querySelector('button[data-action="ban"]').click(); return true; })()`)
		ben.waitText("#room-status", "banned")
		ben.waitJS("the comment box is gone", `document.querySelector("#comment-form").hidden`)
		mod.waitText("#restrictions", "banned")
		mod.click(`#restrictions button[aria-label="Unban Ben"]`)
		mod.waitJS("no restrictions left", `document.querySelectorAll("#restrictions li").length === 0`)
		mod.waitText("#audit", "unbanned Ben")
	})

	seller.checkLabels("studio")
	mod.checkLabels("moderator console")
	mod.waitJS("the toasts are gone", `document.querySelector("#toasts").childElementCount === 0`)
	ben.checkLabels("watch page")
	mod.saveScreenshot("moderator-console")
	seller.saveScreenshot("studio")
	ben.saveScreenshot("watch")
	for _, p := range []*tab{seller, mod, ana, ben} {
		if ex := p.exceptions(); len(ex) > 0 {
			t.Errorf("%s: uncaught exceptions: %v", p.name, ex)
		}
	}
}

func TestBrowserResumeAfterNetworkDrop(t *testing.T) {
	srv := startServer(t, testConfig(t))
	b := newBrowser(t, srv.URL)
	ls := newLiveShop(t, srv)
	stream := fmt.Sprint(ls.streamID)
	proxy := newDropProxy(t, strings.TrimPrefix(srv.URL, "http://"))

	ana := b.user("ana", phone)
	ana.base = proxy.URL() // Ana's traffic goes through the proxy that drops
	ben := b.user("ben", phone)
	ana.signUp("Ana", "ana@example.test")
	ana.open("/watch/" + stream)
	ben.signUp("Ben", "ben@example.test")
	ben.open("/watch/" + stream)

	before := "Before the drop"
	ben.comment(before)
	ana.waitJS("Ana sees it", commentCount("#comments", before)+" === 1")

	proxy.cut()
	ana.waitJS("Ana's room notices the drop", `window.liveshop.room.status === "offline"`)
	ana.waitText("#room-status", "Reconnecting")
	during := []string{"Posted while Ana was away 1", "Posted while Ana was away 2", "Posted while Ana was away 3"}
	for _, c := range during {
		ben.comment(c)
	}
	// Ana types too while offline: her comment waits and goes out once.
	mine := "Typed while offline"
	ana.fill("#comment-text", mine)
	ana.click("#comment-form button[type=submit]")

	// The reconnect resumes where Ana left off, in the numbering she knew.
	ana.waitJS("the resume names Ana's last seq and the room's epoch",
		`/[?&]since=[1-9][0-9]*&epoch=[^&]+/.test(window.liveshop.room.url())`)
	proxy.restore()
	ana.waitJS("Ana's room is back", `window.liveshop.room.status === "live"`)
	for _, c := range append(during, mine) {
		ana.waitJS("Ana sees "+c, commentCount("#comments", c)+" >= 1")
		ben.waitJS("Ben sees "+c, commentCount("#comments", c)+" >= 1")
	}
	for _, c := range append(append([]string{before}, during...), mine) {
		for _, p := range []*tab{ana, ben} {
			if n := evalJS[int](p, commentCount("#comments", c)); n != 1 {
				t.Errorf("%s shows %q %d times, want once", p.name, c, n)
			}
		}
	}
	ana.saveScreenshot("after-reconnect")
	for _, p := range []*tab{ana, ben} {
		if ex := p.exceptions(); len(ex) > 0 {
			t.Errorf("%s: uncaught exceptions: %v", p.name, ex)
		}
	}
}

// goLive opens the studio on the stream and goes live over WHIP with the
// fake camera, waiting until the connection is up.
func (p *tab) goLive(stream string) {
	p.t.Helper()
	p.open("/studio?stream=" + stream)
	p.waitJS("camera preview", `document.querySelector("#preview").readyState >= 2`)
	p.click("#go-live")
	p.waitText("#live-state", "On air")
}

// videoDecodes waits until the watch page's player has decoded frames, and
// then until it decodes more: the video really plays, it is not a frozen
// first frame or an empty <video>.
func (p *tab) videoDecodes() int {
	p.t.Helper()
	p.waitJS("the player is playing", `window.liveshop.player.status === "playing"`)
	p.waitJS("frames decoded", `window.liveshop.player.framesDecoded().then((n) => n > 0)`)
	first := evalJS[int](p, `window.liveshop.player.framesDecoded()`)
	p.waitJS("more frames decoded", fmt.Sprintf(`window.liveshop.player.framesDecoded().then((n) => n >= %d)`, first+30))
	return evalJS[int](p, `window.liveshop.player.framesDecoded()`)
}

func TestBrowserGoLiveAndWatch(t *testing.T) {
	srv := startServer(t, testConfig(t)) // loopback-only WebRTC
	b := newBrowser(t, srv.URL)
	ls := newLiveShop(t, srv)
	stream := fmt.Sprint(ls.streamID)

	viewer := b.user("viewer", phone)
	viewer.signUp("Vic", "vic@example.test")
	viewer.open("/watch/" + stream)
	viewer.waitText("#video-status", "Waiting for the seller")

	seller := b.user("seller", desktop)
	seller.acceptDialogs()
	seller.logIn("mara@example.test", ls.sellerName)
	seller.goLive(stream)

	frames := viewer.videoDecodes()
	t.Logf("viewer decoded %d frames", frames)
	viewer.waitJS("the LIVE badge", `!document.querySelector("#live-badge").hidden`)
	if !evalJS[bool](viewer, `document.querySelector("#video").muted`) {
		t.Error("the watch page should start muted")
	}
	viewer.click("#unmute")
	viewer.waitJS("unmuted", `!document.querySelector("#video").muted && document.querySelector("#unmute").getAttribute("aria-pressed") === "true"`)

	home := b.user("visitor", phone)
	home.open("/")
	home.waitText("#live-streams", "Summer linen drop")

	seller.waitJS("the studio counts the viewer", `Number(document.querySelector("#count-viewers").textContent) >= 1`)
	seller.saveScreenshot("studio-live")
	viewer.saveScreenshot("watching")

	seller.click("#end-stream")
	viewer.waitText("#video-status", "This stream has ended")
	for _, p := range []*tab{seller, viewer, home} {
		if ex := p.exceptions(); len(ex) > 0 {
			t.Errorf("%s: uncaught exceptions: %v", p.name, ex)
		}
	}
}

// Redis crashes and comes back empty while a viewer watches: the watch page
// keeps the comments it shows (its feed is not rebuilt), adds the ones
// posted since, once each, takes away the one a moderator removed while
// Redis was down, and follows the room's new epoch.
func TestBrowserCommentsAcrossARedisRestart(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	cfg := testConfig(t)
	cfg.Redis, cfg.RedisPrefix = rs.URL(), "test:"
	srv := startServer(t, cfg)
	b := newBrowser(t, srv.URL)
	ls := newLiveShop(t, srv)
	poster := srv.shopper(t, "pia@example.test", "Pia")
	ana := b.user("ana", phone)
	ana.signUp("Ana", "ana@example.test")
	ana.open(fmt.Sprintf("/watch/%d", ls.streamID))
	ana.waitJS("Ana's room is live", `window.liveshop.room.status === "live"`)

	// post has a writer post n comments, retrying each until acknowledged.
	post := func(tag string, n int) []int64 {
		t.Helper()
		w := dialCommentWriter(t, srv.URL, poster.token, ls.streamID, tag)
		w.max = n
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		w.run(ctx, 20*time.Millisecond)
		if got := w.ackedIDs(); len(got) != n {
			t.Fatalf("%d of %d %s comments acknowledged", len(got), n, tag)
		}
		return w.ackedIDs()
	}
	shownOnce := func(id int64) string {
		return fmt.Sprintf(`document.querySelectorAll('#comments .comment[data-comment-id="%d"]').length === 1`, id)
	}
	before := post("before", 3)
	for _, id := range before {
		ana.waitJS("Ana sees a comment", shownOnce(id))
	}
	epoch := evalJS[string](ana, `window.liveshop.room.epoch`)
	evalJS[bool](ana, `(() => { document.querySelectorAll("#comments .comment").forEach((li) => { li.kept = true; }); return true; })()`)

	rs.Kill()
	if r := ls.mod.do("DELETE", fmt.Sprintf("/api/streams/%d/comments/%d", ls.streamID, before[1]), nil); r.status != 503 {
		t.Fatalf("removing a comment while Redis is down: %d %s, want 503 (stored, not announced)", r.status, r.body)
	}
	rs.Start()
	after := post("after", 3)

	ana.waitJS("Ana's room moves to the new epoch", fmt.Sprintf(`window.liveshop.room.epoch !== %s`, jsString(epoch)))
	for _, id := range after {
		ana.waitJS("Ana sees a comment posted after the restart", shownOnce(id))
	}
	ana.waitJS("the removed comment is gone", fmt.Sprintf(`!document.querySelector('#comments .comment[data-comment-id="%d"]')`, before[1]))
	for _, id := range []int64{before[0], before[2]} {
		if !evalJS[bool](ana, fmt.Sprintf(`document.querySelector('#comments .comment[data-comment-id="%d"]')?.kept === true`, id)) {
			t.Errorf("comment %d was shown again (the feed was rebuilt) or is gone", id)
		}
	}
	if n := evalJS[int](ana, `document.querySelectorAll("#comments .comment").length`); n != 5 {
		t.Errorf("Ana's feed shows %d comments, want the 2 kept and the 3 posted after the restart", n)
	}
	if ex := ana.exceptions(); len(ex) > 0 {
		t.Errorf("uncaught exceptions: %v", ex)
	}
	ana.saveScreenshot("after-redis-restart")
}
