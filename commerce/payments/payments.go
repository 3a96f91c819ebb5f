// Package payments is how Liveshop talks to card processors: the Provider
// interface every processor implements (authorize, capture, void, refund,
// each idempotent under a key), its requests and errors, and the built-in
// TestProcessor that behaves like a real processor without moving money.
// The commerce core's one payment pipeline drives a Provider.
package payments

import (
	"context"
)

// Method is how the buyer pays.
type Method struct {
	// CardNumber is a card number; only the TestProcessor takes raw numbers (see
	// its documentation for the test cards). It is never stored: orders keep
	// the brand and last four digits.
	CardNumber string `json:"card_number,omitempty"`
	// Token is a payment method token from a real processor's client-side
	// library, for providers that take tokens.
	Token string `json:"token,omitempty"`
}

// Request asks a processor to authorize an amount.
type Request struct {
	OrderID     int64
	AmountMinor int64
	Currency    string
	Method      Method
	// IdempotencyKey makes a repeated call return the first call's result
	// instead of charging twice.
	IdempotencyKey string
}

// Authorization is a processor's hold on the buyer's funds.
type Authorization struct {
	Reference string
	CardBrand string
	CardLast4 string
}

// Error is a processor's refusal or failure. Declined errors are the
// buyer's to fix (another card); Temporary ones may succeed when retried.
type Error struct {
	Code      string
	Message   string
	Declined  bool
	Temporary bool
}

func (e *Error) Error() string { return "payment " + e.Code + ": " + e.Message }

// Provider is a card processor. Implementations must be safe for
// concurrent use and honour idempotency keys: a call repeated with the same
// key has the effect of one call.
type Provider interface {
	// Name identifies the provider in payment records ("test", "stripe").
	Name() string
	// Authorize holds the amount on the payment method.
	Authorize(ctx context.Context, req Request) (Authorization, error)
	// Capture takes the authorized amount.
	Capture(ctx context.Context, reference string, amountMinor int64, idempotencyKey string) error
	// Void releases an authorization that will not be captured.
	Void(ctx context.Context, reference string, idempotencyKey string) error
	// Refund returns captured money to the buyer.
	Refund(ctx context.Context, reference string, amountMinor int64, idempotencyKey string) error
}

// Lookup is implemented by processors that can find an authorization by
// the idempotency key it was made with. The checkout sweeper uses it to
// finish a checkout whose authorization succeeded while the server that
// asked for it died.
type Lookup interface {
	LookupAuthorization(ctx context.Context, idempotencyKey string) (Authorization, bool, error)
}
