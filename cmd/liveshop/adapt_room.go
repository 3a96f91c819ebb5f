package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/room"
)

// Adapters from commerce to the small interfaces the room package defines:
// who a request is, what a stream/shop/product is, and where comments and
// moderation are stored.

// roomAuth adapts commerce sessions to room.Authenticator: a request
// without valid credentials watches anonymously.
type roomAuth struct{ svc *commerce.Service }

var _ room.Authenticator = roomAuth{}

func (a roomAuth) Authenticate(r *http.Request) (room.Identity, error) {
	acct, err := a.svc.AuthenticateRequest(r)
	if errors.Is(err, commerce.ErrUnauthenticated) {
		return room.Identity{}, nil
	}
	if err != nil {
		return room.Identity{}, err
	}
	return room.Identity{AccountID: acct.ID, Name: acct.Name, Admin: acct.Admin}, nil
}

// roomDirectory adapts commerce's shops, streams and products to
// room.Directory.
type roomDirectory struct {
	svc   *commerce.Service
	store *sqlstore.DB
}

var _ room.Directory = roomDirectory{}

func (d roomDirectory) Stream(ctx context.Context, streamID int64) (room.StreamInfo, error) {
	st, err := d.svc.StreamShop(ctx, streamID)
	if err != nil {
		return room.StreamInfo{}, err
	}
	return room.StreamInfo{ID: st.ID, ShopID: st.ShopID, Title: st.Title, Status: st.Status}, nil
}

