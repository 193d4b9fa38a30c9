package mixintest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"sort"
	"strings"

	"github.com/google/uuid"
)

// The emulator's own implementation of the encrypted-message format, kept
// apart from the SDK's so that the two check each other. Facts:
// bot-api-go-client message.go (EncryptMessageData, DecryptMessageData),
// crypto.go (PrivateKeyToCurve25519), user.go (GenerateUserChecksum);
// fox-one/mixin-sdk-go messages_encrypt.go and session.go; android-app
// SendMessageJob.sendEncryptedMessage (publishes and uses session keys in
// Curve25519 form, base64url).
//
//	0x01 ‖ uint16le N ‖ sender X25519 key (32) ‖
//	N × (session id 16 ‖ IV 16 ‖ AES-256-CBC-PKCS7(shared, message key) 32) ‖
//	GCM nonce 12 ‖ AES-128-GCM(message key) ciphertext ‖ tag 16

const (
	e2eHeader = 35
	e2eEntry  = 64
	e2eMin    = e2eHeader + 12 + 16
)

// deviceSession is one device session of a user: the key signs tokens (the
// primary session) and decrypts messages.
type deviceSession struct {
	id       string
	key      ed25519.PrivateKey
	curve    *ecdh.PrivateKey
	public   string // X25519 public key, base64url, as the API publishes it
	platform string
}

func newDeviceSession(id string, key ed25519.PrivateKey, platform string) *deviceSession {
	h := sha512.Sum512(key.Seed())
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	curve, err := ecdh.X25519().NewPrivateKey(h[:32])
	if err != nil {
		panic("mixintest: x25519 key: " + err.Error()) // 32 bytes always make a key
	}
	return &deviceSession{id: id, key: key, curve: curve, platform: platform,
		public: base64.RawURLEncoding.EncodeToString(curve.PublicKey().Bytes())}
}

// checksum is the conversation checksum of a set of session ids.
func checksum(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	sum := md5.Sum([]byte(strings.Join(sorted, "")))
	return hex.EncodeToString(sum[:])
}

// envelopeTable returns the session ids an encrypted message is addressed
// to, or an error when the data is not in the format.
func envelopeTable(data []byte) ([]string, error) {
	if len(data) < e2eMin || data[0] != 1 {
		return nil, errors.New("not version-1 encrypted data")
	}
	n := int(binary.LittleEndian.Uint16(data[1:3]))
	if len(data) < e2eMin+n*e2eEntry {
		return nil, errors.New("session table runs past the end")
	}
	ids := make([]string, n)
	for i := range ids {
		off := e2eHeader + i*e2eEntry
		ids[i] = uuid.UUID(data[off : off+16]).String()
	}
	return ids, nil
}

// open decrypts data with the session's key.
func (d *deviceSession) open(data []byte) ([]byte, error) {
	if _, err := envelopeTable(data); err != nil {
		return nil, err
	}
	n := int(binary.LittleEndian.Uint16(data[1:3]))
	sid := uuid.MustParse(d.id)
	var entry []byte
	for i := 0; i < n; i++ {
		off := e2eHeader + i*e2eEntry
		if bytes.Equal(data[off:off+16], sid[:]) {
			entry = data[off+16 : off+e2eEntry]
			break
		}
	}
	if entry == nil {
		return nil, errors.New("not encrypted for session " + d.id)
	}
	pub, err := ecdh.X25519().NewPublicKey(data[3:35])
	if err != nil {
		return nil, errors.New("bad sender key")
	}
	shared, err := d.curve.ECDH(pub)
	if err != nil {
		return nil, errors.New("bad sender key")
	}
	block, _ := aes.NewCipher(shared)
	key := make([]byte, 32)
	cipher.NewCBCDecrypter(block, entry[:16]).CryptBlocks(key, entry[16:48])
	if !bytes.Equal(key[16:], bytes.Repeat([]byte{16}, 16)) {
		return nil, errors.New("message key does not unwrap")
	}
	gb, _ := aes.NewCipher(key[:16])
	gcm, _ := cipher.NewGCM(gb)
	end := e2eHeader + n*e2eEntry
	plain, err := gcm.Open(nil, data[end:end+12], data[end+12:], nil)
	if err != nil {
		return nil, errors.New("body fails authentication")
	}
	return plain, nil
}

// seal encrypts plain from the session for the recipients.
func (d *deviceSession) seal(plain []byte, to []*deviceSession) ([]byte, error) {
	key := make([]byte, 16)
	nonce := make([]byte, 12)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := []byte{1, 0, 0}
	binary.LittleEndian.PutUint16(out[1:3], uint16(len(to)))
	out = append(out, d.curve.PublicKey().Bytes()...)
	padded := append(append([]byte(nil), key...), bytes.Repeat([]byte{16}, 16)...)
	for _, r := range to {
		shared, err := d.curve.ECDH(r.curve.PublicKey())
		if err != nil {
			return nil, err
		}
		block, _ := aes.NewCipher(shared)
		iv := make([]byte, 16)
		if _, err := rand.Read(iv); err != nil {
			return nil, err
		}
		wrapped := make([]byte, 32)
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(wrapped, padded)
		id := uuid.MustParse(r.id)
		out = append(append(append(out, id[:]...), iv...), wrapped...)
	}
	gb, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(gb)
	out = append(out, nonce...)
	return gcm.Seal(out, nonce, plain, nil), nil
}
