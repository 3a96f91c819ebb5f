package commerce

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/liveshop/liveshop/commerce/internal/api"
)

// CheckoutItem is one product of a "Buy now" checkout: bought directly,
// without going through the cart.
type CheckoutItem struct {
	ProductID int64 `json:"product_id"`
	Quantity  int64 `json:"quantity"`
	// UnitPriceMinor, when set, is the price the buyer was shown: if the
	// product costs something else now, the checkout stops with
	// price_changed instead of charging another price.
	UnitPriceMinor int64 `json:"unit_price_minor,omitempty"`
}

// ErrItemPriceChanged is ErrPriceChanged for a Buy now: there is no cart to
// update, so the buyer reloads the product and buys again.
var ErrItemPriceChanged = api.New(409, "price_changed", "the price changed since you saw it; check the new price and buy again")

// cleanItems checks a Buy now's items and returns them in product order:
// 1 to maxCartLines distinct products, each 1 to maxLineQuantity units.
func cleanItems(items []CheckoutItem) ([]CheckoutItem, error) {
	if len(items) == 0 || len(items) > maxCartLines {
		return nil, Invalid("items must list 1 to %d products", maxCartLines)
	}
	items = slices.Clone(items)
	slices.SortFunc(items, func(a, b CheckoutItem) int { return cmp.Compare(a.ProductID, b.ProductID) })
	for i, it := range items {
		switch {
		case it.ProductID <= 0:
			return nil, Invalid("items: product_id must be a product's ID")
		case i > 0 && items[i-1].ProductID == it.ProductID:
			return nil, Invalid("items: product %d is listed twice", it.ProductID)
		case it.UnitPriceMinor < 0:
			return nil, Invalid("items: unit_price_minor must not be negative")
		}
		if err := checkQuantity(it.Quantity); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// itemsShop returns the one shop whose products the items are (shopID, when
// not zero, must be it). A product the caller may not see is reported as
// unknown, as on its page.
func (s *Service) itemsShop(ctx context.Context, a Account, shopID int64, items []CheckoutItem) (int64, error) {
	of := int64(0)
	for _, it := range items {
		p, err := s.productFor(ctx, a, it.ProductID)
		if errors.Is(err, ErrNotFound) {
			return 0, Invalid("items: there is no product %d", it.ProductID)
		}
		if err != nil {
			return 0, err
		}
		if of != 0 && p.ShopID != of {
			return 0, api.New(422, "choose_shop", "the items are products of several shops; buy one shop's products at a time (one order per shop)")
		}
		of = p.ShopID
	}
	if shopID != 0 && shopID != of {
		return 0, Invalid("the items are not products of shop %d", shopID)
	}
	return of, nil
}
