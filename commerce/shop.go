package commerce

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/liveshop/liveshop/commerce/internal/api"
)

// Shop is a seller's storefront. An account owns at most one shop: that keeps
// "the seller" of a shop and "the shop" of a seller unambiguous for rooms,
// orders and payouts, and is what live-shopping apps do.
type Shop struct {
	ID      int64  `json:"id"`
	OwnerID int64  `json:"owner_id"`
	Handle  string `json:"handle"`
	Name    string `json:"name"`
	// Description is plain text shown on the shop page.
	Description string `json:"description"`
	// Currency is what every product of the shop is priced in, so every
	// order is in one currency.
	Currency string `json:"currency"`
	// Logo is the image name of the shop logo ("" for none); LogoURL is
	// where it is served.
	Logo      string    `json:"-"`
	LogoURL   string    `json:"logo_url,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Moderator is an account that accepted a seller's invitation to moderate
// the shop's rooms.
type Moderator struct {
	AccountID int64  `json:"account_id"`
	Name      string `json:"name"`
	// Email is the address the seller typed in the invitation the moderator
	// accepted, never read from the account: absent for appointments made
	// before invitations.
	Email       string    `json:"email,omitempty"`
	AppointedBy int64     `json:"appointed_by"`
	AppointedAt time.Time `json:"appointed_at"`
}

// ShopStore keeps shops, their moderators and uploaded images.
type ShopStore interface {
	// CreateShop inserts s, setting ID; ErrShopExists when the owner has a
	// shop, ErrHandleTaken when the handle is in use.
	CreateShop(ctx context.Context, s *Shop) error
	ShopByID(ctx context.Context, id int64) (Shop, error)
	ShopByHandle(ctx context.Context, handle string) (Shop, error)
	ShopByOwner(ctx context.Context, ownerID int64) (Shop, error)
	// ListShops returns shops with ID below beforeID (0: from the newest).
	ListShops(ctx context.Context, beforeID int64, limit int) ([]Shop, error)
	// UpdateShop saves name, description and logo.
	UpdateShop(ctx context.Context, s Shop) error
	// RemoveModerator removes the appointment; ErrNotFound if there is none.
	RemoveModerator(ctx context.Context, shopID, accountID int64) error
	Moderators(ctx context.Context, shopID int64) ([]Moderator, error)
	IsModerator(ctx context.Context, shopID, accountID int64) (bool, error)
	// ModeratedShops lists the shops accountID moderates.
	ModeratedShops(ctx context.Context, accountID int64) ([]Shop, error)
	// SaveImage records an uploaded image file; DeleteImage forgets it.
	SaveImage(ctx context.Context, img Image) error
	DeleteImage(ctx context.Context, name string) error
}

// Errors about shops.
var (
	// ErrShopExists means the account already owns a shop.
	ErrShopExists = api.New(409, "shop_exists", "this account already has a shop")
	// ErrHandleTaken means another shop uses the handle.
	ErrHandleTaken = api.New(409, "handle_taken", "another shop uses this handle")
)

// Role is what an account may do in a shop. Higher roles include the lower.
type Role string

// The roles, lowest first.
const (
	// RoleViewer is anyone: watch, chat, buy.
	RoleViewer Role = "viewer"
	// RoleModerator accepted the seller's invitation: moderates rooms and may see
	// the shop's unpublished products.
	RoleModerator Role = "moderator"
	// RoleSeller owns the shop: products, streams, orders, moderators.
	RoleSeller Role = "seller"
	// RoleAdmin runs the site and may act as the seller of any shop.
	RoleAdmin Role = "admin"
)

func (r Role) rank() int {
	switch r {
	case RoleModerator:
		return 1
	case RoleSeller:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// AtLeast reports whether r includes the rights of min.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() }

var handlePattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{1,28}[a-z0-9])$`)

const (
	maxShopNameRunes   = 60
	maxDescriptionLen  = 5000
	maxShopsPerListing = 100
)

