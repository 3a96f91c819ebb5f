package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/discovery"
	"github.com/liveshop/liveshop/commerce/payments"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
	"github.com/liveshop/liveshop/room/redistest"
)

// eachDiscoveryDatabase runs fn on a node on SQLite and on PostgreSQL.
func eachDiscoveryDatabase(t *testing.T, fn func(t *testing.T, cfg Config)) {
	t.Helper()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			cfg := shopConfig(t)
			if db == "postgres" {
				cfg.DB = sqltest.PostgresURL(t)
			}
			fn(t, cfg)
		})
	}
}

func (n *testNode) goLive(t testing.TB, stream int64) {
	t.Helper()
	roomStreamEvents{n.app}.StreamStarted(context.Background(), stream)
}

func (n *testNode) flush(t testing.TB) {
	t.Helper()
	if err := n.app.discovery.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// createStream schedules a stream lining up products and returns its ID.
func createStream(t testing.TB, seller shopper, shopID int64, title string, products ...int64) int64 {
	t.Helper()
	if products == nil {
		products = []int64{}
	}
	var st commerce.Stream
	seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shopID), map[string]any{
		"title": title, "product_ids": products, "hashtags": []string{"pottery"}}).decode(t, &st)
	return st.ID
}

// alertSocket is a test client of /api/me/notifications.
type alertSocket struct {
	ws   *websocket.Conn
	msgs chan alertMsg
}

type alertMsg struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

