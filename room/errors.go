package room

import "fmt"

// Error is a failure a client can act on. Over HTTP it carries the status and
// stable code the API reports (cmd/liveshop's error handler finds it through
// HTTPStatus and ErrorCode); over the WebSocket the same code travels in an
// "error" event, so one list of codes serves both.
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

// Is lets errors.Is match a sentinel against a copy with another message
// (as live.Error does: the three packages' errors behave alike).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Status == e.Status
}

// Sentinel errors; wrap them with fmt.Errorf("...: %w", ErrX).
var (
	// ErrNotFound means the stream, comment or product does not exist or is
	// not visible to the caller.
	ErrNotFound = &Error{404, "not_found", "not found"}
	// ErrUnauthenticated means the action needs an account and the request
	// carries none (anonymous viewers may watch but not comment or like).
	ErrUnauthenticated = &Error{401, "unauthenticated", "sign in first"}
	// ErrForbidden means the caller is known but lacks the role for this.
	ErrForbidden = &Error{403, "forbidden", "not allowed"}
	// ErrCrossOrigin refuses a socket opened by a page of another origin.
	ErrCrossOrigin = &Error{403, "cross_origin", "pages of another origin may not open this socket"}
	// ErrBanned means the caller is banned from this shop's streams.
	ErrBanned = &Error{403, "banned", "you are banned from this shop's streams"}
	// ErrMuted means the caller may not comment until the mute ends.
	ErrMuted = &Error{403, "muted", "you are muted"}
	// ErrRateLimited means the caller sends faster than allowed.
	ErrRateLimited = &Error{429, "rate_limited", "slow down"}
	// ErrSlowMode means slow mode is on and the caller commented too recently.
	ErrSlowMode = &Error{429, "slow_mode", "slow mode is on"}
	// ErrStreamEnded means the stream is over and its room takes no comments.
	ErrStreamEnded = &Error{409, "stream_ended", "the stream has ended"}
	// ErrProductNotActive means a pin named a draft or archived product.
	ErrProductNotActive = &Error{409, "product_not_active", "only an active product can be pinned; publish it first"}
	// ErrUnavailable means a dependency (Redis, the database) is down.
	ErrUnavailable = &Error{503, "unavailable", "service unavailable, try again shortly"}
	// ErrHistoryGone means the requested sequence number is older than the
	// retained history; the client needs a fresh snapshot instead.
	ErrHistoryGone = &Error{410, "history_gone", "too far behind, take a fresh snapshot"}
)

// Invalid reports a request that is well-formed but breaks a rule (422).
func Invalid(format string, args ...any) error {
	return &Error{422, "invalid", fmt.Sprintf(format, args...)}
}

// BadRequest reports a message or request that cannot be read (400).
func BadRequest(format string, args ...any) error {
	return &Error{400, "bad_request", fmt.Sprintf(format, args...)}
}

// withRetry returns a copy of e whose message tells when to try again.
func withRetry(e *Error, retrySeconds int) *Error {
	return &Error{e.Status, e.Code, fmt.Sprintf("%s, try again in %d seconds", e.Message, retrySeconds)}
}
