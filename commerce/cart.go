package commerce

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/api"
)

// CartLine is one product in a buyer's cart. It keeps the price the product
// had when it was added; checkout re-prices every line and, when a price
// changed, stops and asks the buyer to confirm (see ErrPriceChanged).
type CartLine struct {
	ProductID int64  `json:"product_id"`
	ShopID    int64  `json:"shop_id"`
	ShopName  string `json:"shop_name"`
	Title     string `json:"title"`
	ImageURL  string `json:"image_url,omitempty"`
	Quantity  int64  `json:"quantity"`
	// UnitPriceMinor is the price when the line was added (or last
	// confirmed); CurrentPriceMinor is the product's price now.
	UnitPriceMinor    int64  `json:"unit_price_minor"`
	CurrentPriceMinor int64  `json:"current_price_minor"`
	Currency          string `json:"currency"`
	// Status and Stock are the product's now; Available says whether the
	// line could be checked out as it is.
	Status    string    `json:"status"`
	Stock     int64     `json:"stock"`
	Available bool      `json:"available"`
	AddedAt   time.Time `json:"added_at"`
}

// CartShop sums the cart lines of one shop: checkout makes one order per
// shop, in the shop's currency.
type CartShop struct {
	ShopID        int64  `json:"shop_id"`
	ShopName      string `json:"shop_name"`
	Currency      string `json:"currency"`
	Lines         int    `json:"lines"`
	SubtotalMinor int64  `json:"subtotal_minor"`
}

// Cart is a buyer's cart: the lines, and their totals per shop at today's
// prices.
type Cart struct {
	Lines []CartLine `json:"lines"`
	Shops []CartShop `json:"shops"`
}

// CartStore keeps carts, one per account.
type CartStore interface {
	// CartLines returns the account's lines with each product's current
	// price, status, stock and shop, oldest first.
	CartLines(ctx context.Context, accountID int64) ([]CartLine, error)
	// AddCartLine adds quantity units of a product, keeping the price of an
	// existing line; ErrCartFull when a new line would exceed maxLines.
	AddCartLine(ctx context.Context, accountID int64, line CartLine, maxLines int) error
	// SetCartQuantity sets a line's quantity; ErrNotFound without the line.
	SetCartQuantity(ctx context.Context, accountID, productID, quantity int64) error
	RemoveCartLine(ctx context.Context, accountID, productID int64) error
	// RepriceCart sets the shop's lines to the products' current prices.
	RepriceCart(ctx context.Context, accountID, shopID int64) error
}

// Errors about carts.
var (
	// ErrCartFull means the cart holds the most lines it may.
	ErrCartFull = api.New(422, "cart_full", fmt.Sprintf("a cart holds at most %d different products", maxCartLines))
	// ErrProductUnavailable means the product is not on sale (archived).
	ErrProductUnavailable = api.New(409, "product_unavailable", "this product is not on sale")
)

// OutOfStock reports that fewer units are left than asked for.
func OutOfStock(title string, left int64) error {
	return api.New(409, "out_of_stock", fmt.Sprintf("only %d of %q left", left, title))
}

func checkQuantity(q int64) error {
	if q < 1 || q > maxLineQuantity {
		return Invalid("quantity must be between 1 and %d", maxLineQuantity)
	}
	return nil
}

// Cart returns the caller's cart.
func (s *Service) Cart(ctx context.Context, a Account) (Cart, error) {
	lines, err := s.store.CartLines(ctx, a.ID)
	if err != nil {
		return Cart{}, err
	}
	return buildCart(lines), nil
}

func buildCart(lines []CartLine) Cart {
	c := Cart{Lines: lines, Shops: []CartShop{}}
	if c.Lines == nil {
		c.Lines = []CartLine{}
	}
	index := map[int64]int{}
	for i := range c.Lines {
		l := &c.Lines[i]
		l.Available = l.Status == ProductActive && l.Stock >= l.Quantity
		at, ok := index[l.ShopID]
		if !ok {
			at = len(c.Shops)
			index[l.ShopID] = at
			c.Shops = append(c.Shops, CartShop{ShopID: l.ShopID, ShopName: l.ShopName, Currency: l.Currency})
		}
		c.Shops[at].Lines++
		c.Shops[at].SubtotalMinor += l.CurrentPriceMinor * l.Quantity
	}
	return c
}

// cartLine finds the caller's line for a product.
func cartLine(lines []CartLine, productID int64) (CartLine, bool) {
	for _, l := range lines {
		if l.ProductID == productID {
			return l, true
		}
	}
	return CartLine{}, false
}

// AddToCart puts quantity units of a product in the caller's cart (adding
// to a line already there). The stock is checked here as a courtesy;
// checkout checks it again, in the transaction that sells.
func (s *Service) AddToCart(ctx context.Context, a Account, productID, quantity int64) (Cart, error) {
	if err := checkQuantity(quantity); err != nil {
		return Cart{}, err
	}
	p, err := s.productFor(ctx, a, productID)
	if err != nil {
		return Cart{}, err
	}
	if p.Status != ProductActive {
		return Cart{}, ErrProductUnavailable
	}
	lines, err := s.store.CartLines(ctx, a.ID)
	if err != nil {
		return Cart{}, err
	}
	have, _ := cartLine(lines, productID)
	if err := checkQuantity(have.Quantity + quantity); err != nil {
		return Cart{}, err
	}
	if have.Quantity+quantity > p.Stock {
		return Cart{}, OutOfStock(p.Title, p.Stock)
	}
	line := CartLine{ProductID: p.ID, Quantity: quantity, UnitPriceMinor: p.PriceMinor, Currency: p.Currency,
		AddedAt: s.now().UTC().Truncate(time.Microsecond)}
	if err := s.store.AddCartLine(ctx, a.ID, line, maxCartLines); err != nil {
		return Cart{}, err
	}
	s.noteAddedToCart(a, p, quantity)
	return s.Cart(ctx, a)
}

// SetCartQuantity changes how many units of a product the cart holds.
func (s *Service) SetCartQuantity(ctx context.Context, a Account, productID, quantity int64) (Cart, error) {
	if err := checkQuantity(quantity); err != nil {
		return Cart{}, err
	}
	lines, err := s.store.CartLines(ctx, a.ID)
	if err != nil {
		return Cart{}, err
	}
	line, ok := cartLine(lines, productID)
	if !ok {
		return Cart{}, fmt.Errorf("product %d is not in the cart: %w", productID, ErrNotFound)
	}
	if quantity > line.Quantity && quantity > line.Stock {
		return Cart{}, OutOfStock(line.Title, line.Stock)
	}
	if err := s.store.SetCartQuantity(ctx, a.ID, productID, quantity); err != nil {
		return Cart{}, err
	}
	return s.Cart(ctx, a)
}

// RemoveFromCart drops a product from the cart.
func (s *Service) RemoveFromCart(ctx context.Context, a Account, productID int64) (Cart, error) {
	err := s.store.RemoveCartLine(ctx, a.ID, productID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Cart{}, err
	}
	if err != nil {
		return Cart{}, fmt.Errorf("product %d is not in the cart: %w", productID, ErrNotFound)
	}
	return s.Cart(ctx, a)
}
