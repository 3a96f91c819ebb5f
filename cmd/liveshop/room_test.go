package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/liveshop/liveshop/room"
	"github.com/liveshop/liveshop/room/redistest"
)

// roomConn is a test client of a room WebSocket that keeps every event.
type roomConn struct {
	t      testing.TB
	ws     *websocket.Conn
	mu     sync.Mutex
	events []roomEvent
	done   chan struct{}
	err    error // why reading stopped, set before done closes
}

type roomEvent struct {
	Type string          `json:"type"`
	Seq  uint64          `json:"seq"`
	Data json.RawMessage `json:"data"`
}

// joinRoom opens stream's room on the server at base as the client (its
// bearer token; anonymous when c is nil).
func joinRoom(t testing.TB, base string, c *client, stream int64) *roomConn {
	t.Helper()
	hdr := http.Header{}
	if c != nil && c.token != "" {
		hdr.Set("Authorization", "Bearer "+c.token)
	}
	return joinRoomURL(t, "ws"+strings.TrimPrefix(base, "http")+fmt.Sprintf("/api/streams/%d/room", stream), hdr)
}

// joinRoomURL opens a room WebSocket at url with the request headers hdr.
func joinRoomURL(t testing.TB, url string, hdr http.Header) *roomConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatalf("join room at %s: %v", url, err)
	}
	ws.SetReadLimit(-1)
	rc := &roomConn{t: t, ws: ws, done: make(chan struct{})}
	go func() {
		defer close(rc.done)
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				rc.err = err
				return
			}
			var evs []roomEvent
			if json.Unmarshal(data, &evs) == nil {
				rc.mu.Lock()
				rc.events = append(rc.events, evs...)
				rc.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { ws.CloseNow(); <-rc.done })
	return rc
}

// wait returns the first event of typ whose data satisfies match.
func (rc *roomConn) wait(typ string, match func(json.RawMessage) bool) roomEvent {
	rc.t.Helper()
	return rc.find(typ, fmt.Sprintf("no %s event", typ), func(e roomEvent, _ int) bool { return match == nil || match(e.Data) })
}

// nth returns the i-th (from 0) event of typ.
func (rc *roomConn) nth(typ string, i int) roomEvent {
	rc.t.Helper()
	return rc.find(typ, fmt.Sprintf("fewer than %d %s events", i+1, typ), func(_ roomEvent, j int) bool { return j == i })
}

// find returns the first event of typ that ok takes (given the event and
// its index among those of typ), waiting up to 10 s for it.
func (rc *roomConn) find(typ, missing string, ok func(e roomEvent, i int) bool) roomEvent {
	rc.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		rc.mu.Lock()
		i := 0
		for _, e := range rc.events {
			if e.Type != typ {
				continue
			}
			if ok(e, i) {
				rc.mu.Unlock()
				return e
			}
			i++
		}
		rc.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	rc.t.Fatalf("%s within 10s", missing)
	return roomEvent{}
}

// roomData decodes an event's data.
func roomData[T any](t testing.TB, e roomEvent) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(e.Data, &v); err != nil {
		t.Fatalf("%s data %s: %v", e.Type, e.Data, err)
	}
	return v
}

// closeStatus waits for the server to end the connection and returns its
// close code.
func (rc *roomConn) closeStatus() websocket.StatusCode {
	rc.t.Helper()
	select {
	case <-rc.done:
	case <-time.After(10 * time.Second):
		rc.t.Fatal("the room connection stayed open")
	}
	return websocket.CloseStatus(rc.err)
}

func (rc *roomConn) send(cmd map[string]any) {
	rc.t.Helper()
	b, _ := json.Marshal(cmd)
	if err := rc.ws.Write(context.Background(), websocket.MessageText, b); err != nil {
		rc.t.Fatal(err)
	}
}

func hasID(id int64) func(json.RawMessage) bool {
	return func(d json.RawMessage) bool {
		var v struct {
			ID int64 `json:"id"`
		}
		return json.Unmarshal(d, &v) == nil && v.ID == id
	}
}

// liveRoomFixture opens a shop with a product and a stream, and appoints a
// moderator.
func liveRoomFixture(t *testing.T, srv *testServer) (seller, mod, viewer shopper, shopID, productID, streamID int64) {
	seller = srv.shopper(t, "seller@example.com", "Sally Seller")
	mod = srv.shopper(t, "mod@example.com", "Moe Moderator")
	viewer = srv.shopper(t, "viewer@example.com", "Vic Viewer")
	shopID = seller.openShop("sallys", "EUR")
	productID = seller.product(shopID, "Linen shirt", 4900, 12).ID
	seller.appoint(shopID, mod, "mod@example.com")
	var st struct {
		ID int64 `json:"id"`
	}
	seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shopID), map[string]any{"title": "Spring drop"}).decode(t, &st)
	return seller, mod, viewer, shopID, productID, st.ID
}