// OpenShop is what a seller gives to open a shop.
type OpenShop struct {
	Handle      string `json:"handle"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Currency    string `json:"currency"`
}

// ShopPatch changes a shop; nil fields stay as they are.
type ShopPatch struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

func cleanHandle(h string) (string, error) {
	h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(h), "@")))
	if !handlePattern.MatchString(h) {
		return "", Invalid("handle must be 3 to 30 lowercase letters, digits or dashes, not starting or ending with a dash")
	}
	return h, nil
}

func cleanText(field, s string, maxRunes int) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxRunes {
		return "", Invalid("%s must be at most %d characters", field, maxRunes)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f }) {
		return "", Invalid("%s must not contain control characters", field)
	}
	return s, nil
}

// OpenShop opens a shop owned by a; a becomes its seller.
func (s *Service) OpenShop(ctx context.Context, a Account, in OpenShop) (Shop, error) {
	handle, err := cleanHandle(in.Handle)
	if err != nil {
		return Shop{}, err
	}
	name, err := api.CleanText("name", in.Name, maxShopNameRunes)
	if err != nil {
		return Shop{}, err
	}
	desc, err := cleanText("description", in.Description, maxDescriptionLen)
	if err != nil {
		return Shop{}, err
	}
	if in.Currency == "" {
		return Shop{}, Invalid("currency is required (an ISO 4217 code such as USD or JPY)")
	}
	cur, err := normalizeCurrency(in.Currency)
	if err != nil {
		return Shop{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	shop := Shop{OwnerID: a.ID, Handle: handle, Name: name, Description: desc, Currency: cur, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateShop(ctx, &shop); err != nil {
		return Shop{}, fmt.Errorf("create shop: %w", err)
	}
	return shop, nil
}

// Shop returns a shop by ID.
func (s *Service) Shop(ctx context.Context, id int64) (Shop, error) {
	return s.store.ShopByID(ctx, id)
}

// ShopByHandle returns a shop by its handle.
func (s *Service) ShopByHandle(ctx context.Context, handle string) (Shop, error) {
	h, err := cleanHandle(handle)
	if err != nil {
		return Shop{}, ErrNotFound
	}
	return s.store.ShopByHandle(ctx, h)
}

// ShopOf returns the shop a owns, or ErrNotFound.
func (s *Service) ShopOf(ctx context.Context, accountID int64) (Shop, error) {
	return s.store.ShopByOwner(ctx, accountID)
}

// Shops lists shops, newest first, before the cursor.
func (s *Service) Shops(ctx context.Context, p PageRequest) ([]Shop, string, error) {
	before, limit, err := p.Parse()
	if err != nil {
		return nil, "", err
	}
	shops, err := s.store.ListShops(ctx, before, limit+1)
	if err != nil {
		return nil, "", err
	}
	shops, next := api.CutPage(shops, limit, func(sh Shop) int64 { return sh.ID })
	return shops, next, nil
}

// UpdateShop changes a shop's name or description (seller or admin).
func (s *Service) UpdateShop(ctx context.Context, a Account, shopID int64, p ShopPatch) (Shop, error) {
	shop, err := s.RequireSeller(ctx, a, shopID)
	if err != nil {
		return Shop{}, err
	}
	if p.Name != nil {
		if shop.Name, err = api.CleanText("name", *p.Name, maxShopNameRunes); err != nil {
			return Shop{}, err
		}
	}
	if p.Description != nil {
		if shop.Description, err = cleanText("description", *p.Description, maxDescriptionLen); err != nil {
			return Shop{}, err
		}
	}
	shop.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
	if err := s.store.UpdateShop(ctx, shop); err != nil {
		return Shop{}, fmt.Errorf("update shop %d: %w", shopID, err)
	}
	return shop, nil
}

// SetShopLogo replaces the shop's logo with an uploaded image (seller or
// admin). The old file is removed; its URL was immutable, so caches that
// still hold it are not wrong, merely stale for the shop page.
func (s *Service) SetShopLogo(ctx context.Context, a Account, shopID int64, r io.Reader) (Shop, error) {
	shop, err := s.RequireSeller(ctx, a, shopID)
	if err != nil {
		return Shop{}, err
	}
	img, err := s.storeImage(ctx, a, r)
	if err != nil {
		return Shop{}, err
	}
	old := shop.Logo
	shop.Logo, shop.LogoURL = img.Name, img.URL
	shop.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
	if err := s.store.UpdateShop(ctx, shop); err != nil {
		s.discardImage(img.Name)
		_ = s.store.DeleteImage(ctx, img.Name)
		return Shop{}, fmt.Errorf("set logo of shop %d: %w", shopID, err)
	}
	if old != "" {
		s.discardImage(old)
		_ = s.store.DeleteImage(ctx, old)
	}
	return shop, nil
}

// roleIn returns a's role in shop. Admin comes from the account itself.
func (s *Service) roleIn(ctx context.Context, a Account, shop Shop) (Role, error) {
	switch {
	case a.ID == 0:
		return RoleViewer, nil
	case a.Admin:
		return RoleAdmin, nil
	case shop.OwnerID == a.ID:
		return RoleSeller, nil
	}
	mod, err := s.store.IsModerator(ctx, shop.ID, a.ID)
	if err != nil {
		return "", fmt.Errorf("check moderator: %w", err)
	}
	if mod {
		return RoleModerator, nil
	}
	return RoleViewer, nil
}

// ShopRole returns what accountID may do in shopID: viewer (also for
// accountID 0, an anonymous viewer), moderator, seller or admin (a site
// admin, from Account.Admin). Rooms call it through a cmd adapter.
func (s *Service) ShopRole(ctx context.Context, shopID, accountID int64) (Role, error) {
	shop, err := s.store.ShopByID(ctx, shopID)
	if err != nil {
		return "", err
	}
	if accountID == 0 {
		return RoleViewer, nil
	}
	a, err := s.store.AccountByID(ctx, accountID)
	if errors.Is(err, ErrNotFound) {
		return RoleViewer, nil
	}
	if err != nil {
		return "", err
	}
	return s.roleIn(ctx, a, shop)
}

// requireRole loads the shop and checks a holds at least min there.
func (s *Service) requireRole(ctx context.Context, a Account, shopID int64, min Role) (Shop, Role, error) {
	shop, err := s.store.ShopByID(ctx, shopID)
	if err != nil {
		return Shop{}, "", err
	}
	role, err := s.roleIn(ctx, a, shop)
	if err != nil {
		return Shop{}, "", err
	}
	if !role.AtLeast(min) {
		if a.ID == 0 {
			return Shop{}, "", ErrUnauthenticated
		}
		return Shop{}, "", ErrForbidden
	}
	return shop, role, nil
}

// RequireSeller loads the shop and checks a is its seller or an admin.
func (s *Service) RequireSeller(ctx context.Context, a Account, shopID int64) (Shop, error) {
	shop, _, err := s.requireRole(ctx, a, shopID, RoleSeller)
	return shop, err
}

// RemoveModerator ends an appointment.
func (s *Service) RemoveModerator(ctx context.Context, a Account, shopID, accountID int64) error {
	if _, err := s.RequireSeller(ctx, a, shopID); err != nil {
		return err
	}
	return s.store.RemoveModerator(ctx, shopID, accountID)
}

// Moderators lists a shop's moderators (seller or admin).
func (s *Service) Moderators(ctx context.Context, a Account, shopID int64) ([]Moderator, error) {
	if _, err := s.RequireSeller(ctx, a, shopID); err != nil {
		return nil, err
	}
	return s.store.Moderators(ctx, shopID)
}

// Memberships are the shops an account runs or moderates, for /api/me,
// and how many moderator invitations wait for its answer (so every page
// can point to them).
type Memberships struct {
	Shop                 *Shop  `json:"shop"`
	Moderates            []Shop `json:"moderates"`
	ModeratorInvitations int    `json:"moderator_invitations"`
}

// MembershipsOf returns the account's own shop, the shops it moderates and
// the number of its pending moderator invitations.
func (s *Service) MembershipsOf(ctx context.Context, a Account) (Memberships, error) {
	var m Memberships
	shop, err := s.store.ShopByOwner(ctx, a.ID)
	switch {
	case err == nil:
		m.Shop = &shop
	case !errors.Is(err, ErrNotFound):
		return m, err
	}
	if m.Moderates, err = s.store.ModeratedShops(ctx, a.ID); err != nil {
		return m, err
	}
	if m.Moderates == nil {
		m.Moderates = []Shop{}
	}
	m.ModeratorInvitations, err = s.store.CountReceivedInvitations(ctx, strings.ToLower(a.Email), s.now())
	return m, err
}
