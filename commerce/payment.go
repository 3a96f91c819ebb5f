package commerce

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/api"
)

// Payment statuses, kept apart from the order's fulfilment status.
const (
	PaymentPending    = "pending"
	PaymentAuthorized = "authorized"
	PaymentCaptured   = "captured"
	PaymentDeclined   = "declined"
	PaymentFailed     = "failed"
	PaymentVoided     = "voided"
	PaymentRefunded   = "refunded"
)

// PaymentMethod is how the buyer pays.
type PaymentMethod struct {
	// CardNumber is a card number; only TestPayments takes raw numbers (see
	// its documentation for the test cards). It is never stored: orders keep
	// the brand and last four digits.
	CardNumber string `json:"card_number,omitempty"`
	// Token is a payment method token from a real processor's client-side
	// library, for providers that take tokens.
	Token string `json:"token,omitempty"`
}

// PaymentRequest asks a processor to authorize an amount.
type PaymentRequest struct {
	OrderID     int64
	AmountMinor int64
	Currency    string
	Method      PaymentMethod
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

// PaymentError is a processor's refusal or failure. Declined errors are the
// buyer's to fix (another card); Temporary ones may succeed when retried.
type PaymentError struct {
	Code      string
	Message   string
	Declined  bool
	Temporary bool
}

func (e *PaymentError) Error() string { return "payment " + e.Code + ": " + e.Message }

// PaymentProvider is a card processor. Implementations must be safe for
// concurrent use and honour idempotency keys: a call repeated with the same
// key has the effect of one call.
type PaymentProvider interface {
	// Name identifies the provider in payment records ("test", "stripe").
	Name() string
	// Authorize holds the amount on the payment method.
	Authorize(ctx context.Context, req PaymentRequest) (Authorization, error)
	// Capture takes the authorized amount.
	Capture(ctx context.Context, reference string, amountMinor int64, idempotencyKey string) error
	// Void releases an authorization that will not be captured.
	Void(ctx context.Context, reference string, idempotencyKey string) error
	// Refund returns captured money to the buyer.
	Refund(ctx context.Context, reference string, amountMinor int64, idempotencyKey string) error
}

// Test card numbers understood by TestPayments (spaces and dashes ignored;
// any expiry and CVC).
const (
	// TestCardVisa and TestCardMastercard are authorized and captured.
	TestCardVisa       = "4242424242424242"
	TestCardMastercard = "5555555555554444"
	// TestCardDeclined is declined with code card_declined.
	TestCardDeclined = "4000000000000002"
	// TestCardInsufficientFunds is declined with code insufficient_funds.
	TestCardInsufficientFunds = "4000000000009995"
	// TestCardRetry fails with a temporary processing_error on the first two
	// attempts of each operation, then succeeds: a client that retries (the
	// service does, PaymentAttempts times) gets through.
	TestCardRetry = "4000000000000119"
	// TestCardUnavailable fails temporarily on every attempt, like a
	// processor that is down.
	TestCardUnavailable = "4000000000000101"
)

// TestPayments is the built-in processor: it behaves like a real card
// processor (holds, captures, refunds, idempotency keys, declines, transient
// failures) without moving money. Any other number that passes the Luhn
// check is authorized too; one that fails it is declined as
// incorrect_number. It keeps its records in memory.
type TestPayments struct {
	mu       sync.Mutex
	auths    map[string]*testAuth // by reference
	byKey    map[string]Authorization
	attempts map[string]int // temporary-failure attempts by idempotency key
}

type testAuth struct {
	amount   int64
	captured int64
	refunded int64
	voided   bool
	flaky    bool
	done     map[string]bool // idempotency keys of captures, refunds, voids
}

var _ PaymentProvider = (*TestPayments)(nil)

// NewTestPayments returns an empty test processor.
func NewTestPayments() *TestPayments {
	return &TestPayments{auths: map[string]*testAuth{}, byKey: map[string]Authorization{}, attempts: map[string]int{}}
}

// Name implements PaymentProvider.
func (p *TestPayments) Name() string { return "test" }

func luhn(digits string) bool {
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// cardDigits strips spaces and dashes and checks what is left is 12-19 digits.
func cardDigits(number string) (string, bool) {
	d := strings.NewReplacer(" ", "", "-", "").Replace(number)
	if len(d) < 12 || len(d) > 19 || strings.ContainsFunc(d, func(r rune) bool { return r < '0' || r > '9' }) {
		return "", false
	}
	return d, true
}

func cardBrand(d string) string {
	switch {
	case strings.HasPrefix(d, "4"):
		return "visa"
	case d[0] == '5' && d[1] >= '1' && d[1] <= '5', strings.HasPrefix(d, "2"):
		return "mastercard"
	case strings.HasPrefix(d, "34"), strings.HasPrefix(d, "37"):
		return "amex"
	}
	return "card"
}

// temporary counts an attempt under key and reports whether it fails.
func (p *TestPayments) temporary(key string, failures int) error {
	p.attempts[key]++
	if failures < 0 || p.attempts[key] <= failures {
		return &PaymentError{Code: "processing_error", Message: "the processor had a temporary problem; retry", Temporary: true}
	}
	return nil
}

// Authorize implements PaymentProvider.
func (p *TestPayments) Authorize(ctx context.Context, req PaymentRequest) (Authorization, error) {
	if err := ctx.Err(); err != nil {
		return Authorization{}, err
	}
	d, ok := cardDigits(req.Method.CardNumber)
	if !ok {
		return Authorization{}, &PaymentError{Code: "incorrect_number", Message: "the test processor takes a card_number of 12 to 19 digits", Declined: true}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.byKey[req.IdempotencyKey]; ok && req.IdempotencyKey != "" {
		return a, nil
	}
	switch d {
	case TestCardDeclined:
		return Authorization{}, &PaymentError{Code: "card_declined", Message: "the card was declined", Declined: true}
	case TestCardInsufficientFunds:
		return Authorization{}, &PaymentError{Code: "insufficient_funds", Message: "the card has insufficient funds", Declined: true}
	case TestCardRetry:
		if err := p.temporary("auth:"+req.IdempotencyKey, 2); err != nil {
			return Authorization{}, err
		}
	case TestCardUnavailable:
		return Authorization{}, p.temporary("auth:"+req.IdempotencyKey, -1)
	default:
		if !luhn(d) {
			return Authorization{}, &PaymentError{Code: "incorrect_number", Message: "the card number is incorrect", Declined: true}
		}
	}
	if req.AmountMinor <= 0 {
		return Authorization{}, &PaymentError{Code: "invalid_amount", Message: "amount must be positive", Declined: true}
	}
	raw := make([]byte, 8)
	_, _ = rand.Read(raw)
	a := Authorization{Reference: "test_auth_" + hex.EncodeToString(raw), CardBrand: cardBrand(d), CardLast4: d[len(d)-4:]}
	p.auths[a.Reference] = &testAuth{amount: req.AmountMinor, flaky: d == TestCardRetry, done: map[string]bool{}}
	if req.IdempotencyKey != "" {
		p.byKey[req.IdempotencyKey] = a
	}
	return a, nil
}

func (p *TestPayments) auth(reference string) (*testAuth, error) {
	a, ok := p.auths[reference]
	if !ok {
		return nil, &PaymentError{Code: "no_such_authorization", Message: "unknown payment reference " + reference}
	}
	return a, nil
}

// Capture implements PaymentProvider.
func (p *TestPayments) Capture(ctx context.Context, reference string, amount int64, key string) error {
	return p.step(ctx, reference, key, "capture", func(a *testAuth) error {
		if a.voided || a.captured > 0 || amount <= 0 || amount > a.amount {
			return &PaymentError{Code: "invalid_capture", Message: "nothing to capture for this amount"}
		}
		a.captured = amount
		return nil
	})
}

// Void implements PaymentProvider.
func (p *TestPayments) Void(ctx context.Context, reference string, key string) error {
	return p.step(ctx, reference, key, "", func(a *testAuth) error {
		if a.captured > 0 {
			return &PaymentError{Code: "already_captured", Message: "a captured payment is refunded, not voided"}
		}
		a.voided = true
		return nil
	})
}

// Refund implements PaymentProvider.
func (p *TestPayments) Refund(ctx context.Context, reference string, amount int64, key string) error {
	return p.step(ctx, reference, key, "refund", func(a *testAuth) error {
		if amount <= 0 || a.refunded+amount > a.captured {
			return &PaymentError{Code: "invalid_refund", Message: "refund exceeds the captured amount"}
		}
		a.refunded += amount
		return nil
	})
}

// step applies one operation with an idempotency key to a reference's
// authorization: a key already applied succeeds again without effect, and
// on the flaky card (TestCardRetry) an operation named op fails twice with a
// temporary error before it goes through (op "" never fails so).
func (p *TestPayments) step(ctx context.Context, reference, key, op string, apply func(*testAuth) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	a, err := p.auth(reference)
	if err != nil || a.done[key] {
		return err
	}
	if a.flaky && op != "" {
		if err := p.temporary(op+":"+key, 2); err != nil {
			return err
		}
	}
	if err := apply(a); err != nil {
		return err
	}
	a.done[key] = true
	return nil
}

// Balance reports what the test processor holds for a reference: captured
// and refunded amounts. Tests use it to check that money really moved once.
func (p *TestPayments) Balance(reference string) (captured, refunded int64, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.auths[reference]
	if !ok {
		return 0, 0, false
	}
	return a.captured, a.refunded, true
}

// withRetries runs a processor call, retrying temporary failures with
// doubling pauses, at most Config.PaymentAttempts times in all.
func (s *Service) withRetries(ctx context.Context, op func(ctx context.Context) error) error {
	delay := s.cfg.PaymentRetryDelay
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		var pe *PaymentError
		if err == nil || !errors.As(err, &pe) || !pe.Temporary || attempt >= s.cfg.PaymentAttempts {
			return err
		}
		s.log.Info("retrying payment call", "attempt", attempt, "error", err)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		delay *= 2
	}
}

// paymentErr turns a processor error into the API's answer.
func paymentErr(err error) error {
	var pe *PaymentError
	if errors.As(err, &pe) && pe.Declined {
		return api.New(402, "payment_declined", fmt.Sprintf("the payment was declined (%s): %s", pe.Code, pe.Message))
	}
	return api.New(503, "payment_unavailable", "the payment processor is not answering; nothing was charged, try again shortly")
}
