package commerce

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/liveshop/liveshop/commerce/internal/api"
)

// Product statuses. Only active products can be bought or listed publicly;
// archived ones keep their page (orders link to it) but cannot be bought;
// drafts are seen only by the shop's staff.
const (
	ProductDraft    = "draft"
	ProductActive   = "active"
	ProductArchived = "archived"
)

// Product is something a shop sells.
type Product struct {
	ID          int64  `json:"id"`
	ShopID      int64  `json:"shop_id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// PriceMinor is the unit price in minor units of Currency.
	PriceMinor int64    `json:"price_minor"`
	Currency   string   `json:"currency"`
	Stock      int64    `json:"stock"`
	Status     string   `json:"status"`
	Hashtags   []string `json:"hashtags"`
	// Images are in display order; the first is the product's picture.
	Images    []Image   `json:"images"`
	Rating    Rating    `json:"rating"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Rating summarises a product's reviews.
type Rating struct {
	// Average is the mean rating, 0 when there are no reviews.
	Average float64 `json:"average"`
	Count   int64   `json:"count"`
}

// ImageURL is the URL of the product's first picture, "" without one.
func (p Product) ImageURL() string {
	if len(p.Images) == 0 {
		return ""
	}
	return p.Images[0].URL
}

// ProductPatch creates or changes a product; nil fields keep their value (or
// the default on create: no description, no stock, draft, no hashtags).
type ProductPatch struct {
	Title       *string `json:"title"`
	Description *string `json:"description"`
	PriceMinor  *int64  `json:"price_minor"`
	Currency    *string `json:"currency"`
	Stock       *int64  `json:"stock"`
	// ExpectedStock, with Stock on an update, sets the stock only if it
	// still is this value (the value the seller's form loaded): units sold
	// meanwhile are not overwritten; ErrStockChanged otherwise.
	ExpectedStock *int64 `json:"expected_stock"`
	// StockDelta, on an update, adds to (or, negative, takes from) the
	// stock as it is when the write runs, like a warehouse receipt or
	// count correction; it cannot go below zero. Not with Stock.
	StockDelta *int64    `json:"stock_delta"`
	Status     *string   `json:"status"`
	Hashtags   *[]string `json:"hashtags"`
}

// StockEdit is how an update changes a product's stock: not at all (the
// zero value), to Set (when Expected is not nil, only if the stock still
// is *Expected), or by Delta.
type StockEdit struct {
	Set      *int64
	Expected *int64
	Delta    int64
}

// ErrStockChanged means the stock is not what the edit expected (units
// sold or returned meanwhile), or a delta would take it below zero or
// above the maximum; nothing was changed.
var ErrStockChanged = api.New(409, "stock_changed", "the stock changed meanwhile (units were sold or returned); reload the product and edit again")

// ProductQuery selects products for a listing.
type ProductQuery struct {
	ShopID   int64
	Hashtag  string
	Text     []string // every word must appear in title, description or hashtags
	Statuses []string
	BeforeID int64
	Limit    int
}

// ProductStore keeps products.
type ProductStore interface {
	// CreateProduct inserts p, setting ID.
	CreateProduct(ctx context.Context, p *Product) error
	// ProductByID returns a product with its images.
	ProductByID(ctx context.Context, id int64) (Product, error)
	// UpdateProduct saves the editable fields, and changes the stock as
	// stock says in the same statement, so edits never overwrite units sold
	// meanwhile; ErrStockChanged when its condition does not hold.
	UpdateProduct(ctx context.Context, p Product, stock StockEdit) error
	// AddProductImage appends img; ErrTooManyImages when max are attached.
	AddProductImage(ctx context.Context, productID int64, img Image, max int) error
	// RemoveProductImage detaches an image; ErrNotFound if not attached.
	RemoveProductImage(ctx context.Context, productID int64, name string) error
	// ListProducts returns products newest first.
	ListProducts(ctx context.Context, q ProductQuery) ([]Product, error)
}

// ErrTooManyImages means the product has the most pictures it may have.
var ErrTooManyImages = api.New(409, "too_many_images", fmt.Sprintf("a product has at most %d images", maxProductImages))

const (
	maxProductImages  = 8
	maxTitleRunes     = 120
	maxHashtags       = 10
	maxHashtagRunes   = 30
	maxQueryWords     = 6
	maxQueryWordRunes = 50
)

// CleanHashtags normalises hashtags: without "#", lower case, letters,
// digits and underscores only, deduplicated, in the order given.
func CleanHashtags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	seen := map[string]bool{}
	for _, t := range tags {
		t = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(t), "#"))
		if t == "" || utf8.RuneCountInString(t) > maxHashtagRunes ||
			strings.ContainsFunc(t, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' }) {
			return nil, Invalid("hashtag %q must be 1 to %d letters, digits or underscores", t, maxHashtagRunes)
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if len(out) > maxHashtags {
		return nil, Invalid("at most %d hashtags", maxHashtags)
	}
	return out, nil
}

