package room

import (
	"context"
	"errors"
)

// Message is one event on the bus: an opaque payload with the sequence
// number the bus gave it in its room.
type Message struct {
	Seq     uint64
	Payload []byte
	// Reset means the bus lost events it cannot recover (history overrun
	// while disconnected, or the shared store lost the room's counter so
	// numbering started again): the subscriber must rebuild its state; Seq
	// is the room's latest sequence number (possibly smaller than before,
	// 0 when the counter is gone) and Payload is empty.
	Reset bool
	// Epoch, on a Reset, is the epoch of the numbering that goes on from
	// Seq: a new one when the counter was created again, the same one when
	// only events were lost. A Reset always carries it.
	Epoch string
	// Interrupted means the bus lost its link to the shared store (Redis
	// went away): events may be missing and, when the link is back, the
	// numbering may have started again. The subscriber must not vouch for
	// its numbering (serve resumes) until a Recovered or a Reset message
	// arrives. Seq and Payload are empty.
	Interrupted bool
	// Recovered follows Interrupted once the link is back and the room's
	// counter was found to go on in the same epoch: every event missed
	// meanwhile was delivered before it. Seq and Payload are empty.
	Recovered bool
}

// Position is a point in a room's numbering: the last sequence number and
// the epoch of the counter it comes from. A counter that starts again (the
// shared store lost it, or the process restarted with the memory bus) gets
// another epoch, so equal seqs of different epochs name different events.
type Position struct {
	Seq   uint64
	Epoch string
}

// Bus fans room events out to every node that has the room open, numbers
// them per room and keeps a bounded history so clients can resume. The
// memory implementation serves one process; the Redis one many nodes.
type Bus interface {
	// Publish appends payload to the room, returning its sequence number:
	// 1 for a room's first event, then +1 per event, never reused.
	Publish(ctx context.Context, room int64, payload []byte) (uint64, error)
	// Subscribe calls deliver with every message of room published after
	// the returned position (its sequence number and epoch), in order, once each, without gaps;
	// events the bus missed (a Redis reconnect) are recovered from history,
	// or announced with a Reset message if they are gone. While the bus
	// cannot tell (its link is down) it says so with Interrupted. deliver
	// runs on a bus goroutine and must not block or call back into the bus.
	Subscribe(ctx context.Context, room int64, deliver func(Message)) (sub Subscription, last Position, err error)
	// History returns up to limit messages with seq > after, oldest first.
	// It returns ErrHistoryGone when messages after `after` were already
	// dropped from the bounded history (the caller needs a snapshot).
	History(ctx context.Context, room int64, after uint64, limit int) ([]Message, error)
	// Close releases the bus; subscriptions stop.
	Close() error
}

// Subscription is an active Bus subscription.
type Subscription interface {
	// Unsubscribe stops deliveries; after it returns deliver is not called.
	Unsubscribe()
}

// errBusClosed is returned by a closed bus.
var errBusClosed = errors.New("room bus closed")
