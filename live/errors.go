package live

import (
	"fmt"
	"time"
)

// Error is a failure a WHIP/WHEP client can act on. It carries the HTTP
// status and a stable machine-readable code so the one error handler in
// cmd/liveshop renders live's errors like every other package's.
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
// (as room.Error and commerce.Error do: the three packages' errors behave alike).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Status == e.Status
}

// retryAfter adds a Retry-After delay to an error, so players and encoders
// know when to try again (WHEP on a stream that is not live). The shared
// error handler finds it through RetryAfterSeconds.
type retryAfter struct {
	err   *Error
	delay time.Duration
}

func withRetryAfter(err *Error, d time.Duration) error { return &retryAfter{err: err, delay: d} }

func (r *retryAfter) Error() string { return r.err.Error() }
func (r *retryAfter) Unwrap() error { return r.err }

// RetryAfterSeconds is the delay to send in the Retry-After header.
func (r *retryAfter) RetryAfterSeconds() int { return max(1, int((r.delay+time.Second-1)/time.Second)) }

// Sentinel errors; wrap them with fmt.Errorf("...: %w", ErrX).
var (
	// ErrNotFound means the stream or the session does not exist (or is not
	// visible to the caller).
	ErrNotFound = &Error{Status: 404, Code: "not_found", Message: "not found"}
	// ErrUnauthorized means the stream key is missing or wrong.
	ErrUnauthorized = &Error{Status: 401, Code: "unauthorized", Message: "missing or wrong stream key"}
	// ErrPublisherActive means another encoder is already live on the stream.
	ErrPublisherActive = &Error{Status: 409, Code: "publisher_active", Message: "another publisher is live on this stream"}
	// ErrNotLive means the stream has no publisher right now; players retry
	// after the Retry-After delay.
	ErrNotLive = &Error{Status: 409, Code: "not_live", Message: "stream is not live"}
	// ErrUnsupportedMediaType means the body is not application/sdp (POST)
	// or application/trickle-ice-sdpfrag (PATCH).
	ErrUnsupportedMediaType = &Error{Status: 415, Code: "unsupported_media_type", Message: "unsupported content type"}
	// ErrBodyTooLarge means the SDP body exceeds Config.MaxSDPBytes.
	ErrBodyTooLarge = &Error{Status: 413, Code: "body_too_large", Message: "request body too large"}
	// ErrNoUsableCodec means the offer has no media this server can forward
	// (Opus audio, VP8 or H.264 video).
	ErrNoUsableCodec = &Error{Status: 422, Code: "no_usable_codec", Message: "offer has no usable codec (Opus, VP8 or H.264)"}
	// ErrPreconditionFailed means If-Match names an older ICE session.
	ErrPreconditionFailed = &Error{Status: 412, Code: "precondition_failed", Message: "If-Match does not match the session's ETag"}
	// ErrPreconditionRequired means an ICE restart came without If-Match.
	ErrPreconditionRequired = &Error{Status: 428, Code: "precondition_required", Message: "ICE restart requires If-Match"}
	// ErrUnavailable means the node is shutting down, full, or cannot reach
	// the stream's origin node.
	ErrUnavailable = &Error{Status: 503, Code: "unavailable", Message: "video service unavailable, try again shortly"}
	// ErrRateLimited means a client posted more WHEP offers than
	// Config.WHEPRate allows per window; Retry-After says when the next fits.
	ErrRateLimited = &Error{Status: 429, Code: "rate_limited", Message: "too many viewing requests from your address; try again shortly"}
	// ErrTooManySessions means a client address holds Config.MaxViewersPerIP
	// viewing sessions on this node already.
	ErrTooManySessions = &Error{Status: 429, Code: "too_many_sessions", Message: "too many viewing sessions from your address"}
	// ErrAtCapacity means the stream (Config.MaxViewersPerStream) or the node
	// (Config.MaxViewers) has all the viewers it takes; players retry after
	// Retry-After, perhaps on another node.
	ErrAtCapacity = &Error{Status: 503, Code: "at_capacity", Message: "no room for another viewer right now"}
	// ErrOriginTaken is returned by OriginRegistry.Claim when another node
	// is the stream's origin.
	ErrOriginTaken = &Error{Status: 409, Code: "publisher_active", Message: "stream is live on another node"}
)

// BadRequest reports a request that cannot be read, such as a garbled SDP
// offer or trickle fragment (400).
func BadRequest(format string, args ...any) error {
	return &Error{Status: 400, Code: "bad_request", Message: fmt.Sprintf(format, args...)}
}

// Invalid reports a well-formed request that breaks a rule, such as an offer
// without media this server can use (422).
func Invalid(code, format string, args ...any) error {
	return &Error{Status: 422, Code: code, Message: fmt.Sprintf(format, args...)}
}
