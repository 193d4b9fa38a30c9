package mixin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// retryMode says when a request may be sent again.
type retryMode int

const (
	// retrySafe: a read, or a write that carries a client-chosen id, so a
	// repeat cannot create a second object.
	retrySafe retryMode = iota
	// retryRejected: only when the server provably did not act (429, or a
	// 401 fixed by correcting the clock).
	retryRejected
	// retryNever: not even after a 429. GET /search is documented as "if a
	// 429 error occurs, wait 12 hours and try again" (developers.mixin.one
	// api/users/search.md): an automatic retry only prolongs the ban.
	retryNever
)

// request describes one REST call for the choke point.
type request struct {
	method string
	path   string // path relative to the base URL, with any query
	body   any    // marshalled to JSON; []byte and json.RawMessage are sent as is
	out    any    // where "data" is decoded; nil when the call needs no result
	// optional: out is filled when the answer carries data, and an answer
	// without data is still a success (the caller makes up the result).
	optional bool
	retry    retryMode
	// shown, when set, stands for path in errors and logs: a path that
	// carries personal data (a searched phone number) is not repeated.
	shown string
}

// label is the path as errors and logs show it.
func (r request) label() string {
	if r.shown != "" {
		return r.shown
	}
	return r.path
}

// envelope is the API's response wrapper.
type envelope struct {
	Data  json.RawMessage `json:"data"`
	Error *errorBody      `json:"error"`
}

type errorBody struct {
	Status      int             `json:"status"`
	Code        int             `json:"code"`
	Description string          `json:"description"`
	Extra       json.RawMessage `json:"extra"`
	RequestID   string          `json:"request_id"`
}

// do is the one place a REST request is built, signed, sent, retried and
// decoded.
func (c *Client) do(ctx context.Context, r request) error {
	body, err := marshalBody(r.body)
	if err != nil {
		return err
	}
	uri := c.basePath + r.path
	policy := c.cfg.retry
	clockFixed := false
	sent := 0
	for attempt := 1; ; attempt++ {
		sent++
		res, err := c.sendTraced(ctx, r, uri, body, sent)
		if err == nil {
			return r.decode(res)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("mixin: %s %s: %w", r.method, r.label(), ctx.Err())
		}
		var apiErr *APIError
		isAPI := errors.As(err, &apiErr)
		// A 401 caused by a skewed clock: learn the offset from the server's
		// clock headers, retry once.
		if isAPI && apiErr.Code == CodeUnauthorized && !clockFixed && c.learnClock(res.header) {
			clockFixed = true
			attempt--
			continue
		}
		if attempt >= policy.Attempts || !c.retryable(r.retry, err) {
			return err
		}
		wait := policy.wait(attempt)
		if isAPI && apiErr.RetryAfter > 0 {
			if apiErr.RetryAfter > c.cfg.maxRetryAfter {
				return err
			}
			wait = max(wait, apiErr.RetryAfter)
		}
		c.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "mixin: retrying request",
			slog.String("method", r.method), slog.String("path", r.label()),
			slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.String("error", err.Error()))
		if err := sleepCtx(ctx, wait); err != nil {
			return fmt.Errorf("mixin: %s %s: %w", r.method, r.label(), err)
		}
	}
}

// retryable decides whether err allows another attempt under mode.
func (c *Client) retryable(mode retryMode, err error) bool {
	if mode == retryNever {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		if apiErr.RateLimited() {
			return true // rejected before any work was done
		}
		return mode == retrySafe && apiErr.Temporary()
	}
	var respErr *ResponseError
	if errors.As(err, &respErr) {
		// A cut-short or garbled body: the server may have acted; only safe calls repeat.
		return mode == retrySafe && respErr.Status >= 500
	}
	// Transport error: the request may or may not have reached the server.
	return mode == retrySafe
}

type response struct {
	status    int
	requestID string
	header    http.Header
	data      json.RawMessage // nil when the answer carries no data
}

// decode fills r.out from a successful answer. A call that needs a result
// and got none fails with a [*ResponseError] matching [ErrNoData].
func (r request) decode(res response) error {
	if r.out == nil {
		return nil
	}
	if res.data == nil {
		if r.optional {
			return nil
		}
		return &ResponseError{Method: r.method, Path: r.label(), Status: res.status, RequestID: res.requestID,
			Reason: "the answer carries no data", noData: true}
	}
	if err := json.Unmarshal(res.data, r.out); err != nil {
		return &ResponseError{Method: r.method, Path: r.label(), Status: res.status, RequestID: res.requestID,
			Reason: "data does not decode: " + err.Error()}
	}
	return nil
}

