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
	// sent: the byte count, the sniffed content type and, for PNG, JPEG and
	// GIF images, the pixel dimensions. They are not part of the API object.
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

// ImagePayload returns a PLAIN_IMAGE payload for the uploaded image.
func (a *Attachment) ImagePayload() ImagePayload {
	return ImagePayload{AttachmentID: a.AttachmentID, MimeType: a.MimeType, Width: a.Width, Height: a.Height, Size: a.Size, Key: a.Key, Digest: a.Digest}
}

// DataPayload returns a PLAIN_DATA payload for the uploaded file.
func (a *Attachment) DataPayload(name string) DataPayload {
	return DataPayload{AttachmentID: a.AttachmentID, MimeType: a.MimeType, Size: a.Size, Name: name, Key: a.Key, Digest: a.Digest}
}

// VideoPayload returns a PLAIN_VIDEO payload; the caller supplies what a
// video container does not reveal cheaply.
func (a *Attachment) VideoPayload(width, height int, duration time.Duration) VideoPayload {
	return VideoPayload{AttachmentID: a.AttachmentID, MimeType: a.MimeType, Width: width, Height: height, Size: a.Size, Duration: int64(duration / time.Second), Key: a.Key, Digest: a.Digest}
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

// ShowAttachment returns an attachment by id, with its view URL.
func (c *Client) ShowAttachment(ctx context.Context, attachmentID string) (*Attachment, error) {
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
}

// WithProgress calls fn as bytes go out, with the running total and the
// file size; the last call reports sent == total.
func WithProgress(fn func(sent, total int64)) UploadOption {
	return uploadOption(func(u *uploadConfig) { u.progress = fn })
}

// WithMimeType sets the content type instead of sniffing it.
func WithMimeType(mime string) UploadOption {
	return uploadOption(func(u *uploadConfig) { u.mimeType = mime })
}

// MaxAttachmentSize is the largest upload the client accepts (2 GiB, as the
// official clients).
const MaxAttachmentSize = 2 << 30

// sniffLen is how much of the file's head is kept to detect its type and
// image size while streaming.
const sniffLen = 64 << 10

// UploadFile creates an attachment and streams size bytes from r to its
// upload URL without buffering the file; ctx cancels the transfer. If r is
// an *os.File (or has Len or Size methods) size may be -1 to use its size.
// The returned attachment carries the size, content type and, for images,
// the dimensions, ready for [Attachment.ImagePayload] and friends.
func (c *Client) UploadFile(ctx context.Context, r io.Reader, size int64, opts ...UploadOption) (*Attachment, error) {
	if r == nil {
		return nil, &FieldError{Field: "file", Reason: "is nil"}
	}
	if size < 0 {
		size = readerSize(r)
	}
	if size < 0 {
		return nil, &FieldError{Field: "size", Reason: "is unknown: pass the file size"}
	}
	if size == 0 {
		return nil, &FieldError{Field: "size", Reason: "is zero: the API rejects empty attachments"}
	}
	if size > c.cfg.maxAttachment {
		return nil, &FieldError{Field: "size", Reason: strconv.FormatInt(size, 10) + " bytes is over the " + strconv.FormatInt(c.cfg.maxAttachment, 10) + "-byte limit"}
	}
	var cfg uploadConfig
	for _, o := range opts {
		if o != nil {
			o.applyUpload(&cfg)
		}
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, att.UploadURL, upload)
	if err != nil {
		return nil, fmt.Errorf("mixin: upload: bad upload URL")
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("x-amz-acl", "public-read")
	req.GetBody = nil // the stream cannot be replayed
	resp, err := c.cfg.httpClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("mixin: upload: %w", ctx.Err())
		}
		return nil, fmt.Errorf("mixin: upload: %w", stripURL(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 {
		return nil, &APIError{Status: resp.StatusCode, Code: resp.StatusCode, Description: "upload refused: " + http.StatusText(resp.StatusCode)}
	}
	if body.sent != size {
		return nil, &FieldError{Field: "file", Reason: "ended after " + strconv.FormatInt(body.sent, 10) + " of " + strconv.FormatInt(size, 10) + " bytes"}
	}
	att.Size = size
	if enc != nil {
		att.Key, att.Digest = enc.keyAndDigest()
	}
	att.MimeType = cfg.mimeType
	if att.MimeType == "" {
		att.MimeType = http.DetectContentType(head.b)
	}
	if cfgImg, format, err := image.DecodeConfig(bytes.NewReader(head.b)); err == nil {
		att.Width, att.Height = cfgImg.Width, cfgImg.Height
		if cfg.mimeType == "" {
			att.MimeType = "image/" + format
		}
	}
	return att, nil
}

// Download streams the file at an attachment's view URL into w and returns
// the bytes written. maxBytes (0 = the client's [WithMaxAttachmentSize])
// bounds the transfer.
func (c *Client) Download(ctx context.Context, viewURL string, w io.Writer, maxBytes int64) (int64, error) {
	if viewURL == "" {
		return 0, &FieldError{Field: "view_url", Reason: "is empty"}
	}
	if maxBytes <= 0 || maxBytes > c.cfg.maxAttachment {
		maxBytes = c.cfg.maxAttachment
	}
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
	a, err := c.ShowAttachment(ctx, attachmentID)
	if err != nil {
		return 0, err
	}
	return c.Download(ctx, a.ViewURL, w, 0)
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

// stripURL removes the (pre-signed) URL from a transport error.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
