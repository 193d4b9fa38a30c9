package mixin

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// The server's clock, as its answers tell it. Every request token carries
// iat and exp from the local clock; a clock far enough off makes the API
// answer 401. The official apps compare X-Server-Time (nanoseconds since
// the epoch) with the local clock and treat 5 minutes apart as a wrong
// clock: android-app di/AppModule.kt (ALLOW_INTERVAL), ios-app
// MixinAPI.swift. Date (one-second precision) is the fallback.

// Headers the server's clock is read from.
const (
	headerServerTime = "X-Server-Time"
	headerDate       = "Date"
)

// serverTime returns the server's clock from the headers of one answer and
// how precise the reading is: X-Server-Time when present and well formed,
// else Date.
func serverTime(h http.Header) (t time.Time, precision time.Duration, ok bool) {
	if v := h.Get(headerServerTime); v != "" {
		if ns, err := strconv.ParseInt(v, 10, 64); err == nil && ns > 0 {
			return time.Unix(0, ns), time.Second, true
		}
	}
	if v := h.Get(headerDate); v != "" {
		if d, err := http.ParseTime(v); err == nil {
			return d, 3 * time.Second, true
		}
	}
	return time.Time{}, 0, false
}

// learnClock reads the server's clock from the headers of an answer (a 401
// from REST or at the blaze upgrade) and, when it differs from the
// corrected local clock by more than the reading's precision, sets the
// offset added to the local clock when signing. It reports whether the
// offset changed, i.e. whether one more try with a fresh token may succeed.
func (c *Client) learnClock(h http.Header) bool {
	server, precision, ok := serverTime(h)
	if !ok {
		return false
	}
	offset := server.Sub(c.cfg.now())
	if (offset - time.Duration(c.clockOffset.Load())).Abs() < precision {
		return false
	}
	c.clockOffset.Store(int64(offset))
	c.cfg.logger.LogAttrs(context.Background(), slog.LevelWarn, "mixin: local clock is off, correcting token timestamps",
		slog.Duration("offset", offset))
	return true
}
