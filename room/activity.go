package room

import "time"

// Activity hears what viewers do in rooms — joining, watching, liking,
// commenting — for analytics and recommendations (commerce's discovery,
// adapted in cmd/liveshop). Calls come from connection goroutines after the
// fact and must return at once (hand off to a bounded queue); they never
// change what happens in the room. AccountID 0 is an anonymous viewer.
type Activity interface {
	// Joined reports a connection joining the stream's room.
	Joined(streamID, accountID int64, at time.Time)
	// Watched reports a connection that left, in the room from joined to left.
	Watched(streamID, accountID int64, joined, left time.Time)
	// Liked reports count taps on the like button.
	Liked(streamID, accountID, count int64)
	// Commented reports a comment stored (visible or held for review).
	Commented(streamID, accountID int64)
}

// noActivity is the Activity of a hub nobody listens to.
type noActivity struct{}

func (noActivity) Joined(int64, int64, time.Time)             {}
func (noActivity) Watched(int64, int64, time.Time, time.Time) {}
func (noActivity) Liked(int64, int64, int64)                  {}
func (noActivity) Commented(int64, int64)                     {}
