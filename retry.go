package mixin

import (
	"math/rand/v2"
	"time"
)

// Retry says how often something is tried and how long to wait between
// tries. It is the one retry shape of the SDK: REST calls ([WithRequestRetry]),
// handlers ([WithHandlerRetry]) and reconnects ([WithReconnect]) take it.
// Waits start at Min, double per try up to Max, and are jittered (each wait
// is drawn from the upper half of its ceiling).
type Retry struct {
	// Attempts counts every try, the first included: 1 means no retry.
	// Where a zero value is allowed it means "until ctx ends"; each option
	// says whether it is.
	Attempts int
	// Min is the first wait.
	Min time.Duration
	// Max caps one wait.
	Max time.Duration
}

// DefaultRetry is the REST retry used unless [WithRequestRetry] says otherwise:
// 4 attempts, waits from 200ms up to 5s.
func DefaultRetry() Retry {
	return Retry{Attempts: 4, Min: 200 * time.Millisecond, Max: 5 * time.Second}
}

// check validates r for the option named field; zeroAttempts says whether
// Attempts may be 0 ("until ctx ends").
func (r Retry) check(field string, zeroAttempts bool) error {
	switch {
	case r.Attempts < 0 || (r.Attempts == 0 && !zeroAttempts):
		if zeroAttempts {
			return &FieldError{Field: field + " Attempts", Reason: "must not be negative"}
		}
		return &FieldError{Field: field + " Attempts", Reason: "must be at least 1"}
	case r.Min < 0 || r.Max < 0:
		return &FieldError{Field: field + " delays", Reason: "must not be negative"}
	case r.Max < r.Min:
		return &FieldError{Field: field + " Max", Reason: "must not be below Min"}
	}
	return nil
}

// wait returns the jittered delay before try number attempt+1, attempt
// counting from 1.
func (r Retry) wait(attempt int) time.Duration {
	if r.Min <= 0 {
		return 0
	}
	ceil := r.Min << min(max(attempt-1, 0), 30)
	if ceil > r.Max || ceil <= 0 {
		ceil = r.Max
	}
	return ceil/2 + rand.N(ceil/2+1)
}