// send performs one attempt.
func (c *Client) send(ctx context.Context, r request, uri string, body []byte) (response, error) {
	requestID := uuid.NewString()
	auth, err := c.ks.authorization(r.method, uri, body, requestID, c.now(), c.cfg.tokenLifetime)
	if err != nil {
		return response{}, err
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.timeout)
	defer cancel()
	req := c.rest.R().
		SetContext(actx).
		SetDoNotParseResponse(true).
		SetHeader("Authorization", auth).
		SetHeader("X-Request-Id", requestID).
		SetHeader("Accept", "application/json")
	if body != nil {
		req.SetHeader("Content-Type", "application/json").SetBody(body)
	}
	start := time.Now()
	resp, err := req.Execute(r.method, c.cfg.baseURL+r.path)
	if err != nil {
		if ctx.Err() != nil {
			return response{}, ctx.Err()
		}
		var ue *url.Error
		if r.shown != "" && errors.As(err, &ue) {
			ue.URL = c.cfg.baseURL + r.shown
		}
		return response{}, fmt.Errorf("mixin: %s %s: %w", r.method, r.label(), err)
	}
	raw := resp.RawBody()
	defer raw.Close()
	res := response{status: resp.StatusCode(), requestID: requestID, header: resp.Header()}
	data, readErr := io.ReadAll(io.LimitReader(raw, c.cfg.maxResponseBytes+1))
	c.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "mixin: request",
		slog.String("method", r.method), slog.String("path", r.label()), slog.Int("status", res.status),
		slog.String("request_id", requestID), slog.Duration("elapsed", time.Since(start)))
	if readErr != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, r.responseError(res, "body cut short: "+readErr.Error())
	}
	if int64(len(data)) > c.cfg.maxResponseBytes {
		return res, r.responseError(res, "body larger than "+strconv.FormatInt(c.cfg.maxResponseBytes, 10)+" bytes")
	}
	return c.readEnvelope(r, res, data)
}

// readEnvelope classifies one answer. The API wraps results as
// {"data": …} and errors as {"error": {…}} (usually with HTTP 202), and
// documents {} as the answer of calls with no result: "It returns empty
// JSON on success" for a batch POST /messages (developers.mixin.one
// api/messages/send.md), { } for POST /acknowledgements (the older docs).
// So a 2xx answer that is empty, {} or "data": null is a success without
// data; [request.decode] decides whether the call can live with that.
func (c *Client) readEnvelope(r request, res response, data []byte) (response, error) {
	retryAfter := parseRetryAfter(res.header.Get("Retry-After"), c.now())
	data = bytes.TrimSpace(data)
	var env envelope
	var jerr error
	if len(data) > 0 {
		jerr = json.Unmarshal(data, &env)
	}
	if env.Error != nil && env.Error.Code == 0 && env.Error.Description == "" {
		env.Error = nil // "error": {} or null carries nothing
	}
	switch {
	case env.Error != nil && jerr == nil:
		e := r.apiError(res, env.Error.Code, env.Error.Description, retryAfter)
		e.Extra = env.Error.Extra
		return res, e
	case res.status >= 300:
		// An HTTP failure without a Mixin body (proxy page, 502, 429).
		return res, r.apiError(res, res.status, http.StatusText(res.status), retryAfter)
	case jerr != nil:
		return res, r.responseError(res, "not a JSON envelope ("+describeJSONError(jerr, len(data))+")")
	}
	// android-app AppModule.kt compares the echoed X-Request-Id only when
	// the body is not empty; an empty answer may come without it.
	if echoed := res.header.Get("X-Request-Id"); echoed != res.requestID && (echoed != "" || len(data) > 0) {
		return res, r.responseError(res, "X-Request-Id echoed as "+strconvQuote(echoed))
	}
	if len(env.Data) > 0 && string(env.Data) != "null" {
		res.data = env.Data
	}
	return res, nil
}

func (r request) apiError(res response, code int, desc string, retryAfter time.Duration) *APIError {
	if code == 0 {
		code = res.status
	}
	return &APIError{Method: r.method, Path: r.label(), Status: res.status, Code: code, Description: desc,
		RequestID: res.requestID, RetryAfter: retryAfter}
}

func (r request) responseError(res response, reason string) *ResponseError {
	return &ResponseError{Method: r.method, Path: r.label(), Status: res.status, RequestID: res.requestID, Reason: reason}
}

func marshalBody(v any) ([]byte, error) {
	switch b := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		return b, nil
	case json.RawMessage:
		return b, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("mixin: encode request: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an
// HTTP-date (RFC 9110 section 10.2.3), the date measured against now.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 && secs < 1e9 {
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// describeJSONError says what is wrong with n bytes of JSON without
// quoting them.
func describeJSONError(err error, n int) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		if se.Offset >= int64(n) {
			return "truncated after " + strconv.Itoa(n) + " bytes"
		}
		return "syntax error at byte " + strconv.FormatInt(se.Offset, 10)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "truncated"
	}
	return "unexpected shape"
}
