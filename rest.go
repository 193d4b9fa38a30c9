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
)

// request describes one REST call for the choke point.
type request struct {
	method string
	path   string // path relative to the base URL, with any query
	body   any    // marshalled to JSON; []byte and json.RawMessage are sent as is
	out    any    // where "data" is decoded; nil to ignore
	retry  retryMode
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
	for attempt := 1; ; attempt++ {
		res, err := c.send(ctx, r, uri, body)
		if err == nil {
			if r.out != nil && len(res.data) > 0 && string(res.data) != "null" {
				if err := json.Unmarshal(res.data, r.out); err != nil {
					return &ResponseError{Status: res.status, RequestID: res.requestID, Reason: "data does not decode: " + err.Error()}
				}
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("mixin: %s %s: %w", r.method, r.path, ctx.Err())
		}
		var apiErr *APIError
		isAPI := errors.As(err, &apiErr)
		// A 401 caused by a skewed clock: learn the offset from Date, retry once.
		if isAPI && apiErr.Code == CodeUnauthorized && !clockFixed && c.learnClock(res.date) {
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
			slog.String("method", r.method), slog.String("path", r.path),
			slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.String("error", err.Error()))
		if err := sleepCtx(ctx, wait); err != nil {
			return fmt.Errorf("mixin: %s %s: %w", r.method, r.path, err)
		}
	}
}

// retryable decides whether err allows another attempt under mode.
func (c *Client) retryable(mode retryMode, err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		if apiErr.Code == CodeTooManyRequests || apiErr.Status == http.StatusTooManyRequests {
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

// learnClock sets the clock offset from a response Date header when the
// local clock is off by more than the header's one-second precision allows.
func (c *Client) learnClock(date string) bool {
	if date == "" {
		return false
	}
	server, err := http.ParseTime(date)
	if err != nil {
		return false
	}
	local := c.cfg.now()
	offset := server.Sub(local)
	if offset.Abs() < 3*time.Second {
		return false
	}
	c.clockOffset.Store(int64(offset))
	c.cfg.logger.LogAttrs(context.Background(), slog.LevelWarn, "mixin: local clock is off, correcting token timestamps", slog.Duration("offset", offset))
	return true
}

type response struct {
	status    int
	requestID string
	date      string
	data      json.RawMessage
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
		return response{}, fmt.Errorf("mixin: %s %s: %w", r.method, r.path, err)
	}
	raw := resp.RawBody()
	defer raw.Close()
	res := response{status: resp.StatusCode(), requestID: requestID, date: resp.Header().Get("Date")}
	data, readErr := io.ReadAll(io.LimitReader(raw, c.cfg.maxResponseBytes+1))
	c.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "mixin: request",
		slog.String("method", r.method), slog.String("path", r.path), slog.Int("status", res.status),
		slog.String("request_id", requestID), slog.Duration("elapsed", time.Since(start)))
	if readErr != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, &ResponseError{Status: res.status, RequestID: requestID, Reason: "body cut short: " + readErr.Error()}
	}
	if int64(len(data)) > c.cfg.maxResponseBytes {
		return res, &ResponseError{Status: res.status, RequestID: requestID, Reason: "body larger than " + strconv.FormatInt(c.cfg.maxResponseBytes, 10) + " bytes"}
	}
	retryAfter := parseRetryAfter(resp.Header().Get("Retry-After"))
	var env envelope
	if jerr := json.Unmarshal(data, &env); jerr != nil || (env.Data == nil && env.Error == nil) {
		if res.status >= 300 {
			// An HTTP failure without a Mixin body (proxy page, 502, 429).
			return res, &APIError{Status: res.status, Code: res.status, Description: http.StatusText(res.status), RequestID: requestID, RetryAfter: retryAfter}
		}
		reason := "not a JSON envelope"
		if jerr != nil {
			reason += " (" + describeJSONError(jerr, len(data)) + ")"
		}
		return res, &ResponseError{Status: res.status, RequestID: requestID, Reason: reason}
	}
	if env.Error != nil {
		e := &APIError{Status: res.status, Code: env.Error.Code, Description: env.Error.Description, Extra: env.Error.Extra, RequestID: requestID, RetryAfter: retryAfter}
		if e.Code == 0 {
			e.Code = res.status
		}
		return res, e
	}
	if res.status >= 300 {
		return res, &APIError{Status: res.status, Code: res.status, Description: http.StatusText(res.status), RequestID: requestID, RetryAfter: retryAfter}
	}
	if echoed := resp.Header().Get("X-Request-Id"); echoed != requestID {
		return res, &ResponseError{Status: res.status, RequestID: requestID, Reason: "X-Request-Id echoed as " + strconvQuote(echoed)}
	}
	res.data = env.Data
	return res, nil
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

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
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
