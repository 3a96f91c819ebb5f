package discovery

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/internal/api"
)

// FollowState is a viewer's relation to a shop, and the shop's follower
// count (shown on the shop page).
type FollowState struct {
	ShopID    int64 `json:"shop_id"`
	Following bool  `json:"following"`
	Followers int64 `json:"followers"`
}

// FollowedShop is a shop in a viewer's "following" list.
type FollowedShop struct {
	ShopID     int64     `json:"shop_id"`
	Handle     string    `json:"handle"`
	Name       string    `json:"name"`
	LogoURL    string    `json:"logo_url,omitempty"`
	Followers  int64     `json:"followers"`
	FollowedAt time.Time `json:"followed_at"`
	// LiveStreamID is the shop's stream that is live now, 0 when none.
	LiveStreamID int64 `json:"live_stream_id,omitempty"`
}

// FollowStore keeps who follows which shop.
type FollowStore interface {
	// Follow makes accountID follow shopID; created is false when it did
	// already. followers is the count afterwards.
	Follow(ctx context.Context, accountID, shopID int64, at time.Time) (created bool, followers int64, err error)
	// Unfollow ends it; removed is false when there was nothing to end.
	Unfollow(ctx context.Context, accountID, shopID int64) (removed bool, followers int64, err error)
	// FollowState reports whether accountID (0: nobody) follows shopID, and
	// the shop's follower count.
	FollowState(ctx context.Context, accountID, shopID int64) (following bool, followers int64, err error)
	// FollowedShops lists what accountID follows, newest follow first, from
	// the keyset position (before, beforeShop) exclusive (zero: the start).
	FollowedShops(ctx context.Context, accountID int64, before time.Time, beforeShop int64, limit int) ([]FollowedShop, error)
	// FollowedShopIDs returns up to limit shops accountID follows, newest
	// follow first.
	FollowedShopIDs(ctx context.Context, accountID int64, limit int) ([]int64, error)
	// FollowersAmong returns which of accountIDs follow shopID.
	FollowersAmong(ctx context.Context, shopID int64, accountIDs []int64) ([]int64, error)
	// FollowedLive returns the live streams of shops accountID follows,
	// most recently started first.
	FollowedLive(ctx context.Context, accountID int64, limit int) ([]StreamSummary, error)
}

// Follow makes a follow shopID. streamID, when not 0, is the stream the
// viewer followed from (credited in its analytics).
func (d *Service) Follow(ctx context.Context, a commerce.Account, shopID, streamID int64) (FollowState, error) {
	if a.ID == 0 {
		return FollowState{}, commerce.ErrUnauthenticated
	}
	shop, err := d.svc.Shop(ctx, shopID)
	if err != nil {
		return FollowState{}, err
	}
	if shop.OwnerID == a.ID {
		return FollowState{}, commerce.Invalid("you cannot follow your own shop")
	}
	if streamID != 0 {
		st, err := d.svc.Stream(ctx, streamID)
		if err != nil || st.ShopID != shopID {
			streamID = 0
		}
	}
	created, n, err := d.store.Follow(ctx, a.ID, shopID, d.now().UTC().Truncate(time.Microsecond))
	if err != nil {
		return FollowState{}, err
	}
	if created {
		d.Record(Interaction{Kind: InteractionFollow, AccountID: a.ID, ShopID: shopID, StreamID: streamID})
	}
	return FollowState{ShopID: shopID, Following: true, Followers: n}, nil
}

// Unfollow ends a's follow of shopID; unfollowing a shop one does not
// follow is not an error.
func (d *Service) Unfollow(ctx context.Context, a commerce.Account, shopID int64) (FollowState, error) {
	if a.ID == 0 {
		return FollowState{}, commerce.ErrUnauthenticated
	}
	if _, err := d.svc.Shop(ctx, shopID); err != nil {
		return FollowState{}, err
	}
	_, n, err := d.store.Unfollow(ctx, a.ID, shopID)
	if err != nil {
		return FollowState{}, err
	}
	return FollowState{ShopID: shopID, Following: false, Followers: n}, nil
}

