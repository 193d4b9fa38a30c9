package mixintest

import (
	"net/http"
	"strconv"
	"time"
)

// ClockHeader is a response header that carries the server's clock; a set
// of them is their bitwise OR.
type ClockHeader uint8

// The clock headers.
const (
	// ClockHeaderServerTime is X-Server-Time, the server clock in nanoseconds
	// since the epoch: the official apps read it on every answer and call a
	// local clock 5 minutes off wrong (android-app di/AppModule.kt,
	// ALLOW_INTERVAL; ios-app MixinAPI.swift), so the live API sends it.
	ClockHeaderServerTime ClockHeader = 1 << iota
	// ClockHeaderDate is the HTTP Date header (RFC 9110 section 6.6.1),
	// one-second precision. No source shows what the live API sends; any
	// HTTP server with a clock is meant to.
	ClockHeaderDate
)

// WithClockHeaders sets which clock headers the server sends on every REST
// answer and on its answer to a blaze upgrade (the 101, or the 401 refusing
// it). The default is both; 0 sends neither.
func WithClockHeaders(h ClockHeader) Option {
	return serverOption(func(c *config) { c.clockHeaders = h })
}

// BlazeAuthFailure is how the server refuses a blaze connection whose token
// does not verify (a wrong key, or a clock too far off).
type BlazeAuthFailure int

// The ways to refuse a blaze connection.
const (
	// BlazeAuthFailureHTTP401 answers the upgrade request with HTTP 401 and the
	// usual error envelope. No official app acts on this form: android-app
	// websocket/ChatWebSocket.kt has an onFailure branch for a 401 response
	// that is never reached, and ios-app and flutter-app act only on the
	// ERROR frame. It stays as an option for clients that handle both.
	BlazeAuthFailureHTTP401 BlazeAuthFailure = iota
	// BlazeAuthFailureErrorFrame accepts the upgrade, then sends an ERROR frame
	// with code 401 and closes: the form all three official apps act on
	// (android-app websocket/ChatWebSocket.kt onMessage ERROR_ACTION with
	// AUTHENTICATION; ios-app WebSocketService.swift; flutter-app
	// lib/blaze/blaze.dart). The default.
	BlazeAuthFailureErrorFrame
)

// WithBlazeAuthFailure sets how a blaze connection with a bad token is
// refused; see [BlazeAuthFailure]. The default is [BlazeAuthFailureErrorFrame].
// Faults.UnauthorizedBlaze and Faults.BlazeErrorFrame refuse every
// connection, good token or not.
func WithBlazeAuthFailure(f BlazeAuthFailure) Option {
	return serverOption(func(c *config) { c.blazeAuthFailure = f })
}

// WithMaxClockSkew refuses (code 401) a token whose iat is more than d away
// from the server clock, in either direction. By default a token is refused
// when its exp has passed (5 s leeway) or its iat is more than 5 minutes
// ahead; a long-lived token from a slow clock passes. No source states the
// live server's window; the official apps treat 5 minutes off as a wrong
// clock (android-app di/AppModule.kt ALLOW_INTERVAL).
func WithMaxClockSkew(d time.Duration) Option {
	return serverOption(func(c *config) {
		if d > 0 {
			c.maxClockSkew = d
		}
	})
}

// setClockHeaders writes the configured clock headers on h. Without Date,
// net/http would add its own from the wall clock; a nil value stops it.
func (s *Server) setClockHeaders(h http.Header) {
	now := s.now()
	if s.cfg.clockHeaders&ClockHeaderServerTime != 0 {
		h.Set("X-Server-Time", strconv.FormatInt(now.UnixNano(), 10))
	}
	if s.cfg.clockHeaders&ClockHeaderDate != 0 {
		h.Set("Date", now.Format(http.TimeFormat))
	} else {
		h["Date"] = nil
	}
}
