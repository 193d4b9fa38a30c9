package mixin

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testAppID     = "11efbb75-e7fe-44d7-a14f-698535289310"
	testSessionID = "afad4c37-b90e-43c2-adc2-e6e1bd31ae94"
)

// testSeed is bytes 0x01..0x20, the seed of the protocol sheet's key vector.
func testSeed() []byte {
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = byte(i + 1)
	}
	return seed
}

func dashboardJSON(seedHex string) []byte {
	return []byte(`{"app_id":"` + testAppID + `","session_id":"` + testSessionID + `","server_public_key":"` +
		strings.Repeat("ab", 32) + `","session_private_key":"` + seedHex + `"}`)
}

func TestParseKeystoreDashboard(t *testing.T) {
	ks, err := ParseKeystore(dashboardJSON(hex.EncodeToString(testSeed())))
	require.NoError(t, err)
	assert.Equal(t, testAppID, ks.AppID)
	assert.Equal(t, testSessionID, ks.SessionID)
	assert.Equal(t, "EdDSA", ks.Algorithm())
	// Public key of seed 0x01..0x20 from the protocol sheet.
	assert.Equal(t, "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664", hex.EncodeToString(ks.PublicKey()))
}

func TestParseKeystoreLegacyEd25519(t *testing.T) {
	key := ed25519.NewKeyFromSeed(testSeed())
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding} {
		data := fmt.Sprintf(`{"client_id":%q,"session_id":%q,"private_key":%q,"pin_token":"x","pin":"123456"}`, testAppID, testSessionID, enc.EncodeToString(key))
		ks, err := ParseKeystore([]byte(data))
		require.NoError(t, err)
		assert.Equal(t, testAppID, ks.AppID)
		assert.Equal(t, key.Public(), ks.PublicKey())
		assert.Equal(t, "x", ks.PinToken)
	}
}

func TestParseKeystoreLegacyRSA(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	data, _ := json.Marshal(map[string]string{"client_id": testAppID, "session_id": testSessionID, "private_key": string(pemKey)})
	ks, err := ParseKeystore(data)
	require.NoError(t, err)
	assert.Equal(t, "RS512", ks.Algorithm())

	auth, err := ks.authorization("GET", "/me", nil, "8b5a3d6c-5f41-4c6b-9c59-5b7f7cfb0a43", time.Now(), time.Minute)
	require.NoError(t, err)
	tok, err := jwt.Parse(strings.TrimPrefix(auth, "Bearer "), func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS512"}))
	require.NoError(t, err)
	assert.Equal(t, "5e6b58ffa10b3bc51724ff0bbd2afb91c4771ee340f5d685340dfa4c854bafba", tok.Claims.(jwt.MapClaims)["sig"])
}

func TestParseKeystoreMalformed(t *testing.T) {
	seedHex := hex.EncodeToString(testSeed())
	cases := []struct {
		name, data, field string
	}{
		{"not json", `{"app_id":`, "keystore"},
		{"array", `[]`, "keystore"},
		{"missing app id", `{"session_id":"` + testSessionID + `","session_private_key":"` + seedHex + `"}`, "app_id"},
		{"bad app id", `{"app_id":"nope","session_id":"` + testSessionID + `","session_private_key":"` + seedHex + `"}`, "app_id"},
		{"missing session", `{"app_id":"` + testAppID + `","session_private_key":"` + seedHex + `"}`, "session_id"},
		{"bad session", `{"app_id":"` + testAppID + `","session_id":"123","session_private_key":"` + seedHex + `"}`, "session_id"},
		{"missing key", `{"app_id":"` + testAppID + `","session_id":"` + testSessionID + `"}`, "session_private_key"},
		{"short hex", string(dashboardJSON(seedHex[:62])), "session_private_key"},
		{"64-byte hex", string(dashboardJSON(seedHex + seedHex)), "session_private_key"},
		{"wrong hex", string(dashboardJSON("zz" + seedHex[2:])), "session_private_key"},
		{"bad server key", `{"app_id":"` + testAppID + `","session_id":"` + testSessionID + `","server_public_key":"xy","session_private_key":"` + seedHex + `"}`, "server_public_key"},
		{"legacy not base64", `{"client_id":"` + testAppID + `","session_id":"` + testSessionID + `","private_key":"!!!"}`, "private_key"},
		{"legacy wrong length", `{"client_id":"` + testAppID + `","session_id":"` + testSessionID + `","private_key":"` + base64.RawURLEncoding.EncodeToString(make([]byte, 40)) + `"}`, "private_key"},
		{"legacy mismatched halves", `{"client_id":"` + testAppID + `","session_id":"` + testSessionID + `","private_key":"` + base64.RawURLEncoding.EncodeToString(append(testSeed(), make([]byte, 32)...)) + `"}`, "private_key"},
		{"legacy bad pem", `{"client_id":"` + testAppID + `","session_id":"` + testSessionID + `","private_key":"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----"}`, "private_key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKeystore([]byte(tc.data))
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.field, fe.Field)
			assert.ErrorIs(t, err, ErrInvalidInput)
			assert.NotContains(t, err.Error(), seedHex[2:20], "error must not echo key material")
		})
	}
}