// applyProductPatch validates p against shop and writes it into prod; the
// stock change is returned for the store to apply (prod.Stock holds the
// value set, for a create).
func applyProductPatch(prod *Product, shop Shop, p ProductPatch) (stock StockEdit, err error) {
	if p.Title != nil {
		if prod.Title, err = api.CleanText("title", *p.Title, maxTitleRunes); err != nil {
			return StockEdit{}, err
		}
	}
	if p.Description != nil {
		if prod.Description, err = cleanText("description", *p.Description, maxDescriptionLen); err != nil {
			return StockEdit{}, err
		}
	}
	if p.Currency != nil {
		cur, err := normalizeCurrency(*p.Currency)
		if err != nil {
			return StockEdit{}, err
		}
		if cur != shop.Currency {
			return StockEdit{}, api.New(422, "currency_mismatch", fmt.Sprintf("this shop sells in %s; every product uses the shop's currency", shop.Currency))
		}
	}
	prod.Currency = shop.Currency
	if p.PriceMinor != nil {
		if err := checkPrice(*p.PriceMinor, shop.Currency); err != nil {
			return StockEdit{}, err
		}
		prod.PriceMinor = *p.PriceMinor
	}
	switch {
	case p.Stock != nil && p.StockDelta != nil:
		return StockEdit{}, Invalid("send stock or stock_delta, not both")
	case p.ExpectedStock != nil && p.Stock == nil:
		return StockEdit{}, Invalid("expected_stock goes with stock")
	case p.Stock != nil:
		if *p.Stock < 0 || *p.Stock > MaxStock {
			return StockEdit{}, Invalid("stock must be between 0 and %d", MaxStock)
		}
		prod.Stock, stock = *p.Stock, StockEdit{Set: p.Stock, Expected: p.ExpectedStock}
	case p.StockDelta != nil:
		if *p.StockDelta < -MaxStock || *p.StockDelta > MaxStock {
			return StockEdit{}, Invalid("stock_delta must be between -%d and %d", MaxStock, MaxStock)
		}
		stock.Delta = *p.StockDelta
	}
	if p.Status != nil {
		switch *p.Status {
		case ProductDraft, ProductActive, ProductArchived:
			prod.Status = *p.Status
		default:
			return StockEdit{}, Invalid("status must be draft, active or archived")
		}
	}
	if p.Hashtags != nil {
		if prod.Hashtags, err = CleanHashtags(*p.Hashtags); err != nil {
			return StockEdit{}, err
		}
	}
	return stock, nil
}

