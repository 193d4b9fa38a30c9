package mixin

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/md5"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
)

// The end-to-end encrypted message format (ENCRYPTED_*). The facts come from
// the official clients, which agree byte for byte: bot-api-go-client
// message.go (EncryptMessageData, DecryptMessageData) and crypto.go
// (PrivateKeyToCurve25519, PublicKeyToCurve25519), fox-one/mixin-sdk-go
// messages_encrypt.go, and bot-api-kotlin-client util/EncryptedProtocol.kt:
//
//	[0]      version 0x01
//	[1:3]    N, the number of recipient sessions, uint16 little-endian
//	[3:35]   the sender's X25519 public key
//	N × 64   session id (16 raw UUID bytes) ‖ CBC IV (16) ‖
//	         AES-256-CBC(shared secret, PKCS#7) of the 16-byte message key (32)
//	12       GCM nonce
//	rest     AES-128-GCM(message key, nonce, no additional data) ‖ 16-byte tag
//
// The shared secret is X25519(own private key, peer public key), used as the
// AES-256 key as it is. The X25519 private key of a session is SHA-512 of the
// Ed25519 seed, first 32 bytes, clamped.
const (
	envelopeVersion    = 1
	envelopeHeaderSize = 35
	envelopeEntrySize  = 64
	messageKeySize     = 16
	gcmNonceSize       = 12
	gcmTagSize         = 16
)

// MaxEncryptedSessions is the most recipient sessions one encrypted message
// may carry.
const MaxEncryptedSessions = 510 // the API documentation's limit for the uint16 count

// curvePrivateKey derives a session's X25519 private key from its Ed25519
// seed: the first 32 bytes of SHA-512(seed), clamped as RFC 7748 says.
func curvePrivateKey(seed []byte) (*ecdh.PrivateKey, error) {
	h := sha512.Sum512(seed)
	defer clear(h[:])
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	return ecdh.X25519().NewPrivateKey(h[:32])
}

// e2eKey is the client's own session in the encryption protocol.
type e2eKey struct {
	priv      *ecdh.PrivateKey
	pub       [32]byte // X25519 public key, written into every envelope
	sessionID [16]byte
}

// ErrEncryptionUnsupported is matched (errors.Is) by the errors of a client
// whose keystore cannot take part in end-to-end encryption: a legacy RSA
// session has no Ed25519 key to derive an X25519 key from.
var ErrEncryptionUnsupported = errors.New("mixin: the keystore is a legacy RSA session, which cannot encrypt or decrypt ENCRYPTED_* messages (they need an Ed25519 session key; upgrade the session with POST /legacy/users)")

// e2eState is the client's lazily built encryption state; the zero value is
// ready.
type e2eState struct {
	once  sync.Once
	key   *e2eKey
	err   error
	convs *conversationCache
}

// init derives the key (once) and builds the conversation cache.
func (c *Client) e2eInit() *e2eState {
	s := &c.e2e
	s.once.Do(func() {
		s.convs = newConversationCache(c.cfg.convCache, c.cfg.now)
		s.key, s.err = newE2EKey(c.ks)
	})
	return s
}

func newE2EKey(ks *Keystore) (*e2eKey, error) {
	if ks.key == nil || ks.key.ed == nil {
		return nil, ErrEncryptionUnsupported
	}
	seed := ks.key.ed.Seed()
	defer clear(seed)
	priv, err := curvePrivateKey(seed)
	if err != nil {
		return nil, err
	}
	k := &e2eKey{priv: priv}
	copy(k.pub[:], priv.PublicKey().Bytes())
	if k.sessionID, err = uuidParseBytes(ks.SessionID); err != nil {
		return nil, err
	}
	return k, nil
}

// e2eKey returns the client's encryption key, or why it has none.
func (c *Client) e2eKey() (*e2eKey, error) {
	s := c.e2eInit()
	return s.key, s.err
}

// sessionPeer is one recipient session with what encrypting for it needs.
// The shared secret is computed on first use and kept: the X25519 agreement
// is the costly step of a send.
type sessionPeer struct {
	userID    string
	sessionID string
	publicKey string // as published, base64url
	id        [16]byte
	pub       *ecdh.PublicKey // nil when the session published no usable key
	keyErr    string          // why pub is nil
	wrap      atomic.Pointer[wrapKey]
}

