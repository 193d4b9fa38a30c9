package mixin

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// Keystore holds the credentials of one bot session: the bot's user id, the
// session id and the session's private key. Load it with [LoadKeystore] or
// [ParseKeystore]; build one in code with [NewKeystore].
//
// The private key is unexported and never printed: fmt verbs, slog, errors
// and encoding/json show only the ids. Write it out with
// [Keystore.ExportJSON] when you really mean to (e.g. to a 0600 file).
type Keystore struct {
	// AppID is the bot's user id (app_id, or client_id in legacy files).
	AppID string
	// SessionID identifies the session the key belongs to.
	SessionID string
	// ServerPublicKey is the server's Ed25519 public key for the session, hex
	// encoded (current dashboard format only).
	ServerPublicKey string
	// PinToken is the legacy pin_token (base64); empty in the current format.
	PinToken string
	// Scope is the optional OAuth-style scope a legacy file may carry.
	Scope string

	key *sessionKey
}

// sessionKey is the secret half; it lives behind a pointer so that a value
// embedded anywhere prints as an address, never as bytes.
type sessionKey struct {
	ed  ed25519.PrivateKey // nil for RSA
	rsa *rsa.PrivateKey    // legacy RS512 sessions
	// header is the base64url JWT header for the key's algorithm.
	header string
}

const (
	headerEdDSA = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9" // {"alg":"EdDSA","typ":"JWT"}
	headerRS512 = "eyJhbGciOiJSUzUxMiIsInR5cCI6IkpXVCJ9" // {"alg":"RS512","typ":"JWT"}
)

// keystoreFile is every field any of the supported formats carries.
type keystoreFile struct {
	AppID             string `json:"app_id,omitempty"`
	ClientID          string `json:"client_id,omitempty"`
	UserID            string `json:"user_id,omitempty"`
	SessionID         string `json:"session_id"`
	ServerPublicKey   string `json:"server_public_key,omitempty"`
	SessionPrivateKey string `json:"session_private_key,omitempty"`
	PrivateKey        string `json:"private_key,omitempty"`
	PinToken          string `json:"pin_token,omitempty"`
	PinTokenBase64    string `json:"pin_token_base64,omitempty"`
	Scope             string `json:"scope,omitempty"`
}

// LoadKeystore reads and parses a keystore file. See [ParseKeystore].
func LoadKeystore(path string) (*Keystore, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mixin: read keystore: %w", err)
	}
	return ParseKeystore(data)
}

// ParseKeystore parses a keystore in any of the formats the Mixin dashboard
// has issued:
//
//   - current: app_id, session_id, server_public_key (hex) and
//     session_private_key (hex of the 32-byte Ed25519 seed);
//   - legacy Ed25519: client_id, session_id, private_key (base64url of the
//     64-byte key) and pin_token;
//   - legacy RSA: client_id, session_id and private_key as a PEM block (tokens
//     are then signed with RS512).
//
// A malformed file yields a [*FieldError] naming the field and the reason;
// the error never contains key material.
func ParseKeystore(data []byte) (*Keystore, error) {
	var f keystoreFile
	if err := json.Unmarshal(data, &f); err != nil {
		// json errors may quote input; keep only the position.
		return nil, &FieldError{Field: "keystore", Reason: "not a JSON object" + jsonErrorPosition(err)}
	}
	ks := &Keystore{SessionID: f.SessionID, ServerPublicKey: f.ServerPublicKey, Scope: f.Scope}
	ks.PinToken = f.PinToken
	if ks.PinToken == "" {
		ks.PinToken = f.PinTokenBase64
	}
	idField := "app_id"
	switch {
	case f.AppID != "":
		ks.AppID = f.AppID
	case f.ClientID != "":
		ks.AppID, idField = f.ClientID, "client_id"
	case f.UserID != "":
		ks.AppID, idField = f.UserID, "user_id"
	default:
		return nil, &FieldError{Field: "app_id", Reason: "missing (also looked for client_id and user_id)"}
	}
	var err error
	if ks.AppID, err = parseSecretUUID(idField, ks.AppID); err != nil {
		return nil, err
	}
	if f.SessionID == "" {
		return nil, &FieldError{Field: "session_id", Reason: "missing"}
	}
	if ks.SessionID, err = parseSecretUUID("session_id", f.SessionID); err != nil {
		return nil, err
	}
	switch {
	case f.SessionPrivateKey != "":
		ks.key, err = parseHexSeed(f.SessionPrivateKey)
	case f.PrivateKey != "":
		ks.key, err = parseLegacyKey(f.PrivateKey)
	default:
		err = &FieldError{Field: "session_private_key", Reason: "missing (also looked for the legacy private_key)"}
	}
	if err != nil {
		return nil, err
	}
	if ks.ServerPublicKey != "" {
		if len(ks.ServerPublicKey) != 64 || !isHex(ks.ServerPublicKey) {
			return nil, &FieldError{Field: "server_public_key", Reason: "must be 64 hex characters (a 32-byte Ed25519 public key)"}
		}
		ks.ServerPublicKey = strings.ToLower(ks.ServerPublicKey)
	}
	return ks, nil
}