func TestRoomsEndToEnd(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		srv := startServer(t, cfg)
		seller, mod, viewer, shopID, productID, streamID := liveRoomFixture(t, srv)

		anon := joinRoom(t, srv.URL, nil, streamID)
		anon.wait("snapshot", nil)
		v := joinRoom(t, srv.URL, viewer.client, streamID)
		m := joinRoom(t, srv.URL, mod.client, streamID)
		v.wait("snapshot", nil)
		m.wait("snapshot", func(d json.RawMessage) bool { return strings.Contains(string(d), `"role":"moderator"`) })

		v.send(map[string]any{"type": "comment", "id": "1", "cid": "c1", "text": "<b>hi</b>"})
		var c struct {
			ID   int64  `json:"id"`
			Text string `json:"text"`
		}
		json.Unmarshal(anon.wait("comment", nil).Data, &c)
		if c.Text != "<b>hi</b>" {
			t.Fatalf("comment = %+v", c)
		}
		m.send(map[string]any{"type": "remove_comment", "id": "2", "comment_id": c.ID})
		anon.wait("comment_removed", hasID(c.ID))

		seller.expect(204, "PUT", fmt.Sprintf("/api/streams/%d/pin", streamID), map[string]any{"product_id": productID})
		anon.wait("pinned", func(d json.RawMessage) bool { return strings.Contains(string(d), `"price_minor":4900`) })
		viewer.expect(403, "PUT", fmt.Sprintf("/api/streams/%d/pin", streamID), map[string]any{"product_id": productID})

		var audit struct {
			Entries []struct {
				Action    string `json:"action"`
				ActorName string `json:"actor_name"`
			} `json:"entries"`
		}
		mod.expect(200, "GET", fmt.Sprintf("/api/shops/%d/moderation/audit", shopID), nil).decode(t, &audit)
		var actions []string
		for _, e := range audit.Entries {
			actions = append(actions, e.Action+" by "+e.ActorName)
		}
		want := []string{"denied by Vic Viewer", "pin by Sally Seller", "remove_comment by Moe Moderator"}
		if strings.Join(actions, ", ") != strings.Join(want, ", ") {
			t.Fatalf("audit log = %v, want %v", actions, want)
		}
		late := joinRoom(t, srv.URL, nil, streamID)
		late.wait("snapshot", func(d json.RawMessage) bool {
			return strings.Contains(string(d), `"comments":[]`) && strings.Contains(string(d), `"title":"Linen shirt"`)
		})
	})
}

// Two server processes' worth of wiring share one database and one Redis.
func TestRoomsAcrossTwoServers(t *testing.T) {
	url := redistest.URL(t)
	b := make([]byte, 6)
	rand.Read(b)
	cfg := shopConfig(t)
	cfg.Redis, cfg.RedisPrefix = url, "test:"+hex.EncodeToString(b)+":"
	cfg.DB = cfg.DBURL() // both servers open the same SQLite file
	a := startServer(t, cfg)
	cfgB := cfg
	cfgB.DataDir = t.TempDir()
	bSrv := startServer(t, cfgB)
	seller, mod, viewer, shopID, _, streamID := liveRoomFixture(t, a)
	viewer.base, mod.base = bSrv.URL, a.URL

	onB := joinRoom(t, bSrv.URL, nil, streamID)
	onB.wait("snapshot", nil)
	poster := joinRoom(t, bSrv.URL, viewer.client, streamID)
	m := joinRoom(t, a.URL, mod.client, streamID)
	poster.wait("snapshot", nil)
	m.wait("snapshot", nil)
	poster.send(map[string]any{"type": "comment", "id": "1", "cid": "x", "text": "from B"})
	var c struct {
		ID int64 `json:"id"`
	}
	json.Unmarshal(m.wait("comment", nil).Data, &c)
	m.send(map[string]any{"type": "mute", "id": "2", "user_id": viewer.id, "minutes": 5})
	poster.wait("muted", nil)
	poster.send(map[string]any{"type": "comment", "id": "3", "text": "again"})
	poster.wait("error", func(d json.RawMessage) bool { return strings.Contains(string(d), `"code":"muted"`) })
	m.send(map[string]any{"type": "remove_comment", "id": "4", "comment_id": c.ID})
	onB.wait("comment_removed", hasID(c.ID))

	// A ban through the API that names no stream reaches the account on
	// another stream of the shop, watched on the other server.
	var second struct {
		ID int64 `json:"id"`
	}
	seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shopID), map[string]any{"title": "Summer drop"}).decode(t, &second)
	fan := a.shopper(t, "fan@example.com", "Fay Fan")
	watching := joinRoom(t, bSrv.URL, fan.client, second.ID)
	watching.wait("snapshot", nil)
	mod.expect(204, "POST", fmt.Sprintf("/api/shops/%d/bans", shopID), map[string]any{"user_id": fan.id})
	watching.wait("banned", nil)
	if code := watching.closeStatus(); code != room.CloseBanned {
		t.Fatalf("close code = %d, want %d", code, room.CloseBanned)
	}
}