// wrapKey is the X25519 shared secret with a peer: 32 bytes kept per
// cached session (an expanded AES key would be 15 times more).
type wrapKey struct{ secret [32]byte }

func newSessionPeer(userID, sessionID, publicKey string) *sessionPeer {
	p := &sessionPeer{userID: userID, sessionID: sessionID, publicKey: publicKey}
	id, err := uuidParseBytes(sessionID)
	if err != nil {
		p.keyErr = "session id is not a UUID"
		return p
	}
	p.id = id
	if publicKey == "" {
		p.keyErr = "the session published no public key"
		return p
	}
	raw, err := decodeBase64Any(publicKey)
	if err != nil || len(raw) != 32 {
		p.keyErr = "public key is not 32 bytes of base64"
		return p
	}
	if p.pub, err = ecdh.X25519().NewPublicKey(raw); err != nil {
		p.keyErr = "public key is not an X25519 key"
	}
	return p
}

// SessionKeyError reports a recipient session the client cannot encrypt for:
// it published no public key, or one that is not a valid X25519 key.
type SessionKeyError struct {
	UserID    string
	SessionID string
	Reason    string
}

// Error returns "mixin: cannot encrypt for session S of user U: REASON".
func (e *SessionKeyError) Error() string {
	return "mixin: cannot encrypt for session " + e.SessionID + " of user " + e.UserID + ": " + e.Reason
}

// wrapBlock returns the AES-256 block keyed with the shared secret of k and
// the peer; the secret is computed on first use and kept.
func (p *sessionPeer) wrapBlock(k *e2eKey) (cipher.Block, error) {
	w := p.wrap.Load()
	if w == nil {
		if p.pub == nil {
			return nil, &SessionKeyError{UserID: p.userID, SessionID: p.sessionID, Reason: p.keyErr}
		}
		shared, err := k.priv.ECDH(p.pub)
		if err != nil {
			return nil, &SessionKeyError{UserID: p.userID, SessionID: p.sessionID, Reason: "public key is a low-order point"}
		}
		w = &wrapKey{}
		copy(w.secret[:], shared)
		clear(shared)
		p.wrap.Store(w)
	}
	return aes.NewCipher(w.secret[:])
}

// sealEnvelope encrypts plaintext for every peer. Randomness is read in the
// order the official Go client reads it (message key, GCM nonce, then one IV
// per session), so a fixed reader reproduces its output byte for byte.
func sealEnvelope(k *e2eKey, peers []*sessionPeer, plaintext []byte, rnd io.Reader) ([]byte, error) {
	if len(peers) == 0 {
		return nil, &FieldError{Field: "recipient sessions", Reason: "is empty: there is no session to encrypt for"}
	}
	if len(peers) > MaxEncryptedSessions {
		return nil, &FieldError{Field: "recipient sessions", Reason: strconv.Itoa(len(peers)) + " sessions, at most " + strconv.Itoa(MaxEncryptedSessions) + " allowed"}
	}
	var secret [messageKeySize + gcmNonceSize]byte
	defer clear(secret[:])
	if _, err := io.ReadFull(rnd, secret[:]); err != nil {
		return nil, errors.New("mixin: encrypt: no randomness")
	}
	key, nonce := secret[:messageKeySize], secret[messageKeySize:]
	tableEnd := envelopeHeaderSize + len(peers)*envelopeEntrySize
	out := make([]byte, tableEnd, tableEnd+gcmNonceSize+len(plaintext)+gcmTagSize)
	out[0] = envelopeVersion
	binary.LittleEndian.PutUint16(out[1:3], uint16(len(peers)))
	copy(out[3:35], k.pub[:])
	// The wrapped block is the 16-byte key and a full block of PKCS#7
	// padding (16 bytes of 0x10), CBC-encrypted.
	var padded [2 * aes.BlockSize]byte
	copy(padded[:], key)
	for i := aes.BlockSize; i < len(padded); i++ {
		padded[i] = aes.BlockSize
	}
	defer clear(padded[:])
	for i, p := range peers {
		block, err := p.wrapBlock(k)
		if err != nil {
			return nil, err
		}
		e := out[envelopeHeaderSize+i*envelopeEntrySize : envelopeHeaderSize+(i+1)*envelopeEntrySize]
		copy(e[:16], p.id[:])
		iv := e[16:32]
		if _, err := io.ReadFull(rnd, iv); err != nil {
			return nil, errors.New("mixin: encrypt: no randomness")
		}
		cbcEncrypt2(block, iv, e[32:64], padded[:])
	}
	out = append(out, nonce...)
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return gcm.Seal(out, nonce, plaintext, nil), nil
}

