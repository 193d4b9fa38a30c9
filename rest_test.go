package mixin_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func countRequests(s *mixintest.Server, method, path string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// botClient is s.Client for a test: an error fails t.
// withContact starts an emulator with a user, Alice, and the bot's contact
// conversation with her.
func withContact(t *testing.T) (*mixintest.Server, *mixin.Client, *mixintest.User) {
	t.Helper()
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	u := s.NewUser("Alice")
	_, err := c.CreateContactConversation(ctxT(t), u.UserID)
	require.NoError(t, err)
	return s, c, u
}

func botClient(t testing.TB, s *mixintest.Server, opts ...mixin.Option) *mixin.Client {
	t.Helper()
	c, err := s.Client(opts...)
	require.NoError(t, err)
	return c
}

var fastRetry = mixin.WithRequestRetry(mixin.Retry{Attempts: 4, Min: time.Millisecond, Max: 5 * time.Millisecond})

func TestRetryServerErrorThenSuccess(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s, fastRetry)
	s.FailNext(mixintest.Failure{Method: "GET", Path: "/me", Times: 2, Status: 500, Code: 500})
	me, err := c.ReadMe(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, s.Bot().UserID, me.UserID)
	assert.Equal(t, 3, countRequests(s, "GET", "/me"))
}

func TestRetryGivesUpAfterMaxAttempts(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s, fastRetry)
	s.FailNext(mixintest.Failure{Method: "GET", Path: "/me", Times: 10, Status: 500, Code: 500})
	_, err := c.ReadMe(ctxT(t))
	var apiErr *mixin.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 500, apiErr.Code)
	assert.True(t, apiErr.Temporary())
	assert.Equal(t, 4, countRequests(s, "GET", "/me"))
}

func TestRetryAfterIsHonoured(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s, fastRetry)
	s.FailNext(mixintest.Failure{Method: "GET", Path: "/me", Times: 1, Status: 429, Code: 429, RetryAfter: time.Second})
	start := time.Now()
	_, err := c.ReadMe(ctxT(t))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "must wait out Retry-After")
	assert.Equal(t, 2, countRequests(s, "GET", "/me"))
}

func TestRetryAfterTooLongReturnsTheHint(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s, fastRetry) // MaxRetryAfter 30s by default
	s.FailNext(mixintest.Failure{Method: "GET", Path: "/me", Times: 1, Status: 429, Code: 429, RetryAfter: time.Hour})
	_, err := c.ReadMe(ctxT(t))
	assert.True(t, mixin.IsRateLimited(err), "%v", err)
	assert.Equal(t, time.Hour, mixin.RetryAfter(err))
	assert.Equal(t, 1, countRequests(s, "GET", "/me"))
}

