package clipping

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes of the contract.
const (
	CodeInvalidParameter     = "invalid_parameter"
	CodeAuthenticationFailed = "authentication_failed"
	CodeNotFound             = "not_found"
	CodeRequestInProgress    = "request_in_progress"
	CodePayloadTooLarge      = "payload_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeRateLimitExceeded    = "rate_limit_exceeded"
	CodeInternal             = "internal_error"
	// CodeMethodNotAllowed is clipmill's: a known path with another method.
	CodeMethodNotAllowed = "method_not_allowed"
)

// statuses is the one table from error code to HTTP status.
var statuses = map[string]int{
	CodeInvalidParameter:     http.StatusBadRequest,
	CodeAuthenticationFailed: http.StatusUnauthorized,
	CodeNotFound:             http.StatusNotFound,
	CodeRequestInProgress:    http.StatusConflict,
	CodePayloadTooLarge:      http.StatusRequestEntityTooLarge,
	CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	CodeRateLimitExceeded:    http.StatusTooManyRequests,
	CodeInternal:             http.StatusInternalServerError,
	CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
}

// HTTPStatus is the status for an error code; an unknown code is a 500.
func HTTPStatus(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is the API's error object. Param and DocURL are always written,
// as null when they do not apply.
type Error struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
	DocURL  *string `json:"doc_url"`
}

func (e *Error) Error() string {
	if e.Param != nil {
		return fmt.Sprintf("%s: %s (param %s)", e.Code, e.Message, *e.Param)
	}
	return e.Code + ": " + e.Message
}

// ErrorBody is the error envelope: {"error": {...}}.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// AsError finds an *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// InvalidParam is a 400 naming the parameter's path, e.g. "video.url".
func InvalidParam(param, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidParameter, Message: fmt.Sprintf(format, args...), Param: Ptr(param)}
}

// invalidBody is a 400 about the body as a whole, so with no param.
func invalidBody(msg string) *Error {
	return &Error{Code: CodeInvalidParameter, Message: msg}
}

// The fixed errors of the contract. They are functions, not variables, so
// no caller can change a shared value.

// ErrAuthentication is the 401 for a missing or wrong API key.
func ErrAuthentication() *Error {
	return &Error{Code: CodeAuthenticationFailed, Message: "Invalid or expired API key. Verify your x-api-key header."}
}

// ErrInProgress is the 409 for an Idempotency-Key whose first request is
// still being handled.
func ErrInProgress() *Error {
	return &Error{Code: CodeRequestInProgress, Message: "A request with this Idempotency-Key is already in progress. Retry shortly."}
}

// ErrRateLimited is the 429; the caller sets the Retry-After header.
func ErrRateLimited() *Error {
	return &Error{Code: CodeRateLimitExceeded, Message: "Too many requests. Retry after the duration specified in the Retry-After header."}
}

// ErrNotFound is the 404 for an unknown id; what names the resource,
// e.g. "AI clipping job".
func ErrNotFound(what string) *Error {
	return &Error{Code: CodeNotFound, Message: what + " not found."}
}

// ErrTooLarge is the 413 for a body over the configured limit.
func ErrTooLarge(limit int64) *Error {
	return &Error{Code: CodePayloadTooLarge, Message: fmt.Sprintf("The request body is larger than the limit of %d bytes.", limit)}
}

// ErrUnsupportedMediaType is the 415 for a body whose Content-Type is not
// accepted; allowed lists what is.
func ErrUnsupportedMediaType(got, allowed string) *Error {
	return &Error{Code: CodeUnsupportedMediaType, Message: fmt.Sprintf("Content-Type %q is not supported; send %s.", got, allowed)}
}

// ErrMethodNotAllowed is the 405 for a known path asked with another method.
func ErrMethodNotAllowed(method, allowed string) *Error {
	return &Error{Code: CodeMethodNotAllowed, Message: fmt.Sprintf("Method %s is not allowed here; use %s.", method, allowed)}
}

// ErrInternal is the 500. Its message is generic on purpose: the cause
// belongs in the server's log, never in a response.
func ErrInternal() *Error {
	return &Error{Code: CodeInternal, Message: "An internal error occurred. Retry later."}
}