// NewKeystore builds a keystore from ids and an Ed25519 private key (64
// bytes, as returned by ed25519.GenerateKey or ed25519.NewKeyFromSeed).
func NewKeystore(appID, sessionID string, key ed25519.PrivateKey) (*Keystore, error) {
	var err error
	ks := &Keystore{}
	if ks.AppID, err = parseUUID("app_id", appID); err != nil {
		return nil, err
	}
	if ks.SessionID, err = parseUUID("session_id", sessionID); err != nil {
		return nil, err
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, &FieldError{Field: "session_private_key", Reason: "must be a 64-byte Ed25519 private key, got " + strconv.Itoa(len(key)) + " bytes"}
	}
	ks.key = &sessionKey{ed: append(ed25519.PrivateKey(nil), key...), header: headerEdDSA}
	return ks, nil
}

func parseHexSeed(s string) (*sessionKey, error) {
	if len(s) != 64 {
		return nil, &FieldError{Field: "session_private_key", Reason: "must be 64 hex characters (a 32-byte Ed25519 seed), got " + strconv.Itoa(len(s)) + " characters"}
	}
	seed, err := hex.DecodeString(s)
	if err != nil {
		// hex errors quote the offending character: never pass them on.
		return nil, &FieldError{Field: "session_private_key", Reason: "is not hex"}
	}
	return &sessionKey{ed: ed25519.NewKeyFromSeed(seed), header: headerEdDSA}, nil
}

func parseLegacyKey(s string) (*sessionKey, error) {
	if strings.HasPrefix(strings.TrimSpace(s), "-----BEGIN") {
		return parseRSAKey(s)
	}
	raw, err := decodeBase64Any(s)
	if err != nil {
		return nil, &FieldError{Field: "private_key", Reason: "is neither base64 nor a PEM block"}
	}
	switch len(raw) {
	case ed25519.PrivateKeySize:
		key := ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])
		if string(key[32:]) != string(raw[32:]) {
			return nil, &FieldError{Field: "private_key", Reason: "public half does not match the seed"}
		}
		return &sessionKey{ed: key, header: headerEdDSA}, nil
	case ed25519.SeedSize:
		return &sessionKey{ed: ed25519.NewKeyFromSeed(raw), header: headerEdDSA}, nil
	default:
		return nil, &FieldError{Field: "private_key", Reason: "must decode to a 64-byte Ed25519 key, got " + strconv.Itoa(len(raw)) + " bytes"}
	}
}

func parseRSAKey(s string) (*sessionKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, &FieldError{Field: "private_key", Reason: "PEM block does not decode"}
	}
	var key *rsa.PrivateKey
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		key = k
	} else if k8, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		rk, ok := k8.(*rsa.PrivateKey)
		if !ok {
			return nil, &FieldError{Field: "private_key", Reason: "PEM block holds a non-RSA key"}
		}
		key = rk
	} else {
		return nil, &FieldError{Field: "private_key", Reason: "PEM block is not an RSA private key (PKCS#1 or PKCS#8)"}
	}
	if key.N.BitLen() < 1024 {
		return nil, &FieldError{Field: "private_key", Reason: "RSA key shorter than 1024 bits"}
	}
	return &sessionKey{rsa: key, header: headerRS512}, nil
}

