package mixintest

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gomixin/mixin"
)

func TestSigVectors(t *testing.T) {
	for _, tc := range []struct{ method, uri, body, want string }{
		{"GET", "/me", "", "5e6b58ffa10b3bc51724ff0bbd2afb91c4771ee340f5d685340dfa4c854bafba"},
		{"GET", "/", "", "f837ebeb4c2981ad9c64b70d0b0d18724c76c60781b9e4bf7a582510df7ada39"},
		{"POST", "/attachments", "", "c80412e583e2bffa51b464ea3fb47b86c2c0bb2a7e2f35500089a589f430d684"},
	} {
		if got := signature(tc.method, tc.uri, []byte(tc.body)); got != tc.want {
			t.Errorf("signature(%s %s) = %s, want %s", tc.method, tc.uri, got, tc.want)
		}
	}
}

func TestAuthAcceptsValidToken(t *testing.T) {
	s := NewServer(t)
	var me struct {
		UserID    string `json:"user_id"`
		SessionID string `json:"session_id"`
		CodeURL   string `json:"code_url"`
		App       struct {
			AppID     string `json:"app_id"`
			AppNumber string `json:"app_number"`
		} `json:"app"`
		Relationship string `json:"relationship"`
	}
	c := newREST(t, s, s.Bot())
	c.do("GET", "/me", nil).ok(t, &me)
	if me.UserID != s.Bot().UserID || me.SessionID != s.Bot().SessionID || me.App.AppID != s.Bot().UserID ||
		me.App.AppNumber != s.Bot().IdentityNumber || me.Relationship != "ME" || me.CodeURL == "" {
		t.Fatalf("bad /me: %+v", me)
	}
	c.do("GET", "/safe/me", nil).ok(t, nil)
	// A simulated user authenticates as itself.
	alice := s.NewUser("Alice")
	var am struct {
		UserID string          `json:"user_id"`
		App    json.RawMessage `json:"app"`
	}
	newREST(t, s, alice).do("GET", "/me", nil).ok(t, &am)
	if am.UserID != alice.UserID || am.App != nil {
		t.Fatalf("alice /me: %+v", am)
	}
	// Query strings are part of the signed URI.
	c.do("GET", "/users/"+alice.UserID+"?x=1", nil).ok(t, nil)
	// jti unrelated to X-Request-Id is fine; a 90-day token (Go client) too.
	c.mutate = func(ts *tokenSpec) { ts.claims["exp"] = s.now().Add(90 * 24 * time.Hour).Unix() }
	c.do("GET", "/me", nil).ok(t, nil)
}

