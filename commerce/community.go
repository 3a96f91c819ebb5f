package commerce

import "time"

// Records of the live rooms' comments and moderation. The room package owns
// the behaviour; commerce/sqlstore keeps these rows (tables room_* and
// moderation_log, migrations 0020-0029) and cmd/liveshop adapts them to
// room.Store.

// Room comment statuses.
const (
	CommentVisible = "visible"
	CommentHeld    = "held"
	CommentRemoved = "removed"
)

// RoomComment is a comment in a stream's room.
type RoomComment struct {
	ID         int64
	StreamID   int64
	ShopID     int64
	AuthorID   int64
	AuthorName string
	// ClientID is chosen by the sending client; (stream, author, client ID)
	// is unique so a resend is not stored twice. Empty when none was given.
	ClientID  string
	Text      string
	Status    string
	CreatedAt time.Time
}

// RoomCommentFilter selects a stream's comments, newest first. An empty
// Status means visible and held; BeforeID and AfterID keep only comments
// with a smaller or a larger ID.
type RoomCommentFilter struct {
	Status   string
	BeforeID int64
	AfterID  int64
	Limit    int
}

// RoomRestriction is an account's mute or ban in a shop's rooms.
type RoomRestriction struct {
	ShopID     int64
	AccountID  int64
	MutedUntil time.Time
	Banned     bool
}

// RoomSettings is the durable state of one stream's room.
type RoomSettings struct {
	StreamID        int64
	SlowModeSeconds int
	PinnedProductID int64
	Likes           int64
}

// ModerationEntry is one line of a shop's moderation audit log.
type ModerationEntry struct {
	ID        int64
	ShopID    int64
	StreamID  int64
	ActorID   int64
	ActorName string
	Action    string
	TargetID  int64
	CommentID int64
	Detail    string
	At        time.Time
}
