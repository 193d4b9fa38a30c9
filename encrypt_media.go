package mixin

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"hash"
	"io"
	"strconv"
)

// Encrypted attachments, as the official apps upload and read them
// (android-app crypto/attachment/AttachmentCipherOutputStream.java and
// AttachmentCipherInputStream.java, job/SendAttachmentMessageJob.kt; ios-app
// AttachmentDecryptingOutputStream, Model/TransferAttachmentData.swift):
//
//	key      64 random bytes: AES-256 key ‖ HMAC-SHA256 key
//	uploaded IV (16) ‖ AES-256-CBC-PKCS#7(file) ‖ HMAC-SHA256(mac key, IV ‖ ciphertext) (32)
//	digest   SHA-256 of the uploaded bytes
//
// Key and digest travel inside the (encrypted) message payload as standard
// base64 under "key" and "digest"; the Android app decrypts any attachment
// whose payload carries both (job/AttachmentDownloadJob.kt), and uploads
// encrypted for every category that is not PLAIN_*.
const (
	attachmentKeySize    = 64
	attachmentDigestSize = sha256.Size
	attachmentMACSize    = sha256.Size
)

// ErrAttachmentIntegrity is matched (errors.Is) by the error of a download
// whose encrypted bytes fail their MAC or digest, or are not in the format.
// Bytes already written to the destination must then be discarded.
var ErrAttachmentIntegrity = errors.New("mixin: encrypted attachment fails its integrity check")

// EncryptionOption is what [WithEncryption] returns: it works both as a
// [SendOption] (the message is sent encrypted) and as an [UploadOption] (the
// file is uploaded encrypted and the attachment carries its key and digest).
type EncryptionOption interface {
	SendOption
	UploadOption
}

type encryptionOption struct{}

func (encryptionOption) applySend(c *sendConfig)     { c.encrypt = true }
func (encryptionOption) applyUpload(c *uploadConfig) { c.encrypt = true }

// encryptedLength is the uploaded size of a size-byte file (android-app
// AttachmentCipherOutputStream.getCiphertextLength).
func encryptedLength(size int64) int64 { return 16 + (size/16+1)*16 + attachmentMACSize }

// attachmentEncrypter streams the encrypted form of a file.
type attachmentEncrypter struct {
	src       io.Reader
	key       [attachmentKeySize]byte
	cbc       cipher.BlockMode
	mac, sum  hash.Hash
	pend      []byte // plaintext short of a full block
	in, out   []byte
	off       int
	eof, done bool
	length    int64
}

func newAttachmentEncrypter(src io.Reader, size int64) (*attachmentEncrypter, error) {
	e := &attachmentEncrypter{src: src, length: encryptedLength(size), in: make([]byte, 32<<10)}
	var iv [aes.BlockSize]byte
	if _, err := io.ReadFull(rand.Reader, e.key[:]); err != nil {
		return nil, errors.New("mixin: encrypt attachment: no randomness")
	}
	if _, err := io.ReadFull(rand.Reader, iv[:]); err != nil {
		return nil, errors.New("mixin: encrypt attachment: no randomness")
	}
	block, err := aes.NewCipher(e.key[:32])
	if err != nil {
		return nil, err
	}
	e.cbc = cipher.NewCBCEncrypter(block, iv[:])
	e.mac, e.sum = hmac.New(sha256.New, e.key[32:]), sha256.New()
	e.emit(iv[:])
	return e, nil
}

// emit queues ciphertext (covered by the MAC and the digest).
func (e *attachmentEncrypter) emit(b []byte) {
	e.mac.Write(b)
	e.sum.Write(b)
	e.out = append(e.out, b...)
}

func (e *attachmentEncrypter) Read(p []byte) (int, error) {
	for e.off == len(e.out) {
		if e.done {
			return 0, io.EOF
		}
		e.out, e.off = e.out[:0], 0
		if err := e.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, e.out[e.off:])
	e.off += n
	return n, nil
}

// fill encrypts the next chunk of the file, or the last padded block and
// the MAC once the file has ended.
func (e *attachmentEncrypter) fill() error {
	if e.eof {
		pad := aes.BlockSize - len(e.pend)
		last := append(e.pend, make([]byte, pad)...)
		for i := len(e.pend); i < len(last); i++ {
			last[i] = byte(pad)
		}
		e.cbc.CryptBlocks(last, last)
		e.emit(last)
		tag := e.mac.Sum(nil)
		e.sum.Write(tag)
		e.out = append(e.out, tag...)
		e.done = true
		return nil
	}
	n, err := e.src.Read(e.in)
	data := append(e.pend, e.in[:n]...)
	full := len(data) / aes.BlockSize * aes.BlockSize
	if full > 0 {
		e.cbc.CryptBlocks(data[:full], data[:full])
		e.emit(data[:full])
	}
	e.pend = append(e.pend[:0], data[full:]...)
	switch {
	case err == io.EOF:
		e.eof = true
	case err != nil:
		return err
	}
	return nil
}

