package commerce

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/api"
)

// Coupon kinds.
const (
	CouponPercent = "percent"
	CouponFixed   = "fixed"
)

// Coupon is a live-exclusive code: a seller creates it for one stream of
// the shop, and it takes a percentage or a fixed amount off an order only
// while that stream is live, at most MaxUses times in all and once per
// buyer.
type Coupon struct {
	ID       int64  `json:"id"`
	ShopID   int64  `json:"shop_id"`
	StreamID int64  `json:"stream_id"`
	Code     string `json:"code"`
	Kind     string `json:"kind"`
	// Value is the percentage (1-90) or the amount in minor units of
	// Currency.
	Value     int64     `json:"value"`
	Currency  string    `json:"currency"`
	MaxUses   int64     `json:"max_uses"`
	Used      int64     `json:"used"`
	CreatedBy int64     `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// Discount is what the coupon takes off total. An order always keeps a
// positive total (at least one minor unit), so a large fixed coupon makes an
// order nearly free, never free.
func (c Coupon) Discount(total int64) int64 {
	d := c.Value
	if c.Kind == CouponPercent {
		d = total * c.Value / 100
	}
	return max(0, min(d, total-1))
}

// CouponStore keeps coupons. A coupon's use is redeemed in the transaction
// that creates the order (PlaceOrder, CreateFlashOrder), which checks again
// that its stream is live, that uses are left and that the buyer has not
// used it; an order cancelled before payment gives it back
// (Transition.ReleaseCoupon).
type CouponStore interface {
	// CreateCoupon inserts c, setting ID; ErrCouponExists when the stream
	// has the code already.
	CreateCoupon(ctx context.Context, c *Coupon) error
	// CouponsByCode returns the shop's coupons with code (one per stream).
	CouponsByCode(ctx context.Context, shopID int64, code string) ([]Coupon, error)
	// CouponsOfStream lists a stream's coupons.
	CouponsOfStream(ctx context.Context, streamID int64) ([]Coupon, error)
	// ShowNameInPurchases reports whether the buyer allows the ticker to
	// show their name (false by default: "Someone").
	ShowNameInPurchases(ctx context.Context, accountID int64) (bool, error)
	SetShowNameInPurchases(ctx context.Context, accountID int64, show bool, at time.Time) error
}

// Errors about coupons.
var (
	// ErrCouponExists means the stream has a coupon with that code.
	ErrCouponExists = api.New(409, "coupon_exists", "this stream already has a coupon with that code")
	// ErrCouponNotFound means the shop has no such code.
	ErrCouponNotFound = api.New(422, "coupon_not_found", "no such coupon code")
	// ErrCouponWrongStream means the code belongs to another stream.
	ErrCouponWrongStream = api.New(422, "coupon_wrong_stream", "this coupon is for another live stream")
	// ErrCouponNotLive means the coupon's stream is not live (not yet, or no
	// more).
	ErrCouponNotLive = api.New(422, "coupon_not_live", "this coupon is valid only while its stream is live")
	// ErrCouponUsedUp means the coupon reached its usage cap.
	ErrCouponUsedUp = api.New(409, "coupon_used_up", "this coupon has been used up")
	// ErrCouponAlreadyUsed means the buyer used the coupon before.
	ErrCouponAlreadyUsed = api.New(409, "coupon_already_used", "you have used this coupon already")
)

// NewCoupon is what a seller gives to create a coupon.
type NewCoupon struct {
	Code    string `json:"code"`
	Kind    string `json:"kind"`
	Value   int64  `json:"value"`
	MaxUses int64  `json:"max_uses"`
}

const maxCouponUses = 1_000_000

// CleanCouponCode upper-cases a code and checks it is 3 to 32 letters,
// digits, dashes or underscores, so codes read well aloud on a stream.
func CleanCouponCode(code string) (string, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if len(code) < 3 || len(code) > 32 || strings.ContainsFunc(code, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) {
		return "", Invalid("coupon code must be 3 to 32 letters, digits, - or _")
	}
	return code, nil
}

// CreateCoupon creates a live coupon for a stream of the seller's shop. It
// may be created before the stream goes live; it works only while it is.
func (s *Service) CreateCoupon(ctx context.Context, a Account, streamID int64, in NewCoupon) (Coupon, error) {
	st, err := s.SellerStream(ctx, a, streamID)
	if err != nil {
		return Coupon{}, err
	}
	if st.Status == StreamEnded {
		return Coupon{}, ErrStreamEnded
	}
	code, err := CleanCouponCode(in.Code)
	if err != nil {
		return Coupon{}, err
	}
	shop, err := s.store.ShopByID(ctx, st.ShopID)
	if err != nil {
		return Coupon{}, err
	}
	switch {
	case in.Kind != CouponPercent && in.Kind != CouponFixed:
		return Coupon{}, Invalid("kind must be percent or fixed")
	case in.Kind == CouponPercent && (in.Value < 1 || in.Value > 90):
		return Coupon{}, Invalid("a percent coupon takes 1 to 90 percent off")
	case in.Kind == CouponFixed && (in.Value < 1 || in.Value > 1_000_000_000):
		return Coupon{}, Invalid("a fixed coupon takes 1 to 1,000,000,000 minor units off")
	case in.MaxUses < 1 || in.MaxUses > maxCouponUses:
		return Coupon{}, Invalid("max_uses must be 1 to %d", maxCouponUses)
	}
	c := Coupon{ShopID: st.ShopID, StreamID: st.ID, Code: code, Kind: in.Kind, Value: in.Value, Currency: shop.Currency,
		MaxUses: in.MaxUses, CreatedBy: a.ID, CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	if err := s.store.CreateCoupon(ctx, &c); err != nil {
		return Coupon{}, err
	}
	return c, nil
}

// StreamCoupons lists a stream's coupons with their use, for the seller.
func (s *Service) StreamCoupons(ctx context.Context, a Account, streamID int64) ([]Coupon, error) {
	if _, err := s.SellerStream(ctx, a, streamID); err != nil {
		return nil, err
	}
	cs, err := s.store.CouponsOfStream(ctx, streamID)
	if cs == nil {
		cs = []Coupon{}
	}
	return cs, err
}

// CheckCoupon tells a viewer whether a code works in the stream right now,
// and what it takes off.
func (s *Service) CheckCoupon(ctx context.Context, streamID int64, code string) (Coupon, error) {
	st, err := s.store.StreamByID(ctx, streamID)
	if err != nil {
		return Coupon{}, err
	}
	return s.CouponFor(ctx, st.ShopID, st.ID, code)
}

// CouponFor finds the coupon a buyer gives at a checkout of the shop placed
// from streamID (a cart checkout's stream_id, a flash sale's stream) and
// checks it belongs to that stream, that the stream is live and that uses
// are left. Every checkout asks it, so the rules are the same everywhere;
// the order's transaction checks all of it again, with the buyer's own use.
func (s *Service) CouponFor(ctx context.Context, shopID, streamID int64, code string) (Coupon, error) {
	code, err := CleanCouponCode(code)
	if err != nil {
		return Coupon{}, err
	}
	cs, err := s.store.CouponsByCode(ctx, shopID, code)
	if err != nil {
		return Coupon{}, err
	}
	if len(cs) == 0 {
		return Coupon{}, ErrCouponNotFound
	}
	var c *Coupon
	for i := range cs {
		if cs[i].StreamID == streamID {
			c = &cs[i]
		}
	}
	if c == nil {
		return Coupon{}, ErrCouponWrongStream
	}
	st, err := s.store.StreamByID(ctx, c.StreamID)
	if errors.Is(err, ErrNotFound) || err == nil && st.Status != StreamLive {
		return Coupon{}, ErrCouponNotLive
	}
	if err != nil {
		return Coupon{}, err
	}
	if c.Used >= c.MaxUses {
		return Coupon{}, ErrCouponUsedUp
	}
	return *c, nil
}

// PurchasePrivacy is a buyer's setting for the "just bought" ticker.
type PurchasePrivacy struct {
	// ShowName lets the ticker show the display name; otherwise it says
	// "Someone".
	ShowName bool `json:"show_name_in_purchases"`
}

// PurchasePrivacy returns the caller's ticker setting.
func (s *Service) PurchasePrivacy(ctx context.Context, a Account) (PurchasePrivacy, error) {
	if a.ID == 0 {
		return PurchasePrivacy{}, ErrUnauthenticated
	}
	show, err := s.store.ShowNameInPurchases(ctx, a.ID)
	return PurchasePrivacy{ShowName: show}, err
}

// SetPurchasePrivacy changes the caller's ticker setting.
func (s *Service) SetPurchasePrivacy(ctx context.Context, a Account, p PurchasePrivacy) (PurchasePrivacy, error) {
	if a.ID == 0 {
		return PurchasePrivacy{}, ErrUnauthenticated
	}
	if err := s.store.SetShowNameInPurchases(ctx, a.ID, p.ShowName, s.now()); err != nil {
		return PurchasePrivacy{}, err
	}
	return p, nil
}
