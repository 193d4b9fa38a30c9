package mixintest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// tokenSpec describes a hand-made JWT, independent of golang-jwt.
type tokenSpec struct {
	header map[string]any
	claims map[string]any
	key    ed25519.PrivateKey // signing key; nil means the user's own
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func sigOf(method, uri string, body []byte) string {
	h := sha256.Sum256(append([]byte(method+uri), body...))
	return hex.EncodeToString(h[:])
}

// defaultSpec is a valid token for u over method+uri+body at time now.
func defaultSpec(u *User, method, uri string, body []byte, now time.Time) tokenSpec {
	return tokenSpec{
		header: map[string]any{"alg": "EdDSA", "typ": "JWT"},
		claims: map[string]any{
			"uid": u.UserID, "sid": u.SessionID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"jti": uuid.NewString(), "sig": sigOf(method, uri, body), "scp": "FULL",
		},
		key: u.key,
	}
}

func (ts tokenSpec) sign() string {
	h, _ := json.Marshal(ts.header)
	c, _ := json.Marshal(ts.claims)
	msg := b64(h) + "." + b64(c)
	if ts.header["alg"] == "none" {
		return msg + "."
	}
	return msg + "." + b64(ed25519.Sign(ts.key, []byte(msg)))
}

// envelope is a decoded response body.
type envelope struct {
	Data  json.RawMessage `json:"data"`
	Error *errorView      `json:"error"`
}

type resp struct {
	status int
	header http.Header
	env    envelope
	raw    []byte
}

// rest is a tiny client acting as one user.
type rest struct {
	t testing.TB
	s *Server
	u *User
	// mutate, if set, edits the token before signing.
	mutate func(*tokenSpec)
}

func newREST(t testing.TB, s *Server, u *User) *rest { return &rest{t: t, s: s, u: u} }

func (c *rest) do(method, pathAndQuery string, body any) resp {
	c.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		raw, err = json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
	}
	return c.doRaw(method, pathAndQuery, raw, raw)
}

// doRaw signs signedBody but sends sentBody.
func (c *rest) doRaw(method, pathAndQuery string, signedBody, sentBody []byte) resp {
	c.t.Helper()
	uri := c.s.cfg.prefix + pathAndQuery
	spec := defaultSpec(c.u, method, uri, signedBody, c.s.now())
	if c.mutate != nil {
		c.mutate(&spec)
	}
	req, err := http.NewRequest(method, c.s.URL()+pathAndQuery, bytes.NewReader(sentBody))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+spec.sign())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", uuid.NewString())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, header: res.Header, raw: b}
	if err := json.Unmarshal(b, &out.env); err != nil {
		c.t.Fatalf("%s %s: body %q not JSON: %v", method, pathAndQuery, b, err)
	}
	if got := res.Header.Get("X-Request-Id"); got != req.Header.Get("X-Request-Id") {
		c.t.Fatalf("X-Request-Id not echoed: sent %q got %q", req.Header.Get("X-Request-Id"), got)
	}
	return out
}

// ok asserts success and decodes data into v.
func (r resp) ok(t testing.TB, v any) {
	t.Helper()
	if r.status != 200 || r.env.Error != nil {
		t.Fatalf("want success, got HTTP %d %s", r.status, r.raw)
	}
	if v != nil {
		if err := json.Unmarshal(r.env.Data, v); err != nil {
			t.Fatalf("decode data %s: %v", r.env.Data, err)
		}
	}
}

// fails asserts an error envelope with the code (HTTP 202 unless code is
// 500/7000/7001 or httpStatus is given).
func (r resp) fails(t testing.TB, code int) {
	t.Helper()
	want := 202
	if code == 500 || code == 7000 || code == 7001 {
		want = 500
	}
	if r.status != want || r.env.Error == nil || r.env.Error.Code != code || r.env.Data != nil {
		t.Fatalf("want HTTP %d code %d, got HTTP %d %s", want, code, r.status, r.raw)
	}
	if r.env.Error.Status != want {
		t.Fatalf("error.status = %d, want %d", r.env.Error.Status, want)
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
