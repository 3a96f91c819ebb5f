package discovery

import (
	"context"
	"math"
	"time"
)

// InteractionKind names what a viewer did. The names are stored in the
// interactions log and appear in analytics.
type InteractionKind string

// The interactions discovery records. Each comes from one place: the room
// (watch, watch_start, like, comment through a cmd adapter), commerce's own
// paths (cart, purchase, follow, share, share_open) or the pages through
// POST /api/interactions (view, click, share).
const (
	// InteractionWatch is a finished room session of a stream: StartedAt
	// to At. Anonymous viewers have AccountID 0.
	InteractionWatch InteractionKind = "watch"
	// InteractionWatchStart is a signed-in viewer joining a stream's room;
	// it lets a purchase made while watching be credited to the stream.
	InteractionWatchStart InteractionKind = "watch_start"
	// InteractionView is a product page seen.
	InteractionView InteractionKind = "view"
	// InteractionClick is a product clicked from a live card (StreamID set)
	// or another list (Source says which).
	InteractionClick InteractionKind = "click"
	// InteractionCart is units put in the cart.
	InteractionCart InteractionKind = "cart"
	// InteractionPurchase is one line of a paid order: Quantity units for
	// AmountMinor in the shop's currency.
	InteractionPurchase InteractionKind = "purchase"
	// InteractionLike is Quantity taps on a stream's like button.
	InteractionLike InteractionKind = "like"
	// InteractionComment is a comment posted in a stream's room.
	InteractionComment InteractionKind = "comment"
	// InteractionFollow is a shop followed.
	InteractionFollow InteractionKind = "follow"
	// InteractionShare is a share link made for a product or stream.
	InteractionShare InteractionKind = "share"
	// InteractionShareOpen is a share link opened.
	InteractionShareOpen InteractionKind = "share_open"
)

// Interaction is one thing a viewer did. Zero IDs mean "none" (or, for
// AccountID, an anonymous viewer); the recorder fills ShopID from the
// product or stream and credits carts and purchases to a stream when it
// can.
type Interaction struct {
	Kind        InteractionKind
	At          time.Time
	AccountID   int64
	ShopID      int64
	StreamID    int64
	ProductID   int64
	OrderID     int64
	Quantity    int64
	AmountMinor int64
	// StartedAt is when a watch session began.
	StartedAt time.Time
	// Source is where the viewer came from (feed, search, hashtag, share,
	// live_card, ...), at most 32 bytes.
	Source string
	// Session names a watch session written to watch_open while it was
	// open (see interaction_watch.go); its row goes when the session is
	// logged.
	Session string
}

// Item kinds of discovery scores.
const (
	ItemProduct = 1
	ItemStream  = 2
)

// ItemRef names a product or a stream.
type ItemRef struct {
	Kind int
	ID   int64
}

// item is the product or stream an interaction is about, if any.
func (ev Interaction) item() (ItemRef, bool) {
	switch {
	case ev.ProductID != 0:
		return ItemRef{ItemProduct, ev.ProductID}, true
	case ev.StreamID != 0 && ev.Kind != InteractionFollow:
		return ItemRef{ItemStream, ev.StreamID}, true
	}
	return ItemRef{}, false
}

// weight is how much an interaction says about the item's popularity and
// the viewer's taste (see the table in feed.go).
func (ev Interaction) weight() float64 {
	switch ev.Kind {
	case InteractionView, InteractionComment, InteractionShareOpen:
		return 1
	case InteractionClick:
		return 2
	case InteractionShare:
		return 3
	case InteractionCart:
		return 4
	case InteractionPurchase:
		return 8
	case InteractionWatchStart:
		return 0.5
	case InteractionLike:
		return math.Min(float64(ev.Quantity)*0.2, 10)
	case InteractionWatch:
		minutes := ev.At.Sub(ev.StartedAt).Minutes()
		return 1 + math.Min(math.Max(minutes, 0), 30)/10
	}
	return 0
}

// strength is how strongly an interaction ties the viewer to the item for
// co-occurrence ("viewers who watched or bought X also bought Y"); 0 for
// interactions that are too light to count.
func (ev Interaction) strength() float64 {
	switch ev.Kind {
	case InteractionPurchase:
		return 3
	case InteractionCart:
		return 2
	case InteractionWatch:
		if ev.At.Sub(ev.StartedAt) >= 30*time.Second {
			return 1
		}
	}
	return 0
}

// ItemFacts is what the recorder and the feed need to know about an item.
type ItemFacts struct {
	ShopID int64
	Tags   []string
	// Status is the product's or stream's status.
	Status string
}

// RecentItem is an item a viewer engaged with strongly.
type RecentItem struct {
	Item     ItemRef
	Strength float64
	At       time.Time
	// BoughtAt is when the viewer last bought it (zero if never).
	BoughtAt time.Time
}

// HeatDelta adds Heat (a log-contribution, see heat.go) to an
// item's popularity.
type HeatDelta struct {
	Item   ItemRef
	ShopID int64
	Heat   float64
}

// TagHeatDelta adds heat to a hashtag, for trending tags; with AccountID
// set, to that viewer's affinity for the tag instead.
type TagHeatDelta struct {
	AccountID int64
	Tag       string
	Heat      float64
}

// PairDelta adds heat to the co-occurrence of A and B (stored both ways).
type PairDelta struct {
	A, B ItemRef
	Heat float64
}

// InteractionBatch is what one flush writes, in one transaction: the
// events themselves and the score changes they cause.
type InteractionBatch struct {
	Events   []Interaction
	Items    []HeatDelta
	Tags     []TagHeatDelta
	Affinity []TagHeatDelta
	Recent   []RecentItem
	// RecentOwners[i] is the account of Recent[i].
	RecentOwners []int64
	Pairs        []PairDelta
}

// InteractionStore keeps the interaction log and the discovery scores.
type InteractionStore interface {
	// SaveInteractions writes a batch in one transaction.
	SaveInteractions(ctx context.Context, b InteractionBatch) error
	// ItemFacts returns the shop, hashtags and status of products and
	// streams; unknown IDs are missing from the maps.
	ItemFacts(ctx context.Context, products, streams []int64) (map[int64]ItemFacts, map[int64]ItemFacts, error)
	// RecentItems returns each account's strongest recent items since
	// since, newest first, at most limit per account.
	RecentItems(ctx context.Context, accountIDs []int64, since time.Time, limit int) (map[int64][]RecentItem, error)
	// BeatWatches writes open watch sessions, seen at at.
	BeatWatches(ctx context.Context, open []OpenWatch, at time.Time) error
	// LastStreamTouch returns the stream of shopID that accountID last
	// joined, watched or clicked a product in, between since and until; 0
	// when there is none.
	LastStreamTouch(ctx context.Context, accountID, shopID int64, since, until time.Time) (int64, error)
}