func TestCancelledContextStopsTheWait(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s, mixin.WithRequestRetry(mixin.Retry{Attempts: 5, Min: time.Millisecond, Max: time.Millisecond}), mixin.WithMaxRequestRetryAfter(time.Minute))
	s.FailNext(mixintest.Failure{Method: "GET", Path: "/me", Times: 1, Status: 429, Code: 429, RetryAfter: 30 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.ReadMe(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestNonIdempotentWriteIsNotRepeated(t *testing.T) {
	s, _, _ := newSeedServer(t)
	c := botClient(t, s, fastRetry)
	ctx := ctxT(t)
	g, err := c.CreateGroupConversation(ctx, mixin.GroupConversationRequest{Name: "g", Participants: []mixin.ParticipantRequest{{UserID: seedUserID}}})
	require.NoError(t, err)
	s.FailNext(mixintest.Failure{Method: "POST", Path: "/conversations/" + g.ConversationID + "/rotate", Times: 1, Status: 500, Code: 500})
	_, err = c.RotateConversation(ctx, g.ConversationID)
	require.Error(t, err)
	assert.Equal(t, 1, countRequests(s, "POST", "/conversations/"+g.ConversationID+"/rotate"), "a rotate must not be sent twice")

	// A 429 means the server did nothing: even a rotate may go again.
	s.FailNext(mixintest.Failure{Method: "POST", Path: "/conversations/" + g.ConversationID + "/rotate", Times: 1, Status: 429, Code: 429, RetryAfter: 10 * time.Millisecond})
	_, err = c.RotateConversation(ctx, g.ConversationID)
	require.NoError(t, err)
}

func countUnauthorized(s *mixintest.Server) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Code == 401 {
			n++
		}
	}
	return n
}

func TestWrongKeyIsUnauthorizedAndNotRetried(t *testing.T) {
	s := mixintest.NewServer(t)
	good, err := mixin.ParseKeystore(s.KeystoreJSON())
	require.NoError(t, err)
	_, priv, _ := ed25519.GenerateKey(nil)
	bad, err := mixin.NewKeystore(good.AppID, good.SessionID, priv)
	require.NoError(t, err)
	c, err := mixin.NewClient(bad, mixin.WithBaseURL(s.URL()), fastRetry)
	require.NoError(t, err)
	_, err = c.ReadMe(ctxT(t))
	assert.True(t, mixin.IsUnauthorized(err), "%v", err)
	assert.LessOrEqual(t, len(s.Requests()), 1)
}

// fakeAPI answers every request with fn.
func fakeAPI(t *testing.T, fn func(w http.ResponseWriter, r *http.Request)) *mixin.Client {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(fn))
	t.Cleanup(ts.Close)
	s := mixintest.NewServer(t)
	ks, err := mixin.ParseKeystore(s.KeystoreJSON())
	require.NoError(t, err)
	c, err := mixin.NewClient(ks, mixin.WithBaseURL(ts.URL), fastRetry, mixin.WithMaxResponseBytes(64<<10))
	require.NoError(t, err)
	return c
}

func TestMalformedResponses(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
	}
	cases := []struct {
		name   string
		handle func(w http.ResponseWriter, r *http.Request)
		check  func(t *testing.T, err error)
	}{
		{"html", func(w http.ResponseWriter, r *http.Request) {
			echo(w, r)
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html><body>maintenance</body></html>"))
		}, isResponseError("not a JSON envelope")},
		{"truncated", func(w http.ResponseWriter, r *http.Request) {
			echo(w, r)
			_, _ = w.Write([]byte(`{"data":{"user_id":"`))
		}, isResponseError("truncated")},
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			echo(w, r)
			_, _ = w.Write([]byte(`{"data":{"full_name":"` + strings.Repeat("x", 100<<10) + `"}}`))
		}, isResponseError("larger than")},
		{"request id mismatch", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", "00000000-0000-4000-8000-000000000000")
			_, _ = w.Write([]byte(`{"data":{}}`))
		}, isResponseError("X-Request-Id")},
		{"no envelope", func(w http.ResponseWriter, r *http.Request) {
			echo(w, r)
			_, _ = w.Write([]byte(`{"user_id":"x"}`))
		}, isNoData},
		{"empty object", func(w http.ResponseWriter, r *http.Request) {
			echo(w, r)
			_, _ = w.Write([]byte(`{}`))
		}, isNoData},
		{"data null", func(w http.ResponseWriter, r *http.Request) {
			echo(w, r)
			_, _ = w.Write([]byte(`{"data":null}`))
		}, isNoData},
		{"empty body, no request id", func(w http.ResponseWriter, r *http.Request) {}, isNoData},
		{"array", func(w http.ResponseWriter, r *http.Request) {
			echo(w, r)
			_, _ = w.Write([]byte(`[]`))
		}, isResponseError("not a JSON envelope")},
		{"wrong data shape", func(w http.ResponseWriter, r *http.Request) {
			echo(w, r)
			_, _ = w.Write([]byte(`{"data":[1,2,3]}`))
		}, isResponseError("does not decode")},
		{"502 html", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			_, _ = w.Write([]byte("<html>bad gateway</html>"))
		}, func(t *testing.T, err error) {
			var e *mixin.APIError
			require.ErrorAs(t, err, &e)
			assert.Equal(t, 502, e.Code)
		}},
		{"error envelope with extra", func(w http.ResponseWriter, r *http.Request) {
			echo(w, r)
			w.WriteHeader(202)
			_, _ = w.Write([]byte(`{"error":{"status":202,"code":10002,"description":"The request data has invalid field.","extra":{"field":"name"}}}`))
		}, func(t *testing.T, err error) {
			var e *mixin.APIError
			require.ErrorAs(t, err, &e)
			assert.Equal(t, mixin.CodeInvalidField, e.Code)
			assert.Equal(t, 202, e.Status)
			assert.JSONEq(t, `{"field":"name"}`, string(e.Extra))
			assert.Contains(t, e.Error(), "10002")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := fakeAPI(t, tc.handle)
			_, err := c.ReadMe(ctxT(t))
			require.Error(t, err)
			tc.check(t, err)
		})
	}
}

