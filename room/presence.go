package room

import (
	"context"
	"time"
)

// Presence adds up viewer counts across nodes. Each node reports how many
// viewers it holds in a room, valid for a ttl it renews with every report (a
// heartbeat); a node that dies simply stops counting once its report
// expires. The node with the smallest id among fresh reports is the room's
// announcer, the one that publishes the viewer-count event, so a room with
// viewers on ten nodes still gets one event per interval.
type Presence interface {
	// Report stores node's count for room and returns the room's total
	// across fresh reports and whether node is the announcer.
	Report(ctx context.Context, room int64, node string, count int, ttl time.Duration) (total int, announcer bool, err error)
	// Leave withdraws node's report for room.
	Leave(ctx context.Context, room int64, node string) error
}
