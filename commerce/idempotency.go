package commerce

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/api"
)

// Idempotency keys make money-moving writes (checkout, cancel, refund) safe
// to retry. A key belongs to one account. The first request with a key
// claims it and, when it finishes, stores its answer; a retry with the same
// key and the same request gets that answer again (even if it was an
// error such as a declined card), the same key with another request gets
// 422, and a retry while the first request still runs gets 409. A request
// that wrote nothing (it failed validation, the stock was short) gives its
// key back, so the client may fix the problem and retry with the same key.
// If the process dies mid-request, the key stays claimed until its lease
// runs out; the next retry then takes it over and finishes the work (a
// checkout resumes the payment of the order it had created).

// IdempotencyRecord is a claimed key.
type IdempotencyRecord struct {
	AccountID int64
	Key       string
	// Scope names the operation ("checkout", "order-cancel:42").
	Scope       string
	RequestHash []byte
	// Done is set once the answer is stored in Status and Body.
	Done   bool
	Status int
	Body   []byte
	// ResourceID is the object the request created (an order), set in the
	// same transaction that created it.
	ResourceID  int64
	LockedUntil time.Time
	CreatedAt   time.Time
}

// IdempotencyStore keeps idempotency keys.
type IdempotencyStore interface {
	// ClaimIdempotencyKey inserts rec and returns it with true, or returns
	// the record already stored under the account and key with false.
	ClaimIdempotencyKey(ctx context.Context, rec IdempotencyRecord) (IdempotencyRecord, bool, error)
	// TakeOverIdempotencyKey moves the lease of an unfinished record from
	// expired (its current LockedUntil) to until; false if another request
	// took it first.
	TakeOverIdempotencyKey(ctx context.Context, accountID int64, key string, expired, until time.Time) (bool, error)
	// FinishIdempotencyKey stores the answer.
	FinishIdempotencyKey(ctx context.Context, accountID int64, key string, status int, body []byte) error
	// ReleaseIdempotencyKey deletes an unfinished record that recorded no
	// resource; one that did (its work was committed after all) has its
	// lease ended at at instead, so a retry resumes it.
	ReleaseIdempotencyKey(ctx context.Context, accountID int64, key string, at time.Time) error
	// UnlockIdempotencyKey ends the lease of an unfinished record now, so a
	// retry may take it over at once.
	UnlockIdempotencyKey(ctx context.Context, accountID int64, key string, at time.Time) error
	// AbandonedIdempotencyKeys returns unfinished records of scope that
	// created something (ResourceID set) and whose lease ended before
	// lockedBefore: requests that died and were not retried.
	AbandonedIdempotencyKeys(ctx context.Context, scope string, lockedBefore time.Time, limit int) ([]IdempotencyRecord, error)
	// PurgeIdempotencyKeys deletes up to limit finished records created
	// before createdBefore and returns how many it deleted.
	PurgeIdempotencyKeys(ctx context.Context, createdBefore time.Time, limit int) (int, error)
}

// Errors about idempotency keys.
var (
	// ErrIdempotencyKeyRequired means the write needs an Idempotency-Key header.
	ErrIdempotencyKeyRequired = api.New(400, "idempotency_key_required", "send an Idempotency-Key header (a unique value per intended operation, e.g. a UUID)")
	// ErrIdempotencyKeyReused means the key was used for another request.
	ErrIdempotencyKeyReused = api.New(422, "idempotency_key_reused", "this Idempotency-Key was used with a different request")
	// ErrIdempotencyInFlight means a request with the key is still running.
	ErrIdempotencyInFlight = api.New(409, "idempotency_in_flight", "a request with this Idempotency-Key is still being processed; retry shortly")
)

const maxIdempotencyKeyLen = 255

func CheckIdempotencyKey(key string) error {
	if key == "" {
		return ErrIdempotencyKeyRequired
	}
	if len(key) > maxIdempotencyKeyLen || strings.ContainsFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return BadRequest("Idempotency-Key must be 1 to %d printable ASCII characters", maxIdempotencyKeyLen)
	}
	return nil
}

// idempotentWorkTimeout bounds an idempotent request's work apart from the
// payment calls, which have their own bound (paymentTimeout).
const idempotentWorkTimeout = 30 * time.Second

// Outcome is what an idempotent operation reports back.
type Outcome struct {
	Status int
	Value  any
	Err    error
	// Committed says the operation changed state: its error is then the
	// key's final answer, unless unsettled.
	Committed bool
	// Unsettled says the outcome is not known yet (a processor call timed
	// out, the database went away); the key stays claimed and a retry after
	// the lease resumes the work.
	Unsettled bool
}

// Replay is a stored answer, returned again.
type Replay struct {
	Status int
	Body   []byte
}

// storedError is the body stored for an error answer, in the API's shape.
type storedError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func errorStatus(err error) (int, string, string) {
	var e *Error
	if errors.As(err, &e) {
		return e.Status, e.Code, e.Message
	}
	return http.StatusInternalServerError, "internal", "internal error; it has been logged"
}