// ShopStreams lists the shop's live and scheduled streams, newest first,
// page by page until the last.
func (d roomDirectory) ShopStreams(ctx context.Context, shopID int64) ([]int64, error) {
	const pageSize = 500
	var ids []int64
	q := commerce.StreamQuery{ShopID: shopID, Statuses: []string{commerce.StreamLive, commerce.StreamScheduled}, Limit: pageSize}
	for {
		page, err := d.store.ListStreams(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, st := range page {
			ids = append(ids, st.ID)
		}
		if len(page) < pageSize {
			return ids, nil
		}
		q.BeforeID = page[len(page)-1].ID
	}
}

func (d roomDirectory) Role(ctx context.Context, shopID, accountID int64) (room.Role, error) {
	r, err := d.svc.ShopRole(ctx, shopID, accountID)
	if err != nil {
		return room.RoleViewer, err
	}
	switch r {
	case commerce.RoleAdmin:
		return room.RoleAdmin, nil
	case commerce.RoleSeller:
		return room.RoleSeller, nil
	case commerce.RoleModerator:
		return room.RoleModerator, nil
	}
	return room.RoleViewer, nil
}

// Product reads the product from the store, whatever its listing status:
// the room refuses to pin one that is not active, and keeps refreshing the
// card of a pinned product the seller later unlists.
func (d roomDirectory) Product(ctx context.Context, shopID, productID int64) (room.Product, error) {
	p, err := d.store.ProductByID(ctx, productID)
	if err != nil {
		return room.Product{}, err
	}
	if p.ShopID != shopID {
		return room.Product{}, fmt.Errorf("product %d of shop %d: %w", productID, shopID, room.ErrNotFound)
	}
	return room.Product{ID: p.ID, Title: p.Title, PriceMinor: p.PriceMinor, Currency: p.Currency,
		ImageURL: p.ImageURL(), Stock: p.Stock, Active: p.Status == commerce.ProductActive}, nil
}

// roomStore adapts commerce/sqlstore's room tables to room.Store.
type roomStore struct{ db *sqlstore.DB }

var (
	_ room.Store          = roomStore{}
	_ room.CommentBatcher = roomStore{}
)

func toRoomComment(c commerce.RoomComment) room.Comment {
	return room.Comment{ID: c.ID, StreamID: c.StreamID, ShopID: c.ShopID, AuthorID: c.AuthorID, AuthorName: c.AuthorName,
		ClientID: c.ClientID, Text: c.Text, Status: c.Status, CreatedAt: c.CreatedAt}
}

func (s roomStore) CreateComment(ctx context.Context, c room.Comment) (room.Comment, bool, error) {
	stored, created, err := s.db.CreateRoomComment(ctx, commerce.RoomComment{StreamID: c.StreamID, ShopID: c.ShopID,
		AuthorID: c.AuthorID, AuthorName: c.AuthorName, ClientID: c.ClientID, Text: c.Text, Status: c.Status, CreatedAt: c.CreatedAt})
	return toRoomComment(stored), created, err
}

func (s roomStore) CreateComments(ctx context.Context, cs []room.Comment) ([]room.Comment, []bool, error) {
	in := make([]commerce.RoomComment, len(cs))
	for i, c := range cs {
		in[i] = commerce.RoomComment{StreamID: c.StreamID, ShopID: c.ShopID, AuthorID: c.AuthorID, AuthorName: c.AuthorName,
			ClientID: c.ClientID, Text: c.Text, Status: c.Status, CreatedAt: c.CreatedAt}
	}
	stored, created, err := s.db.CreateRoomComments(ctx, in)
	out := make([]room.Comment, len(stored))
	for i, c := range stored {
		out[i] = toRoomComment(c)
	}
	return out, created, err
}

func (s roomStore) Comment(ctx context.Context, streamID, id int64) (room.Comment, error) {
	c, err := s.db.RoomComment(ctx, streamID, id)
	return toRoomComment(c), err
}

func (s roomStore) SetCommentStatus(ctx context.Context, streamID, id int64, status string) (room.Comment, error) {
	c, err := s.db.SetRoomCommentStatus(ctx, streamID, id, status)
	return toRoomComment(c), err
}

func (s roomStore) Comments(ctx context.Context, streamID int64, f room.CommentFilter) ([]room.Comment, error) {
	list, err := s.db.RoomComments(ctx, streamID, commerce.RoomCommentFilter{Status: f.Status, BeforeID: f.BeforeID, AfterID: f.AfterID, Limit: f.Limit})
	out := make([]room.Comment, len(list))
	for i, c := range list {
		out[i] = toRoomComment(c)
	}
	return out, err
}

func toRoomRestriction(r commerce.RoomRestriction) room.Restriction {
	return room.Restriction{ShopID: r.ShopID, AccountID: r.AccountID, MutedUntil: r.MutedUntil, Banned: r.Banned}
}

func (s roomStore) Restriction(ctx context.Context, shopID, accountID int64) (room.Restriction, error) {
	r, err := s.db.RoomRestriction(ctx, shopID, accountID)
	return toRoomRestriction(r), err
}

func (s roomStore) SetMute(ctx context.Context, shopID, accountID int64, until time.Time) error {
	return s.db.SetRoomMute(ctx, shopID, accountID, until)
}

func (s roomStore) SetBan(ctx context.Context, shopID, accountID int64, banned bool) error {
	return s.db.SetRoomBan(ctx, shopID, accountID, banned)
}

func (s roomStore) Restrictions(ctx context.Context, shopID int64, now time.Time) ([]room.Restriction, error) {
	list, err := s.db.RoomRestrictions(ctx, shopID, now)
	out := make([]room.Restriction, len(list))
	for i, r := range list {
		out[i] = toRoomRestriction(r)
	}
	return out, err
}

func (s roomStore) RoomSettings(ctx context.Context, streamID int64) (room.RoomSettings, error) {
	st, err := s.db.RoomSettings(ctx, streamID)
	return room.RoomSettings{StreamID: st.StreamID, SlowModeSeconds: st.SlowModeSeconds,
		PinnedProductID: st.PinnedProductID, Likes: st.Likes}, err
}

func (s roomStore) SetSlowMode(ctx context.Context, streamID int64, seconds int) error {
	return s.db.SetRoomSlowMode(ctx, streamID, seconds)
}

func (s roomStore) SetPinned(ctx context.Context, streamID, productID int64) error {
	return s.db.SetRoomPinned(ctx, streamID, productID)
}

func (s roomStore) AddLikes(ctx context.Context, streamID, n int64) (int64, error) {
	return s.db.AddRoomLikes(ctx, streamID, n)
}

func (s roomStore) BlockedWords(ctx context.Context, shopID int64) ([]string, error) {
	return s.db.RoomBlockedWords(ctx, shopID)
}

func (s roomStore) AddBlockedWord(ctx context.Context, shopID int64, word string) error {
	return s.db.AddRoomBlockedWord(ctx, shopID, word)
}

func (s roomStore) RemoveBlockedWord(ctx context.Context, shopID int64, word string) error {
	return s.db.RemoveRoomBlockedWord(ctx, shopID, word)
}

func (s roomStore) AppendAudit(ctx context.Context, e room.AuditEntry) (room.AuditEntry, error) {
	stored, err := s.db.AppendModeration(ctx, commerce.ModerationEntry{ShopID: e.ShopID, StreamID: e.StreamID,
		ActorID: e.ActorID, ActorName: e.ActorName, Action: e.Action, TargetID: e.TargetID, CommentID: e.CommentID,
		Detail: e.Detail, At: e.At})
	e.ID, e.At = stored.ID, stored.At
	return e, err
}

func (s roomStore) Audit(ctx context.Context, shopID, beforeID int64, limit int) ([]room.AuditEntry, error) {
	list, err := s.db.ModerationLog(ctx, shopID, beforeID, limit)
	out := make([]room.AuditEntry, len(list))
	for i, e := range list {
		out[i] = room.AuditEntry{ID: e.ID, ShopID: e.ShopID, StreamID: e.StreamID, ActorID: e.ActorID, ActorName: e.ActorName,
			Action: e.Action, TargetID: e.TargetID, CommentID: e.CommentID, Detail: e.Detail, At: e.At}
	}
	return out, err
}