// keyAndDigest returns the key and digest, base64 as the payload carries
// them; valid once the whole stream was read.
func (e *attachmentEncrypter) keyAndDigest() (string, string) {
	if !e.done {
		return "", ""
	}
	return base64.StdEncoding.EncodeToString(e.key[:]), base64.StdEncoding.EncodeToString(e.sum.Sum(nil))
}

// attachmentDecrypter is the writer side of a download: it decrypts as the
// bytes come, and Close checks the MAC and digest before writing the last,
// padded block.
type attachmentDecrypter struct {
	w       io.Writer
	block   cipher.Block
	cbc     cipher.BlockMode
	mac     hash.Hash
	sum     hash.Hash
	digest  []byte
	iv      []byte
	tail    []byte
	plain   []byte
	written int64
}

func newAttachmentDecrypter(w io.Writer, key, digest []byte) (*attachmentDecrypter, error) {
	block, err := aes.NewCipher(key[:32])
	if err != nil {
		return nil, err
	}
	return &attachmentDecrypter{w: w, block: block, mac: hmac.New(sha256.New, key[32:]), sum: sha256.New(), digest: digest}, nil
}

// keep is what stays unprocessed: the last ciphertext block and the MAC.
const keep = aes.BlockSize + attachmentMACSize

func (d *attachmentDecrypter) Write(p []byte) (int, error) {
	n := len(p)
	if d.cbc == nil {
		take := min(aes.BlockSize-len(d.iv), len(p))
		d.iv = append(d.iv, p[:take]...)
		p = p[take:]
		if len(d.iv) < aes.BlockSize {
			return n, nil
		}
		d.mac.Write(d.iv)
		d.sum.Write(d.iv)
		d.cbc = cipher.NewCBCDecrypter(d.block, d.iv)
	}
	d.tail = append(d.tail, p...)
	if ready := (len(d.tail) - keep) / aes.BlockSize * aes.BlockSize; ready > 0 {
		ct := d.tail[:ready]
		d.mac.Write(ct)
		d.sum.Write(ct)
		d.plain = append(d.plain[:0], ct...)
		d.cbc.CryptBlocks(d.plain, d.plain)
		if err := d.put(d.plain); err != nil {
			return 0, err
		}
		d.tail = append(d.tail[:0], d.tail[ready:]...)
	}
	return n, nil
}

func (d *attachmentDecrypter) put(b []byte) error {
	k, err := d.w.Write(b)
	d.written += int64(k)
	return err
}

// Close verifies the MAC and digest and writes the last, unpadded block.
func (d *attachmentDecrypter) Close() error {
	if d.cbc == nil || len(d.tail) != keep {
		return integrityError("the file is not IV, whole AES blocks and a MAC")
	}
	last, tag := d.tail[:aes.BlockSize], d.tail[aes.BlockSize:]
	d.mac.Write(last)
	d.sum.Write(last)
	if !hmac.Equal(d.mac.Sum(nil), tag) {
		return integrityError("MAC mismatch")
	}
	d.sum.Write(tag)
	if subtle.ConstantTimeCompare(d.sum.Sum(nil), d.digest) != 1 {
		return integrityError("digest mismatch")
	}
	block := make([]byte, aes.BlockSize)
	d.cbc.CryptBlocks(block, last)
	pad := int(block[aes.BlockSize-1])
	if pad < 1 || pad > aes.BlockSize {
		return integrityError("bad padding")
	}
	for _, b := range block[aes.BlockSize-pad:] {
		if int(b) != pad {
			return integrityError("bad padding")
		}
	}
	return d.put(block[:aes.BlockSize-pad])
}

func integrityError(reason string) error {
	return &integrityErr{reason: reason}
}

type integrityErr struct{ reason string }

func (e *integrityErr) Error() string { return ErrAttachmentIntegrity.Error() + ": " + e.reason }
func (e *integrityErr) Unwrap() error { return ErrAttachmentIntegrity }

// checkAttachmentKey validates the key and digest of a media payload, as
// the apps read them (android-app AttachmentMessagePayload, ios-app
// TransferAttachmentData: standard base64 under "key" and "digest").
func checkAttachmentKey(key, digest string) error {
	if key == "" && digest == "" {
		return nil
	}
	if key == "" || digest == "" {
		return &FieldError{Field: "key", Reason: "key and digest go together: an encrypted attachment needs both"}
	}
	if b, err := DecodeBase64Data(key); err != nil || len(b) != attachmentKeySize {
		return &FieldError{Field: "key", Reason: "must be base64 of " + strconv.Itoa(attachmentKeySize) + " bytes"}
	}
	if b, err := DecodeBase64Data(digest); err != nil || len(b) != attachmentDigestSize {
		return &FieldError{Field: "digest", Reason: "must be base64 of " + strconv.Itoa(attachmentDigestSize) + " bytes"}
	}
	return nil
}

// MediaPayload is a payload that refers to an uploaded attachment:
// [ImagePayload], [DataPayload], [VideoPayload] or [AudioPayload].
type MediaPayload interface {
	Payload
	media() (attachmentID, key, digest string)
}

