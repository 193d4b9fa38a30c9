package mixin_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A local clock 20 minutes slow makes every 5-minute token expired on
// arrival. The client learns the server's clock from the 401 (X-Server-Time,
// else Date), corrects, and retries once.
func TestClockSkewIsCorrectedFromEitherHeader(t *testing.T) {
	cases := []struct {
		name    string
		headers mixintest.ClockHeader
		delta   time.Duration // how exact the learnt offset is
	}{
		{"both", mixintest.ClockHeaderServerTime | mixintest.ClockHeaderDate, 0},
		{"X-Server-Time", mixintest.ClockHeaderServerTime, 0},
		{"Date", mixintest.ClockHeaderDate, time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				slow := func() time.Time { return time.Now().Add(-20 * time.Minute) }
				s, c := memServer(t, []mixintest.Option{mixintest.WithClockHeaders(tc.headers)}, mixin.WithClock(slow))
				me, err := c.ReadMe(t.Context())
				require.NoError(t, err)
				assert.Equal(t, s.Bot().UserID, me.UserID)
				assert.InDelta(t, float64(20*time.Minute), float64(c.ClockOffset()), float64(tc.delta))
				assert.Equal(t, 2, countRequests(s, "GET", "/me"), "one 401, one retry")
				assert.Equal(t, 1, countUnauthorized(s))
				// Corrected: the next call needs no second try.
				_, err = c.ReadMe(t.Context())
				require.NoError(t, err)
				assert.Equal(t, 3, countRequests(s, "GET", "/me"))
			})
		})
	}
}

func TestClockSkewWithoutHeadersIsUnauthorized(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := func() time.Time { return time.Now().Add(-20 * time.Minute) }
		s, c := memServer(t, []mixintest.Option{mixintest.WithClockHeaders(0)}, mixin.WithClock(slow))
		_, err := c.ReadMe(t.Context())
		assert.True(t, mixin.IsUnauthorized(err), "%v", err)
		assert.Zero(t, c.ClockOffset())
		assert.Equal(t, 1, countRequests(s, "GET", "/me"))
	})
}

// A fast clock is refused too (iat more than 5 minutes ahead).
func TestFastClockIsCorrected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fast := func() time.Time { return time.Now().Add(time.Hour) }
		_, c := memServer(t, nil, mixin.WithClock(fast))
		_, err := c.ReadMe(t.Context())
		require.NoError(t, err)
		assert.Equal(t, -time.Hour, c.ClockOffset())
	})
}

// tokenIAT reads the iat claim of a request's bearer token.
func tokenIAT(t *testing.T, r *http.Request) time.Time {
	parts := strings.Split(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims struct {
		IAT int64 `json:"iat"`
	}
	require.NoError(t, json.Unmarshal(raw, &claims))
	return time.Unix(claims.IAT, 0)
}

// X-Server-Time wins over Date when both are present and disagree: it is
// what the official apps read (android-app di/AppModule.kt).
func TestServerTimeHeaderWinsOverDate(t *testing.T) {
	serverNow := func() time.Time { return time.Now().Add(20 * time.Minute) }
	c := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
		w.Header().Set("X-Server-Time", strconv.FormatInt(serverNow().UnixNano(), 10))
		w.Header().Set("Date", time.Now().Add(3*time.Hour).Format(http.TimeFormat))
		if d := tokenIAT(t, r).Sub(serverNow()); d.Abs() > time.Minute {
			_, _ = w.Write([]byte(`{"error":{"status":202,"code":401,"description":"Unauthorized, maybe invalid token."}}`))
			return
		}
		_, _ = w.Write([]byte(`{"data":{"user_id":"` + seedBotID + `"}}`))
	})
	me, err := c.ReadMe(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, seedBotID, me.UserID)
	assert.InDelta(t, (20 * time.Minute).Seconds(), c.ClockOffset().Seconds(), 2)
}

// A 401 for another reason (a revoked session) while the clock is right is
// not retried.
func TestUnauthorizedWithRightClockIsNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := memServer(t, nil)
		s.FailNext(mixintest.Failure{Method: "GET", Path: "/me", Times: 2, Code: 401})
		_, err := c.ReadMe(t.Context())
		assert.True(t, mixin.IsUnauthorized(err))
		assert.Equal(t, 1, countRequests(s, "GET", "/me"))
		assert.Zero(t, c.ClockOffset())
	})
}
