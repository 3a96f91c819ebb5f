package discovery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"
	"time"
)

// Open watch sessions
//
// A watch session is logged when it ends. So that a live stream's report
// counts who is watching now, and a node that dies does not lose the
// sessions it held, every node writes its open sessions (started_at,
// seen_at) to watch_open every WatchHeartbeat; reports read each as a
// session lasting until seen_at. The session's watch interaction deletes
// its row in the transaction that writes it, so a session is never
// counted twice. A row whose node died (or whose end was dropped) stays, a
// session that ended at its last heartbeat, until the retention purge.

// OpenWatch is a watch session still open on this node.
type OpenWatch struct {
	Session   string
	StreamID  int64
	AccountID int64
	StartedAt time.Time
}

type watchKey struct {
	stream, account, joined int64
}

// openWatches are this node's open sessions.
type openWatches struct {
	mu     sync.Mutex
	prefix string
	seq    uint64
	open   map[watchKey][]string
	byID   map[string]OpenWatch
}

func newOpenWatches() *openWatches {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &openWatches{prefix: hex.EncodeToString(b) + "-", open: map[watchKey][]string{}, byID: map[string]OpenWatch{}}
}

// WatchOpened notes a viewer joining a stream's room (accountID 0 for an
// anonymous viewer); a signed-in join is also logged, for attribution.
func (d *Service) WatchOpened(streamID, accountID int64, at time.Time) {
	if accountID != 0 {
		d.Record(Interaction{Kind: InteractionWatchStart, At: at, AccountID: accountID, StreamID: streamID})
	}
	w := d.watches
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	id := w.prefix + strconv.FormatUint(w.seq, 36)
	k := watchKey{streamID, accountID, at.UnixMicro()}
	w.open[k] = append(w.open[k], id)
	w.byID[id] = OpenWatch{Session: id, StreamID: streamID, AccountID: accountID, StartedAt: at}
}

// WatchClosed logs a finished session, from joined (as WatchOpened was
// told) to left.
func (d *Service) WatchClosed(streamID, accountID int64, joined, left time.Time) {
	w := d.watches
	w.mu.Lock()
	k := watchKey{streamID, accountID, joined.UnixMicro()}
	var id string
	if ids := w.open[k]; len(ids) > 0 {
		id = ids[0]
		if len(ids) == 1 {
			delete(w.open, k)
		} else {
			w.open[k] = ids[1:]
		}
		delete(w.byID, id)
	}
	w.mu.Unlock()
	d.Record(Interaction{Kind: InteractionWatch, At: left, StartedAt: joined, AccountID: accountID,
		StreamID: streamID, Session: id})
}

// beatWatches writes this node's open sessions as seen now. It runs on the
// recorder's goroutine after the pending batch, so a session that ends
// after the snapshot is deleted after it is written.
func (d *Service) beatWatches() {
	w := d.watches
	w.mu.Lock()
	open := make([]OpenWatch, 0, len(w.byID))
	for _, o := range w.byID {
		open = append(open, o)
	}
	w.mu.Unlock()
	if len(open) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.store.BeatWatches(ctx, open, d.now()); err != nil {
		d.log.Warn("open watch sessions not written", "sessions", len(open), "error", err)
	}
}