// FollowState returns whether a follows shopID and its follower count;
// anonymous callers get the count.
func (d *Service) FollowState(ctx context.Context, a commerce.Account, shopID int64) (FollowState, error) {
	if _, err := d.svc.Shop(ctx, shopID); err != nil {
		return FollowState{}, err
	}
	following, n, err := d.store.FollowState(ctx, a.ID, shopID)
	if err != nil {
		return FollowState{}, err
	}
	return FollowState{ShopID: shopID, Following: following, Followers: n}, nil
}

// Following lists the shops a follows, newest follow first.
func (d *Service) Following(ctx context.Context, a commerce.Account, p commerce.PageRequest) ([]FollowedShop, string, error) {
	if a.ID == 0 {
		return nil, "", commerce.ErrUnauthenticated
	}
	limit := p.Limit
	switch {
	case limit == 0:
		limit = api.DefaultPageSize
	case limit < 0 || limit > api.MaxPageSize:
		return nil, "", commerce.BadRequest("limit must be between 1 and %d", api.MaxPageSize)
	}
	var before time.Time
	var beforeShop int64
	if p.Cursor != "" {
		us, shop, ok := strings.Cut(p.Cursor, ".")
		t, err1 := strconv.ParseInt(us, 36, 64)
		s, err2 := strconv.ParseInt(shop, 36, 64)
		if !ok || err1 != nil || err2 != nil || s <= 0 {
			return nil, "", commerce.BadRequest("cursor is not one this API returned")
		}
		before, beforeShop = time.UnixMicro(t).UTC(), s
	}
	shops, err := d.store.FollowedShops(ctx, a.ID, before, beforeShop, limit+1)
	if err != nil {
		return nil, "", err
	}
	if shops == nil {
		shops = []FollowedShop{}
	}
	next := ""
	if len(shops) > limit {
		shops = shops[:limit]
		last := shops[limit-1]
		next = strconv.FormatInt(last.FollowedAt.UnixMicro(), 36) + "." + strconv.FormatInt(last.ShopID, 36)
	}
	return shops, next, nil
}

// FollowingLive lists the streams live now of shops a follows.
func (d *Service) FollowingLive(ctx context.Context, a commerce.Account) ([]StreamSummary, error) {
	if a.ID == 0 {
		return nil, commerce.ErrUnauthenticated
	}
	live, err := d.store.FollowedLive(ctx, a.ID, api.MaxPageSize)
	if live == nil {
		live = []StreamSummary{}
	}
	return live, err
}

// Alert is a go-live notification as it travels between nodes and, as the
// data of a "followed_live" message, to a follower's notification socket.
type Alert struct {
	StreamID   int64     `json:"stream_id"`
	ShopID     int64     `json:"shop_id"`
	ShopHandle string    `json:"shop_handle"`
	ShopName   string    `json:"shop_name"`
	Title      string    `json:"title"`
	URL        string    `json:"url"`
	At         time.Time `json:"at"`
}

// WatchPath is the page of a stream.
func WatchPath(streamID int64) string { return "/watch/" + strconv.FormatInt(streamID, 10) }

// StreamWentLive tells the followers of the stream's shop, on every node,
// that it is live; commerce calls it when a stream's status becomes live
// (the live package's StreamStarted reaches MarkStreamLive through cmd). It
// also refreshes the feed's live candidates on this node at once.
func (d *Service) StreamWentLive(ctx context.Context, streamID int64) {
	d.feed.refreshSoon()
	st, err := d.svc.Stream(ctx, streamID)
	if err != nil {
		if !errors.Is(err, commerce.ErrNotFound) {
			d.log.Warn("go-live alert: load stream", "stream", streamID, slog.Any("error", err))
		}
		return
	}
	a := Alert{StreamID: st.ID, ShopID: st.ShopID, ShopHandle: st.ShopHandle, ShopName: st.ShopName,
		Title: st.Title, URL: WatchPath(st.ID), At: d.now().UTC()}
	if err := d.bus.Publish(ctx, a); err != nil {
		d.log.Warn("go-live alert not published", "stream", streamID, slog.Any("error", err))
	}
}
