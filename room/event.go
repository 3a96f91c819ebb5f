package room

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Server event types. Each is documented with its data in doc.go.
const (
	// Replies to one connection; never on the bus.
	EventSnapshot = "snapshot"
	EventAck      = "ack"
	EventError    = "error"
	EventPong     = "pong"

	// Room events, fanned out through the Bus with a sequence number.
	EventComment        = "comment"
	EventCommentHeld    = "comment_held"
	EventCommentRemoved = "comment_removed"
	EventPinned         = "pinned"
	EventUnpinned       = "unpinned"
	EventLikes          = "likes"
	EventViewers        = "viewers"
	EventSlowMode       = "slow_mode"
	EventStreamStarted  = "stream_started"
	EventStreamEnded    = "stream_ended"
	EventFlashSale      = "flash_sale_started"
	EventFlashSaleStock = "flash_sale_stock"
	EventFlashSaleEnded = "flash_sale_ended"
	EventPurchase       = "purchase"
	EventMuted          = "muted"
	EventBanned         = "banned"
)

// publishable lists the room events other packages may publish through
// Hub.Publish. Comment, moderation and like events are produced by the room
// itself, so nothing outside can forge them.
var publishable = map[string]bool{
	EventStreamStarted:  true,
	EventStreamEnded:    true,
	EventFlashSale:      true,
	EventFlashSaleStock: true,
	EventFlashSaleEnded: true,
	EventPurchase:       true,
}

// Event is something that happened in a room. Data is encoded with
// encoding/json once per node and shared by every connection.
type Event struct {
	Type string
	Data any
	// To limits who receives it; nil means everyone in the room.
	To *Audience
}

// Audience limits an event to some accounts and, optionally, to everyone
// who may moderate the room.
type Audience struct {
	Users      []int64 `json:"users,omitempty"`
	Moderators bool    `json:"mods,omitempty"`
}

// includes reports whether a connection of account with role is addressed.
func (a *Audience) includes(account int64, role Role) bool {
	if a == nil {
		return true
	}
	if a.Moderators && role.CanModerate() {
		return true
	}
	for _, u := range a.Users {
		if u == account && account != 0 {
			return true
		}
	}
	return false
}

// FlashSale is the data of flash_sale_started, and the active sale in a
// snapshot. Money is minor units plus an ISO 4217 currency.
type FlashSale struct {
	ID            int64     `json:"id"`
	ProductID     int64     `json:"product_id"`
	Title         string    `json:"title"`
	ImageURL      string    `json:"image_url,omitempty"`
	PriceMinor    int64     `json:"price_minor"`
	Currency      string    `json:"currency"`
	Quantity      int64     `json:"quantity"`
	Remaining     int64     `json:"remaining"`
	PerBuyerLimit int64     `json:"per_buyer_limit"`
	StartsAt      time.Time `json:"starts_at"`
	EndsAt        time.Time `json:"ends_at"`
}

// FlashSaleStock is the data of flash_sale_stock: the units left. Publishers
// coalesce updates (a few per second at most) but always send the final
// value and SoldOut at once.
type FlashSaleStock struct {
	ID        int64 `json:"id"`
	Remaining int64 `json:"remaining"`
	SoldOut   bool  `json:"sold_out,omitempty"`
}

// FlashSaleEnded is the data of flash_sale_ended.
type FlashSaleEnded struct {
	ID int64 `json:"id"`
	// Reason is "sold_out", "stopped", "expired" or "stream_ended".
	Reason    string `json:"reason"`
	Remaining int64  `json:"remaining"`
}

// Purchase is the data of the "just bought" ticker event. Buyer is the
// display name or an anonymised one, per the buyer's privacy setting; the
// publisher decides.
type Purchase struct {
	Buyer        string `json:"buyer"`
	ProductID    int64  `json:"product_id"`
	ProductTitle string `json:"product_title"`
	Quantity     int64  `json:"quantity"`
}

// CommentView is a comment as clients see it.
type CommentView struct {
	ID       int64     `json:"id"`
	ClientID string    `json:"cid,omitempty"`
	User     UserView  `json:"user"`
	Text     string    `json:"text"`
	Status   string    `json:"status,omitempty"`
	At       time.Time `json:"at"`
}

