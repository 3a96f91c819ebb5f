// Package api is the HTTP plumbing the commerce packages share: the error
// every service returns and the one error handler in cmd/liveshop renders,
// and the helpers their handlers read requests and write answers with
// (path and query ids, JSON bodies, pages of lists).
package api

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
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

// Is lets errors.Is match a sentinel against a copy with another message
// (as live.Error does: the three packages' errors behave alike).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Status == e.Status
}

var (
	// ErrNotFound means the object does not exist or is not visible to the caller.
	ErrNotFound = &Error{404, "not_found", "not found"}
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

// Unavailable marks err as ErrUnavailable (503, retry), unless it is
// already, so the message does not repeat the prefix.
func Unavailable(err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// New returns an error with status, code and message.
func New(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// CleanText checks a short text a person typed (a name, a title): trimmed,
// present, at most maxRunes characters, no control characters.
func CleanText(field, text string, maxRunes int) (string, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return "", Invalid("%s is required", field)
	}
	if !utf8.ValidString(text) || utf8.RuneCountInString(text) > maxRunes {
		return "", Invalid("%s must be at most %d characters", field, maxRunes)
	}
	if strings.ContainsFunc(text, unicode.IsControl) {
		return "", Invalid("%s must not contain control characters", field)
	}
	return text, nil
}
