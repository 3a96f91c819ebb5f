package commerce

import (
	"context"
	"fmt"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/api"
)

// Review is a buyer's rating of a product they received.
type Review struct {
	ID         int64     `json:"id"`
	ProductID  int64     `json:"product_id"`
	OrderID    int64     `json:"order_id"`
	AuthorID   int64     `json:"author_id"`
	AuthorName string    `json:"author_name"`
	Rating     int       `json:"rating"`
	Text       string    `json:"text"`
	CreatedAt  time.Time `json:"created_at"`
}

// ReviewStore keeps reviews.
type ReviewStore interface {
	// CreateReview inserts r in one transaction with the checks that make it
	// legitimate: the author has a delivered order containing the product
	// (r.OrderID is set to it; ErrNotEligible otherwise) and has not
	// reviewed the product yet (ErrAlreadyReviewed). The product's rating
	// summary is updated in the same transaction.
	CreateReview(ctx context.Context, r *Review) error
	// Reviews lists a product's reviews newest first, below beforeID.
	Reviews(ctx context.Context, productID, beforeID int64, limit int) ([]Review, error)
}

// Errors about reviews.
var (
	// ErrNotEligible means the caller has no delivered order of the product.
	ErrNotEligible = api.New(403, "not_eligible", "only buyers whose order of this product was delivered may review it")
	// ErrAlreadyReviewed means the caller reviewed the product before.
	ErrAlreadyReviewed = api.New(409, "already_reviewed", "you have reviewed this product already")
)

const maxReviewRunes = 2000

// ReviewInput is a new review.
type ReviewInput struct {
	Rating int    `json:"rating"`
	Text   string `json:"text"`
}

// WriteReview records the caller's review of a product.
func (s *Service) WriteReview(ctx context.Context, a Account, productID int64, in ReviewInput) (Review, error) {
	if a.ID == 0 {
		return Review{}, ErrUnauthenticated
	}
	p, err := s.productFor(ctx, a, productID)
	if err != nil {
		return Review{}, err
	}
	if in.Rating < 1 || in.Rating > 5 {
		return Review{}, Invalid("rating must be 1 to 5")
	}
	text, err := cleanText("text", in.Text, maxReviewRunes)
	if err != nil {
		return Review{}, err
	}
	r := Review{ProductID: p.ID, AuthorID: a.ID, AuthorName: a.Name, Rating: in.Rating, Text: text,
		CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	if err := s.store.CreateReview(ctx, &r); err != nil {
		return Review{}, fmt.Errorf("review product %d: %w", productID, err)
	}
	return r, nil
}

// Reviews lists a visible product's reviews, newest first.
func (s *Service) Reviews(ctx context.Context, a Account, productID int64, p PageRequest) ([]Review, string, error) {
	if _, err := s.productFor(ctx, a, productID); err != nil {
		return nil, "", err
	}
	before, limit, err := p.Parse()
	if err != nil {
		return nil, "", err
	}
	rs, err := s.store.Reviews(ctx, productID, before, limit+1)
	if err != nil {
		return nil, "", err
	}
	rs, next := api.CutPage(rs, limit, func(r Review) int64 { return r.ID })
	return rs, next, nil
}
