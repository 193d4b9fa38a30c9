package mixintest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"

	"github.com/google/uuid"
)

// Encrypted attachments as the apps write and read them (android-app
// crypto/attachment/AttachmentCipherOutputStream.java, which writes
// IV ‖ AES-256-CBC-PKCS5(file) ‖ HMAC-SHA256(IV ‖ ciphertext), and
// AttachmentCipherInputStream.java, which checks the MAC and that the digest
// is SHA-256 of all of it; the 64-byte key is AES key ‖ MAC key). The key and
// digest ride in the message payload, standard base64 (android-app
// GsonHelper ByteArrayToBase64TypeAdapter, ios-app TransferAttachmentData's
// Data fields).

// EncryptAttachment encrypts a file as the apps upload it and returns the
// bytes to upload with the payload's key and digest (standard base64).
func EncryptAttachment(plain []byte) (upload []byte, key, digest string) {
	k := make([]byte, 64)
	iv := make([]byte, 16)
	if _, err := rand.Read(k); err != nil {
		panic("mixintest: randomness: " + err.Error())
	}
	if _, err := rand.Read(iv); err != nil {
		panic("mixintest: randomness: " + err.Error())
	}
	block, _ := aes.NewCipher(k[:32])
	pad := 16 - len(plain)%16
	padded := append(append([]byte(nil), plain...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	ct := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, padded)
	mac := hmac.New(sha256.New, k[32:])
	mac.Write(iv)
	mac.Write(ct)
	upload = append(append(append([]byte(nil), iv...), ct...), mac.Sum(nil)...)
	sum := sha256.Sum256(upload)
	return upload, base64.StdEncoding.EncodeToString(k), base64.StdEncoding.EncodeToString(sum[:])
}

// DecryptAttachment checks and decrypts an uploaded encrypted file with the
// key and digest of its message payload, as the apps do before showing it.
func DecryptAttachment(upload []byte, key, digest string) ([]byte, error) {
	k, err := decodeLenient(key)
	if err != nil || len(k) != 64 {
		return nil, errors.New("mixintest: attachment key is not 64 bytes of base64")
	}
	d, err := decodeLenient(digest)
	if err != nil || len(d) != 32 {
		return nil, errors.New("mixintest: attachment digest is not 32 bytes of base64")
	}
	if len(upload) < 16+16+32 || (len(upload)-48)%16 != 0 {
		return nil, errors.New("mixintest: attachment is not IV, whole blocks and a MAC")
	}
	iv, ct, tag := upload[:16], upload[16:len(upload)-32], upload[len(upload)-32:]
	mac := hmac.New(sha256.New, k[32:])
	mac.Write(iv)
	mac.Write(ct)
	if !hmac.Equal(mac.Sum(nil), tag) {
		return nil, errors.New("mixintest: attachment MAC mismatch")
	}
	if sum := sha256.Sum256(upload); !bytes.Equal(sum[:], d) {
		return nil, errors.New("mixintest: attachment digest mismatch")
	}
	block, _ := aes.NewCipher(k[:32])
	plain := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ct)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > 16 || !bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, errors.New("mixintest: attachment padding is wrong")
	}
	return plain[:len(plain)-pad], nil
}

// UploadAttachment stores data as an attachment the user uploaded and
// returns its id, as POST /attachments and the PUT to its upload URL would.
func (u *User) UploadAttachment(data []byte) string {
	s := u.s
	sum := sha256.Sum256(data)
	a := &attachment{id: uuid.NewString(), ownerID: u.UserID, createdAt: s.now(), uploaded: true,
		size: int64(len(data)), sha256: hex.EncodeToString(sum[:])}
	if !s.cfg.discardUploads {
		a.data = append([]byte(nil), data...)
	}
	s.mu.Lock()
	s.attachments[a.id] = a
	s.mu.Unlock()
	return a.id
}

// checkAttachmentLocked is what a simulated user's app does with a
// decrypted attachment message: an attachment whose payload carries a key
// and digest is fetched and must pass its MAC and digest.
func (s *Server) checkAttachmentLocked(rid, messageID, category string, plain []byte) {
	switch strings.TrimPrefix(category, encryptedPrefix) {
	case "IMAGE", "DATA", "VIDEO", "AUDIO":
	default:
		return
	}
	var p struct {
		AttachmentID string `json:"attachment_id"`
		Key          string `json:"key"`
		Digest       string `json:"digest"`
	}
	if json.Unmarshal(plain, &p) != nil || (p.Key == "" && p.Digest == "") {
		return
	}
	a := s.attachments[normID(p.AttachmentID)]
	if a == nil || !a.uploaded || a.data == nil {
		return // not on this server, or its bytes were not kept
	}
	if _, err := DecryptAttachment(a.data, p.Key, p.Digest); err != nil {
		s.problemLocked("user %s cannot open the attachment %s of message %s: %v", rid, a.id, messageID, err)
	}
}
