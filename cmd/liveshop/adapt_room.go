package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

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
