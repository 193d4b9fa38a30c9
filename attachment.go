package mixin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // register GIF for image dimensions
	_ "image/jpeg" // register JPEG for image dimensions
	_ "image/png"  // register PNG for image dimensions
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	_ "golang.org/x/image/bmp"  // register BMP for image dimensions
	_ "golang.org/x/image/tiff" // register TIFF for image dimensions
	_ "golang.org/x/image/webp" // register WebP for image dimensions
)

// Attachment is an uploaded (or to be uploaded) file. UploadURL is a
// pre-signed URL for one PUT; ViewURL is where the file can be downloaded.
type Attachment struct {
	Type         string    `json:"type"`
	AttachmentID string    `json:"attachment_id"`
	UploadURL    string    `json:"upload_url"`
	ViewURL      string    `json:"view_url"`
	CreatedAt    time.Time `json:"created_at"`

	// Size, MimeType, Width and Height describe what [Client.UploadFile]
	// sent: the byte count, the sniffed content type and, for PNG, JPEG,
	// GIF, WebP, BMP and TIFF images, the pixel dimensions. They are not
	// part of the API object. Size is the length of the file read from the
	// reader, also for an encrypted upload: the bytes uploaded then are
	// more (an IV, padding and a MAC), but payloads carry the plain size,
	// the length of the file the user gets.
	Size     int64  `json:"-"`
	MimeType string `json:"-"`
	Width    int    `json:"-"`
	Height   int    `json:"-"`
	// Key and Digest are set when the file was uploaded encrypted
	// ([WithEncryption]): the payload helpers copy them, and the message must
	// then be sent with WithEncryption too.
	Key    string `json:"-"`
	Digest string `json:"-"`
}

// ImagePayload returns a PLAIN_IMAGE payload for the uploaded image. Sending
// it fails with a [*FieldError] before any request when the file was not an
// image whose dimensions were detected (mime_type, width or height).
func (a *Attachment) ImagePayload() ImagePayload {
	return ImagePayload{AttachmentID: a.AttachmentID, MimeType: a.MimeType, Width: a.Width, Height: a.Height, Size: a.Size, Key: a.Key, Digest: a.Digest}
}

// DataPayload returns a PLAIN_DATA payload for the uploaded file.
func (a *Attachment) DataPayload(name string) DataPayload {
	return DataPayload{AttachmentID: a.AttachmentID, MimeType: a.MimeType, Size: a.Size, Name: name, Key: a.Key, Digest: a.Digest}
}

// VideoPayload returns a PLAIN_VIDEO payload; the caller supplies what a
// video container does not reveal cheaply. The duration is sent in
// milliseconds, as the apps read it: 60*time.Second is 60000.
func (a *Attachment) VideoPayload(width, height int, duration time.Duration) VideoPayload {
	return VideoPayload{AttachmentID: a.AttachmentID, MimeType: a.MimeType, Width: width, Height: height, Size: a.Size, Duration: duration.Milliseconds(), Key: a.Key, Digest: a.Digest}
}

// CreateAttachment asks the API for a new attachment with an upload URL.
// Most callers want [Client.UploadFile], which does this and the upload.
func (c *Client) CreateAttachment(ctx context.Context) (*Attachment, error) {
	var a Attachment
	if err := c.do(ctx, request{method: "POST", path: "/attachments", out: &a, retry: retryRejected}); err != nil {
		return nil, err
	}
	if a.AttachmentID == "" || a.UploadURL == "" {
		return nil, &ResponseError{Status: 200, Reason: "attachment without attachment_id or upload_url"}
	}
	return &a, nil
}

// ShowAttachment is [Client.ReadAttachment] under the name of the official
// Node SDK's showAttachment.
func (c *Client) ShowAttachment(ctx context.Context, attachmentID string) (*Attachment, error) {
	return c.ReadAttachment(ctx, attachmentID)
}

// ReadAttachment returns an attachment by id, with its view URL.
func (c *Client) ReadAttachment(ctx context.Context, attachmentID string) (*Attachment, error) {
	id, err := parseUUID("attachment_id", attachmentID)
	if err != nil {
		return nil, err
	}
	var a Attachment
	if err := c.do(ctx, request{method: "GET", path: "/attachments/" + id, out: &a}); err != nil {
		return nil, err
	}
	return &a, nil
}

// UploadOption adjusts [Client.UploadFile].
type UploadOption interface {
	applyUpload(*uploadConfig)
}

