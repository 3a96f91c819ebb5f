package coalesce

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// countRoom is a coalescer over one key whose count the test sets, with
// an interval long enough that nothing waiting for it is sent in the test.
type countRoom struct {
	mu    sync.Mutex
	count int64
	sent  []int64
	c     *Coalescer[int, struct{}]
}

func newCountRoom(count int64) *countRoom {
	r := &countRoom{count: count}
	r.c = New(time.Hour, slog.New(slog.DiscardHandler),
		func(context.Context, int, struct{}) (int64, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.count, nil
		},
		func(_ context.Context, _ int, _ struct{}, n int64) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.sent = append(r.sent, n)
			return nil
		},
		func(struct{}, time.Time, time.Time) bool { return false })
	return r
}

func (r *countRoom) set(n int64) {
	r.mu.Lock()
	r.count = n
	r.mu.Unlock()
}

func (r *countRoom) sends() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.sent...)
}

func TestCoalescerSendsSellOutAtOnce(t *testing.T) {
	r := newCountRoom(5)
	r.c.Moved(1, struct{}{})
	r.c.Flush(false) // the first count goes out at once
	r.set(3)
	r.c.Moved(1, struct{}{})
	r.c.Flush(false) // 3 waits for the interval
	r.set(0)
	r.c.Moved(1, struct{}{}) // the caller does not know it sold out
	r.c.Flush(false)
	if got := r.sends(); len(got) != 2 || got[0] != 5 || got[1] != 0 {
		t.Fatalf("sent %v, want 5 then the sell-out (0) at once", got)
	}
	r.set(4)
	r.c.Moved(1, struct{}{})
	r.c.Flush(false)
	if got := r.sends(); len(got) != 2 || !r.c.Pending() {
		t.Fatalf("sent %v; a restock must wait for the interval", got)
	}
}

func TestCoalescerRedrawSendsSameCount(t *testing.T) {
	r := newCountRoom(5)
	r.c.Moved(1, struct{}{})
	r.c.Flush(false)
	r.c.Moved(1, struct{}{})
	r.c.Flush(true) // same count: nothing to send
	r.c.Redraw(1, struct{}{})
	r.c.Flush(true)
	if got := r.sends(); len(got) != 2 || got[1] != 5 {
		t.Fatalf("sent %v, want 5 twice (the second for the redraw)", got)
	}
}