// cbcEncrypt2 CBC-encrypts the two blocks of src into dst.
func cbcEncrypt2(b cipher.Block, iv, dst, src []byte) {
	var x [aes.BlockSize]byte
	subtle.XORBytes(x[:], src[:16], iv)
	b.Encrypt(dst[:16], x[:])
	subtle.XORBytes(x[:], src[16:32], dst[:16])
	b.Encrypt(dst[16:32], x[:])
	clear(x[:])
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// DecryptReason says why an ENCRYPTED_* message could not be decrypted.
type DecryptReason int

// Reasons a message cannot be decrypted.
const (
	// DecryptReasonMalformed: the data is not the encrypted-message format
	// (too short, unknown version, a table that runs past the end, not base64).
	DecryptReasonMalformed DecryptReason = iota + 1
	// DecryptReasonNotForSession: the message was not encrypted for this session.
	DecryptReasonNotForSession
	// DecryptReasonBadKey: the message key did not unwrap (wrong sender key or a
	// corrupted key table).
	DecryptReasonBadKey
	// DecryptReasonAuthFailed: the body failed authentication (corrupted or forged).
	DecryptReasonAuthFailed
	// DecryptReasonUnsupportedKeystore: the client's keystore cannot decrypt
	// (a legacy RSA session; see [ErrEncryptionUnsupported]).
	DecryptReasonUnsupportedKeystore
)

// String names the reason.
func (r DecryptReason) String() string {
	switch r {
	case DecryptReasonMalformed:
		return "malformed"
	case DecryptReasonNotForSession:
		return "not encrypted for this session"
	case DecryptReasonBadKey:
		return "message key does not unwrap"
	case DecryptReasonAuthFailed:
		return "body fails authentication"
	case DecryptReasonUnsupportedKeystore:
		return "keystore cannot decrypt"
	}
	return "DecryptReason(" + strconv.Itoa(int(r)) + ")"
}

// ErrUndecryptable is matched (errors.Is) by every [*DecryptError].
var ErrUndecryptable = errors.New("mixin: message cannot be decrypted")

// DecryptError reports an ENCRYPTED_* message the client could not decrypt.
// The blaze loop hands such a message to the dead-letter hook with this
// error and acknowledges it; the handler never sees it.
type DecryptError struct {
	MessageID string
	Category  Category
	Reason    DecryptReason
	// Detail says more, without any key material.
	Detail string
	// Err is the underlying error, e.g. [ErrEncryptionUnsupported].
	Err error
}

// Error returns "mixin: cannot decrypt message ID (CATEGORY): REASON: DETAIL".
func (e *DecryptError) Error() string {
	s := "mixin: cannot decrypt message " + e.MessageID
	if e.Category != "" {
		s += " (" + string(e.Category) + ")"
	}
	s += ": " + e.Reason.String()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is makes errors.Is(err, ErrUndecryptable) true.
func (e *DecryptError) Is(target error) bool { return target == ErrUndecryptable }

// Unwrap returns Err.
func (e *DecryptError) Unwrap() error { return e.Err }

// openEnvelope decrypts an envelope addressed to the session sid.
func openEnvelope(priv *ecdh.PrivateKey, sid [16]byte, env []byte) ([]byte, *DecryptError) {
	if len(env) < envelopeHeaderSize+gcmNonceSize+gcmTagSize {
		return nil, &DecryptError{Reason: DecryptReasonMalformed, Detail: strconv.Itoa(len(env)) + " bytes is shorter than the smallest message"}
	}
	if env[0] != envelopeVersion {
		return nil, &DecryptError{Reason: DecryptReasonMalformed, Detail: "unknown version " + strconv.Itoa(int(env[0]))}
	}
	n := int(binary.LittleEndian.Uint16(env[1:3]))
	tableEnd := envelopeHeaderSize + n*envelopeEntrySize
	if len(env) < tableEnd+gcmNonceSize+gcmTagSize {
		return nil, &DecryptError{Reason: DecryptReasonMalformed, Detail: "the table of " + strconv.Itoa(n) + " sessions runs past the end"}
	}
	var entry []byte
	for i := envelopeHeaderSize; i < tableEnd; i += envelopeEntrySize {
		if [16]byte(env[i:i+16]) == sid {
			entry = env[i+16 : i+envelopeEntrySize]
			break
		}
	}
	if entry == nil {
		return nil, &DecryptError{Reason: DecryptReasonNotForSession, Detail: "this session is not among the " + strconv.Itoa(n) + " recipients"}
	}
	peer, err := ecdh.X25519().NewPublicKey(env[3:35])
	if err != nil {
		return nil, &DecryptError{Reason: DecryptReasonMalformed, Detail: "sender key is not an X25519 key"}
	}
	shared, err := priv.ECDH(peer)
	if err != nil {
		return nil, &DecryptError{Reason: DecryptReasonBadKey, Detail: "sender key is a low-order point"}
	}
	block, err := aes.NewCipher(shared)
	clear(shared)
	if err != nil {
		return nil, &DecryptError{Reason: DecryptReasonBadKey}
	}
	var key [2 * aes.BlockSize]byte
	defer clear(key[:])
	iv, wrapped := entry[:16], entry[16:48]
	block.Decrypt(key[:16], wrapped[:16])
	subtle.XORBytes(key[:16], key[:16], iv)
	block.Decrypt(key[16:], wrapped[16:])
	subtle.XORBytes(key[16:], key[16:], wrapped[:16])
	if subtle.ConstantTimeCompare(key[16:], fullPadding[:]) != 1 {
		return nil, &DecryptError{Reason: DecryptReasonBadKey, Detail: "wrapped key has bad padding"}
	}
	gcm, err := newGCM(key[:messageKeySize])
	if err != nil {
		return nil, &DecryptError{Reason: DecryptReasonBadKey}
	}
	nonce := env[tableEnd : tableEnd+gcmNonceSize]
	plain, err := gcm.Open(nil, nonce, env[tableEnd+gcmNonceSize:], nil)
	if err != nil {
		return nil, &DecryptError{Reason: DecryptReasonAuthFailed}
	}
	return plain, nil
}

// fullPadding is the PKCS#7 padding of a 16-byte message: a block of 0x10.
var fullPadding = [aes.BlockSize]byte{16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16}

// envelopeSessions lists the session ids of an envelope's table, or nil if
// the data is not an envelope.
func envelopeSessions(env []byte) [][16]byte {
	if len(env) < envelopeHeaderSize+gcmNonceSize+gcmTagSize || env[0] != envelopeVersion {
		return nil
	}
	n := int(binary.LittleEndian.Uint16(env[1:3]))
	if len(env) < envelopeHeaderSize+n*envelopeEntrySize+gcmNonceSize+gcmTagSize {
		return nil
	}
	out := make([][16]byte, n)
	for i := range out {
		copy(out[i][:], env[envelopeHeaderSize+i*envelopeEntrySize:])
	}
	return out
}

// sessionsChecksum is the conversation checksum of a session set: MD5 of
// the session ids sorted ascending and joined, lowercase hex; "" for none
// (bot-api-go-client user.go GenerateUserChecksum, fox-one session.go
// GenerateSessionChecksum).
func sessionsChecksum(sessionIDs []string) string {
	if len(sessionIDs) == 0 {
		return ""
	}
	ids := slices.Clone(sessionIDs)
	slices.Sort(ids)
	h := md5.New()
	for _, id := range ids {
		_, _ = io.WriteString(h, id)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// uuidParseBytes parses a UUID into its 16 bytes in RFC order.
func uuidParseBytes(s string) ([16]byte, error) {
	u, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return [16]byte{}, &FieldError{Field: "session_id", Reason: "is not a UUID"}
	}
	return u, nil
}