// uploadOption adapts a function to [UploadOption].
type uploadOption func(*uploadConfig)

func (f uploadOption) applyUpload(c *uploadConfig) { f(c) }

type uploadConfig struct {
	progress func(sent, total int64)
	mimeType string
	encrypt  bool // WithEncryption (encrypt_media.go)
	size     int64
	sizeSet  bool
}

// WithProgress calls fn as bytes go out, with the running total and the
// file size; the last call reports sent == total.
func WithProgress(fn func(sent, total int64)) UploadOption {
	return uploadOption(func(u *uploadConfig) { u.progress = fn })
}

// WithUploadMimeType sets the content type instead of sniffing it.
func WithUploadMimeType(mime string) UploadOption {
	return uploadOption(func(u *uploadConfig) { u.mimeType = mime })
}

// WithUploadSize gives the number of bytes to upload from the reader. Without it
// the size is taken from the reader: an *os.File, or a reader with a Len or
// Size method (bytes.Reader, strings.Reader, bytes.Buffer…).
func WithUploadSize(n int64) UploadOption {
	return uploadOption(func(u *uploadConfig) { u.size, u.sizeSet = n, true })
}

// MaxAttachmentSize is the largest upload the client accepts (2 GiB, as the
// official clients).
const MaxAttachmentSize = 2 << 30

// sniffLen is how much of the file's head is kept to detect its type and
// image size while streaming (a JPEG's metadata segments come before its
// dimensions).
const sniffLen = 256 << 10

// UploadFile creates an attachment and streams the bytes of r to its upload
// URL without buffering the file; ctx cancels the transfer. The size comes
// from [WithUploadSize] or from r itself (an *os.File, or a Len or Size method).
// The returned attachment carries the size, content type and, for images,
// the dimensions, ready for [Attachment.ImagePayload] and friends.
func (c *Client) UploadFile(ctx context.Context, r io.Reader, opts ...UploadOption) (*Attachment, error) {
	if r == nil {
		return nil, &FieldError{Field: "file", Reason: "is nil"}
	}
	var cfg uploadConfig
	for _, o := range opts {
		if o != nil {
			o.applyUpload(&cfg)
		}
	}
	size, err := c.uploadSize(r, &cfg)
	if err != nil {
		return nil, err
	}
	att, err := c.CreateAttachment(ctx)
	if err != nil {
		return nil, err
	}
	head := &headBuffer{limit: sniffLen}
	body := &countingReader{r: io.TeeReader(io.LimitReader(r, size), head), total: size, progress: cfg.progress}
	var upload io.Reader = body
	length := size
	var enc *attachmentEncrypter
	if cfg.encrypt {
		if enc, err = newAttachmentEncrypter(body, size); err != nil {
			return nil, err
		}
		upload, length = enc, enc.length
	}
	if err := c.putUpload(ctx, att.UploadURL, upload, length); err != nil {
		return nil, err
	}
	if body.sent != size {
		return nil, &FieldError{Field: "file", Reason: "ended after " + strconv.FormatInt(body.sent, 10) + " of " + strconv.FormatInt(size, 10) + " bytes"}
	}
	att.Size = size
	if enc != nil {
		att.Key, att.Digest = enc.keyAndDigest()
	}
	att.describe(head.b, cfg.mimeType)
	return att, nil
}

// uploadSize is the byte count to upload: [WithUploadSize]'s, or the reader's own,
// checked against the client's limit.
func (c *Client) uploadSize(r io.Reader, cfg *uploadConfig) (int64, error) {
	size := cfg.size
	if !cfg.sizeSet {
		if size = readerSize(r); size < 0 {
			return 0, &FieldError{Field: "size", Reason: "is unknown for this reader: pass WithUploadSize"}
		}
	}
	switch {
	case size < 0:
		return 0, &FieldError{Field: "size", Reason: "must not be negative, got " + strconv.FormatInt(size, 10)}
	case size == 0:
		return 0, &FieldError{Field: "size", Reason: "is zero: the API rejects empty attachments"}
	case size > c.cfg.maxAttachment:
		return 0, &FieldError{Field: "size", Reason: strconv.FormatInt(size, 10) + " bytes is over the " + strconv.FormatInt(c.cfg.maxAttachment, 10) + "-byte limit"}
	}
	return size, nil
}