func dialAlerts(base string, c *client, header http.Header) (*websocket.Conn, *http.Response, error) {
	if header == nil {
		header = http.Header{}
	}
	if c != nil && c.token != "" {
		header.Set("Authorization", "Bearer "+c.token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/me/notifications",
		&websocket.DialOptions{HTTPHeader: header})
}

func openAlerts(t testing.TB, base string, c *client) *alertSocket {
	t.Helper()
	ws, _, err := dialAlerts(base, c, nil)
	if err != nil {
		t.Fatalf("open notifications: %v", err)
	}
	s := &alertSocket{ws: ws, msgs: make(chan alertMsg, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			var m alertMsg
			if json.Unmarshal(data, &m) == nil {
				s.msgs <- m
			}
		}
	}()
	t.Cleanup(func() { ws.CloseNow(); <-done })
	return s
}

func (s *alertSocket) next(t testing.TB, typ string) json.RawMessage {
	t.Helper()
	select {
	case m := <-s.msgs:
		if m.Type != typ {
			t.Fatalf("got a %s message, want %s: %s", m.Type, typ, m.Data)
		}
		return m.Data
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s message within 10s", typ)
		return nil
	}
}

func TestFollowAndGoLiveReachAnOpenSocket(t *testing.T) {
	eachDiscoveryDatabase(t, func(t *testing.T, cfg Config) {
		n := startNode(t, cfg)
		seller := n.srv.shopper(t, "seller@example.com", "Sally")
		shopID := seller.openShop("sallys", "EUR")
		stream := createStream(t, seller, shopID, "Spring drop")
		viewer := n.srv.shopper(t, "viewer@example.com", "Vic")
		stranger := n.srv.shopper(t, "stranger@example.com", "Sam")
		anon := n.srv.client(t)

		var st discovery.FollowState
		viewer.expect(200, "PUT", "/api/shops/sallys/follow", nil).decode(t, &st)
		if !st.Following || st.Followers != 1 || st.ShopID != shopID {
			t.Fatalf("follow: %+v", st)
		}
		anon.expect(200, "GET", fmt.Sprintf("/api/shops/%d/follow", shopID), nil).decode(t, &st)
		if st.Following || st.Followers != 1 {
			t.Fatalf("shop page count: %+v", st)
		}
		anon.expect(401, "PUT", fmt.Sprintf("/api/shops/%d/follow", shopID), nil)
		seller.expect(422, "PUT", fmt.Sprintf("/api/shops/%d/follow", shopID), nil)

		mine := openAlerts(t, n.URL, viewer.client)
		if snap := mine.next(t, "snapshot"); !strings.Contains(string(snap), `"live":[]`) {
			t.Fatalf("snapshot %s", snap)
		}
		theirs := openAlerts(t, n.URL, stranger.client)
		theirs.next(t, "snapshot")

		n.goLive(t, stream)
		var alert discovery.Alert
		if err := json.Unmarshal(mine.next(t, "followed_live"), &alert); err != nil {
			t.Fatal(err)
		}
		if alert.StreamID != stream || alert.ShopID != shopID || alert.URL != fmt.Sprintf("/watch/%d", stream) || alert.ShopHandle != "sallys" {
			t.Fatalf("alert %+v", alert)
		}
		select {
		case m := <-theirs.msgs:
			t.Fatalf("a viewer who does not follow the shop was told: %+v", m)
		default:
		}

		t.Run("the followed live stream is listed first", func(t *testing.T) {
			other := n.srv.shopper(t, "other@example.com", "Olga")
			otherShop := other.openShop("olgas", "EUR")
			otherStream := createStream(t, other, otherShop, "Later show")
			n.goLive(t, otherStream)
			n.flush(t)
			var feed discovery.FeedPage
			viewer.expect(200, "GET", "/api/feed?limit=5", nil).decode(t, &feed)
			if len(feed.Items) < 2 || feed.Items[0].Stream == nil || feed.Items[0].Stream.ID != stream ||
				feed.Items[0].Reason != "followed_live" || feed.Items[1].Stream == nil || feed.Items[1].Stream.ID != otherStream {
				t.Fatalf("feed %+v", feed.Items)
			}
			var live struct{ Items []discovery.StreamSummary }
			viewer.expect(200, "GET", "/api/discover/live", nil).decode(t, &live)
			if len(live.Items) != 2 || live.Items[0].ID != stream {
				t.Fatalf("live now %+v", live.Items)
			}
			viewer.expect(200, "GET", "/api/me/following/live", nil).decode(t, &live)
			if len(live.Items) != 1 || live.Items[0].ID != stream {
				t.Fatalf("following live %+v", live.Items)
			}
			again := openAlerts(t, n.URL, viewer.client)
			if snap := again.next(t, "snapshot"); !strings.Contains(string(snap), fmt.Sprintf(`"id":%d`, stream)) {
				t.Fatalf("a new socket's snapshot does not list the live stream: %s", snap)
			}
		})

		t.Run("the socket needs a session and a page of this origin", func(t *testing.T) {
			if _, resp, err := dialAlerts(n.URL, nil, nil); err == nil || resp == nil || resp.StatusCode != 401 {
				t.Fatalf("anonymous socket: %v %v", resp, err)
			}
			hdr := http.Header{"Origin": {"http://evil.example"}}
			if _, resp, err := dialAlerts(n.URL, viewer.client, hdr); err == nil || resp == nil || resp.StatusCode != 403 {
				t.Fatalf("cross-origin socket: %v %v", resp, err)
			}
			hdr = http.Header{"Origin": {n.URL}}
			ws, _, err := dialAlerts(n.URL, viewer.client, hdr)
			if err != nil {
				t.Fatalf("same-origin socket refused: %v", err)
			}
			ws.CloseNow()
		})

		t.Run("unfollowing stops the count", func(t *testing.T) {
			viewer.expect(200, "DELETE", "/api/shops/sallys/follow", nil).decode(t, &st)
			if st.Following || st.Followers != 0 {
				t.Fatalf("unfollow %+v", st)
			}
		})
	})
}

// A follower's socket on one node hears a go-live on another.
func TestGoLiveAlertAcrossTwoNodes(t *testing.T) {
	redis := redistest.URL(t)
	cfg := shopConfig(t)
	cfg.DB = sqltest.PostgresURL(t)
	cfg.Redis = redis
	cfg.RedisPrefix = "test:" + newKey() + ":"
	a := startNode(t, cfg)
	cfgB := cfg
	cfgB.DataDir = t.TempDir()
	b := startNode(t, cfgB)

	seller := a.srv.shopper(t, "seller@example.com", "Sally")
	shopID := seller.openShop("sallys", "EUR")
	stream := createStream(t, seller, shopID, "Spring drop")
	viewer := b.srv.shopper(t, "viewer@example.com", "Vic")
	viewer.expect(200, "PUT", fmt.Sprintf("/api/shops/%d/follow", shopID), nil)
	onB := openAlerts(t, b.URL, viewer.client)
	onB.next(t, "snapshot")
	a.goLive(t, stream)
	var alert discovery.Alert
	if err := json.Unmarshal(onB.next(t, "followed_live"), &alert); err != nil || alert.StreamID != stream {
		t.Fatalf("alert %+v, %v", alert, err)
	}
}

// ackOf matches the ack of the command with id.
func ackOf(id string) func(json.RawMessage) bool {
	return func(d json.RawMessage) bool {
		var v struct {
			ID string `json:"id"`
		}
		return json.Unmarshal(d, &v) == nil && v.ID == id
	}
}

// TestStreamAnalyticsOfARealSession plays a stream session through the
// real room sockets and HTTP API and checks the seller's report, while
// live (current viewers) and once the stream ended.
func TestStreamAnalyticsOfARealSession(t *testing.T) {
	eachDiscoveryDatabase(t, func(t *testing.T, cfg Config) {
		n := startNode(t, cfg)
		seller := n.srv.shopper(t, "seller@example.com", "Sally")
		shopID := seller.openShop("sallys", "USD")
		p1 := seller.product(shopID, "Mug", 1000, 50)
		p2 := seller.product(shopID, "Vase", 2500, 50)
		stream := createStream(t, seller, shopID, "Glaze night", p1.ID, p2.ID)
		ann := n.srv.shopper(t, "ann@example.com", "Ann")
		bob := n.srv.shopper(t, "bob@example.com", "Bob")
		cat := n.srv.shopper(t, "cat@example.com", "Cat")
		n.goLive(t, stream)
		start := time.Now()

		rooms := []*roomConn{joinRoom(t, n.URL, ann.client, stream), joinRoom(t, n.URL, bob.client, stream), joinRoom(t, n.URL, nil, stream)}
		for _, r := range rooms {
			r.wait("snapshot", nil)
		}
		analytics := fmt.Sprintf("/api/streams/%d/analytics", stream)
		var got discovery.StreamAnalytics
		eventually(t, "three current viewers", 10*time.Second, func() bool {
			n.flush(t) // and a heartbeat of the open sessions
			seller.expect(200, "GET", analytics, nil).decode(t, &got)
			return got.CurrentViewers == 3
		})
		if got.UniqueViewers != 3 || got.PeakViewers != 3 {
			t.Fatalf("live report %+v", got.ViewerStats)
		}
		ra, rb := rooms[0], rooms[1]
		for i, cmd := range []struct {
			r   *roomConn
			msg map[string]any
		}{
			{ra, map[string]any{"type": "like", "count": 5}}, {rb, map[string]any{"type": "like", "count": 3}},
			{ra, map[string]any{"type": "comment", "cid": "a1", "text": "hello"}},
			{ra, map[string]any{"type": "comment", "cid": "a2", "text": "that mug!"}},
			{rb, map[string]any{"type": "comment", "cid": "b1", "text": "hi"}},
		} {
			id := fmt.Sprintf("cmd%d", i)
			cmd.msg["id"] = id
			cmd.r.send(cmd.msg)
			cmd.r.wait("ack", ackOf(id))
		}
		click := func(c shopper, ps ...commerce.Product) {
			var evs []map[string]any
			for _, p := range ps {
				evs = append(evs, map[string]any{"type": "product_clicked", "product_id": p.ID, "stream_id": stream, "source": "live_card"})
			}
			c.expect(202, "POST", "/api/interactions", map[string]any{"events": evs})
		}
		click(ann, p1)
		click(bob, p1, p2)
		click(cat, p1)
		ann.expect(200, "POST", "/api/cart/lines", map[string]int64{"product_id": p1.ID, "quantity": 2})
		body := checkoutBody(shopID, payments.TestCardVisa)
		body["stream_id"] = stream
		ann.expect(201, "POST", "/api/checkout", body, "Idempotency-Key", newKey())
		bob.expect(200, "POST", "/api/cart/lines", map[string]int64{"product_id": p2.ID, "quantity": 1})
		bob.expect(200, "POST", "/api/cart/lines", map[string]int64{"product_id": p1.ID, "quantity": 1})
		bob.expect(201, "POST", "/api/checkout", checkoutBody(shopID, payments.TestCardVisa), "Idempotency-Key", newKey())
		// Cat buys from the stream too; the seller cancels and refunds it.
		cat.expect(200, "POST", "/api/cart/lines", map[string]int64{"product_id": p1.ID, "quantity": 1})
		var refunded commerce.Order
		cat.expect(201, "POST", "/api/checkout", body, "Idempotency-Key", newKey()).decode(t, &refunded)
		seller.expect(200, "POST", fmt.Sprintf("/api/orders/%d/cancel", refunded.ID), map[string]string{"reason": "broken"},
			"Idempotency-Key", newKey())
		bob.expect(200, "PUT", fmt.Sprintf("/api/shops/%d/follow", shopID), map[string]int64{"stream_id": stream})
		ann.expect(201, "POST", "/api/shares", map[string]any{"type": "stream", "id": stream, "channel": "copy"})
		for _, r := range rooms {
			r.ws.Close(websocket.StatusNormalClosure, "bye")
		}

		eventually(t, "three finished watch sessions", 10*time.Second, func() bool {
			n.flush(t)
			seller.expect(200, "GET", analytics, nil).decode(t, &got)
			return got.UniqueViewers == 3 && got.CurrentViewers == 0
		})
		elapsed := time.Since(start).Seconds()
		roomStreamEvents{n.app}.StreamEnded(context.Background(), stream)
		seller.expect(200, "GET", fmt.Sprintf("/api/streams/%d/analytics", stream), nil).decode(t, &got)

		// Three paid orders, one refunded: revenue is net of it.
		wantM := discovery.Metrics{ProductClicks: 4, AddToCarts: 4, CartUnits: 5, Orders: 3, UnitsSold: 5,
			RevenueMinor: 5500, Refunds: 1, RefundedMinor: 1000, Likes: 8, Comments: 3, Shares: 1, Follows: 1}
		if got.Metrics != wantM || got.UniqueViewers != 3 || got.PeakViewers != 3 || got.Conversion != 1 ||
			got.Status != "ended" || got.Currency != "USD" {
			t.Fatalf("report %+v\nwant metrics %+v, 3 unique and 3 peak viewers, conversion 1", got, wantM)
		}
		if got.TotalWatchSeconds <= 0 || got.TotalWatchSeconds > 3*elapsed || got.AvgWatchSeconds <= 0 ||
			got.AvgWatchSeconds > elapsed || got.AvgViewers <= 0 || got.AvgViewers > 3 {
			t.Fatalf("watch numbers out of bounds (session %.1fs): %+v", elapsed, got.ViewerStats)
		}
		wantP := []discovery.ProductStats{
			{ProductID: p1.ID, Title: "Mug", Viewers: 3, Conversion: 1, Metrics: discovery.Metrics{
				ProductClicks: 3, AddToCarts: 3, CartUnits: 4, Orders: 3, UnitsSold: 4, RevenueMinor: 3000,
				Refunds: 1, RefundedMinor: 1000}},
			{ProductID: p2.ID, Title: "Vase", Viewers: 1, Conversion: 1, Metrics: discovery.Metrics{
				ProductClicks: 1, AddToCarts: 1, CartUnits: 1, Orders: 1, UnitsSold: 1, RevenueMinor: 2500}},
		}
		if len(got.Products) != 2 || got.Products[0] != wantP[0] || got.Products[1] != wantP[1] {
			t.Fatalf("products %+v\nwant %+v", got.Products, wantP)
		}

		t.Run("the report is also CSV", func(t *testing.T) {
			r := seller.expect(200, "GET", fmt.Sprintf("/api/streams/%d/analytics?format=csv", stream), nil)
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
				t.Fatalf("content type %q", ct)
			}
			rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
			if err != nil || strings.Join(rows[0], ",") != "scope,date,stream_id,product_id,title,metric,value" {
				t.Fatalf("csv %v %v", rows, err)
			}
			found := false
			for _, row := range rows {
				found = found || row[0] == "stream" && row[5] == "revenue_minor" && row[6] == "5500"
			}
			if !found {
				t.Fatalf("no revenue row in\n%s", r.body)
			}
		})

		t.Run("the shop and product reports agree over today", func(t *testing.T) {
			day := time.Now().UTC().Format("2006-01-02")
			var shop discovery.ShopAnalytics
			seller.expect(200, "GET", fmt.Sprintf("/api/shops/sallys/analytics?from=%s&to=%s", day, day), nil).decode(t, &shop)
			if shop.Orders != 3 || shop.RevenueMinor != 5500 || shop.RefundedMinor != 1000 || shop.Likes != 8 || len(shop.Streams) != 1 || shop.Streams[0].PeakViewers != 3 {
				t.Fatalf("shop report %+v", shop)
			}
			var prod discovery.ProductAnalytics
			seller.expect(200, "GET", fmt.Sprintf("/api/products/%d/analytics?from=%s&to=%s", p1.ID, day, day), nil).decode(t, &prod)
			if prod.ProductStats != wantP[0] {
				t.Fatalf("product report %+v", prod.ProductStats)
			}
			r := seller.expect(200, "GET", fmt.Sprintf("/api/shops/%d/analytics?format=csv", shopID), nil)
			if !strings.Contains(string(r.body), "total,,,,,orders,3") {
				t.Fatalf("shop csv\n%s", r.body)
			}
		})

		t.Run("other sellers get 403, bad ranges and formats 400", func(t *testing.T) {
			other := n.srv.shopper(t, "other@example.com", "Olga")
			other.openShop("olgas", "USD")
			other.expect(403, "GET", fmt.Sprintf("/api/streams/%d/analytics", stream), nil)
			other.expect(403, "GET", fmt.Sprintf("/api/shops/%d/analytics", shopID), nil)
			other.expect(403, "GET", fmt.Sprintf("/api/products/%d/analytics", p1.ID), nil)
			n.srv.client(t).expect(401, "GET", fmt.Sprintf("/api/shops/%d/analytics", shopID), nil)
			for _, q := range []string{"from=2026-05-02&to=2026-05-01", "from=2020-01-01&to=2026-01-01", "from=soon",
				"to=2026-02-30", "format=xml"} {
				r := seller.expect(400, "GET", fmt.Sprintf("/api/shops/%d/analytics?%s", shopID, q), nil)
				r.errorCode(t)
			}
		})
	})
}

