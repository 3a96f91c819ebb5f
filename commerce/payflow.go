package commerce

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/liveshop/liveshop/commerce/internal/api"
)

// One payment pipeline serves every checkout (cart, Buy now, flash sale)
// and the sweepers that finish checkouts whose request died: authorize,
// capture, and record the paid order in one write; or, when the payment is
// refused before any money moved, cancel the order so its units go back.
// Each processor call carries a key derived from the order ID, so a run
// resumed after a crash (a retry, another node, a sweeper) never holds or
// takes the money twice, and every recorded step is a compare-and-set on
// the order's and the payment's status, so two runs on one order record it
// once. What differs between checkouts is a paymentFlow.

// PaymentFlow is what one kind of checkout adds to the payment pipeline.
// Every field may be nil.
type PaymentFlow struct {
	// Prepare runs before the order's first authorization: the flash sale
	// confirms the order's reservation, so its units cannot lapse while the
	// card is charged. A *refusal cancels the order with nothing charged;
	// another error leaves the payment unsettled (a retry resumes it).
	Prepare func(ctx context.Context, o Order) error
	// Cancellation adjusts the transition that cancels the unpaid order
	// (the flash sale's units go back through the sale, not the product).
	Cancellation func(t *Transition)
	// Cancelled runs once the unpaid order is Cancelled (the flash sale
	// gives its units back to the stock engine).
	Cancelled func(ctx context.Context, o Order)
	// Paid runs once the order is Paid (the flash sale's ticker).
	Paid func(ctx context.Context, o Order)
	// Refused is the answer for an order cancelled before any money moved,
	// from its payment's status and failure code.
	Refused func(o Order) error
	// Answer is the successful Answer for the paid order (default: 201
	// with the order).
	Answer func(o Order) any
}

// Refusal is a failure before any money moved that ends the checkout: the
// order is cancelled with code as its payment's failure code, and the
// client gets answer.
type Refusal struct {
	Code   string
	Answer error
}

func (r *Refusal) Error() string { return r.Answer.Error() }

// Pay settles an order awaiting payment with method (the zero method for a
// sweeper: it finishes only a payment the processor already authorized)
// and answers as flow says. An order settled already gets its answer.
func (s *Service) Pay(ctx context.Context, o Order, method PaymentMethod, flow PaymentFlow) Outcome {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), paymentTimeout)
	defer cancel()
	log := s.log.With("order", o.ID)
	orderID := o.ID // o is reassigned below, to the zero Order on a failed transition
	unsettled := func(err error) Outcome {
		if lost, ok := s.lostRace(ctx, orderID, err, flow); ok {
			return lost
		}
		log.Warn("payment outcome not recorded; a retry with the same key resumes it", slog.Any("error", err))
		return Outcome{Err: unavailable(err), Committed: true, Unsettled: true}
	}
	fail := func(paymentStatus, code, note, ref string) Outcome {
		t := UnpaidCancellation(o, paymentStatus, code, note)
		t.PaymentRef = ref
		if flow.Cancellation != nil {
			flow.Cancellation(&t)
		}
		cancelled, err := s.TransitionOrder(ctx, o, t, "")
		if err != nil {
			return unsettled(err)
		}
		if flow.Cancelled != nil {
			flow.Cancelled(ctx, cancelled)
		}
		return s.answerFor(cancelled, flow)
	}
	if o.Status != OrderAwaitingPayment {
		return s.answerFor(o, flow)
	}
	processor, opKey := s.cfg.Payments, fmt.Sprintf("order-%d", o.ID)
	auth := Authorization{Reference: o.Payment.Reference, CardBrand: o.Payment.CardBrand, CardLast4: o.Payment.CardLast4}
	void := func() {
		if err := s.withRetries(ctx, func(ctx context.Context) error {
			return processor.Void(ctx, auth.Reference, opKey+"-void")
		}); err != nil {
			log.Error("void an authorization that will not be captured", slog.Any("error", err))
		}
	}
	pending, held := o.Payment.Status == PaymentPending, false
	if pending && method == (PaymentMethod{}) {
		// A sweeper: finish only what the processor authorized already.
		found, err := s.lostAuthorization(ctx, o)
		switch {
		case errors.Is(err, errNotAuthorized):
			return fail(PaymentFailed, "abandoned", "the checkout was interrupted and not retried", "")
		case err != nil:
			return unsettled(err)
		}
		auth, held = found, true
	}
	if pending && flow.Prepare != nil {
		err := flow.Prepare(ctx, o)
		var r *Refusal
		switch {
		case errors.As(err, &r) && held:
			void()
			return fail(PaymentVoided, r.Code, r.Answer.Error(), auth.Reference)
		case errors.As(err, &r):
			return fail("", r.Code, r.Answer.Error(), "")
		case err != nil:
			return unsettled(err)
		}
	}
	if pending && !held {
		err := s.withRetries(ctx, func(ctx context.Context) (err error) {
			auth, err = processor.Authorize(ctx, PaymentRequest{OrderID: o.ID, AmountMinor: o.TotalMinor, Currency: o.Currency,
				Method: method, IdempotencyKey: opKey + "-authorize"})
			return err
		})
		var pe *PaymentError
		switch {
		case errors.As(err, &pe) && pe.Declined:
			return fail(PaymentDeclined, pe.Code, err.Error(), "")
		case errors.As(err, &pe):
			return fail(PaymentFailed, pe.Code, err.Error(), "")
		case err != nil:
			return unsettled(err)
		}
	}
	err := s.withRetries(ctx, func(ctx context.Context) error {
		return processor.Capture(ctx, auth.Reference, o.TotalMinor, opKey+"-capture")
	})
	var pe *PaymentError
	switch {
	case errors.As(err, &pe):
		void()
		return fail(PaymentVoided, pe.Code, err.Error(), auth.Reference)
	case err != nil:
		return unsettled(err)
	}
	o, err = s.TransitionOrder(ctx, o, Transition{To: OrderPaid, PaymentStatus: PaymentCaptured, PaymentRef: auth.Reference,
		CardBrand: auth.CardBrand, CardLast4: auth.CardLast4, Event: "paid", ActorRole: actorSystem,
		Note: "authorized and captured " + FormatMoney(o.TotalMinor, o.Currency)}, OrderPaidEvent)
	if err != nil {
		return unsettled(err)
	}
	if flow.Paid != nil {
		flow.Paid(ctx, o)
	}
	return s.answerFor(o, flow)
}

