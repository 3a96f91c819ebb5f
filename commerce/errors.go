package commerce

import (
	"github.com/liveshop/liveshop/commerce/accounts"
	"github.com/liveshop/liveshop/commerce/internal/api"
)

// Error is a failure that a client can act on: its HTTP status, a stable
// code and a message (see api.Error, shared by the commerce packages).
type Error = api.Error

// Sentinel errors shared by the services; wrap them with fmt.Errorf("...: %w").
var (
	// ErrNotFound means the object does not exist or is not visible to the caller.
	ErrNotFound = api.ErrNotFound
	// ErrUnauthenticated means the request carries no valid session.
	ErrUnauthenticated = accounts.ErrUnauthenticated
	// ErrBadCredentials means the email or password is wrong.
	ErrBadCredentials = accounts.ErrBadCredentials
	// ErrForbidden means the caller is known but may not do this.
	ErrForbidden = api.New(403, "forbidden", "not allowed")
	// ErrCrossOrigin refuses a cookie-authenticated write or a socket from
	// a page of another origin (see OriginPolicy).
	ErrCrossOrigin = api.New(403, "cross_origin", "cross-origin request refused")
	// ErrEmailTaken means an account with that email exists already.
	ErrEmailTaken = accounts.ErrEmailTaken
	// ErrRateLimited means the caller tried too often; retry later.
	ErrRateLimited = accounts.ErrRateLimited
	// ErrUnavailable means a dependency such as the database is down.
	ErrUnavailable = api.ErrUnavailable
)

// Invalid reports a request that is well-formed but breaks a rule (422).
func Invalid(format string, args ...any) error { return api.Invalid(format, args...) }

// BadRequest reports a request that cannot be read (400).
func BadRequest(format string, args ...any) error { return api.BadRequest(format, args...) }

// Conflict reports a request that clashes with the current state (409).
func Conflict(code, format string, args ...any) error { return api.Conflict(code, format, args...) }

// unavailable marks err as ErrUnavailable (503, retry), unless it is
// already, so the message does not repeat the prefix.
func unavailable(err error) error { return api.Unavailable(err) }

// Who people are lives in commerce/accounts; the core names it so.
type (
	Account          = accounts.Account
	Session          = accounts.Session
	AccountStore     = accounts.Store
	SignUp           = accounts.SignUp
	PasswordParams   = accounts.PasswordParams
	Limiter          = accounts.Limiter
	RateLimitError   = accounts.RateLimitError
	SessionEvictions = accounts.SessionEvictions
	SessionEviction  = accounts.SessionEviction
)
