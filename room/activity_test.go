package room_test

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/liveshop/liveshop/room"
)

// activityLog is an Activity that writes down what it hears.
type activityLog struct {
	mu    sync.Mutex
	lines []string
}

func (a *activityLog) add(format string, args ...any) {
	a.mu.Lock()
	a.lines = append(a.lines, fmt.Sprintf(format, args...))
	a.mu.Unlock()
}

func (a *activityLog) has(line string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Contains(a.lines, line)
}

func (a *activityLog) Joined(stream, account int64, _ time.Time) {
	a.add("joined %d %d", stream, account)
}

func (a *activityLog) Watched(stream, account int64, from, to time.Time) {
	if to.Before(from) {
		a.add("watched backwards %d %d", stream, account)
		return
	}
	a.add("watched %d %d", stream, account)
}

func (a *activityLog) Liked(stream, account, n int64) { a.add("liked %d %d %d", stream, account, n) }

func (a *activityLog) Commented(stream, account int64) { a.add("commented %d %d", stream, account) }

// TestActivityHearsWhatViewersDo checks the hook discovery's analytics
// hang on: joins (anonymous ones too), likes, stored comments, and each
// connection's time in the room when it leaves.
func TestActivityHearsWhatViewersDo(t *testing.T) {
	s := memoryShared(t)
	log := &activityLog{}
	reg := prometheus.NewRegistry()
	hub, err := room.NewHub(room.Config{FlushInterval: 10 * time.Millisecond, CommentLimit: 1000, CommandRate: 1000, CommandBurst: 1000},
		room.Deps{Auth: headerAuth{}, Directory: s.dir, Store: s.store, Bus: s.bus(), Limits: s.limits(),
			Presence: s.presence(), Activity: log, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = errorHandler
	room.NewHandler(hub).Register(e.Group("/api"))
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		hub.Close()
		srv.Close()
	})
	n := &node{hub: hub, srv: srv, reg: reg}

	v := n.dial(t, streamID, viewer, -1)
	v.next("snapshot")
	anon := n.dial(t, streamID, "", -1)
	anon.next("snapshot")
	v.send(map[string]any{"type": "like", "id": "l1", "count": 3})
	v.next("ack")
	v.comment("c1", "hello")
	v.ws.Close(websocket.StatusNormalClosure, "bye")

	want := []string{
		fmt.Sprintf("joined %d %d", streamID, viewerID), fmt.Sprintf("joined %d 0", streamID),
		fmt.Sprintf("liked %d %d 3", streamID, viewerID), fmt.Sprintf("commented %d %d", streamID, viewerID),
		fmt.Sprintf("watched %d %d", streamID, viewerID),
	}
	for _, line := range want {
		eventually(t, "activity hears "+line, func() bool { return log.has(line) })
	}
	if log.has(fmt.Sprintf("watched %d 0", streamID)) {
		t.Fatal("the anonymous viewer, still connected, was reported as gone")
	}
}
