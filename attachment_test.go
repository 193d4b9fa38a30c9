package mixin_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pngBytes(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, x%h, color.RGBA{R: 200, A: 255})
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

func TestUploadImageSendAndDownload(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	u := s.NewUser("Alice")
	ctx := ctxT(t)
	data := pngBytes(t, 300, 200)
	att, err := c.UploadFile(ctx, bytes.NewReader(data), -1)
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), att.Size)
	assert.Equal(t, "image/png", att.MimeType)
	assert.Equal(t, 300, att.Width)
	assert.Equal(t, 200, att.Height)

	stored, ok := s.Attachment(att.AttachmentID)
	require.True(t, ok)
	sum := sha256.Sum256(data)
	assert.Equal(t, hex.EncodeToString(sum[:]), stored.SHA256)

	shown, err := c.ShowAttachment(ctx, att.AttachmentID)
	require.NoError(t, err)
	assert.Equal(t, att.ViewURL, shown.ViewURL)

	var got bytes.Buffer
	n, err := c.DownloadAttachment(ctx, att.AttachmentID, &got)
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), n)
	assert.Equal(t, data, got.Bytes())

	_, err = c.CreateContactConversation(ctx, u.ID)
	require.NoError(t, err)
	_, err = c.SendImage(ctx, mixin.ToUser(u.ID), att.ImagePayload())
	require.NoError(t, err)
	inbox, err := u.WaitInbox(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, mixin.CategoryPlainImage, inbox[0].Category)
	assert.Contains(t, string(inbox[0].Data), att.AttachmentID)

	_, err = c.ShowAttachment(ctx, mixin.NewUUID())
	assert.True(t, mixin.IsNotFound(err), "%v", err)
	_, err = c.Download(ctx, att.ViewURL+"-missing", io.Discard, 0)
	assert.Error(t, err)
}

// patternReader yields n bytes of a repeating pattern without holding them.
type patternReader struct{ left int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(b)), p.left)
	for i := range b[:n] {
		b[i] = byte(i)
	}
	p.left -= n
	return int(n), nil
}

func TestUpload50MBStreamsWithFlatMemory(t *testing.T) {
	s := mixintest.NewServer(t, mixintest.WithDiscardUploads())
	c := botClient(t, s)
	const size = 50 << 20
	var last, calls int64
	monotonic := true
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	att, err := c.UploadFile(ctxT(t), &patternReader{left: size}, size, mixin.WithProgress(func(sent, total int64) {
		if sent < last || total != size {
			monotonic = false
		}
		last = sent
		calls++
	}), mixin.WithMimeType("application/octet-stream"))
	require.NoError(t, err)
	runtime.ReadMemStats(&after)
	assert.True(t, monotonic)
	assert.Equal(t, int64(size), last, "progress ends at the size")
	assert.Greater(t, calls, int64(10))
	stored, ok := s.Attachment(att.AttachmentID)
	require.True(t, ok)
	assert.Equal(t, int64(size), stored.Size)
	// Client and emulator together allocate a small fraction of the file.
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d KB while streaming 50 MB", allocated>>10)
	assert.Less(t, allocated, uint64(8<<20), "the upload must stream, not buffer")
}

// cancelAfter cancels ctx once n bytes were read.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n -= int64(n)
	if c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func TestCancelledUploadStops(t *testing.T) {
	s := mixintest.NewServer(t, mixintest.WithDiscardUploads())
	c := botClient(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const size = 20 << 20
	_, err := c.UploadFile(ctx, &cancelAfter{r: &patternReader{left: size}, n: 1 << 20, cancel: cancel}, size)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestUploadBadInputSendsNothing(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	ctx := ctxT(t)
	for name, call := range map[string]func() error{
		"nil reader":   func() error { _, err := c.UploadFile(ctx, nil, 1); return err },
		"empty":        func() error { _, err := c.UploadFile(ctx, strings.NewReader(""), -1); return err },
		"unknown size": func() error { _, err := c.UploadFile(ctx, io.MultiReader(strings.NewReader("x")), -1); return err },
		"too big":      func() error { _, err := c.UploadFile(ctx, strings.NewReader("x"), 3<<30); return err },
		"show bad id":  func() error { _, err := c.ShowAttachment(ctx, "x"); return err },
		"no view url":  func() error { _, err := c.Download(ctx, "", io.Discard, 0); return err },
	} {
		assert.ErrorIs(t, call(), mixin.ErrInvalidInput, name)
	}
	assert.Empty(t, s.Requests())
}

func TestUploadShortReaderFails(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	_, err := c.UploadFile(ctxT(t), strings.NewReader("short"), 100)
	require.Error(t, err)
}

func TestAttachmentSizeLimits(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s, mixin.WithMaxAttachmentSize(1000))
	ctx := ctxT(t)
	_, err := c.UploadFile(ctx, strings.NewReader(strings.Repeat("x", 1001)), -1)
	assert.ErrorIs(t, err, mixin.ErrInvalidInput)
	assert.Empty(t, s.Requests(), "refused before any request")

	big := botClient(t, s)
	att, err := big.UploadFile(ctx, strings.NewReader(strings.Repeat("x", 5000)), -1)
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = c.Download(ctx, att.ViewURL, &buf, 0)
	var re *mixin.ResponseError
	require.ErrorAs(t, err, &re, "a download over the limit stops")
	assert.LessOrEqual(t, buf.Len(), 1001)
	ks, err := mixin.ParseKeystore(s.KeystoreJSON())
	require.NoError(t, err)
	_, err = mixin.NewClient(ks, mixin.WithMaxAttachmentSize(0))
	assert.ErrorIs(t, err, mixin.ErrInvalidInput)
}
