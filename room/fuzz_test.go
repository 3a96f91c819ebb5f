package room

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"
)

// fuzzDir is a one-shop Directory: account 1 is the seller, 2 a moderator.
type fuzzDir struct{}

func (fuzzDir) Stream(_ context.Context, id int64) (StreamInfo, error) {
	if id != 1 {
		return StreamInfo{}, ErrNotFound
	}
	return StreamInfo{ID: 1, ShopID: 1, Title: "fuzz", Status: StatusLive}, nil
}

func (fuzzDir) ShopStreams(_ context.Context, shop int64) ([]int64, error) {
	if shop != 1 {
		return nil, nil
	}
	return []int64{1}, nil
}

func (fuzzDir) Role(_ context.Context, _, account int64) (Role, error) {
	switch account {
	case 1:
		return RoleSeller, nil
	case 2:
		return RoleModerator, nil
	}
	return RoleViewer, nil
}

func (fuzzDir) Product(_ context.Context, shop, id int64) (Product, error) {
	if id == 3 {
		return Product{ID: 3, Title: "Mug", PriceMinor: 1200, Currency: "EUR", Stock: 5, Active: true}, nil
	}
	return Product{}, ErrNotFound
}

type fuzzAuth struct{}

func (fuzzAuth) Authenticate(r *http.Request) (Identity, error) {
	var id int64
	fmt.Sscan(r.Header.Get("X-Account"), &id)
	return Identity{AccountID: id, Name: fmt.Sprint("user ", id)}, nil
}

// FuzzCommand feeds arbitrary client messages to decoding and to the
// command handler of a seller's and a viewer's live connections. The seed
// corpus is in testdata/fuzz/FuzzCommand; CI runs it as a test.
func FuzzCommand(f *testing.F) {
	hub, err := NewHub(Config{CommandRate: 1e9, CommandBurst: 1e9, CommentLimit: 1e9, FlushInterval: time.Millisecond},
		Deps{Auth: fuzzAuth{}, Directory: fuzzDir{}, Store: NewMemoryStore()})
	if err != nil {
		f.Fatal(err)
	}
	e := echo.New()
	NewHandler(hub).Register(e.Group("/api"))
	srv := httptest.NewServer(e)
	f.Cleanup(func() {
		hub.Close()
		srv.Close()
	})
	conns := map[int64]*conn{}
	for _, account := range []int64{1, 4} {
		ws, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/api/streams/1/room",
			&websocket.DialOptions{HTTPHeader: http.Header{"X-Account": {fmt.Sprint(account)}}})
		if err != nil {
			f.Fatal(err)
		}
		ws.SetReadLimit(-1)
		go func() { // drain, so replies never back up
			for {
				if _, _, err := ws.Read(context.Background()); err != nil {
					return
				}
			}
		}()
		f.Cleanup(func() { ws.CloseNow() })
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(conns) < 2 && time.Now().Before(deadline) {
		hub.mu.Lock()
		r := hub.open[1]
		hub.mu.Unlock()
		if r != nil {
			r.mu.Lock()
			for _, c := range r.list {
				conns[c.ident.AccountID] = c
			}
			r.mu.Unlock()
		}
		time.Sleep(time.Millisecond)
	}
	if len(conns) != 2 {
		f.Fatalf("connections did not join: %d", len(conns))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		cmd, err := decodeCommand(data, hub.cfg.MaxMute)
		if len(cmd.ID) > maxCommandID {
			t.Fatalf("decoded id of %d bytes", len(cmd.ID))
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 && e.Status != 422 {
				t.Fatalf("decode error %v is not a 400/422 room error", err)
			}
		}
		who := conns[4]
		if len(data)%2 == 0 {
			who = conns[1]
		}
		who.handle(context.Background(), data)
	})
}