func TestKeystoreRedaction(t *testing.T) {
	seedHex := hex.EncodeToString(testSeed())
	ks, err := ParseKeystore(dashboardJSON(seedHex))
	require.NoError(t, err)
	key := ed25519.NewKeyFromSeed(testSeed())
	secrets := []string{seedHex, hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(testSeed()), fmt.Sprint([]byte(key))}

	c, err := NewClient(ks)
	require.NoError(t, err)
	type wrapper struct {
		KS  Keystore
		Ptr *Keystore
		C   *Client
	}
	var logBuf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logBuf, nil))
	logger.Info("ks", "ks", ks, "value", *ks)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("ks", "ks", ks)

	outputs := []string{logBuf.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outputs = append(outputs, fmt.Sprintf(verb, ks), fmt.Sprintf(verb, *ks), fmt.Sprintf(verb, c),
			fmt.Sprintf(verb, wrapper{*ks, ks, c}), fmt.Sprintf(verb, []any{ks, *ks}), fmt.Sprintf(verb, ks.key))
	}
	for _, out := range outputs {
		for _, s := range secrets {
			assert.NotContains(t, out, s)
		}
		assert.NotContains(t, strings.ToLower(out), seedHex[:16])
	}
	assert.Contains(t, fmt.Sprintf("%+v", ks), testAppID)

	// encoding/json writes the public part only, by pointer, by value and
	// inside a struct.
	for _, v := range []any{ks, *ks, wrapper{*ks, ks, nil}, map[string]*Keystore{"k": ks}} {
		raw, err := json.Marshal(v)
		require.NoError(t, err)
		for _, s := range secrets {
			assert.NotContains(t, string(raw), s)
		}
		assert.NotContains(t, string(raw), "private_key")
		assert.Contains(t, string(raw), testAppID)
	}
	pub, err := json.Marshal(ks)
	require.NoError(t, err)
	_, err = ParseKeystore(pub)
	assert.ErrorIs(t, err, ErrInvalidInput, "the public part is not a keystore")

	// ExportJSON is the deliberate way out, and round-trips.
	raw, err := ks.ExportJSON()
	require.NoError(t, err)
	assert.Contains(t, string(raw), seedHex)
	back, err := ParseKeystore(raw)
	require.NoError(t, err)
	assert.Equal(t, ks.PublicKey(), back.PublicKey())
	assert.Equal(t, ks.AppID, back.AppID)
}

func TestClientKeystoreIsACopy(t *testing.T) {
	ks, err := ParseKeystore(dashboardJSON(hex.EncodeToString(testSeed())))
	require.NoError(t, err)
	c, err := NewClient(ks)
	require.NoError(t, err)
	ks.AppID = "00000000-0000-4000-8000-000000000000" // the caller's copy
	got := c.Keystore()
	assert.Equal(t, testAppID, got.AppID)
	got.AppID, got.SessionID = "x", "y"
	assert.Equal(t, testAppID, c.AppID())
	assert.Equal(t, testAppID, c.Keystore().AppID)
	assert.Equal(t, testSessionID, c.Keystore().SessionID)
	tok, err := c.Token("GET", "/me", nil, "0b1e5bba-4c2a-4d3e-9f7a-000000000001")
	require.NoError(t, err)
	claims := tokenClaims(t, tok)
	assert.Equal(t, testAppID, claims["uid"])
	assert.Equal(t, testSessionID, claims["sid"])
}

