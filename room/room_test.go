package room_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/liveshop/liveshop/room"
)

var (
	seller  = user(sellerID, "Sally Seller")
	mod     = user(modID, "Moe Moderator")
	viewer  = user(viewerID, "Vic Viewer")
	viewer2 = user(viewer2ID, "Wanda Viewer")
)

func TestRoom(t *testing.T) {
	t.Run("a joining viewer gets a snapshot of the room and of themselves", func(t *testing.T) {
		n := startNode(t, memoryShared(t), nil)
		s := n.dial(t, streamID, seller, -1)
		s.next("snapshot")
		s.send(map[string]any{"type": "pin", "id": "p1", "product_id": productID})
		s.ack("p1")
		for i := range 3 {
			s.comment(fmt.Sprintf("c%d", i), fmt.Sprintf("hello %d", i))
		}
		s.next("pinned")

		v := n.dial(t, streamID, viewer, -1)
		snap := decode[snapshot](t, v.next("snapshot").Data)
		if snap.Stream.ID != streamID || snap.Stream.ShopID != shopID || snap.Stream.Status != room.StatusLive {
			t.Errorf("stream = %+v", snap.Stream)
		}
		if snap.Pinned == nil || snap.Pinned.ID != productID || snap.Pinned.PriceMinor != 4900 || snap.Pinned.Currency != "EUR" || snap.Pinned.Stock != 12 {
			t.Errorf("pinned = %+v", snap.Pinned)
		}
		if len(snap.Comments) != 3 || snap.Comments[0].Text != "hello 0" || snap.Comments[2].Text != "hello 2" {
			t.Errorf("comments = %+v, want the 3 comments oldest first", snap.Comments)
		}
		if snap.Me.ID != viewerID || snap.Me.Role != "viewer" || snap.Me.Banned || snap.Me.MutedUntil != nil {
			t.Errorf("me = %+v", snap.Me)
		}
		anon := n.dial(t, streamID, "", -1)
		if snap := decode[snapshot](t, anon.next("snapshot").Data); snap.Me.ID != 0 || snap.Pinned == nil {
			t.Errorf("anonymous snapshot = %+v", snap)
		}
	})

	t.Run("a comment reaches every viewer, and HTML in it stays text", func(t *testing.T) {
		n := startNode(t, memoryShared(t), nil)
		a := n.dial(t, streamID, viewer, -1)
		b := n.dial(t, streamID, "", -1)
		a.next("snapshot")
		b.next("snapshot")
		evil := `<img src=x onerror="alert(1)"> & <script>x</script>`
		sent := a.comment("c1", evil)
		got := decode[commentData](t, b.next("comment").Data)
		if got.Text != evil || got.ID != sent.ID || got.User.ID != viewerID || got.User.Name != "Vic Viewer" {
			t.Fatalf("comment = %+v", got)
		}
		raw := string(b.all("comment")[0].Data)
		if strings.Contains(raw, "<img") {
			t.Errorf("HTML travels unescaped in JSON: %s", raw)
		}
	})

	t.Run("a resent comment with the same client id is not a duplicate", func(t *testing.T) {
		n := startNode(t, memoryShared(t), nil)
		a := n.dial(t, streamID, viewer, -1)
		a.next("snapshot")
		first := a.comment("x1", "only once")
		a.send(map[string]any{"type": "comment", "id": "x2", "cid": "x1", "text": "only once"})
		second := a.ack("x2")
		if first.ID != second.ID {
			t.Fatalf("resend got comment %d, first was %d", second.ID, first.ID)
		}
		n.caughtUp(t, a)
		if n := len(a.all("comment")); n != 1 {
			t.Fatalf("%d comment events, want 1", n)
		}
	})

	t.Run("anonymous viewers may watch but not comment or like", func(t *testing.T) {
		n := startNode(t, memoryShared(t), nil)
		a := n.dial(t, streamID, "", -1)
		a.next("snapshot")
		a.send(map[string]any{"type": "comment", "id": "c", "text": "hi"})
		if e := a.refusal("c"); e.Code != "unauthenticated" {
			t.Fatalf("code = %s", e.Code)
		}
		a.send(map[string]any{"type": "like", "id": "l"})
		if e := a.refusal("l"); e.Code != "unauthenticated" {
			t.Fatalf("code = %s", e.Code)
		}
	})

	t.Run("likes are summed per window into one event with the total", func(t *testing.T) {
		n := startNode(t, memoryShared(t), func(c *room.Config) { c.LikeInterval = 200 * time.Millisecond })
		a := n.dial(t, streamID, viewer, -1)
		b := n.dial(t, streamID, viewer2, -1)
		a.next("snapshot")
		for range 5 {
			a.send(map[string]any{"type": "like", "count": 2})
			b.send(map[string]any{"type": "like"})
		}
		var total int64
		eventually(t, "likes add up to 15", func() bool {
			total = 0
			for _, e := range a.all("likes") {
				total = max(total, decode[struct{ Total int64 }](t, e.Data).Total)
			}
			return total == 15
		})
		if n := len(a.all("likes")); n > 5 {
			t.Errorf("%d likes events for 10 like commands; want them summed", n)
		}
		c := n.dial(t, streamID, "", -1)
		if snap := decode[snapshot](t, c.next("snapshot").Data); snap.Likes != 15 {
			t.Errorf("snapshot likes = %d, want 15", snap.Likes)
		}
	})

	t.Run("viewer counts are announced periodically", func(t *testing.T) {
		n := startNode(t, memoryShared(t), nil)
		a := n.dial(t, streamID, viewer, -1)
		n.dial(t, streamID, "", -1)
		n.dial(t, streamID, "", -1)
		eventually(t, "3 viewers announced", func() bool {
			evs := a.all("viewers")
			return len(evs) > 0 && decode[struct{ Count int }](t, evs[len(evs)-1].Data).Count == 3
		})
	})

	t.Run("events published through the hub reach viewers and shape the snapshot", func(t *testing.T) {
		n := startNode(t, memoryShared(t), nil)
		a := n.dial(t, streamID, viewer, -1)
		a.next("snapshot")
		ctx := context.Background()
		sale := room.FlashSale{ID: 7, ProductID: productID, Title: "Linen shirt", PriceMinor: 2900, Currency: "EUR",
			Quantity: 100, Remaining: 100, PerBuyerLimit: 2, StartsAt: time.Now(), EndsAt: time.Now().Add(time.Minute)}
		if _, err := n.hub.Publish(ctx, streamID, room.Event{Type: room.EventFlashSale, Data: sale}); err != nil {
			t.Fatal(err)
		}
		n.hub.Publish(ctx, streamID, room.Event{Type: room.EventFlashSaleStock, Data: room.FlashSaleStock{ID: 7, Remaining: 40}})
		n.hub.Publish(ctx, streamID, room.Event{Type: room.EventPurchase, Data: room.Purchase{Buyer: "V***", ProductID: productID, ProductTitle: "Linen shirt", Quantity: 1}})
		if got := decode[room.FlashSale](t, a.next(room.EventFlashSale).Data); got.ID != 7 || got.Quantity != 100 {
			t.Errorf("flash sale event = %+v", got)
		}
		if got := decode[room.FlashSaleStock](t, a.next(room.EventFlashSaleStock).Data); got.Remaining != 40 {
			t.Errorf("stock event = %+v", got)
		}
		a.next(room.EventPurchase)
		b := n.dial(t, streamID, "", -1)
		snap := decode[snapshot](t, b.next("snapshot").Data)
		if snap.FlashSale == nil || snap.FlashSale.ID != 7 || snap.FlashSale.Remaining != 40 {
			t.Errorf("snapshot flash sale = %+v", snap.FlashSale)
		}
		n.hub.Publish(ctx, streamID, room.Event{Type: room.EventFlashSaleEnded, Data: room.FlashSaleEnded{ID: 7, Reason: "sold_out"}})
		n.hub.Publish(ctx, streamID, room.Event{Type: room.EventStreamEnded})
		a.next(room.EventStreamEnded)
		c := n.dial(t, streamID, viewer, -1)
		snap = decode[snapshot](t, c.next("snapshot").Data)
		if snap.FlashSale != nil || snap.Stream.Status != room.StatusEnded {
			t.Errorf("after the end: sale %+v, status %s", snap.FlashSale, snap.Stream.Status)
		}
		c.send(map[string]any{"type": "comment", "id": "late", "text": "too late"})
		if e := c.refusal("late"); e.Code != "stream_ended" {
			t.Errorf("comment after the end: %s", e.Code)
		}
		if _, err := n.hub.Publish(ctx, streamID, room.Event{Type: room.EventComment, Data: map[string]string{"text": "forged"}}); err == nil {
			t.Error("hub published a forged comment event")
		}
	})

	t.Run("an unknown stream is 404 before the upgrade", func(t *testing.T) {
		n := startNode(t, memoryShared(t), nil)
		_, resp, err := n.tryDial(t, 999, "", -1, nil)
		if err == nil || resp == nil || resp.StatusCode != 404 {
			t.Fatalf("dial unknown stream: %v %v", err, resp)
		}
	})

	t.Run("a page from another origin is refused; the own origin and configured ones are accepted", func(t *testing.T) {
		n := startNode(t, memoryShared(t), func(c *room.Config) { c.AllowedOrigins = []string{"shop.example"} })
		host := strings.TrimPrefix(n.srv.URL, "http://")
		for origin, want := range map[string]bool{"http://evil.example": false, "http://" + host: true, "https://shop.example": true} {
			_, resp, err := n.tryDial(t, streamID, "", -1, map[string][]string{"Origin": {origin}})
			if ok := err == nil; ok != want {
				t.Errorf("origin %s: accepted=%v (%v), want %v", origin, ok, resp, want)
			}
		}
	})
}