// isNoData checks the typed error of a call that needs a result and got a
// success without one: it names the call.
func isNoData(t *testing.T, err error) {
	require.ErrorIs(t, err, mixin.ErrNoData)
	var e *mixin.ResponseError
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "GET", e.Method)
	assert.Equal(t, "/me", e.Path)
	assert.Contains(t, err.Error(), "GET /me")
}

func isResponseError(reason string) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		var e *mixin.ResponseError
		require.ErrorAs(t, err, &e)
		assert.Contains(t, e.Reason, reason)
	}
}

func TestRequestCarriesSignatureHeaders(t *testing.T) {
	var got http.Header
	var body []byte
	c := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		body = make([]byte, r.ContentLength)
		_, _ = r.Body.Read(body)
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
		_, _ = w.Write([]byte(`{"data":{"type":"conversation","conversation_id":"` + seedUserID + `"}}`))
	})
	_, err := c.UpdateConversation(ctxT(t), seedUserID, mixin.ConversationUpdate{Name: "<b>&</b>"})
	require.NoError(t, err)
	assert.Equal(t, "application/json", got.Get("Content-Type"))
	assert.True(t, strings.HasPrefix(got.Get("Authorization"), "Bearer "))
	assert.Len(t, got.Get("X-Request-Id"), 36)
	assert.NotEmpty(t, got.Get("User-Agent"))
	var sent map[string]string
	require.NoError(t, json.Unmarshal(body, &sent))
	assert.Equal(t, "<b>&</b>", sent["name"])
}

func TestNewClientOptionsAreValidated(t *testing.T) {
	s := mixintest.NewServer(t)
	ks, err := mixin.ParseKeystore(s.KeystoreJSON())
	require.NoError(t, err)
	bad := []mixin.Option{
		mixin.WithBaseURL("api.mixin.one"),
		mixin.WithBaseURL("ftp://x"),
		mixin.WithBlazeURL("https://blaze.mixin.one"),
		mixin.WithHTTPClient(nil),
		mixin.WithLogger(nil),
		mixin.WithRequestTimeout(0),
		mixin.WithRequestRetry(mixin.Retry{}),
		mixin.WithTokenLifetime(time.Second),
		mixin.WithTokenLifetime(100 * 24 * time.Hour),
		mixin.WithMaxResponseBytes(1),
		mixin.WithMaxMessageBody(10),
		mixin.WithUserAgent("a\r\nX-Evil: 1"),
	}
	for i, o := range bad {
		_, err := mixin.NewClient(ks, o)
		assert.ErrorIs(t, err, mixin.ErrInvalidInput, "option %d", i)
	}
	_, err = mixin.NewClient(nil)
	assert.ErrorIs(t, err, mixin.ErrInvalidInput)
	_, err = mixin.NewClient(&mixin.Keystore{AppID: seedBotID})
	assert.True(t, errors.Is(err, mixin.ErrInvalidInput))
}
