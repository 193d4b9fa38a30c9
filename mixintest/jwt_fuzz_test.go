package mixintest

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fuzzClock is the emulator's fixed time during FuzzVerifyToken, so seeds
// signed for it stay valid.
var fuzzClock = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// FuzzVerifyToken feeds arbitrary Authorization headers, methods, URIs and
// bodies to the emulator's token check. It must never panic, and it may
// accept a token only if an independent check agrees: an EdDSA JWT signed by
// the named user's session key, unexpired, whose sig claim covers exactly
// this method, URI and body.
func FuzzVerifyToken(f *testing.F) {
	s := NewUnstartedServer(WithClock(func() time.Time { return fuzzClock }))
	f.Cleanup(s.Close)
	bot := s.Bot()
	other := s.NewUser("Mallory")
	body := []byte(`{"category":"PLAIN_TEXT"}`)
	valid := defaultSpec(bot, "POST", "/messages", body, fuzzClock)
	f.Add("Bearer "+valid.sign(), "POST", "/messages", body)
	f.Add("Bearer "+defaultSpec(bot, "GET", "/me", nil, fuzzClock).sign(), "GET", "/me", []byte(nil))
	f.Add("Bearer "+defaultSpec(other, "GET", "/", nil, fuzzClock).sign(), "GET", "/", []byte(nil))
	forged := defaultSpec(bot, "GET", "/me", nil, fuzzClock)
	forged.key = other.key // right claims, wrong key
	f.Add("Bearer "+forged.sign(), "GET", "/me", []byte(nil))
	none := defaultSpec(bot, "GET", "/me", nil, fuzzClock)
	none.header = map[string]any{"alg": "none", "typ": "JWT"}
	f.Add("Bearer "+none.sign(), "GET", "/me", []byte(nil))
	hs := defaultSpec(bot, "GET", "/me", nil, fuzzClock)
	hs.header = map[string]any{"alg": "HS256", "typ": "JWT"}
	f.Add("Bearer "+hs.sign(), "GET", "/me", []byte(nil))
	expired := defaultSpec(bot, "GET", "/me", nil, fuzzClock.Add(-2*time.Hour))
	f.Add("Bearer "+expired.sign(), "GET", "/me", []byte(nil))
	f.Add("Bearer "+valid.sign(), "POST", "/messages", []byte(`{}`)) // body swapped
	f.Add("Bearer ", "GET", "/me", []byte(nil))
	f.Add("bearer "+valid.sign(), "GET", "/me", []byte(nil))
	f.Add("Bearer a.b.c", "GET", "/me", []byte(nil))
	f.Add("Bearer ....", "GET", "/me", []byte(nil))

	f.Fuzz(func(t *testing.T, auth, method, uri string, body []byte) {
		r := &http.Request{Method: method, RequestURI: uri, Header: http.Header{"Authorization": {auth}}}
		u, err := s.authenticate(r, body)
		if err != nil {
			if u != nil {
				t.Fatalf("error %v with a user", err)
			}
			return
		}
		if u == nil {
			t.Fatal("no error and no user")
		}
		if reason := independentCheck(u, auth, method, uri, body, fuzzClock); reason != "" {
			t.Fatalf("accepted a token an independent check rejects (%s): %q for %s %q", reason, auth, method, uri)
		}
	})
}

// independentCheck verifies a bearer token without golang-jwt; it returns
// why the token is bad, or "".
func independentCheck(u *User, auth, method, uri string, body []byte, now time.Time) string {
	raw, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return "no Bearer prefix"
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "not three parts"
	}
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			return nil
		}
		return b
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(dec(parts[0]), &header) != nil || header.Alg != "EdDSA" {
		return "alg is not EdDSA"
	}
	sig := dec(parts[2])
	if !ed25519.Verify(u.key.Public().(ed25519.PublicKey), []byte(parts[0]+"."+parts[1]), sig) {
		return "signature does not verify with the user's key"
	}
	var claims struct {
		UID string  `json:"uid"`
		SID string  `json:"sid"`
		Exp float64 `json:"exp"`
		Sig string  `json:"sig"`
	}
	d := json.NewDecoder(bytes.NewReader(dec(parts[1])))
	if d.Decode(&claims) != nil {
		return "claims do not decode"
	}
	if claims.UID != u.UserID || claims.SID != u.SessionID {
		return "uid/sid name another session"
	}
	if time.Unix(int64(claims.Exp), 0).Before(now.Add(-tokenLeeway - time.Second)) {
		return "expired"
	}
	if claims.Sig != sigOf(method, uri, body) {
		return "sig claim does not cover the request"
	}
	return ""
}

// TestVerifyTokenSeedsBehave pins the seed verdicts outside fuzzing: only
// the two correctly signed tokens for their own requests pass.
func TestVerifyTokenSeedsBehave(t *testing.T) {
	s := NewUnstartedServer(WithClock(func() time.Time { return fuzzClock }))
	t.Cleanup(s.Close)
	bot, other := s.Bot(), s.NewUser("Mallory")
	check := func(auth, method, uri string, body []byte) bool {
		u, err := s.authenticate(&http.Request{Method: method, RequestURI: uri, Header: http.Header{"Authorization": {auth}}}, body)
		return err == nil && u != nil
	}
	ok := defaultSpec(bot, "GET", "/me", nil, fuzzClock)
	if !check("Bearer "+ok.sign(), "GET", "/me", nil) {
		t.Fatal("valid token rejected")
	}
	forged := ok
	forged.key = other.key
	none := defaultSpec(bot, "GET", "/me", nil, fuzzClock)
	none.header = map[string]any{"alg": "none"}
	for name, auth := range map[string]string{
		"wrong key":   "Bearer " + forged.sign(),
		"alg none":    "Bearer " + none.sign(),
		"no prefix":   ok.sign(),
		"lowercase":   "bearer " + ok.sign(),
		"empty":       "",
		"truncated":   "Bearer " + ok.sign()[:40],
		"sig dropped": "Bearer " + ok.sign()[:strings.LastIndex(ok.sign(), ".")+1],
	} {
		if check(auth, "GET", "/me", nil) {
			t.Errorf("%s: accepted", name)
		}
	}
	if check("Bearer "+ok.sign(), "GET", "/me?x=1", nil) {
		t.Error("token for /me accepted for /me?x=1")
	}
}