// tokenClaims decodes a token's claims, failing on a repeated key.
func tokenClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(raw))
	_, err = dec.Token() // {
	require.NoError(t, err)
	claims := map[string]any{}
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		var v any
		require.NoError(t, dec.Decode(&v))
		_, dup := claims[k.(string)]
		require.False(t, dup, "claim %q appears twice in %s", k, raw)
		claims[k.(string)] = v
	}
	return claims
}

func TestTokenEncodesEveryClaim(t *testing.T) {
	ks, err := ParseKeystore(dashboardJSON(hex.EncodeToString(testSeed())))
	require.NoError(t, err)
	c, err := NewClient(ks)
	require.NoError(t, err)
	ids := map[string]string{ // request id -> jti as decoded
		`abc","scp":"X`: `abc","scp":"X`, `a\b`: `a\b`, "tab\tnew\nline\u0000": "tab\tnew\nline\u0000",
		"é<&>": "é<&>", "\xff\xfe": "\ufffd\ufffd",
	}
	for id, want := range ids {
		tok, err := c.Token("post", "/messages", []byte("{}"), id)
		require.NoError(t, err, "%q", id)
		claims := tokenClaims(t, tok)
		assert.Equal(t, "FULL", claims["scp"], "%q", id)
		assert.Equal(t, want, claims["jti"], "%q", id)
		assert.Equal(t, sigOf("POST", "/messages", []byte("{}")), claims["sig"])
		assert.Len(t, claims, 7)
	}
	for _, bad := range []struct{ method, uri, id string }{
		{"", "/me", "x"}, {"G ET", "/me", "x"}, {"GET\r\n", "/me", "x"}, {"GET", "me", "x"},
		{"GET", "/me", ""}, {"GET", "/me", strings.Repeat("x", 257)},
	} {
		_, err := c.Token(bad.method, bad.uri, nil, bad.id)
		assert.ErrorIs(t, err, ErrInvalidInput, "%+v", bad)
	}
}

// sigOf recomputes the sig claim the way the API does.
func sigOf(method, uri string, body []byte) string {
	h := sha256.Sum256(append([]byte(method+uri), body...))
	return hex.EncodeToString(h[:])
}

func TestSigVectors(t *testing.T) {
	// Vectors from the protocol sheet §1.2.
	assert.Equal(t, "5e6b58ffa10b3bc51724ff0bbd2afb91c4771ee340f5d685340dfa4c854bafba", sigOf("GET", "/me", nil))
	assert.Equal(t, "f837ebeb4c2981ad9c64b70d0b0d18724c76c60781b9e4bf7a582510df7ada39", sigOf("GET", "/", nil))
	assert.Equal(t, "c80412e583e2bffa51b464ea3fb47b86c2c0bb2a7e2f35500089a589f430d684", sigOf("POST", "/attachments", nil))
}

func TestTokenVerifiesWithIndependentJWTLibrary(t *testing.T) {
	ks, err := NewKeystore(testAppID, testSessionID, ed25519.NewKeyFromSeed(testSeed()))
	require.NoError(t, err)
	body := []byte(`{"conversation_id":"dd219235-e83a-3b85-a13f-d0f20fa0e833"}`)
	now := time.Unix(1_700_000_000, 0)
	reqID := "0b1e5bba-4c2a-4d3e-9f7a-000000000001"
	auth, err := ks.authorization("POST", "/messages?x=1", body, reqID, now, 5*time.Minute)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(auth, "Bearer "))

	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(strings.TrimPrefix(auth, "Bearer "), claims,
		func(*jwt.Token) (any, error) { return ks.PublicKey(), nil },
		jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithTimeFunc(func() time.Time { return now }))
	require.NoError(t, err)
	assert.Equal(t, "JWT", tok.Header["typ"])
	assert.Equal(t, testAppID, claims["uid"])
	assert.Equal(t, testSessionID, claims["sid"])
	assert.Equal(t, reqID, claims["jti"])
	assert.Equal(t, "FULL", claims["scp"])
	assert.EqualValues(t, now.Unix(), claims["iat"])
	assert.EqualValues(t, now.Add(5*time.Minute).Unix(), claims["exp"])
	assert.Equal(t, sigOf("POST", "/messages?x=1", body), claims["sig"])
}