// broadcast is the view sent to the whole room: a visible comment travels
// without its status and client ID (its author has them from the ack), which
// keeps the event that every viewer receives small.
func (v CommentView) broadcast() CommentView {
	if v.Status == CommentVisible {
		v.Status, v.ClientID = "", ""
	}
	return v
}

// UserView names a user in events.
type UserView struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// envelope is an event on the bus. T is the publish time in unix
// milliseconds, for the bus-lag metric and for latency measurement.
type envelope struct {
	Type string          `json:"type"`
	T    int64           `json:"t"`
	To   *Audience       `json:"to,omitempty"`
	Data json.RawMessage `json:"data"`
}

func encodeEnvelope(ev Event, now time.Time) ([]byte, error) {
	data := []byte("{}")
	if ev.Data != nil {
		var err error
		if data, err = json.Marshal(ev.Data); err != nil {
			return nil, fmt.Errorf("encode %s event: %w", ev.Type, err)
		}
	}
	return json.Marshal(envelope{Type: ev.Type, T: now.UnixMilli(), To: ev.To, Data: data})
}

// appendFrameEvent appends the client form of one event,
// {"type":T,"seq":N,"data":D}. The type never needs escaping: it is one of
// the constants above.
func appendFrameEvent(b []byte, typ string, seq uint64, data []byte) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"data":`...)
	if len(data) == 0 {
		data = []byte("{}")
	}
	b = append(b, data...)
	return append(b, '}')
}

// encodeReply encodes a reply to one connection as a one-event frame.
func encodeReply(typ string, seq uint64, data any) []byte {
	raw, err := json.Marshal(data)
	if err != nil {
		raw = []byte(`{}`)
	}
	b := make([]byte, 0, len(raw)+48)
	b = append(b, '[')
	b = appendFrameEvent(b, typ, seq, raw)
	return append(b, ']')
}

// errorData is the data of an error event.
type errorData struct {
	// ID echoes the command id the error answers, if any.
	ID         string `json:"id,omitempty"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retry_after,omitempty"`
}

// Data of the room's own events.
type (
	likesData struct {
		Count int64 `json:"count"`
		Total int64 `json:"total"`
	}
	viewersData struct {
		Count int `json:"count"`
	}
	pinnedData struct {
		Product Product `json:"product"`
	}
	slowModeData struct {
		Seconds int `json:"seconds"`
	}
	commentRemovedData struct {
		ID int64 `json:"id"`
	}
	mutedData struct {
		UserID int64     `json:"user_id"`
		Until  time.Time `json:"until"`
	}
	bannedData struct {
		UserID int64 `json:"user_id"`
	}
)

// meData tells a connection about itself.
type meData struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name,omitempty"`
	Role       string     `json:"role"`
	MutedUntil *time.Time `json:"muted_until,omitempty"`
	Banned     bool       `json:"banned,omitempty"`
}

// streamData describes the stream in a snapshot.
type streamData struct {
	ID     int64  `json:"id"`
	ShopID int64  `json:"shop_id"`
	Title  string `json:"title"`
	Status string `json:"status"`
}

// snapshotData is the state a client starts from.
type snapshotData struct {
	Stream    streamData        `json:"stream"`
	Pinned    *Product          `json:"pinned"`
	FlashSale *FlashSale        `json:"flash_sale"`
	Comments  []json.RawMessage `json:"comments"`
	Viewers   int               `json:"viewers"`
	Likes     int64             `json:"likes"`
	SlowMode  int               `json:"slow_mode"`
	Me        meData            `json:"me"`
	// Epoch names the numbering seq belongs to; a client resumes with it.
	Epoch string `json:"epoch"`
	// Continues, on a snapshot a resync sends a connection that stays
	// open: keep the comments shown (Comments is empty); the ones missed
	// and removed meanwhile follow in a missed event.
	Continues bool `json:"continues,omitempty"`
	// Gap, on a resync's snapshot: more comments were missed than a resync
	// sends; Comments is the latest page, to start from again.
	Gap bool `json:"gap,omitempty"`
}

// resumedData starts the replay of missed events.
type resumedData struct {
	After  uint64 `json:"after"`
	Missed int    `json:"missed"`
	Me     meData `json:"me"`
	Epoch  string `json:"epoch"`
}

// ackData confirms a command.
type ackData struct {
	ID      string       `json:"id"`
	Comment *CommentView `json:"comment,omitempty"`
}
