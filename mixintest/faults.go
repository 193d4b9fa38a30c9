package mixintest

import (
	"context"
	mrand "math/rand"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gomixin/mixin"
)

// Faults configures injected failures. The zero value injects nothing.
type Faults struct {
	// Seed seeds the deterministic random source that decides which
	// requests fail and how much jitter is added.
	Seed int64
	// ErrorRate is the fraction of matching REST requests answered HTTP 500
	// with error code 500.
	ErrorRate float64
	// ErrorPaths restricts ErrorRate to these paths (without the prefix);
	// empty means every path.
	ErrorPaths []string
	// RateLimitRate is the fraction of REST requests answered with error
	// code 429 and, when RetryAfter is set, a Retry-After header (seconds,
	// rounded up). The answer is HTTP 202 with the error envelope, as the
	// docs document every error (developers.mixin.one api/guide.md); see
	// RateLimitHTTP for the other form.
	RateLimitRate float64
	// RateLimitHTTP makes rate-limited answers HTTP 429 (same envelope), as a
	// proxy in front of the API may answer. No source shows the live API
	// doing it; clients should treat both forms alike.
	RateLimitHTTP bool
	// RetryAfter is the Retry-After advertised on rate-limited answers; 0
	// sends none.
	RetryAfter time.Duration
	// Latency is added to every REST response, plus up to LatencyJitter.
	Latency       time.Duration
	LatencyJitter time.Duration
	// DropAfterFrames closes each blaze connection abruptly (no close frame)
	// after every N pushed frames; 0 disables.
	DropAfterFrames int
	// FrameDelay (plus up to FrameJitter) is waited before each blaze push.
	FrameDelay  time.Duration
	FrameJitter time.Duration
	// RefuseUpgrade answers every blaze upgrade with HTTP 503.
	RefuseUpgrade bool
	// UnauthorizedBlaze answers every blaze upgrade with HTTP 401.
	UnauthorizedBlaze bool
	// BlazeErrorFrame accepts the upgrade, then sends an ERROR frame with
	// error code 401 and closes: the other way a real server reports a bad
	// token.
	BlazeErrorFrame bool
}

type failRule struct {
	method, path    string
	n, status, code int
	retryAfter      time.Duration
}

// SetFaults replaces the fault configuration. It is safe to call while the
// server is serving; the random source is reseeded with f.Seed.
func (s *Server) SetFaults(f Faults) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.setFaultsLocked(f)
}

func (s *Server) setFaultsLocked(f Faults) {
	f.ErrorPaths = append([]string(nil), f.ErrorPaths...)
	s.faults = f
	s.rng = mrand.New(mrand.NewSource(f.Seed))
}

func (s *Server) currentFaults() Faults {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return s.faults
}

// Failure scripts failures of REST requests for [Server.FailNext]. The
// zero value fails the next request, whatever it is, with a server error.
type Failure struct {
	// Method and Path select the requests that fail: "GET", "/me" (Path
	// without the path prefix and without the query). An empty one matches
	// any.
	Method string
	Path   string
	// Times is how many matching requests fail; 0 means one.
	Times int
	// Code is the Mixin error code answered (e.g. 403, 429, 10002,
	// 20140); 0 means 500, a server error.
	Code int
	// Status is the HTTP status; 0 means the API's usual one for Code:
	// 500 for codes 500, 7000 and 7001, else 202 with the error envelope,
	// as the docs describe every error.
	Status int
	// RetryAfter, when positive, is sent as a Retry-After header, in
	// whole seconds rounded up.
	RetryAfter time.Duration
}

// FailNext makes the next f.Times REST requests matching f.Method and
// f.Path answer with f's error; see [Failure] for the defaults. Failures
// scripted by several calls are tried in order. A negative Times, Code or
// RetryAfter, or a Status outside 200–599, is a [*mixin.FieldError] naming
// the field, and scripts nothing.
func (s *Server) FailNext(f Failure) error {
	field, reason := "", ""
	switch {
	case f.Times < 0:
		field, reason = "Times", "must not be negative (0 means one)"
	case f.Code < 0:
		field, reason = "Code", "must not be negative (0 means 500)"
	case f.Status != 0 && (f.Status < 200 || f.Status > 599):
		field, reason = "Status", "must be 0 (the code's usual status) or an HTTP status from 200 to 599, got "+strconv.Itoa(f.Status)
	case f.RetryAfter < 0:
		field, reason = "RetryAfter", "must not be negative"
	}
	if field != "" {
		return &mixin.FieldError{Field: "Failure." + field, Reason: reason}
	}
	if f.Times == 0 {
		f.Times = 1
	}
	if f.Code == 0 {
		f.Code = codeServer
	}
	if f.Status == 0 {
		f.Status = http.StatusAccepted
		if f.Code == codeServer || f.Code == 7000 || f.Code == 7001 {
			f.Status = http.StatusInternalServerError
		}
	}
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.failNext = append(s.failNext, &failRule{method: strings.ToUpper(f.Method), path: f.Path, n: f.Times,
		status: f.Status, code: f.Code, retryAfter: f.RetryAfter})
	return nil
}

// injectFault decides whether this request gets an injected error.
func (s *Server) injectFault(method, path string) *apiError {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	for i, rule := range s.failNext {
		if (rule.method != "" && rule.method != method) || (rule.path != "" && rule.path != path) {
			continue
		}
		rule.n--
		if rule.n == 0 {
			s.failNext = append(s.failNext[:i], s.failNext[i+1:]...)
		}
		return &apiError{httpStatus: rule.status, code: rule.code, desc: "Injected failure.", retryAfter: rule.retryAfter}
	}
	f := s.faults
	if f.RateLimitRate > 0 && s.rng.Float64() < f.RateLimitRate {
		status := http.StatusAccepted
		if f.RateLimitHTTP {
			status = http.StatusTooManyRequests
		}
		return &apiError{httpStatus: status, code: codeTooMany, desc: "Too Many Requests.", retryAfter: f.RetryAfter}
	}
	if f.ErrorRate > 0 && matchPath(f.ErrorPaths, path) && s.rng.Float64() < f.ErrorRate {
		return &apiError{httpStatus: 500, code: codeServer, desc: "Internal Server Error."}
	}
	return nil
}

func matchPath(paths []string, path string) bool {
	if len(paths) == 0 {
		return true
	}
	for _, p := range paths {
		if p == path {
			return true
		}
	}
	return false
}

// jitter returns base plus a random duration in [0, j).
func (s *Server) jitter(base, j time.Duration) time.Duration {
	if j <= 0 {
		return base
	}
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return base + time.Duration(s.rng.Int63n(int64(j)))
}

func (s *Server) sleepLatency(ctx context.Context) {
	f := s.currentFaults()
	s.sleep(ctx, s.jitter(f.Latency, f.LatencyJitter))
}

// sleep waits d unless ctx ends or the server closes.
func (s *Server) sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-s.done:
	}
}
