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
	// Method and Path name the call that failed (Path relative to the base
	// URL, with its query).
	Method string
	Path   string
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

// Error returns "mixin: METHOD PATH: api error CODE: DESCRIPTION (request
// ID)".
func (e *APIError) Error() string {
	s := "mixin: " + callName(e.Method, e.Path) + "api error " + strconv.Itoa(e.Code)
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

// callName is "METHOD PATH: ", or "" when the call is unknown.
func callName(method, path string) string {
	if method == "" && path == "" {
		return ""
	}
	return method + " " + path + ": "
}

// Temporary reports whether the same request may succeed later: rate limits
// and server-side failures.
func (e *APIError) Temporary() bool {
	switch e.Code {
	case CodeInternalServer, CodeBlazeServer, CodeBlazeTimeout:
		return true
	}
	return e.RateLimited() || e.Status >= 500
}

// RateLimited reports whether the API refused the call for its rate: code
// 429 in the error envelope (as the API documents it, with HTTP 202) or a
// bare HTTP 429; both mean the same.
func (e *APIError) RateLimited() bool {
	// developers.mixin.one api/guide.md: errors come with HTTP 202.
	return e.Code == CodeTooManyRequests || e.Status == http.StatusTooManyRequests
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
// short, over the size limit, answering another request id, or a success
// without the result the call returns (that one matches [ErrNoData]).
type ResponseError struct {
	// Method and Path name the call (Path relative to the base URL).
	Method    string
	Path      string
	Status    int
	RequestID string
	Reason    string

	noData bool
}

// Error returns "mixin: METHOD PATH: bad response: REASON (HTTP status,
// request ID)".
func (e *ResponseError) Error() string {
	return "mixin: " + callName(e.Method, e.Path) + "bad response: " + e.Reason + " (HTTP " + strconv.Itoa(e.Status) + ", request " + e.RequestID + ")"
}

// Is makes errors.Is(err, ErrNoData) true for a success answer that lacked
// the call's result.
func (e *ResponseError) Is(target error) bool { return target == ErrNoData && e.noData }

// ErrNoData matches the [*ResponseError] of a call that needs a result (a
// conversation, a user…) when the API answered success without one.
var ErrNoData = errors.New("mixin: the answer carries no data")

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

// IsRateLimited reports whether err is a rate limit: code 429 in the error
// envelope or a bare HTTP 429 (see [APIError.RateLimited]).
func IsRateLimited(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.RateLimited()
}

// RetryAfter returns the server's Retry-After hint carried by err, or 0.
func RetryAfter(err error) time.Duration {
	var e *APIError
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// Permanent marks err as permanent: a handler returning it is not retried,
// and the message goes straight to the dead-letter hook (see
// [WithDeadLetter]) and is acknowledged. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err cannot succeed if tried again: it was
// marked with [Permanent], it is a [*FieldError] (the client refused the
// input before sending it, and would again), or it is an [*APIError] that
// refuses the request itself (a 4xx other than 429, and business errors
// such as 10002). Server
// failures (5xx, 7000, 7001), rate limits (429), a conversation checksum to
// refresh (20140) and errors that are not API answers (network, ctx) stay
// retryable.
func IsPermanent(err error) bool {
	var p *permanentError
	if errors.As(err, &p) || errors.Is(err, ErrInvalidInput) {
		return true
	}
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	return !e.Temporary() && e.Code != CodeConversationChecksumFailed
}
