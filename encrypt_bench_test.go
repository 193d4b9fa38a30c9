package mixin

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/google/uuid"
)

// benchEncryptedText is an inbound ENCRYPTED_TEXT for the bench keystore's
// session, as the loop receives it.
func benchEncryptedText(b *testing.B) (*Client, Message, []byte) {
	ks := benchKeystore(b)
	c, err := NewClient(ks)
	if err != nil {
		b.Fatal(err)
	}
	sender := testKey(b, seedVector())
	own, err := newE2EKey(ks)
	if err != nil {
		b.Fatal(err)
	}
	peer := newSessionPeer(ks.AppID, ks.SessionID, base64.RawURLEncoding.EncodeToString(own.pub[:]))
	env, err := sealEnvelope(sender, []*sessionPeer{peer}, []byte("hello, this is a short encrypted text message"), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	m := Message{Type: "message", ConversationID: NewUUID(), UserID: NewUUID(), MessageID: NewUUID(),
		Category: CategoryEncryptedText, DataBase64: base64.RawURLEncoding.EncodeToString(env)}
	return c, m, env
}

// BenchmarkDecryptEncryptedText decrypts one inbound ENCRYPTED_TEXT into its
// plain message, as the loop does before the handler.
func BenchmarkDecryptEncryptedText(b *testing.B) {
	c, m, _ := benchEncryptedText(b)
	if _, err := c.e2eKey(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		msg := m
		if err := c.DecryptMessage(&msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecryptEncryptedTextBaseline is the physical limit of the same
// decryption: one X25519 agreement, the CBC unwrap of the message key and the
// GCM opening of the same bytes.
func BenchmarkDecryptEncryptedTextBaseline(b *testing.B) {
	c, _, env := benchEncryptedText(b)
	k, err := c.e2eKey()
	if err != nil {
		b.Fatal(err)
	}
	sender, err := ecdh.X25519().NewPublicKey(env[3:35])
	if err != nil {
		b.Fatal(err)
	}
	entry := env[envelopeHeaderSize+16 : envelopeHeaderSize+envelopeEntrySize]
	tableEnd := envelopeHeaderSize + envelopeEntrySize
	key := make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		shared, _ := k.priv.ECDH(sender)
		block, _ := aes.NewCipher(shared)
		cipher.NewCBCDecrypter(block, entry[:16]).CryptBlocks(key, entry[16:48])
		gb, _ := aes.NewCipher(key[:16])
		gcm, _ := cipher.NewGCM(gb)
		if _, err := gcm.Open(nil, env[tableEnd:tableEnd+12], env[tableEnd+12:], nil); err != nil {
			b.Fatal(err)
		}
	}
}

func benchPeers(b *testing.B, n int) []*sessionPeer {
	peers := make([]*sessionPeer, n)
	for i := range peers {
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		priv, err := curvePrivateKey(key.Seed())
		if err != nil {
			b.Fatal(err)
		}
		peers[i] = newSessionPeer(NewUUID(), uuid.NewString(), base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()))
	}
	return peers
}

var bench50Text = []byte("a reply to a group of fifty sessions, a few dozen bytes long")

// BenchmarkEncrypt50Sessions encrypts one text for 50 sessions whose shared
// secrets are not known yet (the first send after a cache refresh).
func BenchmarkEncrypt50Sessions(b *testing.B) {
	k := testKey(b, seedVector())
	peers := benchPeers(b, 50)
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range peers {
			p.wrap.Store(nil)
		}
		if _, err := sealEnvelope(k, peers, bench50Text, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncrypt50SessionsCached encrypts for the same 50 sessions again:
// the shared secrets are kept in the conversation cache.
func BenchmarkEncrypt50SessionsCached(b *testing.B) {
	k := testKey(b, seedVector())
	peers := benchPeers(b, 50)
	if _, err := sealEnvelope(k, peers, bench50Text, rand.Reader); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sealEnvelope(k, peers, bench50Text, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncrypt50SessionsBaseline is 50 key wraps (X25519 agreement, AES
// key setup, two CBC blocks) plus one GCM body encryption of the same text.
func BenchmarkEncrypt50SessionsBaseline(b *testing.B) {
	k := testKey(b, seedVector())
	peers := benchPeers(b, 50)
	key := make([]byte, 16)
	padded := make([]byte, 32)
	iv := make([]byte, 16)
	wrapped := make([]byte, 32)
	nonce := make([]byte, 12)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = rand.Read(key)
		_, _ = rand.Read(nonce)
		for _, p := range peers {
			shared, _ := k.priv.ECDH(p.pub)
			block, _ := aes.NewCipher(shared)
			_, _ = rand.Read(iv)
			cipher.NewCBCEncrypter(block, iv).CryptBlocks(wrapped, padded)
		}
		gb, _ := aes.NewCipher(key)
		gcm, _ := cipher.NewGCM(gb)
		_ = gcm.Seal(nil, nonce, bench50Text, nil)
	}
}

// BenchmarkDecryptRatio interleaves the decryption of one ENCRYPTED_TEXT
// with its baseline in every iteration, so that the load of a shared
// machine hits both alike, and reports their ratio (x-baseline).
func BenchmarkDecryptRatio(b *testing.B) {
	c, m, env := benchEncryptedText(b)
	k, err := c.e2eKey()
	if err != nil {
		b.Fatal(err)
	}
	sender, _ := ecdh.X25519().NewPublicKey(env[3:35])
	entry := env[envelopeHeaderSize+16 : envelopeHeaderSize+envelopeEntrySize]
	tableEnd := envelopeHeaderSize + envelopeEntrySize
	key := make([]byte, 32)
	var ours, base time.Duration
	for b.Loop() {
		t0 := time.Now()
		msg := m
		if err := c.DecryptMessage(&msg); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		shared, _ := k.priv.ECDH(sender)
		block, _ := aes.NewCipher(shared)
		cipher.NewCBCDecrypter(block, entry[:16]).CryptBlocks(key, entry[16:48])
		gb, _ := aes.NewCipher(key[:16])
		gcm, _ := cipher.NewGCM(gb)
		if _, err := gcm.Open(nil, env[tableEnd:tableEnd+12], env[tableEnd+12:], nil); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		ours += t1.Sub(t0)
		base += t2.Sub(t1)
	}
	b.ReportMetric(float64(ours)/float64(base), "x-baseline")
}

// BenchmarkEncrypt50Ratio interleaves encrypting for 50 sessions (shared
// secrets not cached) with 50 key wraps and one body encryption, and
// reports their ratio (x-baseline).
func BenchmarkEncrypt50Ratio(b *testing.B) {
	k := testKey(b, seedVector())
	peers := benchPeers(b, 50)
	key := make([]byte, 16)
	padded := make([]byte, 32)
	iv := make([]byte, 16)
	wrapped := make([]byte, 32)
	nonce := make([]byte, 12)
	var ours, base time.Duration
	for b.Loop() {
		for _, p := range peers {
			p.wrap.Store(nil)
		}
		t0 := time.Now()
		if _, err := sealEnvelope(k, peers, bench50Text, rand.Reader); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		_, _ = rand.Read(key)
		_, _ = rand.Read(nonce)
		for _, p := range peers {
			shared, _ := k.priv.ECDH(p.pub)
			block, _ := aes.NewCipher(shared)
			_, _ = rand.Read(iv)
			cipher.NewCBCEncrypter(block, iv).CryptBlocks(wrapped, padded)
		}
		gb, _ := aes.NewCipher(key)
		gcm, _ := cipher.NewGCM(gb)
		_ = gcm.Seal(nil, nonce, bench50Text, nil)
		t2 := time.Now()
		ours += t1.Sub(t0)
		base += t2.Sub(t1)
	}
	b.ReportMetric(float64(ours)/float64(base), "x-baseline")
}