// decodeBase64Any accepts the std and URL alphabets, padded or not.
func decodeBase64Any(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if strings.ContainsAny(s, "+/") {
		return base64.RawStdEncoding.DecodeString(s)
	}
	return base64.RawURLEncoding.DecodeString(s)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func jsonErrorPosition(err error) string {
	if se, ok := err.(*json.SyntaxError); ok {
		return " (syntax error at byte " + strconv.FormatInt(se.Offset, 10) + ")"
	}
	return ""
}

// Algorithm reports the JWT algorithm the keystore signs with: "EdDSA" or
// "RS512".
func (k *Keystore) Algorithm() string {
	if k.key != nil && k.key.rsa != nil {
		return "RS512"
	}
	return "EdDSA"
}

// PublicKey returns the session's Ed25519 public key, or nil for an RSA
// session.
func (k *Keystore) PublicKey() ed25519.PublicKey {
	if k.key == nil || k.key.ed == nil {
		return nil
	}
	return k.key.ed.Public().(ed25519.PublicKey)
}

func (k *Keystore) valid() error {
	if k == nil {
		return &FieldError{Field: "keystore", Reason: "is nil"}
	}
	if k.key == nil {
		return &FieldError{Field: "keystore", Reason: "has no private key (build it with ParseKeystore, LoadKeystore or NewKeystore)"}
	}
	if _, err := parseUUID("app_id", k.AppID); err != nil {
		return err
	}
	if _, err := parseUUID("session_id", k.SessionID); err != nil {
		return err
	}
	return nil
}

// MarshalJSON writes the keystore's public part only: app_id,
// session_id, and server_public_key, pin_token and scope when set. Marshalling
// a struct that holds a keystore (a config, a log record) therefore never
// writes the private key; the result does not parse back as a keystore.
// Use [Keystore.ExportJSON] to write the secret on purpose.
func (k Keystore) MarshalJSON() ([]byte, error) {
	return json.Marshal(keystoreFile{AppID: k.AppID, SessionID: k.SessionID, ServerPublicKey: k.ServerPublicKey,
		PinToken: k.PinToken, Scope: k.Scope})
}

// ExportJSON writes the whole keystore, private key included, in the
// current dashboard format (the legacy format for RSA sessions), which
// [ParseKeystore] reads back. It is the only way the key leaves the
// process; treat the output as a secret (e.g. a 0600 file).
func (k *Keystore) ExportJSON() ([]byte, error) {
	f := keystoreFile{SessionID: k.SessionID, ServerPublicKey: k.ServerPublicKey, PinToken: k.PinToken, Scope: k.Scope}
	switch {
	case k.key == nil:
		return nil, &FieldError{Field: "keystore", Reason: "has no private key"}
	case k.key.rsa != nil:
		f.ClientID = k.AppID
		f.PrivateKey = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.key.rsa)}))
	default:
		f.AppID = k.AppID
		f.SessionPrivateKey = hex.EncodeToString(k.key.ed.Seed())
	}
	return json.Marshal(f)
}

// String shows the ids only.
func (k Keystore) String() string {
	return "mixin.Keystore{AppID:" + k.AppID + " SessionID:" + k.SessionID + " PrivateKey:[REDACTED]}"
}

// GoString shows the ids only, for %#v.
func (k Keystore) GoString() string { return k.String() }

// Format prints the keystore for every verb without the private key.
func (k Keystore) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue keeps the key out of slog output.
func (k Keystore) LogValue() slog.Value {
	return slog.GroupValue(slog.String("app_id", k.AppID), slog.String("session_id", k.SessionID))
}

// String hides the key material.
func (*sessionKey) String() string { return "[REDACTED]" }

// GoString hides the key material.
func (*sessionKey) GoString() string { return "[REDACTED]" }

// Format hides the key material for every verb.
func (*sessionKey) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("[REDACTED]")) }

// claimsMax bounds the claims we usually write; UUIDs and hex keep them
// fixed-size, so they are built on the stack.
const claimsMax = 320

// appendJSONString appends s as a JSON string. The ids the SDK signs
// (UUIDs) need no escaping and take the fast path; anything else (a
// caller's request id in [Client.Token]) is encoded by encoding/json, so a
// quote can never end the claim early.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always marshals
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// authorization returns "Bearer <jwt>" for one request. sig covers
// METHOD ‖ uri ‖ body exactly as they go on the wire.
func (k *Keystore) authorization(method, uri string, body []byte, requestID string, now time.Time, lifetime time.Duration) (string, error) {
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte(uri))
	h.Write(body)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])

	var claims [claimsMax]byte
	c := claims[:0]
	iat := now.Unix()
	c = append(c, `{"uid":`...)
	c = appendJSONString(c, k.AppID)
	c = append(c, `,"sid":`...)
	c = appendJSONString(c, k.SessionID)
	c = append(c, `,"iat":`...)
	c = strconv.AppendInt(c, iat, 10)
	c = append(c, `,"exp":`...)
	c = strconv.AppendInt(c, iat+int64(lifetime/time.Second), 10)
	c = append(c, `,"jti":`...)
	c = appendJSONString(c, requestID)
	c = append(c, `,"sig":"`...)
	c = hex.AppendEncode(c, sum[:])
	c = append(c, `","scp":"FULL"}`...)

	key := k.key
	const bearer = "Bearer "
	sigLen := base64.RawURLEncoding.EncodedLen(ed25519.SignatureSize)
	if key.rsa != nil {
		sigLen = base64.RawURLEncoding.EncodedLen(key.rsa.Size())
	}
	out := make([]byte, 0, len(bearer)+len(key.header)+1+base64.RawURLEncoding.EncodedLen(len(c))+1+sigLen)
	out = append(out, bearer...)
	out = append(out, key.header...)
	out = append(out, '.')
	out = base64.RawURLEncoding.AppendEncode(out, c)
	input := out[len(bearer):]
	var sig []byte
	if key.rsa != nil {
		digest := sha512.Sum512(input)
		var err error
		if sig, err = rsa.SignPKCS1v15(nil, key.rsa, crypto.SHA512, digest[:]); err != nil {
			return "", fmt.Errorf("mixin: sign token: RS512 failed")
		}
	} else {
		sig = ed25519.Sign(key.ed, input)
	}
	out = append(out, '.')
	out = base64.RawURLEncoding.AppendEncode(out, sig)
	return string(out), nil
}
