package room

import (
	"context"
	"time"
)

// CommentBatcher is an optional extension of Store: CreateComments stores
// several comments in one transaction, each with CreateComment's meaning
// (created is false for a resend). The hub groups the comments arriving
// together on a node into one commit when its Store has it; otherwise it
// stores them one at a time.
type CommentBatcher interface {
	CreateComments(ctx context.Context, cs []Comment) (stored []Comment, created []bool, err error)
}

// Comment statuses. A held comment waits for a moderator and is shown only
// to its author and to moderators; a removed one never shows again.
const (
	CommentVisible = "visible"
	CommentHeld    = "held"
	CommentRemoved = "removed"
)

// Comment is a stored comment.
type Comment struct {
	ID         int64
	StreamID   int64
	ShopID     int64
	AuthorID   int64
	AuthorName string
	// ClientID is chosen by the sending client so that a resend after a
	// dropped connection is recognised instead of stored twice.
	ClientID  string
	Text      string
	Status    string
	CreatedAt time.Time
}

func (c Comment) view() CommentView {
	return CommentView{ID: c.ID, ClientID: c.ClientID, User: UserView{c.AuthorID, c.AuthorName},
		Text: c.Text, Status: c.Status, At: c.CreatedAt}
}

// CommentFilter selects comments of a stream, newest first.
type CommentFilter struct {
	// Status is one of the Comment* statuses; empty means visible and held.
	Status string
	// BeforeID pages backwards: only comments with a smaller ID.
	BeforeID int64
	// AfterID keeps only comments with a larger ID (what a room's
	// connections may have missed).
	AfterID int64
	Limit   int
}

// Restriction is an account's standing in a shop's rooms.
type Restriction struct {
	ShopID     int64
	AccountID  int64
	MutedUntil time.Time
	Banned     bool
}

// Active reports whether the restriction still limits the account at now.
func (r Restriction) Active(now time.Time) bool { return r.Banned || r.MutedUntil.After(now) }

// RoomSettings is the durable state of one stream's room.
type RoomSettings struct {
	StreamID        int64
	SlowModeSeconds int
	// PinnedProductID is 0 when nothing is pinned.
	PinnedProductID int64
	Likes           int64
}

// Audit actions.
const (
	AuditRemoveComment  = "remove_comment"
	AuditApproveComment = "approve_comment"
	AuditRejectComment  = "reject_comment"
	AuditMute           = "mute"
	AuditUnmute         = "unmute"
	AuditBan            = "ban"
	AuditUnban          = "unban"
	AuditSlowMode       = "slow_mode"
	AuditAddWord        = "add_blocked_word"
	AuditRemoveWord     = "remove_blocked_word"
	AuditPin            = "pin"
	AuditUnpin          = "unpin"
	AuditDenied         = "denied"
)

// AuditEntry records one moderation action (or a refused attempt at one).
type AuditEntry struct {
	ID        int64     `json:"id"`
	ShopID    int64     `json:"shop_id"`
	StreamID  int64     `json:"stream_id,omitempty"`
	ActorID   int64     `json:"actor_id"`
	ActorName string    `json:"actor_name"`
	Action    string    `json:"action"`
	TargetID  int64     `json:"target_id,omitempty"`
	CommentID int64     `json:"comment_id,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	At        time.Time `json:"at"`
}

// Store is the system of record for comments and moderation.
// commerce/sqlstore's Rooms implements it on SQL; NewMemoryStore is the
// single-process implementation for tests and tools; both pass one
// contract suite (room/storetest). Methods return errors wrapping
// ErrNotFound (or any error with ErrorCode "not_found") for missing objects.
type Store interface {
	// CreateComment stores c, assigning ID, unless its author already sent a
	// comment with the same ClientID to this stream: then it returns that
	// comment and created=false.
	CreateComment(ctx context.Context, c Comment) (stored Comment, created bool, err error)
	// Comment returns one comment of a stream.
	Comment(ctx context.Context, streamID, id int64) (Comment, error)
	// SetCommentStatus changes a comment's status and returns it.
	SetCommentStatus(ctx context.Context, streamID, id int64, status string) (Comment, error)
	// Comments lists a stream's comments, newest first.
	Comments(ctx context.Context, streamID int64, f CommentFilter) ([]Comment, error)

	// Restriction returns the account's standing in the shop (zero if none).
	Restriction(ctx context.Context, shopID, accountID int64) (Restriction, error)
	// SetMute mutes until the given time; a past or zero time lifts the mute.
	SetMute(ctx context.Context, shopID, accountID int64, until time.Time) error
	// SetBan bans or unbans the account from the shop's streams.
	SetBan(ctx context.Context, shopID, accountID int64, banned bool) error
	// Restrictions lists the shop's bans and the mutes still running at now.
	Restrictions(ctx context.Context, shopID int64, now time.Time) ([]Restriction, error)

	// RoomSettings returns the stream's room settings (zero if never set).
	RoomSettings(ctx context.Context, streamID int64) (RoomSettings, error)
	SetSlowMode(ctx context.Context, streamID int64, seconds int) error
	// SetPinned pins a product (0 unpins).
	SetPinned(ctx context.Context, streamID, productID int64) error
	// AddLikes adds n likes and returns the stream's new total.
	AddLikes(ctx context.Context, streamID, n int64) (int64, error)

	// BlockedWords lists the shop's blocked words, lower case, sorted.
	BlockedWords(ctx context.Context, shopID int64) ([]string, error)
	// AddBlockedWord adds a lower-case word; adding an existing one is a no-op.
	AddBlockedWord(ctx context.Context, shopID int64, word string) error
	// RemoveBlockedWord removes a word; ErrNotFound when absent.
	RemoveBlockedWord(ctx context.Context, shopID int64, word string) error

	// AppendAudit records a moderation action, assigning its ID.
	AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	// Audit lists the shop's audit log, newest first.
	Audit(ctx context.Context, shopID, beforeID int64, limit int) ([]AuditEntry, error)
}
