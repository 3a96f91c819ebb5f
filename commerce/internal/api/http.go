package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
)

// Reply ends a handler with a service call's result: it writes v as JSON
// with status, or returns err for the error handler. A (T, error) call fits
// it directly: return api.Reply(c, http.StatusOK)(h.svc.Shop(ctx, id)).
func Reply(c echo.Context, status int) func(v any, err error) error {
	return func(v any, err error) error {
		if err != nil {
			return err
		}
		return c.JSON(status, v)
	}
}

// BindJSON decodes a JSON request body into v, reporting a clear 400 for
// anything that is not one well-formed JSON value of the right shape.
func BindJSON(c echo.Context, v any) error {
	r := c.Request()
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &Error{415, "unsupported_media_type", "send the body as application/json"}
		}
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return BadRequest("body must hold a single JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &Error{413, "payload_too_large", "request body is too large"}
	case errors.Is(err, io.EOF):
		return BadRequest("request body is empty")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("request body is not valid JSON")
	case errors.As(err, &typeErr):
		return BadRequest("field %q must be a %s", typeErr.Field, typeErr.Type.String())
	default:
		return BadRequest("cannot read request body: %v", err)
	}
}

// QueryID reads an optional positive integer query parameter (0 when absent).
func QueryID(c echo.Context, name string) (int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, BadRequest("%s must be a positive whole number", name)
	}
	return id, nil
}

// PathID reads a positive integer path parameter; anything else is
// ErrNotFound, as for an id that does not exist.
func PathID(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, ErrNotFound
	}
	return id, nil
}
