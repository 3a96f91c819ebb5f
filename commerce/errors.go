package commerce

import (
	"errors"
	"fmt"
)

// Error is a failure that a client can act on. It carries the HTTP status and
// the stable machine-readable code that the API reports, so the one error
// handler in cmd/liveshop renders every package's errors the same way.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// HTTPStatus is the status the API answers with.
func (e *Error) HTTPStatus() int { return e.Status }

// ErrorCode is the stable code clients switch on.
func (e *Error) ErrorCode() string { return e.Code }

// Sentinel errors shared by the services; wrap them with fmt.Errorf("...: %w").
var (
	// ErrNotFound means the object does not exist or is not visible to the caller.
	ErrNotFound = &Error{404, "not_found", "not found"}
	// ErrUnauthenticated means the request carries no valid session.
	ErrUnauthenticated = &Error{401, "unauthenticated", "sign in first"}
	// ErrBadCredentials means the email or password is wrong.
	ErrBadCredentials = &Error{401, "bad_credentials", "wrong email or password"}
	// ErrForbidden means the caller is known but may not do this.
	ErrForbidden = &Error{403, "forbidden", "not allowed"}
	// ErrCrossOrigin refuses a cookie-authenticated write or a socket from
	// a page of another origin (see OriginPolicy).
	ErrCrossOrigin = &Error{403, "cross_origin", "cross-origin request refused"}
	// ErrEmailTaken means an account with that email exists already.
	ErrEmailTaken = &Error{409, "email_taken", "an account with this email exists"}
	// ErrRateLimited means the caller tried too often; retry later.
	ErrRateLimited = &Error{429, "rate_limited", "too many attempts, try again later"}
	// ErrUnavailable means a dependency such as the database is down.
	ErrUnavailable = &Error{503, "unavailable", "service unavailable, try again shortly"}
)

// Invalid reports a request that is well-formed but breaks a rule (422).
func Invalid(format string, args ...any) error {
	return &Error{422, "invalid", fmt.Sprintf(format, args...)}
}

// BadRequest reports a request that cannot be read (400).
func BadRequest(format string, args ...any) error {
	return &Error{400, "bad_request", fmt.Sprintf(format, args...)}
}

// Conflict reports a request that clashes with the current state (409).
func Conflict(code, format string, args ...any) error {
	return &Error{409, code, fmt.Sprintf(format, args...)}
}

// unavailable marks err as ErrUnavailable (503, retry), unless it is
// already, so the message does not repeat the prefix.
func unavailable(err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}