// putUpload streams body (length bytes) to a pre-signed upload URL, which
// never appears in the error.
func (c *Client) putUpload(ctx context.Context, uploadURL string, body io.Reader, length int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, uploadURL, body)
	if err != nil {
		return fmt.Errorf("mixin: upload: bad upload URL")
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("x-amz-acl", "public-read")
	req.GetBody = nil // the stream cannot be replayed
	resp, err := c.cfg.httpClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("mixin: upload: %w", ctx.Err())
		}
		return fmt.Errorf("mixin: upload: %w", stripURL(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 {
		return &APIError{Status: resp.StatusCode, Code: resp.StatusCode, Description: "upload refused: " + http.StatusText(resp.StatusCode)}
	}
	return nil
}

// describe fills the content type (mimeType when given, else sniffed from
// the file's head) and, for images, the dimensions.
func (a *Attachment) describe(head []byte, mimeType string) {
	a.MimeType = mimeType
	if a.MimeType == "" {
		a.MimeType = http.DetectContentType(head)
	}
	if imageType, w, h := sniffImage(head); w > 0 {
		a.Width, a.Height = w, h
		if mimeType == "" {
			a.MimeType = imageType
		}
	}
}

// sniffImage reads the type and dimensions of the image that head starts;
// 0 × 0 when it is not an image of a registered format.
func sniffImage(head []byte) (mimeType string, width, height int) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(head))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return "", 0, 0
	}
	return "image/" + format, cfg.Width, cfg.Height
}

// Download streams the file at an attachment's view URL into w and returns
// the bytes written. It stops with an error after maxBytes (which must be
// positive; pass [MaxAttachmentSize] for no limit of your own), and never
// reads more than the client's [WithMaxAttachmentSize]. A nil w (or one
// holding a nil pointer) is a [*FieldError] before any request.
func (c *Client) Download(ctx context.Context, viewURL string, w io.Writer, maxBytes int64) (int64, error) {
	if isNil(w) {
		return 0, nilWriterError()
	}
	if viewURL == "" {
		return 0, &FieldError{Field: "view_url", Reason: "is empty"}
	}
	if maxBytes <= 0 {
		return 0, &FieldError{Field: "max_bytes", Reason: "must be positive, got " + strconv.FormatInt(maxBytes, 10)}
	}
	maxBytes = min(maxBytes, c.cfg.maxAttachment)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, viewURL, nil)
	if err != nil {
		return 0, &FieldError{Field: "view_url", Reason: "is not a valid URL"}
	}
	resp, err := c.cfg.httpClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("mixin: download: %w", ctx.Err())
		}
		return 0, fmt.Errorf("mixin: download: %w", stripURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, &APIError{Status: resp.StatusCode, Code: resp.StatusCode, Description: "download failed: " + http.StatusText(resp.StatusCode)}
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return n, fmt.Errorf("mixin: download: %w", ctx.Err())
		}
		return n, fmt.Errorf("mixin: download: %w", err)
	}
	if n > maxBytes {
		return n, &ResponseError{Status: resp.StatusCode, Reason: "attachment larger than " + strconv.FormatInt(maxBytes, 10) + " bytes"}
	}
	return n, nil
}

// DownloadAttachment looks up an attachment and streams it into w.
func (c *Client) DownloadAttachment(ctx context.Context, attachmentID string, w io.Writer) (int64, error) {
	if isNil(w) {
		return 0, nilWriterError()
	}
	a, err := c.ReadAttachment(ctx, attachmentID)
	if err != nil {
		return 0, err
	}
	return c.Download(ctx, a.ViewURL, w, c.cfg.maxAttachment)
}

func readerSize(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Len() int }:
		return int64(v.Len())
	case interface{ Size() int64 }:
		return v.Size()
	case *os.File:
		if st, err := v.Stat(); err == nil && st.Mode().IsRegular() {
			return st.Size()
		}
	}
	return -1
}

// countingReader reports progress as the transport reads the body.
type countingReader struct {
	r        io.Reader
	sent     int64
	total    int64
	progress func(sent, total int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.sent += int64(n)
		if c.progress != nil {
			c.progress(c.sent, c.total)
		}
	}
	return n, err
}

// headBuffer keeps the first limit bytes written to it.
type headBuffer struct {
	b     []byte
	limit int
}

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.limit - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// nilWriterError is the downloads' answer to a nil destination, before any
// request.
func nilWriterError() error {
	return &FieldError{Field: "writer", Reason: "is nil: give the io.Writer to download into"}
}

// stripURL removes the (pre-signed) URL from a transport error.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