func TestBadInput(t *testing.T) {
	n := startNode(t, memoryShared(t), func(c *room.Config) { c.ReadLimit = 1024 })

	t.Run("malformed and unknown messages get an error event and the connection stays", func(t *testing.T) {
		a := n.dial(t, streamID, viewer, -1)
		a.next("snapshot")
		a.sendRaw([]byte(`{not json`))
		if e := decode[errData](t, a.next("error").Data); e.Code != "bad_request" {
			t.Errorf("malformed: %+v", e)
		}
		a.send(map[string]any{"type": "teleport", "id": "t1"})
		if e := a.refusal("t1"); e.Code != "unknown_command" {
			t.Errorf("unknown: %+v", e)
		}
		a.send(map[string]any{"type": "comment", "id": "e1", "text": "   "})
		if e := a.refusal("e1"); e.Code != "invalid" {
			t.Errorf("empty comment: %+v", e)
		}
		a.ws.Write(context.Background(), websocket.MessageBinary, []byte{1, 2, 3})
		a.next("error")
		a.comment("ok", "still here")
	})

	t.Run("an oversize message closes the connection with 1009", func(t *testing.T) {
		a := n.dial(t, streamID, viewer, -1)
		a.next("snapshot")
		a.sendRaw([]byte(`{"type":"comment","text":"` + strings.Repeat("x", 2000) + `"}`))
		if code := a.closeStatus(); code != websocket.StatusMessageTooBig {
			t.Fatalf("close code = %d, want 1009", code)
		}
	})

	t.Run("a command flood is refused with rate-limit errors", func(t *testing.T) {
		n := startNode(t, memoryShared(t), func(c *room.Config) { c.CommandRate = 10; c.CommandBurst = 30 })
		a := n.dial(t, streamID, viewer2, -1)
		a.next("snapshot")
		for i := range 60 {
			a.send(map[string]any{"type": "ping", "id": fmt.Sprint(i)})
		}
		eventually(t, "rate limit errors", func() bool {
			for _, e := range a.all("error") {
				if decode[errData](t, e.Data).Code == "rate_limited" {
					return true
				}
			}
			return false
		})
		if !a.isOpen() {
			t.Fatal("flood closed the connection")
		}
	})

	t.Run("a comment flood beyond the per-account limit is refused", func(t *testing.T) {
		n := startNode(t, memoryShared(t), func(c *room.Config) { c.CommentLimit = 3; c.CommentWindow = time.Minute })
		a := n.dial(t, streamID, viewer, -1)
		a.next("snapshot")
		for i := range 3 {
			a.comment(fmt.Sprint("ok", i), "hi")
		}
		a.send(map[string]any{"type": "comment", "id": "over", "text": "one too many"})
		if e := a.refusal("over"); e.Code != "rate_limited" {
			t.Fatalf("4th comment: %+v", e)
		}
	})
}

