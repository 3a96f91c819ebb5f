package main

import (
	"time"

	"github.com/liveshop/liveshop/commerce/discovery"
	"github.com/liveshop/liveshop/room"
)

// Adapters from the room package's small interfaces to commerce's
// discovery service.

var _ room.Activity = roomActivity{}

// roomActivity adapts the discovery recorder to room.Activity: joins,
// watch sessions (open ones written as they go), likes and comments
// become interactions.
type roomActivity struct{ d *discovery.Service }

func (r roomActivity) Joined(streamID, accountID int64, at time.Time) {
	r.d.WatchOpened(streamID, accountID, at)
}

func (r roomActivity) Watched(streamID, accountID int64, joined, left time.Time) {
	r.d.WatchClosed(streamID, accountID, joined, left)
}

func (r roomActivity) Liked(streamID, accountID, count int64) {
	r.d.Record(discovery.Interaction{Kind: discovery.InteractionLike, AccountID: accountID, StreamID: streamID, Quantity: count})
}

func (r roomActivity) Commented(streamID, accountID int64) {
	r.d.Record(discovery.Interaction{Kind: discovery.InteractionComment, AccountID: accountID, StreamID: streamID})
}