func TestDiscoveryOverHTTP(t *testing.T) {
	cfg := shopConfig(t)
	n := startNode(t, cfg)
	seller := n.srv.shopper(t, "seller@example.com", "Sally")
	shopID := seller.openShop("sallys", "EUR")
	mug := seller.product(shopID, "Ceramic mug", 1200, 5, "pottery")
	stream := createStream(t, seller, shopID, "Glaze night", mug.ID)
	anon := n.srv.client(t)

	t.Run("search answers hostile queries with results, never an error", func(t *testing.T) {
		for _, q := range []string{`ceramic`, `"ceramic`, `ceramic OR 1=1`, `'); DROP TABLE products;--`, `*`, `NEAR(a b)`,
			`a:* & !b`, `%`, `\`, strings.Repeat("(", 600)} {
			for _, path := range []string{"/api/search", "/api/search/products", "/api/search/shops", "/api/search/streams"} {
				anon.expect(200, "GET", path+"?q="+url.QueryEscape(q), nil)
			}
		}
		var res discovery.SearchResults
		anon.expect(200, "GET", "/api/search?q=cera", nil).decode(t, &res)
		if len(res.Products) != 1 || res.Products[0].ID != mug.ID || len(res.Shops) != 0 || len(res.Streams) != 0 {
			t.Fatalf("search %+v", res)
		}
		anon.expect(400, "GET", "/api/search/products?q=x&cursor=bogus", nil).errorCode(t)
	})

	t.Run("hashtag pages", func(t *testing.T) {
		var page struct {
			Items []discovery.ProductSummary `json:"items"`
		}
		anon.expect(200, "GET", "/api/hashtags/Pottery/products", nil).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != mug.ID {
			t.Fatalf("#pottery %+v", page.Items)
		}
		for _, tag := range []string{"nothing-here", "%24%25", "unknown"} {
			anon.expect(200, "GET", "/api/hashtags/"+tag+"/products", nil).decode(t, &page)
			if len(page.Items) != 0 {
				t.Fatalf("#%s %+v", tag, page.Items)
			}
		}
		var streams struct {
			Items []discovery.StreamSummary `json:"items"`
		}
		anon.expect(200, "GET", "/api/hashtags/pottery/streams", nil).decode(t, &streams)
		if len(streams.Items) != 1 || streams.Items[0].ID != stream {
			t.Fatalf("#pottery streams %+v", streams.Items)
		}
	})

	t.Run("share links open the right page", func(t *testing.T) {
		var link discovery.ShareLink
		anon.expect(201, "POST", "/api/shares", map[string]any{"type": "product", "id": mug.ID}).decode(t, &link)
		if !strings.HasPrefix(link.URL, n.URL+"/s/p") || link.Target != fmt.Sprintf("/product/%d", mug.ID) {
			t.Fatalf("link %+v", link)
		}
		var slink discovery.ShareLink
		anon.expect(201, "POST", "/api/shares", map[string]any{"type": "stream", "id": stream}).decode(t, &slink)
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for path, want := range map[string]string{link.Path: link.Target, slink.Path: fmt.Sprintf("/watch/%d", stream),
			"/s/p999999": "/", "/s/zzz": "/", "/s/w": "/"} {
			resp, err := noFollow.Get(n.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
				t.Errorf("%s: %d to %q, want 302 to %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
			}
		}
		anon.expect(422, "POST", "/api/shares", map[string]any{"type": "shop", "id": shopID}).errorCode(t)
		anon.expect(404, "POST", "/api/shares", map[string]any{"type": "product", "id": 999999}).errorCode(t)
	})

	t.Run("bad interaction reports are refused whole", func(t *testing.T) {
		many := make([]map[string]any, 51)
		for i := range many {
			many[i] = map[string]any{"type": "product_viewed", "product_id": mug.ID}
		}
		for _, body := range []any{`{}`, `{"events":[]}`, map[string]any{"events": many},
			map[string]any{"events": []map[string]any{{"type": "purchased", "product_id": mug.ID}}},
			map[string]any{"events": []map[string]any{{"type": "product_viewed"}}}} {
			anon.expect(422, "POST", "/api/interactions", body).errorCode(t)
		}
		anon.expect(400, "POST", "/api/interactions", `{"events":`).errorCode(t)
		anon.expect(400, "GET", "/api/feed?cursor=bogus", nil).errorCode(t)
	})

	t.Run("interactions still buffered are written at shutdown", func(t *testing.T) {
		anon.expect(202, "POST", "/api/interactions", map[string]any{"events": []map[string]any{
			{"type": "product_viewed", "product_id": mug.ID}, {"type": "product_viewed", "product_id": mug.ID}}})
		n.stop()
		a, err := newApp(context.Background(), cfg, discardLogger())
		if err != nil {
			t.Fatal(err)
		}
		defer a.close()
		rows, err := a.store.ActivityCounts(context.Background(), discovery.AnalyticsFilter{ProductID: mug.ID,
			Kinds: []discovery.InteractionKind{discovery.InteractionView}}, discovery.GroupNone, false)
		if err != nil || len(rows) != 1 || rows[0].Events != 2 {
			t.Fatalf("views after shutdown: %+v, %v", rows, err)
		}
	})
}