// CreateProduct adds a product to the shop (seller or admin).
func (s *Service) CreateProduct(ctx context.Context, a Account, shopID int64, p ProductPatch) (Product, error) {
	shop, err := s.RequireSeller(ctx, a, shopID)
	if err != nil {
		return Product{}, err
	}
	if p.Title == nil {
		return Product{}, Invalid("title is required")
	}
	if p.PriceMinor == nil {
		return Product{}, Invalid("price_minor is required")
	}
	prod := Product{ShopID: shop.ID, Status: ProductDraft, Hashtags: []string{}, Images: []Image{}}
	if p.StockDelta != nil || p.ExpectedStock != nil {
		return Product{}, Invalid("a new product takes stock, not stock_delta or expected_stock")
	}
	if _, err := applyProductPatch(&prod, shop, p); err != nil {
		return Product{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	prod.CreatedAt, prod.UpdatedAt = now, now
	if err := s.store.CreateProduct(ctx, &prod); err != nil {
		return Product{}, fmt.Errorf("create product: %w", err)
	}
	return prod, nil
}

// productFor loads a product the caller may see: active and archived ones
// for everyone, drafts for the shop's staff only (others get ErrNotFound).
func (s *Service) productFor(ctx context.Context, a Account, id int64) (Product, error) {
	p, err := s.store.ProductByID(ctx, id)
	if err != nil {
		return Product{}, err
	}
	if p.Status == ProductDraft {
		shop, err := s.store.ShopByID(ctx, p.ShopID)
		if err != nil {
			return Product{}, err
		}
		role, err := s.roleIn(ctx, a, shop)
		if err != nil {
			return Product{}, err
		}
		if !role.AtLeast(RoleModerator) {
			return Product{}, ErrNotFound
		}
	}
	return p, nil
}

// Product returns a product page as the caller may see it (a is the zero
// Account for anonymous callers).
func (s *Service) Product(ctx context.Context, a Account, id int64) (Product, error) {
	return s.productFor(ctx, a, id)
}

// SellerProduct loads a product and checks a is its shop's seller or admin.
func (s *Service) SellerProduct(ctx context.Context, a Account, id int64) (Product, Shop, error) {
	p, err := s.productFor(ctx, a, id)
	if err != nil {
		return Product{}, Shop{}, err
	}
	shop, err := s.RequireSeller(ctx, a, p.ShopID)
	return p, shop, err
}

// UpdateProduct changes a product (seller or admin).
func (s *Service) UpdateProduct(ctx context.Context, a Account, id int64, p ProductPatch) (Product, error) {
	prod, shop, err := s.SellerProduct(ctx, a, id)
	if err != nil {
		return Product{}, err
	}
	stock, err := applyProductPatch(&prod, shop, p)
	if err != nil {
		return Product{}, err
	}
	prod.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
	if err := s.store.UpdateProduct(ctx, prod, stock); err != nil {
		return Product{}, fmt.Errorf("update product %d: %w", id, err)
	}
	s.productEdited(prod)
	return s.store.ProductByID(ctx, id)
}

// AddProductImage uploads a picture and appends it to the product.
func (s *Service) AddProductImage(ctx context.Context, a Account, id int64, r io.Reader) (Product, error) {
	prod, _, err := s.SellerProduct(ctx, a, id)
	if err != nil {
		return Product{}, err
	}
	if len(prod.Images) >= maxProductImages {
		return Product{}, ErrTooManyImages
	}
	img, err := s.storeImage(ctx, a, r)
	if err != nil {
		return Product{}, err
	}
	if err := s.store.AddProductImage(ctx, id, img, maxProductImages); err != nil {
		s.discardImage(img.Name)
		_ = s.store.DeleteImage(ctx, img.Name)
		return Product{}, fmt.Errorf("attach image to product %d: %w", id, err)
	}
	s.productEdited(prod)
	return s.store.ProductByID(ctx, id)
}

// RemoveProductImage detaches and deletes one of the product's pictures.
func (s *Service) RemoveProductImage(ctx context.Context, a Account, id int64, name string) (Product, error) {
	prod, _, err := s.SellerProduct(ctx, a, id)
	if err != nil {
		return Product{}, err
	}
	if err := s.store.RemoveProductImage(ctx, id, name); err != nil {
		return Product{}, err
	}
	s.productEdited(prod)
	s.discardImage(name)
	_ = s.store.DeleteImage(ctx, name)
	return s.store.ProductByID(ctx, id)
}

// ProductFilter is a public product listing request.
type ProductFilter struct {
	ShopID  int64
	Hashtag string
	// Query is free text; every word must match title, description or a
	// hashtag. (Ranked search is the discovery feature's job.)
	Query string
	// Status lists drafts or archived products too; only the shop's staff
	// may ask for anything but "active" (the default).
	Status string
	PageRequest
}

// Products lists products newest first.
func (s *Service) Products(ctx context.Context, a Account, f ProductFilter) ([]Product, string, error) {
	before, limit, err := f.Parse()
	if err != nil {
		return nil, "", err
	}
	q := ProductQuery{ShopID: f.ShopID, BeforeID: before, Limit: limit + 1, Statuses: []string{ProductActive}}
	switch f.Status {
	case "", ProductActive:
	case ProductDraft, ProductArchived, "all":
		if f.ShopID == 0 {
			return nil, "", BadRequest("status other than active needs a shop")
		}
		if _, _, err := s.requireRole(ctx, a, f.ShopID, RoleModerator); err != nil {
			return nil, "", err
		}
		q.Statuses = []string{f.Status}
		if f.Status == "all" {
			q.Statuses = []string{ProductDraft, ProductActive, ProductArchived}
		}
	default:
		return nil, "", BadRequest("status must be active, draft, archived or all")
	}
	if f.ShopID != 0 {
		if _, err := s.store.ShopByID(ctx, f.ShopID); err != nil {
			return nil, "", err
		}
	}
	if f.Hashtag != "" {
		tags, err := CleanHashtags([]string{f.Hashtag})
		if err != nil {
			return []Product{}, "", nil // an impossible hashtag has no products
		}
		q.Hashtag = tags[0]
	}
	for _, w := range strings.Fields(strings.ToLower(f.Query)) {
		if len(q.Text) == maxQueryWords {
			break
		}
		if utf8.RuneCountInString(w) > maxQueryWordRunes {
			w = string([]rune(w)[:maxQueryWordRunes])
		}
		q.Text = append(q.Text, w)
	}
	products, err := s.store.ListProducts(ctx, q)
	if err != nil {
		return nil, "", err
	}
	products, next := api.CutPage(products, limit, func(p Product) int64 { return p.ID })
	return products, next, nil
}

// ProductCard is the short form of a product that rooms pin and show.
type ProductCard struct {
	ID         int64  `json:"id"`
	ShopID     int64  `json:"shop_id"`
	Title      string `json:"title"`
	PriceMinor int64  `json:"price_minor"`
	Currency   string `json:"currency"`
	ImageURL   string `json:"image_url,omitempty"`
	Stock      int64  `json:"stock"`
	// Status lets the caller refuse to pin a draft or archived product.
	Status string `json:"status"`
}

// ProductCard returns the card of any product, whatever its status. Rooms
// call it through a cmd adapter when a seller pins a product; the adapter
// checks ShopID against the room's shop.
func (s *Service) ProductCard(ctx context.Context, productID int64) (ProductCard, error) {
	p, err := s.store.ProductByID(ctx, productID)
	if err != nil {
		return ProductCard{}, err
	}
	return ProductCard{ID: p.ID, ShopID: p.ShopID, Title: p.Title, PriceMinor: p.PriceMinor,
		Currency: p.Currency, ImageURL: p.ImageURL(), Stock: p.Stock, Status: p.Status}, nil
}
