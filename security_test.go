package mixin_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// secretForms returns every spelling of a keystore's private key that could
// plausibly leak: hex and base64 of the seed and of the full key.
func secretForms(t *testing.T, keystoreJSON []byte) []string {
	var f struct {
		Seed string `json:"session_private_key"`
	}
	require.NoError(t, json.Unmarshal(keystoreJSON, &f))
	seed, err := hex.DecodeString(f.Seed)
	require.NoError(t, err)
	key := ed25519.NewKeyFromSeed(seed)
	forms := []string{f.Seed, strings.ToUpper(f.Seed), hex.EncodeToString(key)}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		forms = append(forms, enc.EncodeToString(seed)[:40], enc.EncodeToString(key)[:40])
	}
	forms = append(forms, fmt.Sprint([]byte(seed))[:40], fmt.Sprintf("%#v", []byte(seed))[:60])
	return forms
}

var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}`)

// TestNoSecretsInLogsErrorsOrPanics drives a client through requests,
// retries, rate limits, a blaze session with drops, a panicking handler and
// 401s with a debug-level JSON logger, and checks that no token and no
// private key material shows up in the log, in any error's %v/%+v/%#v, or
// in a PanicError.
func TestNoSecretsInLogsErrorsOrPanics(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := mixintest.NewServer(t, mixintest.WithFaults(mixintest.Faults{Seed: 7, DropAfterFrames: 3}))
	c := botClient(t, s, mixin.WithLogger(logger), fastRetry)
	ctx := ctxT(t)
	u := s.NewUser("Alice")
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	_, err := c.CreateContactConversation(ctx, u.UserID)
	require.NoError(t, err)
	// Plain requests, retried 5xx, 429 with Retry-After, a business error.
	_, err = c.ReadMe(ctx)
	require.NoError(t, err)
	s.FailNext(mixintest.Failure{Method: "GET", Path: "/me", Times: 2, Status: 500, Code: 500})
	_, err = c.ReadMe(ctx)
	require.NoError(t, err)
	s.FailNext(mixintest.Failure{Method: "GET", Path: "/me", Times: 4, Status: 500, Code: 500}) // fastRetry gives up after 4
	_, err = c.ReadMe(ctx)
	keep(err)
	s.FailNext(mixintest.Failure{Method: "GET", Path: "/me", Times: 1, Status: 429, Code: 429, RetryAfter: 10 * time.Millisecond})
	_, err = c.ReadMe(ctx)
	require.NoError(t, err)
	s.FailNext(mixintest.Failure{Method: "POST", Path: "/messages", Times: 1, Status: 202, Code: 10002})
	_, err = c.SendText(ctx, mixin.ToUser(u.UserID), "x")
	keep(err)
	_, err = c.SendText(ctx, mixin.ToUser(u.UserID), "hello")
	require.NoError(t, err)
	_, err = c.ReadConversation(ctx, mixin.NewUUID()) // not found / forbidden
	keep(err)

	// Blaze with drops every 3 frames, a handler that fails, one that panics.
	for i := range 10 {
		_, err := u.SendText(ctx, s.Bot().UserID, fmt.Sprint(i))
		require.NoError(t, err)
	}
	_, err = u.SendText(ctx, s.Bot().UserID, "panic")
	require.NoError(t, err)
	_, err = u.SendText(ctx, s.Bot().UserID, "fail")
	require.NoError(t, err)
	var handled atomic.Int32
	var dmu sync.Mutex
	h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		handled.Add(1)
		switch m.Text() {
		case "panic":
			panic(fmt.Sprintf("handler blew up on %s", m.MessageID))
		case "fail":
			return errors.New("handler failed")
		}
		return nil
	})
	stop := runBlaze(t, c, h, mixin.WithHandlerRetry(mixin.Retry{Attempts: 2, Min: time.Millisecond, Max: time.Millisecond}),
		mixin.WithDeadLetter(func(_ context.Context, _ *mixin.Message, err error) {
			dmu.Lock()
			keep(err)
			dmu.Unlock()
		}),
		mixin.WithStateHook(func(e mixin.StateEvent) {
			if e.Err != nil {
				dmu.Lock()
				keep(e.Err)
				dmu.Unlock()
			}
		}))
	eventually(t, "all acknowledged", func() bool { return s.Pending(s.Bot().UserID) == 0 && handled.Load() >= 12 })
	require.NoError(t, stop())

	// 401s: REST and blaze, with the same ids but another key.
	good, err := mixin.ParseKeystore(s.KeystoreJSON())
	require.NoError(t, err)
	_, other, _ := ed25519.GenerateKey(nil)
	bad, err := mixin.NewKeystore(good.AppID, good.SessionID, other)
	require.NoError(t, err)
	bc, err := mixin.NewClient(bad, mixin.WithBaseURL(s.URL()), mixin.WithBlazeURL(s.BlazeURL()), mixin.WithLogger(logger), fastRetry)
	require.NoError(t, err)
	_, err = bc.ReadMe(ctx)
	require.True(t, mixin.IsUnauthorized(err), "%v", err)
	keep(err)
	err = bc.RunBlaze(ctx, h, fastBlaze...)
	require.True(t, mixin.IsUnauthorized(err), "%v", err)
	keep(err)

	dmu.Lock()
	defer dmu.Unlock()
	require.NotEmpty(t, errs)
	var panics int
	outputs := []string{logs.String()}
	for _, err := range errs {
		outputs = append(outputs, fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%s", err))
		var pe *mixin.PanicError
		if errors.As(err, &pe) {
			panics++
			outputs = append(outputs, fmt.Sprintf("%v", pe.Value), string(pe.Stack), fmt.Sprintf("%#v", *pe))
		}
	}
	assert.Positive(t, panics, "the panic reached the dead-letter hook as a PanicError")
	assert.Contains(t, logs.String(), `"level":"DEBUG"`, "debug logging was on")
	assert.Contains(t, logs.String(), "retrying", "the retries were logged")

	var tokens []string
	for _, r := range s.Requests() {
		if a := r.Header.Get("Authorization"); a != "" {
			tokens = append(tokens, strings.TrimPrefix(a, "Bearer "))
		}
	}
	require.NotEmpty(t, tokens)
	secrets := secretForms(t, s.KeystoreJSON())
	for i, out := range outputs {
		assert.NotContains(t, out, "Bearer ", "output %d", i)
		assert.False(t, jwtLike.MatchString(out), "output %d holds something JWT-shaped: %s", i, jwtLike.FindString(out))
		for _, tok := range tokens {
			sig := tok[strings.LastIndex(tok, ".")+1:]
			assert.NotContains(t, out, sig, "output %d holds a token signature", i)
		}
		for _, sec := range secrets {
			assert.NotContains(t, out, sec, "output %d holds key material", i)
		}
	}
}

// TestSDKNeverDisablesTLSVerification scans every non-test Go file of the
// module.
func TestSDKNeverDisablesTLSVerification(t *testing.T) {
	insecure := regexp.MustCompile(`InsecureSkipVerify\s*:\s*true|InsecureSkipVerify\s*=\s*true`)
	var scanned int
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".") && path != ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned++
		if loc := insecure.FindIndex(b); loc != nil {
			t.Errorf("%s:%d disables TLS verification", path, bytes.Count(b[:loc[0]], []byte("\n"))+1)
		}
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, scanned, 10, "the walk found the SDK sources")
}

// tamper rewrites each outgoing request before it leaves the client.
type tamper struct {
	base   http.RoundTripper
	mutate func(r *http.Request)
}

func (tt tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	tt.mutate(r)
	return tt.base.RoundTrip(r)
}

// setToken replaces the bearer token.
func setToken(tok string) func(r *http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func editToken(fn func(parts []string) []string) func(r *http.Request) {
	return func(r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		r.Header.Set("Authorization", "Bearer "+strings.Join(fn(strings.Split(tok, ".")), "."))
	}
}

func b64JSON(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestBadInputTable collects bad input across the API that the other
// tests do not cover: forged and stale tokens against the emulator's real
// verification, hostile responses on every major call, near-miss ids,
// oversize lists and option values. Each case must end in a typed error
// (FieldError, APIError or ResponseError), never a panic; FieldError cases
// must not reach the network, and nothing non-idempotent is repeated.
func TestBadInputTable(t *testing.T) {
	s := mixintest.NewServer(t)
	ks, err := mixin.ParseKeystore(s.KeystoreJSON())
	require.NoError(t, err)
	ctx := ctxT(t)
	u := s.NewUser("Alice")
	_, err = u.SendText(ctx, s.Bot().UserID, "hi") // creates the contact conversation
	require.NoError(t, err)
	conv := mixin.UniqueConversationID(s.Bot().UserID, u.UserID)
	id := mixin.NewUUID()

	signer := func(opts ...mixin.Option) *mixin.Client {
		c, err := mixin.NewClient(ks, append([]mixin.Option{mixin.WithBaseURL(s.URL())}, opts...)...)
		require.NoError(t, err)
		return c
	}
	_, otherKey, _ := ed25519.GenerateKey(nil)
	otherKS, err := mixin.NewKeystore(ks.AppID, ks.SessionID, otherKey)
	require.NoError(t, err)
	otherSigner, err := mixin.NewClient(otherKS)
	require.NoError(t, err)
	tokenAt := func(c *mixin.Client, method, uri string) string {
		tok, err := c.Token(method, uri, nil, mixin.NewUUID())
		require.NoError(t, err)
		return tok
	}
	past := signer(mixin.WithClock(func() time.Time { return time.Now().Add(-2 * time.Hour) }))
	future := signer(mixin.WithClock(func() time.Time { return time.Now().Add(2 * time.Hour) }))
	meToken := tokenAt(signer(), "GET", "/me")

	// Token cases: GET /me through a transport that spoils the token. The
	// emulator verifies for real; the SDK must surface a 401 APIError and
	// not retry it.
	tokenCases := map[string]func(r *http.Request){
		"token signature flipped": editToken(func(p []string) []string {
			sig := []byte(p[2])
			sig[3] ^= 1
			return []string{p[0], p[1], string(sig)}
		}),
		"token claims tampered, old signature": editToken(func(p []string) []string {
			return []string{p[0], b64JSON(map[string]any{"uid": ks.AppID, "sid": ks.SessionID, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "jti": id, "sig": strings.Repeat("0", 64)}), p[2]}
		}),
		"token alg none": editToken(func(p []string) []string {
			return []string{b64JSON(map[string]string{"alg": "none", "typ": "JWT"}), p[1], ""}
		}),
		"token alg HS256": editToken(func(p []string) []string {
			return []string{b64JSON(map[string]string{"alg": "HS256", "typ": "JWT"}), p[1], p[2]}
		}),
		"token two parts":             editToken(func(p []string) []string { return p[:2] }),
		"token expired":               setToken(tokenAt(past, "GET", "/me")),
		"token issued in the future":  setToken(tokenAt(future, "GET", "/me")),
		"token signed by another key": setToken(tokenAt(otherSigner, "GET", "/me")),
		"token for another request":   func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tokenAt(signer(), "GET", "/users/"+id)) },
		"token replayed for a POST": func(r *http.Request) {
			r.Method = "POST"
			r.Header.Set("Authorization", "Bearer "+meToken)
		},
		"authorization header missing": func(r *http.Request) { r.Header.Del("Authorization") },
		"authorization not bearer":     func(r *http.Request) { r.Header.Set("Authorization", "Basic "+meToken) },
	}
	for name, mutate := range tokenCases {
		t.Run(name, func(t *testing.T) {
			s.ResetRequests()
			c := signer(fastRetry, mixin.WithHTTPClient(&http.Client{Transport: tamper{http.DefaultTransport, mutate}}))
			defer c.CloseIdleConnections()
			_, err := c.ReadMe(ctx)
			var ae *mixin.APIError
			require.ErrorAs(t, err, &ae)
			assert.True(t, mixin.IsUnauthorized(err), "%v", err)
			assert.Len(t, s.Requests(), 1, "a 401 is not retried")
		})
	}

	// Hostile responses: each major call against a server that answers
	// with HTML, a cut-off body, an over-limit body or an empty 200.
	type call struct {
		name string
		do   func(c *mixin.Client) error
	}
	calls := []call{
		{"Me", func(c *mixin.Client) error { _, err := c.ReadMe(ctx); return err }},
		{"ReadUser", func(c *mixin.Client) error { _, err := c.ReadUser(ctx, u.UserID); return err }},
		{"ReadUsers", func(c *mixin.Client) error { _, err := c.ReadUsers(ctx, u.UserID, id); return err }},
		{"CreateContactConversation", func(c *mixin.Client) error { _, err := c.CreateContactConversation(ctx, u.UserID); return err }},
		{"ReadConversation", func(c *mixin.Client) error { _, err := c.ReadConversation(ctx, conv); return err }},
		{"SendText", func(c *mixin.Client) error { _, err := c.SendText(ctx, mixin.ToUser(u.UserID), "hi"); return err }},
		{"SendMessages", func(c *mixin.Client) error {
			return c.SendMessages(ctx, []mixin.MessageRequest{{ConversationID: conv, RecipientID: u.UserID, MessageID: mixin.NewUUID(), Category: mixin.CategoryPlainText, DataBase64: mixin.EncodeBase64Data([]byte("x"))}})
		}},
		{"SendAcknowledgements", func(c *mixin.Client) error { return c.SendAcknowledgement(ctx, id, mixin.AckStatusRead) }},
		{"CreateAttachment", func(c *mixin.Client) error { _, err := c.CreateAttachment(ctx); return err }},
		{"ReadSessions", func(c *mixin.Client) error { _, err := c.ReadSessions(ctx, u.UserID); return err }},
		{"AddParticipants", func(c *mixin.Client) error { _, err := c.AddParticipants(ctx, conv, u.UserID); return err }},
	}
	// Calls whose result the SDK does not need: an empty success is one.
	noResultNeeded := map[string]bool{"SendText": true, "SendMessages": true, "SendAcknowledgements": true}
	echo := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
	}
	bodies := map[string]func(w http.ResponseWriter, r *http.Request){
		"html": func(w http.ResponseWriter, r *http.Request) {
			echo(w, r)
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<!doctype html><title>Just a moment...</title>")
		},
		"truncated": func(w http.ResponseWriter, r *http.Request) {
			echo(w, r)
			_, _ = io.WriteString(w, `{"data":{"user_id":"`+id+`","full_`)
		},
		"over the limit": func(w http.ResponseWriter, r *http.Request) {
			echo(w, r)
			_, _ = io.WriteString(w, `{"data":{"full_name":"`+strings.Repeat("z", 70<<10)+`"}}`)
		},
		"empty 200": func(w http.ResponseWriter, r *http.Request) { echo(w, r) },
	}
	for bodyName, handle := range bodies {
		var hits atomic.Int32
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1); handle(w, r) }))
		c, err := mixin.NewClient(ks, mixin.WithBaseURL(ts.URL), fastRetry, mixin.WithMaxResponseBytes(64<<10))
		require.NoError(t, err)
		for _, cl := range calls {
			t.Run(bodyName+"/"+cl.name, func(t *testing.T) {
				hits.Store(0)
				err := cl.do(c)
				if bodyName == "empty 200" && noResultNeeded[cl.name] {
					// An empty success is what the docs show for these.
					require.NoError(t, err)
					return
				}
				if bodyName == "empty 200" {
					require.ErrorIs(t, err, mixin.ErrNoData)
				}
				var re *mixin.ResponseError
				require.ErrorAs(t, err, &re, "%v", err)
				assert.NotEmpty(t, re.Reason)
				assert.NotEmpty(t, re.RequestID)
				assert.EqualValues(t, 1, hits.Load(), "a 2xx the client cannot read is not repeated")
			})
		}
		c.CloseIdleConnections()
		ts.Close()
	}

	// Input the client can refuse without asking: near-miss ids, oversize
	// lists, duplicate entries, option values. Nothing may reach the server.
	c := botClient(t, s)
	s.ResetRequests()
	upper := strings.ToUpper(id)
	tooMany := make([]string, mixin.MaxParticipants+1)
	for i := range tooMany {
		tooMany[i] = mixin.NewUUID()
	}
	near := map[string]string{
		"35 chars":       id[:35],
		"37 chars":       id + "0",
		"braces":         "{" + id[:34] + "}",
		"urn prefix":     "urn:uuid:" + id,
		"non-hex":        "g" + id[1:],
		"no dashes":      strings.ReplaceAll(id, "-", "") + "abcd",
		"spaces":         " " + id[1:35] + " ",
		"NUL inside":     id[:10] + "\x00" + id[11:],
		"unicode digits": "１" + id[3:],
	}
	refused := map[string]func() error{
		"AddParticipants over the limit": func() error { _, err := c.AddParticipants(ctx, conv, tooMany...); return err },
		"ReadUsers duplicate":            func() error { _, err := c.ReadUsers(ctx, u.UserID, u.UserID); return err },
		"ReadSessions duplicate upper":   func() error { _, err := c.ReadSessions(ctx, id, upper); return err },
		"UnpinMessages none":             func() error { _, err := c.UnpinMessages(ctx, mixin.ToConversation(conv), nil); return err },
		"RunBlaze nil handler":           func() error { return c.RunBlaze(ctx, nil) },
		"WithHandlerWorkers(0)":          func() error { return c.RunBlaze(ctx, newRecorder(), mixin.WithHandlerWorkers(0)) },
		"WithHandlerQueueSize(0)":        func() error { return c.RunBlaze(ctx, newRecorder(), mixin.WithHandlerQueueSize(0)) },
		"WithAckMode(99)":                func() error { return c.RunBlaze(ctx, newRecorder(), mixin.WithAckMode(99)) },
		"WithAckInterval(0)":             func() error { return c.RunBlaze(ctx, newRecorder(), mixin.WithAckInterval(0)) },
		"WithHandlerRetry(0)": func() error {
			return c.RunBlaze(ctx, newRecorder(), mixin.WithHandlerRetry(mixin.Retry{Attempts: 0, Min: 0, Max: 0}))
		},
		"WithHandlerRetry negative": func() error {
			return c.RunBlaze(ctx, newRecorder(), mixin.WithHandlerRetry(mixin.Retry{Attempts: 1, Min: -time.Second, Max: -time.Second}))
		},
		"WithDedupeWindow(-1)": func() error { return c.RunBlaze(ctx, newRecorder(), mixin.WithDedupeWindow(-1)) },
		"WithReconnect max<min": func() error {
			return c.RunBlaze(ctx, newRecorder(), mixin.WithReconnect(mixin.Retry{Min: time.Second, Max: time.Millisecond}))
		},
		"WithKeepalive timeout<ping": func() error {
			return c.RunBlaze(ctx, newRecorder(), mixin.WithKeepalive(10*time.Second, 5*time.Second))
		},
		"WithShutdownTimeout(0)":  func() error { return c.RunBlaze(ctx, newRecorder(), mixin.WithShutdownTimeout(0)) },
		"WithFrameLimits tiny":    func() error { return c.RunBlaze(ctx, newRecorder(), mixin.WithFrameLimits(10, 1<<20)) },
		"NewKeystore short key":   func() error { _, err := mixin.NewKeystore(ks.AppID, ks.SessionID, otherKey[:32]); return err },
		"NewKeystore bad session": func() error { _, err := mixin.NewKeystore(ks.AppID, id[:35], otherKey); return err },
		"WithBlazeURL http":       func() error { _, err := mixin.NewClient(ks, mixin.WithBlazeURL("http://blaze.example/")); return err },
		"WithRequestRetry MaxDelay<BaseDelay": func() error {
			_, err := mixin.NewClient(ks, mixin.WithRequestRetry(mixin.Retry{Attempts: 2, Min: time.Second, Max: time.Millisecond}))
			return err
		},
	}
	for name, bad := range near {
		refused["ReadConversation "+name] = func() error { _, err := c.ReadConversation(ctx, bad); return err }
		refused["SendAcknowledgement "+name] = func() error { return c.SendAcknowledgement(ctx, bad, mixin.AckStatusRead) }
		refused["AddParticipants "+name] = func() error { _, err := c.AddParticipants(ctx, conv, bad); return err }
		refused["SendText to "+name] = func() error { _, err := c.SendText(ctx, mixin.ToUser(bad), "x"); return err }
	}
	for name, call := range refused {
		t.Run("refused/"+name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = call() })
			var fe *mixin.FieldError
			require.ErrorAs(t, err, &fe, "%v", err)
			assert.NotEmpty(t, fe.Field)
			assert.NotEmpty(t, fe.Reason)
			assert.ErrorIs(t, err, mixin.ErrInvalidInput)
			assert.NotContains(t, err.Error(), "\x00", "control characters are quoted, not echoed")
		})
	}
	assert.Empty(t, s.Requests(), "refused input must not reach the server")
	t.Logf("bad-input cases: %d token, %d hostile-response, %d refused", len(tokenCases), len(calls)*len(bodies), len(refused))
}