func TestAuthRejects(t *testing.T) {
	s := NewServer(t, WithMaxTokenAge(24*time.Hour))
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	now := s.now()
	cases := map[string]func(*tokenSpec){
		"wrong key":        func(ts *tokenSpec) { ts.key = otherKey },
		"expired":          func(ts *tokenSpec) { ts.claims["exp"] = now.Add(-time.Minute).Unix() },
		"iat future":       func(ts *tokenSpec) { ts.claims["iat"] = now.Add(10 * time.Minute).Unix() },
		"too long":         func(ts *tokenSpec) { ts.claims["exp"] = now.Add(48 * time.Hour).Unix() },
		"no jti":           func(ts *tokenSpec) { delete(ts.claims, "jti") },
		"no exp":           func(ts *tokenSpec) { delete(ts.claims, "exp") },
		"no sig":           func(ts *tokenSpec) { delete(ts.claims, "sig") },
		"bad sig":          func(ts *tokenSpec) { ts.claims["sig"] = sigOf("GET", "/you", nil) },
		"unknown session":  func(ts *tokenSpec) { ts.claims["sid"] = "00000000-0000-4000-8000-000000000000" },
		"unknown user":     func(ts *tokenSpec) { ts.claims["uid"] = "00000000-0000-4000-8000-000000000000" },
		"alg none":         func(ts *tokenSpec) { ts.header["alg"] = "none" },
		"method in sig":    func(ts *tokenSpec) { ts.claims["sig"] = sigOf("POST", "/me", nil) },
		"alg HS256 header": func(ts *tokenSpec) { ts.header["alg"] = "HS256" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			c := newREST(t, s, s.Bot())
			c.mutate = mutate
			c.do("GET", "/me", nil).fails(t, 401)
		})
	}
	t.Run("HS256 signed with the public key", func(t *testing.T) {
		ts := defaultSpec(s.Bot(), "GET", "/me", nil, now)
		ts.header["alg"] = "HS256"
		h, _ := json.Marshal(ts.header)
		cl, _ := json.Marshal(ts.claims)
		msg := b64(h) + "." + b64(cl)
		mac := hmac.New(sha256.New, s.Bot().key.Public().(ed25519.PublicKey))
		mac.Write([]byte(msg))
		tok := msg + "." + b64(mac.Sum(nil))
		req, _ := http.NewRequest("GET", s.URL()+"/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := s.Requests(); got[len(got)-1].Code != 401 {
			t.Fatalf("HS256 accepted: %+v", got[len(got)-1])
		}
	})
	t.Run("tampered body", func(t *testing.T) {
		newREST(t, s, s.Bot()).doRaw("POST", "/users/fetch", []byte(`["a"]`), []byte(`["b"]`)).fails(t, 401)
	})
	t.Run("tampered query", func(t *testing.T) {
		c := newREST(t, s, s.Bot())
		c.mutate = func(ts *tokenSpec) { ts.claims["sig"] = sigOf("GET", "/users/x?limit=1", nil) }
		c.do("GET", "/users/x?limit=2", nil).fails(t, 401)
	})
	t.Run("no header", func(t *testing.T) {
		res, err := http.Get(s.URL() + "/me")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 202 {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
	t.Run("leeway", func(t *testing.T) {
		c := newREST(t, s, s.Bot())
		c.mutate = func(ts *tokenSpec) {
			ts.claims["exp"] = now.Add(-3 * time.Second).Unix()
			ts.claims["iat"] = now.Add(-time.Hour).Unix()
		}
		c.do("GET", "/me", nil).ok(t, nil)
		c.mutate = func(ts *tokenSpec) { ts.claims["iat"] = now.Add(time.Minute).Unix() }
		c.do("GET", "/me", nil).ok(t, nil)
	})
	// Every rejection was recorded without a user.
	for _, r := range s.Requests() {
		if r.Code == 401 && (r.UserID != "" || r.Status != 202) {
			t.Fatalf("bad record %+v", r)
		}
	}
}

func TestAuthUsesServerClock(t *testing.T) {
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s := NewServer(t, WithClock(func() time.Time { return fixed }))
	c := newREST(t, s, s.Bot())
	r := c.do("GET", "/me", nil)
	r.ok(t, nil)
	if got := r.header.Get("Date"); got != fixed.Format(http.TimeFormat) {
		t.Fatalf("Date = %q", got)
	}
	// A token valid by the wall clock but expired by the server clock fails.
	c.mutate = func(ts *tokenSpec) {
		ts.claims["iat"] = fixed.Add(-2 * time.Hour).Unix()
		ts.claims["exp"] = fixed.Add(-time.Hour).Unix()
	}
	c.do("GET", "/me", nil).fails(t, 401)
}

func TestEnvelopeErrors(t *testing.T) {
	s := NewServer(t)
	c := newREST(t, s, s.Bot())
	c.do("GET", "/nope", nil).fails(t, 404)
	c.do("GET", "/messages", nil).fails(t, 404)
	c.do("POST", "/users/fetch", "{not json").fails(t, 400)
	r := c.do("POST", "/conversations", map[string]any{"category": "GROUP", "conversation_id": "nope"})
	r.fails(t, 10002)
	if r.env.Error.Extra["field"] != "conversation_id" {
		t.Fatalf("extra = %v", r.env.Error.Extra)
	}
}

func TestPathPrefix(t *testing.T) {
	s := NewServer(t, WithPathPrefix("api/"))
	if !contains(s.URL(), "/api") || !contains(s.BlazeURL(), "/api/") {
		t.Fatalf("URL %s BlazeURL %s", s.URL(), s.BlazeURL())
	}
	c := newREST(t, s, s.Bot())
	c.do("GET", "/me", nil).ok(t, nil) // signed over /api/me
	// Clients that sign the path relative to the base URL (Node SDK) work too.
	c.mutate = func(ts *tokenSpec) { ts.claims["sig"] = sigOf("GET", "/me", nil) }
	c.do("GET", "/me", nil).ok(t, nil)
	c.mutate = func(ts *tokenSpec) { ts.claims["sig"] = sigOf("GET", "/you", nil) }
	c.do("GET", "/me", nil).fails(t, 401)
	// Without the prefix nothing is served.
	res, err := http.Get(s.URL()[:len(s.URL())-len("/api")] + "/me")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("unprefixed: %d", res.StatusCode)
	}
	if got := s.Requests(); len(got) == 0 || got[0].Path != "/me" {
		t.Fatalf("recorded path should not carry the prefix: %+v", got)
	}
}

func TestClientIsWired(t *testing.T) {
	s := NewServer(t)
	c, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	me, err := c.ReadMe(ctxT(t))
	if err != nil || me.UserID != s.Bot().UserID {
		t.Fatalf("Me: %+v, %v", me, err)
	}
	if _, err := s.Client(mixin.WithRequestTimeout(-1)); !errors.Is(err, mixin.ErrInvalidInput) {
		t.Fatalf("invalid option: %v, want ErrInvalidInput", err)
	}
}

func TestClientWithoutTestOrStartFailsWithoutPanic(t *testing.T) {
	s := NewUnstartedServer()
	defer s.Close()
	if c, err := s.Client(); err == nil || c != nil {
		t.Fatalf("unstarted: %v, %v; want an error", c, err)
	}
	s.Start()
	if _, err := s.Client(mixin.WithBaseURL("nope")); !errors.Is(err, mixin.ErrInvalidInput) {
		t.Fatalf("invalid option without a t: %v, want ErrInvalidInput", err)
	}
	if _, err := s.Client(); err != nil {
		t.Fatal(err)
	}
}
