package payments

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
)

// Test card numbers understood by TestProcessor (spaces and dashes ignored;
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

// TestProcessor is the built-in processor: it behaves like a real card
// processor (holds, captures, refunds, idempotency keys, declines, transient
// failures) without moving money. Any other number that passes the Luhn
// check is authorized too; one that fails it is declined as
// incorrect_number. It keeps its records in memory.
type TestProcessor struct {
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

var _ Provider = (*TestProcessor)(nil)

// NewTestProcessor returns an empty test processor.
func NewTestProcessor() *TestProcessor {
	return &TestProcessor{auths: map[string]*testAuth{}, byKey: map[string]Authorization{}, attempts: map[string]int{}}
}

// LookupAuthorization implements Lookup.
func (p *TestProcessor) LookupAuthorization(_ context.Context, key string) (Authorization, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.byKey[key]
	return a, ok, nil
}

// Name implements Provider.
func (p *TestProcessor) Name() string { return "test" }

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

// CardDigits strips spaces and dashes and checks what is left is 12-19 digits.
func CardDigits(number string) (string, bool) {
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
func (p *TestProcessor) temporary(key string, failures int) error {
	p.attempts[key]++
	if failures < 0 || p.attempts[key] <= failures {
		return &Error{Code: "processing_error", Message: "the processor had a temporary problem; retry", Temporary: true}
	}
	return nil
}

// Authorize implements Provider.
func (p *TestProcessor) Authorize(ctx context.Context, req Request) (Authorization, error) {
	if err := ctx.Err(); err != nil {
		return Authorization{}, err
	}
	d, ok := CardDigits(req.Method.CardNumber)
	if !ok {
		return Authorization{}, &Error{Code: "incorrect_number", Message: "the test processor takes a card_number of 12 to 19 digits", Declined: true}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.byKey[req.IdempotencyKey]; ok && req.IdempotencyKey != "" {
		return a, nil
	}
	switch d {
	case TestCardDeclined:
		return Authorization{}, &Error{Code: "card_declined", Message: "the card was declined", Declined: true}
	case TestCardInsufficientFunds:
		return Authorization{}, &Error{Code: "insufficient_funds", Message: "the card has insufficient funds", Declined: true}
	case TestCardRetry:
		if err := p.temporary("auth:"+req.IdempotencyKey, 2); err != nil {
			return Authorization{}, err
		}
	case TestCardUnavailable:
		return Authorization{}, p.temporary("auth:"+req.IdempotencyKey, -1)
	default:
		if !luhn(d) {
			return Authorization{}, &Error{Code: "incorrect_number", Message: "the card number is incorrect", Declined: true}
		}
	}
	if req.AmountMinor <= 0 {
		return Authorization{}, &Error{Code: "invalid_amount", Message: "amount must be positive", Declined: true}
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

func (p *TestProcessor) auth(reference string) (*testAuth, error) {
	a, ok := p.auths[reference]
	if !ok {
		return nil, &Error{Code: "no_such_authorization", Message: "unknown payment reference " + reference}
	}
	return a, nil
}

// Capture implements Provider.
func (p *TestProcessor) Capture(ctx context.Context, reference string, amount int64, key string) error {
	return p.step(ctx, reference, key, "capture", func(a *testAuth) error {
		if a.voided || a.captured > 0 || amount <= 0 || amount > a.amount {
			return &Error{Code: "invalid_capture", Message: "nothing to capture for this amount"}
		}
		a.captured = amount
		return nil
	})
}

// Void implements Provider.
func (p *TestProcessor) Void(ctx context.Context, reference string, key string) error {
	return p.step(ctx, reference, key, "", func(a *testAuth) error {
		if a.captured > 0 {
			return &Error{Code: "already_captured", Message: "a captured payment is refunded, not voided"}
		}
		a.voided = true
		return nil
	})
}

// Refund implements Provider.
func (p *TestProcessor) Refund(ctx context.Context, reference string, amount int64, key string) error {
	return p.step(ctx, reference, key, "refund", func(a *testAuth) error {
		if amount <= 0 || a.refunded+amount > a.captured {
			return &Error{Code: "invalid_refund", Message: "refund exceeds the captured amount"}
		}
		a.refunded += amount
		return nil
	})
}

// step applies one operation with an idempotency key to a reference's
// authorization: a key already applied succeeds again without effect, and
// on the flaky card (TestCardRetry) an operation named op fails twice with a
// temporary error before it goes through (op "" never fails so).
func (p *TestProcessor) step(ctx context.Context, reference, key, op string, apply func(*testAuth) error) error {
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
func (p *TestProcessor) Balance(reference string) (captured, refunded int64, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.auths[reference]
	if !ok {
		return 0, 0, false
	}
	return a.captured, a.refunded, true
}
