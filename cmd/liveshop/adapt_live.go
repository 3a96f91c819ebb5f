package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/live"
)

// liveEnder is what the stream-end notifier needs of the SFU.
type liveEnder interface {
	EndStream(streamID int64) bool
}

// streamEndNotifier adapts the SFU and the room hub to
// commerce.StreamEndNotifier: when a seller ends a stream through the API,
// its video stops at once on this node (an origin on another node notices
// when it re-checks its publisher's key, within a third of
// --live-origin-ttl) and every viewer of its room, on every node, gets
// stream_ended, as when the publisher leaves.
type streamEndNotifier struct {
	sfu   liveEnder
	rooms roomPublisher
	log   *slog.Logger
}

var _ commerce.StreamEndNotifier = streamEndNotifier{}

func (n streamEndNotifier) StreamEnded(ctx context.Context, streamID int64) {
	n.sfu.EndStream(streamID)
	announceStreamEnd(ctx, n.rooms, n.log, streamID)
}

// liveRecords adapts commerce's stream records to live.LiveStreams (the IDs
// of every stream whose record says live, page by page) and to
// live.StreamCatalog.
type liveRecords struct{ svc *commerce.Service }

var (
	_ live.LiveStreams   = liveRecords{}
	_ live.StreamCatalog = liveRecords{}
)

// StreamExists reports whether the stream has a record, in any status.
func (r liveRecords) StreamExists(ctx context.Context, id int64) (bool, error) {
	_, err := r.svc.Stream(ctx, id)
	if errors.Is(err, commerce.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (r liveRecords) LiveStreamIDs(ctx context.Context) ([]int64, error) {
	var ids []int64
	page := commerce.PageRequest{Limit: 100}
	for {
		streams, next, err := r.svc.Streams(ctx, commerce.StreamFilter{Status: commerce.StreamLive, PageRequest: page})
		if err != nil {
			return nil, err
		}
		for _, st := range streams {
			ids = append(ids, st.ID)
		}
		if next == "" {
			return ids, nil
		}
		page.Cursor = next
	}
}