// answerFor is the final answer for an order whose payment is settled.
func (s *Service) answerFor(o Order, flow PaymentFlow) Outcome {
	switch {
	case UnpaidCancelled(o) && flow.Refused != nil:
		return Outcome{Err: flow.Refused(o), Committed: true}
	case UnpaidCancelled(o):
		return Outcome{Err: paymentErr(&PaymentError{Code: o.Payment.FailureCode, Declined: o.Payment.Status == PaymentDeclined}), Committed: true}
	case o.Status == OrderAwaitingPayment:
		return Outcome{Err: ErrPaymentInProgress, Committed: true, Unsettled: true}
	case flow.Answer != nil:
		return Outcome{Status: http.StatusCreated, Value: flow.Answer(o), Committed: true}
	}
	return Outcome{Status: http.StatusCreated, Value: o, Committed: true}
}

// errNotAuthorized means the processor holds no authorization for an
// order whose checkout died before it asked for one.
var errNotAuthorized = errors.New("the processor holds no authorization for the order")

// lostAuthorization asks the processor for the authorization of an order
// whose checkout died before recording it: a sweeper then captures it, as
// its buyer was told it would be. errNotAuthorized when there is none (or
// the processor cannot be asked).
func (s *Service) lostAuthorization(ctx context.Context, o Order) (Authorization, error) {
	lookup, ok := s.cfg.Payments.(PaymentLookup)
	if !ok {
		return Authorization{}, errNotAuthorized
	}
	auth, found, err := lookup.LookupAuthorization(ctx, fmt.Sprintf("order-%d-authorize", o.ID))
	switch {
	case err != nil:
		return Authorization{}, err
	case !found:
		return Authorization{}, errNotAuthorized
	}
	return auth, nil
}

// UnpaidCancelled reports an order cancelled before any money was taken.
func UnpaidCancelled(o Order) bool {
	return o.Status == OrderCancelled && o.Payment.Status != PaymentCaptured && o.Payment.Status != PaymentRefunded
}

// ErrAlreadyPaid means the order (or the reservation it was placed for)
// was paid for already.
var ErrAlreadyPaid = api.New(409, "already_paid", "this is paid for already")
