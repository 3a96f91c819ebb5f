package main

import (
	"context"
	"log/slog"

	"github.com/liveshop/liveshop/commerce"
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
