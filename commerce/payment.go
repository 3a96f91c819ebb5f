package commerce

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/api"
	"github.com/liveshop/liveshop/commerce/payments"
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

// The processor's types, as the core's checkout and orders name them.
type (
	PaymentMethod   = payments.Method
	PaymentRequest  = payments.Request
	PaymentError    = payments.Error
	PaymentProvider = payments.Provider
	Authorization   = payments.Authorization
)

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
