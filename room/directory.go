package room

import (
	"context"
	"net/http"
)

// Identity is who sent a request. A zero AccountID is an anonymous viewer:
// allowed to watch, not to comment, like or moderate.
type Identity struct {
	AccountID int64
	Name      string
	// Admin marks a site administrator, who may moderate every shop.
	Admin bool
}

// Anonymous reports whether the request carries no account.
func (id Identity) Anonymous() bool { return id.AccountID == 0 }

// Authenticator tells room who a request comes from. cmd/liveshop adapts
// commerce sessions (cookie or bearer token) to it. It returns a zero
// Identity and no error for a request without credentials, and an error only
// when the credentials cannot be checked (store down); invalid credentials
// also count as anonymous, so a stale cookie never locks anyone out of
// watching.
type Authenticator interface {
	Authenticate(r *http.Request) (Identity, error)
}

// Role is what an account may do in a shop's rooms; higher roles include the
// lower ones.
type Role int

// Roles, lowest first.
const (
	RoleViewer Role = iota
	RoleModerator
	RoleSeller
	RoleAdmin
)

// String names the role the way the protocol does.
func (r Role) String() string {
	switch r {
	case RoleModerator:
		return "moderator"
	case RoleSeller:
		return "seller"
	case RoleAdmin:
		return "admin"
	default:
		return "viewer"
	}
}

// CanModerate reports whether the role may remove comments, mute, ban, set
// slow mode and manage blocked words.
func (r Role) CanModerate() bool { return r >= RoleModerator }

// CanPin reports whether the role may pin products (the seller, or an admin).
func (r Role) CanPin() bool { return r >= RoleSeller }

// Stream status values as the protocol reports them.
const (
	StatusScheduled = "scheduled"
	StatusLive      = "live"
	StatusEnded     = "ended"
)

// StreamInfo is what a room needs to know about its stream.
type StreamInfo struct {
	ID     int64
	ShopID int64
	Title  string
	// Status is StatusScheduled, StatusLive or StatusEnded.
	Status string
}

// Product is the card shown when a seller pins a product.
type Product struct {
	ID         int64  `json:"id"`
	Title      string `json:"title"`
	PriceMinor int64  `json:"price_minor"`
	Currency   string `json:"currency"`
	ImageURL   string `json:"image_url,omitempty"`
	Stock      int64  `json:"stock"`
	// Active means the product is listed for sale; only an active product
	// can be pinned (a draft or archived one is not for viewers' eyes).
	Active bool `json:"-"`
}

// Directory answers room's questions about streams, shops and products.
// cmd/liveshop adapts commerce to it. Every method returns an error wrapping
// ErrNotFound (room's or any error whose ErrorCode is "not_found") for
// unknown objects.
type Directory interface {
	// Stream returns the stream's shop and status.
	Stream(ctx context.Context, streamID int64) (StreamInfo, error)
	// ShopStreams returns the IDs of shopID's live and scheduled streams,
	// every stream whose room viewers may have open, so that a ban or mute
	// reaches the account on every stream of the shop and every node.
	ShopStreams(ctx context.Context, shopID int64) ([]int64, error)
	// Role returns accountID's role in shopID, RoleViewer when it has none.
	// Site admins are recognised from Identity.Admin, not here.
	Role(ctx context.Context, shopID, accountID int64) (Role, error)
	// Product returns the card of a product that belongs to shopID; a
	// product of another shop is ErrNotFound.
	Product(ctx context.Context, shopID, productID int64) (Product, error)
}

// FlashSaleSource optionally tells a room that opens on a node which flash
// sale is running, so a snapshot shows it even when the sale started before
// this node had the room open. The flash-sale code adapts to it; without one,
// rooms learn sales only from the events they see.
type FlashSaleSource interface {
	// ActiveFlashSale returns the running sale of the stream, or nil.
	ActiveFlashSale(ctx context.Context, streamID int64) (*FlashSale, error)
}
