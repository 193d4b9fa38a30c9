package mixin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Error codes the Mixin API answers with (see the API's error-code table).
const (
	CodeBadRequest                 = 400
	CodeUnauthorized               = 401
	CodeForbidden                  = 403
	CodeNotFound                   = 404
	CodeTooManyRequests            = 429
	CodeInternalServer             = 500
	CodeBlazeServer                = 7000
	CodeBlazeTimeout               = 7001
	CodeInvalidField               = 10002
	CodeAppUpdateRequired          = 10006
	CodeGroupChatFull              = 20116
	CodeConversationChecksumFailed = 20140
)

// APIError is an error the Mixin API (or the HTTP layer in front of it)
// answered with. Business errors arrive with HTTP 202 and a code in the body;
// Status is the HTTP status actually received.
type APIError struct {
	// Status is the HTTP status of the response.
	Status int
	// Code is the Mixin error code (e.g. 403, 10002); for an HTTP failure
	// without a Mixin error body it is the HTTP status.
	Code int
	// Description is the server's text.
	Description string
	// Extra holds the optional details object (e.g. which field was invalid).
	Extra json.RawMessage
	// RequestID is the X-Request-Id of the failed request.
	RequestID string
	// RetryAfter is the server's Retry-After hint, if any.
	RetryAfter time.Duration
}

// Error returns "mixin: api error CODE: DESCRIPTION (request ID)".
func (e *APIError) Error() string {
	s := "mixin: api error " + strconv.Itoa(e.Code)
	if e.Description != "" {
		s += ": " + e.Description
	}
	if len(e.Extra) > 0 && len(e.Extra) < 512 && string(e.Extra) != "null" && string(e.Extra) != "{}" {
		s += " " + string(e.Extra)
	}
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// Temporary reports whether the same request may succeed later: rate limits
// and server-side failures.
func (e *APIError) Temporary() bool {
	switch e.Code {
	case CodeTooManyRequests, CodeInternalServer, CodeBlazeServer, CodeBlazeTimeout:
		return true
	}
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

// FieldError reports input the SDK refused before sending anything: which
// field and why. It matches [ErrInvalidInput] with errors.Is.
type FieldError struct {
	Field  string
	Reason string
}

// Error returns "mixin: invalid FIELD: REASON".
func (e *FieldError) Error() string { return "mixin: invalid " + e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalidInput) true for every FieldError.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidInput }

// ErrInvalidInput matches every [*FieldError].
var ErrInvalidInput = errors.New("mixin: invalid input")

// ResponseError reports a response the SDK could not accept: not JSON, cut
// short, over the size limit, or answering another request id.
type ResponseError struct {
	Status    int
	RequestID string
	Reason    string
}

// Error returns "mixin: bad response: REASON (HTTP status, request ID)".
func (e *ResponseError) Error() string {
	return "mixin: bad response: " + e.Reason + " (HTTP " + strconv.Itoa(e.Status) + ", request " + e.RequestID + ")"
}

func apiCode(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// IsUnauthorized reports whether err is a 401 from the API: a bad or
// revoked session, or a clock too far off.
func IsUnauthorized(err error) bool { return apiCode(err) == CodeUnauthorized }

// IsForbidden reports whether err is a 403: e.g. the conversation was never
// created, the user blocks strangers, or the bot lacks the role.
func IsForbidden(err error) bool { return apiCode(err) == CodeForbidden }

// IsNotFound reports whether err is a 404.
func IsNotFound(err error) bool { return apiCode(err) == CodeNotFound }

// IsRateLimited reports whether err is a 429.
func IsRateLimited(err error) bool { return apiCode(err) == CodeTooManyRequests }

// RetryAfter returns the server's Retry-After hint carried by err, or 0.
func RetryAfter(err error) time.Duration {
	var e *APIError
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