// caughtUp publishes a marker event and waits until every client has it:
// anything published before has reached them too.
func (n *node) caughtUp(t *testing.T, cs ...*client) {
	t.Helper()
	marker := fmt.Sprintf("marker-%d", time.Now().UnixNano())
	if _, err := n.hub.Publish(context.Background(), streamID, room.Event{Type: room.EventPurchase, Data: room.Purchase{Buyer: marker}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		eventually(t, "the marker arrives", func() bool {
			for _, e := range c.all("purchase") {
				if strings.Contains(string(e.Data), marker) {
					return true
				}
			}
			return false
		})
	}
}

// failingBus is a Bus whose next Publish fails once armed.
type failingBus struct {
	room.Bus
	fail atomic.Bool
}

func (b *failingBus) Publish(ctx context.Context, roomID int64, payload []byte) (uint64, error) {
	if b.fail.CompareAndSwap(true, false) {
		return 0, fmt.Errorf("test bus: %w", room.ErrUnavailable)
	}
	return b.Bus.Publish(ctx, roomID, payload)
}

// A command retried after its publish failed is published again; a retry
// of one that was published is not shown twice.
func TestRetriesPublishAgain(t *testing.T) {
	start := func(t *testing.T) (*node, *failingBus) {
		s := memoryShared(t)
		fb := &failingBus{Bus: s.bus()}
		s.bus = func() room.Bus { return fb }
		return startNode(t, s, quiet), fb
	}

	t.Run("a comment resent after its publish failed is shown once", func(t *testing.T) {
		n, bus := start(t)
		author := n.dial(t, streamID, viewer, -1)
		watcher := n.dial(t, streamID, viewer2, -1)
		author.next("snapshot")
		watcher.next("snapshot")
		bus.fail.Store(true)
		author.send(map[string]any{"type": "comment", "id": "a1", "cid": "r1", "text": "hello?"})
		if e := author.refusal("a1"); e.Code != "unavailable" {
			t.Fatalf("first try: %+v", e)
		}
		n.caughtUp(t, watcher)
		if len(watcher.all("comment")) != 0 {
			t.Fatal("the comment whose publish failed was shown")
		}
		author.send(map[string]any{"type": "comment", "id": "a2", "cid": "r1", "text": "hello?"})
		sent := author.ack("a2")
		if got := decode[commentData](t, watcher.next("comment").Data); got.ID != sent.ID || got.Text != "hello?" {
			t.Fatalf("after the resend the watcher saw %+v, want comment %d", got, sent.ID)
		}
		author.send(map[string]any{"type": "comment", "id": "a3", "cid": "r1", "text": "hello?"})
		if again := author.ack("a3"); again.ID != sent.ID {
			t.Fatalf("second resend stored comment %d, want %d", again.ID, sent.ID)
		}
		n.caughtUp(t, watcher, author)
		for _, c := range []*client{watcher, author} {
			if k := len(c.all("comment")); k != 1 {
				t.Fatalf("%d comment events, want 1", k)
			}
		}
	})

	t.Run("a removal retried after its publish failed takes the comment away, once", func(t *testing.T) {
		n, bus := start(t)
		author := n.dial(t, streamID, viewer, -1)
		m := n.dial(t, streamID, mod, -1)
		author.next("snapshot")
		m.next("snapshot")
		c := author.comment("c", "remove me")
		author.next("comment")
		bus.fail.Store(true)
		m.send(map[string]any{"type": "remove_comment", "id": "rm1", "comment_id": c.ID})
		if e := m.refusal("rm1"); e.Code != "unavailable" {
			t.Fatalf("first try: %+v", e)
		}
		n.caughtUp(t, author)
		if len(author.all("comment_removed")) != 0 {
			t.Fatal("a removal whose publish failed arrived")
		}
		m.send(map[string]any{"type": "remove_comment", "id": "rm2", "comment_id": c.ID})
		m.ack("rm2")
		if got := decode[struct{ ID int64 }](t, author.next("comment_removed").Data); got.ID != c.ID {
			t.Fatalf("removed %d, want %d", got.ID, c.ID)
		}
		m.send(map[string]any{"type": "remove_comment", "id": "rm3", "comment_id": c.ID})
		m.ack("rm3")
		n.caughtUp(t, author, m)
		for _, cl := range []*client{author, m} {
			if k := len(cl.all("comment_removed")); k != 1 {
				t.Fatalf("%d comment_removed events, want 1", k)
			}
		}
		code, body := n.api(t, "GET", fmt.Sprintf("/shops/%d/moderation/audit", shopID), mod, nil)
		if audit := decode[struct{ Entries []room.AuditEntry }](t, body); code != 200 || len(audit.Entries) != 1 {
			t.Fatalf("audit after three tries = %d %s, want one removal", code, body)
		}
	})
}