func (p ImagePayload) media() (string, string, string) { return p.AttachmentID, p.Key, p.Digest }
func (p DataPayload) media() (string, string, string)  { return p.AttachmentID, p.Key, p.Digest }
func (p VideoPayload) media() (string, string, string) { return p.AttachmentID, p.Key, p.Digest }
func (p AudioPayload) media() (string, string, string) { return p.AttachmentID, p.Key, p.Digest }

// DownloadMedia streams the attachment of a media payload into w and
// returns the bytes written. An attachment uploaded encrypted (the payload
// carries Key and Digest, as in an ENCRYPTED_IMAGE from the apps) is
// decrypted on the way and its MAC and digest are checked at the end: a file
// that fails them returns an error matching [ErrAttachmentIntegrity]. The
// format has a single MAC over the whole file, so the bytes streamed into w
// before the end are not yet authenticated: on any error, discard them (write
// into a temporary file and keep it only on success). A nil w is a
// [*FieldError] before any request.
func (c *Client) DownloadMedia(ctx context.Context, p MediaPayload, w io.Writer) (int64, error) {
	if isNil(w) {
		return 0, nilWriterError()
	}
	pl, err := derefPayload(p) // a nil, or a nil pointer: a *FieldError
	if err != nil {
		return 0, err
	}
	id, key, digest := pl.(MediaPayload).media()
	if err := checkAttachmentKey(key, digest); err != nil {
		return 0, err
	}
	a, err := c.ReadAttachment(ctx, id)
	if err != nil {
		return 0, err
	}
	if key == "" {
		return c.Download(ctx, a.ViewURL, w, c.cfg.maxAttachment)
	}
	k, _ := DecodeBase64Data(key)
	dg, _ := DecodeBase64Data(digest)
	dec, err := newAttachmentDecrypter(w, k, dg)
	clear(k)
	if err != nil {
		return 0, err
	}
	if _, err := c.Download(ctx, a.ViewURL, dec, c.cfg.maxAttachment); err != nil {
		return dec.written, err
	}
	if err := dec.Close(); err != nil {
		return dec.written, err
	}
	return dec.written, nil
}

// SendImageFile uploads the image r holds and sends it to to as an image
// message: [Client.UploadFile], [Attachment.ImagePayload] and
// [Client.SendImage] in one call. With [WithEncryption] among opts both the
// file and the message are encrypted (an ENCRYPTED_IMAGE, as the apps send
// one); the other options are the send's ([WithQuote], [WithSilent],
// [WithMessageID]…).
//
// r's size comes from r itself (an *os.File, or a reader with a Len or Size
// method), and its head must be a PNG, JPEG, GIF, WebP, BMP or TIFF image
// whose width and height can be read. Those, the target and the options are
// checked before anything is uploaded, and fail with a [*FieldError]. The
// payload's Size is the image's own length, also when it is encrypted (see
// [Attachment]). For progress reports, a size or MIME type of your own, or a
// reader without a size, call the three steps yourself. A retry after a
// failed send uploads the file again: give [WithMessageID] so that the
// message is still posted once.
func (c *Client) SendImageFile(ctx context.Context, to Target, r io.Reader, opts ...SendOption) (*Message, error) {
	if isNil(r) {
		return nil, &FieldError{Field: "file", Reason: "is nil"}
	}
	cfg := newSendConfig(opts)
	size := readerSize(r)
	if size < 0 {
		return nil, &FieldError{Field: "size", Reason: "is unknown for this reader: give a file or a reader with a Len or Size method, or call UploadFile with WithUploadSize and then SendImage"}
	}
	size, err := c.uploadSize(r, &uploadConfig{size: size, sizeSet: true})
	if err != nil {
		return nil, err
	}
	head := make([]byte, min(size, sniffLen))
	if n, err := io.ReadFull(r, head); err != nil {
		return nil, &FieldError{Field: "file", Reason: "ended after " + strconv.Itoa(n) + " of " + strconv.FormatInt(size, 10) + " bytes"}
	}
	probe := ImagePayload{AttachmentID: NewUUID(), Size: size}
	probe.MimeType, probe.Width, probe.Height = sniffImage(head)
	if probe.Width == 0 {
		return nil, &FieldError{Field: "file", Reason: "is not a PNG, JPEG, GIF, WebP, BMP or TIFF image whose width and height can be read"}
	}
	uploadOpts := []UploadOption{WithUploadSize(size)}
	if cfg.encrypt {
		// The message checks the key and digest only for their form: any
		// of the right length stands in until the upload made them.
		probe.Key = base64.StdEncoding.EncodeToString(make([]byte, attachmentKeySize))
		probe.Digest = base64.StdEncoding.EncodeToString(make([]byte, attachmentDigestSize))
		uploadOpts = append(uploadOpts, WithEncryption())
	}
	if _, err := c.newMessageRequest(to, probe, cfg); err != nil {
		return nil, err
	}
	att, err := c.UploadFile(ctx, io.MultiReader(bytes.NewReader(head), r), uploadOpts...)
	if err != nil {
		return nil, err
	}
	return c.SendImage(ctx, to, att.ImagePayload(), opts...)
}