// Idempotent runs op once per (account, key). request is hashed (its JSON)
// together with scope to recognise a retry of the same request. It returns
// either op's fresh result or, for a retry, the stored answer.
func (s *Service) Idempotent(ctx context.Context, accountID int64, key, scope string, request any,
	op func(ctx context.Context, resume *IdempotencyRecord) Outcome) (Outcome, *Replay, error) {
	if err := CheckIdempotencyKey(key); err != nil {
		return Outcome{}, nil, err
	}
	body, err := json.Marshal(request)
	if err != nil {
		return Outcome{}, nil, err
	}
	// From here the work runs to its end even if the client hangs up: a cut
	// connection must not leave a money-moving request half done (an order
	// written but its key given back, or a key claimed by a request that
	// gave up). The client's retry with the same key gets the answer.
	client := ctx
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), idempotentWorkTimeout)
	defer cancel()
	h := sha256.New()
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write(body)
	now := s.now().UTC().Truncate(time.Microsecond)
	rec := IdempotencyRecord{AccountID: accountID, Key: key, Scope: scope, RequestHash: h.Sum(nil),
		LockedUntil: now.Add(s.cfg.IdempotencyLease), CreatedAt: now}
	stored, claimed, err := s.store.ClaimIdempotencyKey(ctx, rec)
	if err != nil {
		return Outcome{}, nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	var resume *IdempotencyRecord
	if !claimed {
		switch {
		case !bytes.Equal(stored.RequestHash, rec.RequestHash):
			return Outcome{}, nil, ErrIdempotencyKeyReused
		case stored.Done:
			return Outcome{}, &Replay{Status: stored.Status, Body: stored.Body}, nil
		case now.Before(stored.LockedUntil):
			return Outcome{}, nil, inFlight(stored.LockedUntil.Sub(now))
		}
		ok, err := s.store.TakeOverIdempotencyKey(ctx, accountID, key, stored.LockedUntil, rec.LockedUntil)
		if err != nil {
			return Outcome{}, nil, fmt.Errorf("take over idempotency key: %w", err)
		}
		if !ok {
			return Outcome{}, nil, inFlight(s.cfg.IdempotencyLease)
		}
		resume = &stored
	}

	stopRenewing := s.renewLease(ctx, accountID, key, rec.LockedUntil)
	res := op(ctx, resume)
	stopRenewing()
	if err := s.FinishIdempotent(ctx, accountID, key, &res); err != nil {
		return Outcome{}, nil, err
	}
	if client.Err() != nil {
		s.log.Info("the client hung up during an idempotent request; its work finished and a retry with the key gets the answer",
			"scope", scope, "account", accountID, "status", res.Status, "error", res.Err)
	}
	return res, nil, nil
}

// renewLease extends the lease of a running request's key every third of
// Config.IdempotencyLease, so a short lease suffices for long work: while
// the node lives, retries get 409 and wait; when it dies, the lease lapses
// within one lease and a retry (or the sweeper) takes the work over. It
// returns the function that stops the renewals.
func (s *Service) renewLease(ctx context.Context, accountID int64, key string, held time.Time) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(s.cfg.IdempotencyLease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			until := s.now().UTC().Truncate(time.Microsecond).Add(s.cfg.IdempotencyLease)
			ok, err := s.store.TakeOverIdempotencyKey(ctx, accountID, key, held, until)
			switch {
			case err != nil:
				s.log.Warn("renew idempotency lease", "key", key, "error", err)
			case !ok:
				return // finished, or taken over after a lapse: no longer ours
			default:
				held = until
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// inFlight is ErrIdempotencyInFlight with a Retry-After of the lease left.
func inFlight(left time.Duration) error {
	return retryAfter{ErrIdempotencyInFlight, max(1, int((left+time.Second-1)/time.Second))}
}

// retryAfter is an API error with the seconds after which a retry may work.
type retryAfter struct {
	err     *Error
	seconds int
}

func (e retryAfter) Error() string { return e.err.Message }

// HTTPStatus, ErrorCode and Unwrap are the wrapped error's.
func (e retryAfter) HTTPStatus() int   { return e.err.Status }
func (e retryAfter) ErrorCode() string { return e.err.Code }
func (e retryAfter) Unwrap() error     { return e.err }

// RetryAfterSeconds is what the API answers in the Retry-After header.
func (e retryAfter) RetryAfterSeconds() int { return e.seconds }

// FinishIdempotent records an operation's outcome under its key: the answer
// when it is final, an open lease when it is unsettled, nothing (the key is
// released) when the operation wrote nothing. It does so even if the client
// has gone away meanwhile.
func (s *Service) FinishIdempotent(ctx context.Context, accountID int64, key string, res *Outcome) error {
	ctx = context.WithoutCancel(ctx)
	switch {
	case res.Err == nil:
		b, err := json.Marshal(res.Value)
		if err != nil {
			return err
		}
		if err := s.store.FinishIdempotencyKey(ctx, accountID, key, res.Status, b); err != nil {
			s.log.Error("store idempotent answer", "key", key, "error", err)
		}
	case res.Unsettled:
		if err := s.store.UnlockIdempotencyKey(ctx, accountID, key, s.now()); err != nil {
			s.log.Error("unlock idempotency key", "key", key, "error", err)
		}
	case res.Committed:
		var se storedError
		res.Status, se.Error.Code, se.Error.Message = errorStatus(res.Err)
		b, _ := json.Marshal(se)
		if err := s.store.FinishIdempotencyKey(ctx, accountID, key, res.Status, b); err != nil {
			s.log.Error("store idempotent answer", "key", key, "error", err)
		}
	default:
		if err := s.store.ReleaseIdempotencyKey(ctx, accountID, key, s.now()); err != nil {
			s.log.Error("release idempotency key", "key", key, "error", err)
		}
	}
	return nil
}

// DecodeReplay turns a stored answer back into a value or an error.
func DecodeReplay(r *Replay, v any) error {
	if r.Status >= 400 {
		var se storedError
		if err := json.Unmarshal(r.Body, &se); err != nil {
			return fmt.Errorf("stored answer: %w", err)
		}
		return api.New(r.Status, se.Error.Code, se.Error.Message)
	}
	return json.Unmarshal(r.Body, v)
}
