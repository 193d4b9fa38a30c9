package mixin_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The docs answer a rate limit with HTTP 202 and code 429 in the error
// envelope (api/guide.md); a proxy may answer HTTP 429. Both are the same
// to the client, and Retry-After is waited out when present.
func TestRateLimitBothFormsWaitOutRetryAfter(t *testing.T) {
	for _, status := range []int{202, 429} {
		synctest.Test(t, func(t *testing.T) {
			s, c := memServer(t, nil, mixin.WithRequestRetry(mixin.Retry{Attempts: 3, Min: time.Millisecond, Max: time.Millisecond}))
			s.FailNext(mixintest.Failure{Method: "GET", Path: "/me", Times: 1, Status: status, Code: 429, RetryAfter: 7 * time.Second})
			start := time.Now()
			me, err := c.ReadMe(t.Context())
			require.NoError(t, err, "HTTP %d", status)
			assert.Equal(t, s.Bot().UserID, me.UserID)
			waited := time.Since(start)
			assert.GreaterOrEqual(t, waited, 7*time.Second, "HTTP %d: Retry-After is honoured", status)
			assert.Less(t, waited, 8*time.Second, "HTTP %d", status)
			assert.Equal(t, 2, countRequests(s, "GET", "/me"))
		})
	}
}

func TestRateLimitWithoutRetryAfterBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := memServer(t, nil, mixin.WithRequestRetry(mixin.Retry{Attempts: 4, Min: 2 * time.Second, Max: 2 * time.Second}))
		s.FailNext(mixintest.Failure{Method: "GET", Path: "/me", Times: 2, Code: 429}) // status 0: the documented HTTP 202
		start := time.Now()
		_, err := c.ReadMe(t.Context())
		require.NoError(t, err)
		waited := time.Since(start)
		// Two jittered waits drawn from [1s, 2s] each.
		assert.GreaterOrEqual(t, waited, 2*time.Second)
		assert.LessOrEqual(t, waited, 4*time.Second)
		assert.Equal(t, 3, countRequests(s, "GET", "/me"))
	})
}

func TestRateLimitInEnvelopeIsRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := memServer(t, []mixintest.Option{mixintest.WithFaults(mixintest.Faults{RateLimitRate: 1, RetryAfter: time.Hour})})
		_, err := c.ReadMe(t.Context())
		var e *mixin.APIError
		require.ErrorAs(t, err, &e)
		assert.Equal(t, 202, e.Status)
		assert.True(t, e.RateLimited() && e.Temporary() && mixin.IsRateLimited(err))
		assert.Equal(t, time.Hour, mixin.RetryAfter(err), "longer than WithMaxRequestRetryAfter: returned, not waited")
		assert.Equal(t, 1, countRequests(s, "GET", "/me"))
		assert.Contains(t, err.Error(), "GET /me")
	})
}

// GET /search: "if a 429 error occurs, wait 12 hours and try again"
// (api/users/search.md). It is never retried, whatever the error.
func TestSearchIsNeverRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := memServer(t, nil, mixin.WithRequestRetry(mixin.Retry{Attempts: 5, Min: time.Millisecond, Max: time.Millisecond}))
		u := s.NewUser("Findable")
		path := "/search/" + u.IdentityNumber
		for _, f := range []struct{ status, code int }{{0, 429}, {429, 429}, {500, 500}} {
			s.ResetRequests()
			s.FailNext(mixintest.Failure{Method: "GET", Path: path, Times: 1, Status: f.status, Code: f.code, RetryAfter: time.Second})
			start := time.Now()
			_, err := c.SearchUser(t.Context(), u.IdentityNumber)
			require.Error(t, err, "%+v", f)
			assert.Equal(t, 1, countRequests(s, "GET", path), "%+v: one request", f)
			assert.Zero(t, time.Since(start), "%+v: no wait", f)
			if f.code == 429 {
				assert.True(t, mixin.IsRateLimited(err), "%v", err)
				assert.Equal(t, time.Second, mixin.RetryAfter(err))
			}
		}
		got, err := c.SearchUser(t.Context(), u.IdentityNumber)
		require.NoError(t, err)
		assert.Equal(t, u.UserID, got.UserID)
		// Other reads still retry.
		s.FailNext(mixintest.Failure{Method: "GET", Path: "/me", Times: 1, Code: 429})
		_, err = c.ReadMe(t.Context())
		require.NoError(t, err)
	})
}
