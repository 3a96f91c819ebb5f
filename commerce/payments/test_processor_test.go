package payments_test

import (
	"context"
	"errors"
	"testing"

	"github.com/liveshop/liveshop/commerce/payments"
)

// paymentCode returns the code of a processor error ("" for nil) and
// whether it was a decline.
func paymentCode(t *testing.T, err error) (string, bool) {
	t.Helper()
	if err == nil {
		return "", false
	}
	var pe *payments.Error
	if !errors.As(err, &pe) {
		t.Fatalf("not a payment error: %v", err)
	}
	return pe.Code, pe.Declined
}

func mustAuthorize(t *testing.T, p *payments.TestProcessor, card string, amount int64, key string) payments.Authorization {
	t.Helper()
	a, err := p.Authorize(context.Background(), payments.Request{AmountMinor: amount, Currency: "USD",
		Method: payments.Method{CardNumber: card}, IdempotencyKey: key})
	if err != nil {
		t.Fatalf("authorize %s: %v", card, err)
	}
	return a
}

// TestTestProcessor holds the built-in processor to the rules of a real one,
// which checkout, cancel and refund rely on.
func TestTestProcessor(t *testing.T) {
	ctx := context.Background()

	t.Run("card numbers are checked and classified", func(t *testing.T) {
		p := payments.NewTestProcessor()
		for _, tc := range []struct {
			name, card, code string
			declined         bool
		}{
			{"a number failing the Luhn check is incorrect_number", "4242424242424241", "incorrect_number", true},
			{"too short a number is incorrect_number", "42424242", "incorrect_number", true},
			{"letters are incorrect_number", "4242-4242-4242-424x", "incorrect_number", true},
			{"the declined card is card_declined", payments.TestCardDeclined, "card_declined", true},
			{"the poor card is insufficient_funds", payments.TestCardInsufficientFunds, "insufficient_funds", true},
			{"the unavailable card is a temporary processing_error", payments.TestCardUnavailable, "processing_error", false},
			{"a Visa with spaces is authorized", "4242 4242 4242 4242", "", false},
			{"another Luhn-valid number is authorized", "4111111111111111", "", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := p.Authorize(ctx, payments.Request{AmountMinor: 100, Currency: "USD",
					Method: payments.Method{CardNumber: tc.card}})
				if code, declined := paymentCode(t, err); code != tc.code || declined != tc.declined {
					t.Fatalf("got %q declined=%v, want %q declined=%v", code, declined, tc.code, tc.declined)
				}
			})
		}
		a := mustAuthorize(t, p, payments.TestCardMastercard, 100, "")
		if a.CardBrand != "mastercard" || a.CardLast4 != "4444" {
			t.Fatalf("mastercard authorization %+v", a)
		}
	})

	t.Run("an idempotency key returns the first authorization", func(t *testing.T) {
		p := payments.NewTestProcessor()
		first := mustAuthorize(t, p, payments.TestCardVisa, 500, "k")
		if again := mustAuthorize(t, p, payments.TestCardVisa, 500, "k"); again != first {
			t.Fatalf("same key: %+v then %+v", first, again)
		}
		if other := mustAuthorize(t, p, payments.TestCardVisa, 500, "k2"); other.Reference == first.Reference {
			t.Fatal("a new key reused the hold")
		}
	})

	t.Run("capture takes the amount once", func(t *testing.T) {
		p := payments.NewTestProcessor()
		a := mustAuthorize(t, p, payments.TestCardVisa, 1000, "auth")
		if code, _ := paymentCode(t, p.Capture(ctx, a.Reference, 1001, "c0")); code != "invalid_capture" {
			t.Fatalf("capture over the hold: %q", code)
		}
		if err := p.Capture(ctx, a.Reference, 1000, "c1"); err != nil {
			t.Fatal(err)
		}
		if err := p.Capture(ctx, a.Reference, 1000, "c1"); err != nil {
			t.Fatalf("repeated capture with its key: %v", err)
		}
		if code, _ := paymentCode(t, p.Capture(ctx, a.Reference, 1000, "c2")); code != "invalid_capture" {
			t.Fatalf("second capture with a new key: %q", code)
		}
		if captured, refunded, ok := p.Balance(a.Reference); !ok || captured != 1000 || refunded != 0 {
			t.Fatalf("balance %d %d %v", captured, refunded, ok)
		}
		if code, _ := paymentCode(t, p.Void(ctx, a.Reference, "v")); code != "already_captured" {
			t.Fatalf("void after capture: %q", code)
		}
		if code, _ := paymentCode(t, p.Capture(ctx, "test_auth_none", 1, "c")); code != "no_such_authorization" {
			t.Fatalf("unknown reference: %q", code)
		}
	})

	t.Run("a voided hold cannot be captured", func(t *testing.T) {
		p := payments.NewTestProcessor()
		a := mustAuthorize(t, p, payments.TestCardVisa, 1000, "auth")
		if err := p.Void(ctx, a.Reference, "v"); err != nil {
			t.Fatal(err)
		}
		if err := p.Void(ctx, a.Reference, "v"); err != nil {
			t.Fatalf("repeated void with its key: %v", err)
		}
		if code, _ := paymentCode(t, p.Capture(ctx, a.Reference, 1000, "c")); code != "invalid_capture" {
			t.Fatalf("capture after void: %q", code)
		}
		if captured, _, _ := p.Balance(a.Reference); captured != 0 {
			t.Fatalf("captured %d after void", captured)
		}
	})

	t.Run("refunds never exceed the captured amount", func(t *testing.T) {
		p := payments.NewTestProcessor()
		a := mustAuthorize(t, p, payments.TestCardVisa, 1000, "auth")
		if code, _ := paymentCode(t, p.Refund(ctx, a.Reference, 1, "r0")); code != "invalid_refund" {
			t.Fatalf("refund before capture: %q", code)
		}
		if err := p.Capture(ctx, a.Reference, 1000, "c"); err != nil {
			t.Fatal(err)
		}
		if code, _ := paymentCode(t, p.Refund(ctx, a.Reference, 1001, "r1")); code != "invalid_refund" {
			t.Fatalf("refund over the capture: %q", code)
		}
		for _, key := range []string{"r2", "r2", "r3"} {
			if err := p.Refund(ctx, a.Reference, 400, key); err != nil {
				t.Fatalf("refund %s: %v", key, err)
			}
		}
		if _, refunded, _ := p.Balance(a.Reference); refunded != 800 {
			t.Fatalf("refunded %d, want 800 (a repeated key counts once)", refunded)
		}
		if code, _ := paymentCode(t, p.Refund(ctx, a.Reference, 201, "r4")); code != "invalid_refund" {
			t.Fatalf("refund past the rest: %q", code)
		}
		if err := p.Refund(ctx, a.Reference, 200, "r5"); err != nil {
			t.Fatalf("refund of the rest: %v", err)
		}
		if code, _ := paymentCode(t, p.Refund(ctx, a.Reference, 0, "r6")); code != "invalid_refund" {
			t.Fatalf("zero refund: %q", code)
		}
	})

	t.Run("the retry card fails twice per operation, then succeeds", func(t *testing.T) {
		p := payments.NewTestProcessor()
		req := payments.Request{AmountMinor: 300, Currency: "USD", Method: payments.Method{CardNumber: payments.TestCardRetry}, IdempotencyKey: "k"}
		var a payments.Authorization
		var err error
		for i := range 3 {
			a, err = p.Authorize(ctx, req)
			if code, _ := paymentCode(t, err); i < 2 && code != "processing_error" || i == 2 && err != nil {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
		}
		for i := range 3 {
			err = p.Capture(ctx, a.Reference, 300, "c")
			if code, _ := paymentCode(t, err); i < 2 && code != "processing_error" || i == 2 && err != nil {
				t.Fatalf("capture attempt %d: %v", i+1, err)
			}
		}
		if captured, _, _ := p.Balance(a.Reference); captured != 300 {
			t.Fatalf("captured %d", captured)
		}
	})

	t.Run("a cancelled context is not a payment", func(t *testing.T) {
		p := payments.NewTestProcessor()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := p.Authorize(cctx, payments.Request{AmountMinor: 1, Method: payments.Method{CardNumber: payments.TestCardVisa}}); !errors.Is(err, context.Canceled) {
			t.Fatalf("authorize with a cancelled context: %v", err)
		}
	})
}
