package mixin_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
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
	att, err := c.UploadFile(ctx, bytes.NewReader(data))
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), att.Size)
	assert.Equal(t, "image/png", att.MimeType)
	assert.Equal(t, 300, att.Width)
	assert.Equal(t, 200, att.Height)

	stored, ok := s.Attachment(att.AttachmentID)
	require.True(t, ok)
	sum := sha256.Sum256(data)
	assert.Equal(t, hex.EncodeToString(sum[:]), stored.SHA256)

	shown, err := c.ReadAttachment(ctx, att.AttachmentID)
	require.NoError(t, err)
	assert.Equal(t, att.ViewURL, shown.ViewURL)

	var got bytes.Buffer
	n, err := c.DownloadAttachment(ctx, att.AttachmentID, &got)
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), n)
	assert.Equal(t, data, got.Bytes())

	_, err = c.CreateContactConversation(ctx, u.UserID)
	require.NoError(t, err)
	_, err = c.SendImage(ctx, mixin.ToUser(u.UserID), att.ImagePayload())
	require.NoError(t, err)
	inbox, err := u.WaitInbox(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, mixin.CategoryPlainImage, inbox[0].Category)
	assert.Contains(t, string(inbox[0].Data), att.AttachmentID)

	_, err = c.ReadAttachment(ctx, mixin.NewUUID())
	assert.True(t, mixin.IsNotFound(err), "%v", err)
	_, err = c.Download(ctx, att.ViewURL+"-missing", io.Discard, mixin.MaxAttachmentSize)
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
	att, err := c.UploadFile(ctxT(t), &patternReader{left: size}, mixin.WithUploadSize(size), mixin.WithProgress(func(sent, total int64) {
		if sent < last || total != size {
			monotonic = false
		}
		last = sent
		calls++
	}), mixin.WithUploadMimeType("application/octet-stream"))
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
	_, err := c.UploadFile(ctx, &cancelAfter{r: &patternReader{left: size}, n: 1 << 20, cancel: cancel}, mixin.WithUploadSize(size))
	assert.ErrorIs(t, err, context.Canceled)
}

func TestUploadBadInputSendsNothing(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	ctx := ctxT(t)
	for name, call := range map[string]func() error{
		"nil reader":   func() error { _, err := c.UploadFile(ctx, nil, mixin.WithUploadSize(1)); return err },
		"empty":        func() error { _, err := c.UploadFile(ctx, strings.NewReader("")); return err },
		"unknown size": func() error { _, err := c.UploadFile(ctx, io.MultiReader(strings.NewReader("x"))); return err },
		"too big": func() error {
			_, err := c.UploadFile(ctx, strings.NewReader("x"), mixin.WithUploadSize(3<<30))
			return err
		},
		"show bad id": func() error { _, err := c.ReadAttachment(ctx, "x"); return err },
		"no view url": func() error { _, err := c.Download(ctx, "", io.Discard, mixin.MaxAttachmentSize); return err },
	} {
		assert.ErrorIs(t, call(), mixin.ErrInvalidInput, name)
	}
	assert.Empty(t, s.Requests())
}

func TestUploadShortReaderFails(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	_, err := c.UploadFile(ctxT(t), strings.NewReader("short"), mixin.WithUploadSize(100))
	require.Error(t, err)
}

func TestAttachmentSizeLimits(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s, mixin.WithMaxAttachmentSize(1000))
	ctx := ctxT(t)
	_, err := c.UploadFile(ctx, strings.NewReader(strings.Repeat("x", 1001)))
	assert.ErrorIs(t, err, mixin.ErrInvalidInput)
	assert.Empty(t, s.Requests(), "refused before any request")

	big := botClient(t, s)
	att, err := big.UploadFile(ctx, strings.NewReader(strings.Repeat("x", 5000)))
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = c.Download(ctx, att.ViewURL, &buf, mixin.MaxAttachmentSize)
	var re *mixin.ResponseError
	require.ErrorAs(t, err, &re, "a download over the limit stops")
	assert.LessOrEqual(t, buf.Len(), 1001)
	ks, err := mixin.ParseKeystore(s.KeystoreJSON())
	require.NoError(t, err)
	_, err = mixin.NewClient(ks, mixin.WithMaxAttachmentSize(0))
	assert.ErrorIs(t, err, mixin.ErrInvalidInput)
}

// webpHeader is the head of an extended (VP8X) WebP file of w×h pixels, as
// the WebP container specification lays it out; dimensions are all a
// decoder needs from it.
func webpHeader(w, h int) []byte {
	chunk := make([]byte, 10)
	put24 := func(b []byte, v int) { b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16) }
	put24(chunk[4:], w-1)
	put24(chunk[7:], h-1)
	var b bytes.Buffer
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(4+8+len(chunk)+8+4))
	b.WriteString("WEBPVP8X")
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(chunk)))
	b.Write(chunk)
	b.WriteString("VP8L")
	_ = binary.Write(&b, binary.LittleEndian, uint32(4))
	b.Write([]byte{0x2f, 0, 0, 0})
	return b.Bytes()
}

// UploadFile detects the dimensions of the image formats people send.
func TestUploadDetectsImageFormats(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	ctx := ctxT(t)
	img := image.NewRGBA(image.Rect(0, 0, 37, 21))
	enc := func(f func(io.Writer, image.Image) error) []byte {
		var b bytes.Buffer
		require.NoError(t, f(&b, img))
		return b.Bytes()
	}
	cases := map[string]struct {
		data []byte
		mime string
		w, h int
	}{
		"png":  {enc(png.Encode), "image/png", 37, 21},
		"jpeg": {enc(func(w io.Writer, m image.Image) error { return jpeg.Encode(w, m, nil) }), "image/jpeg", 37, 21},
		"gif":  {enc(func(w io.Writer, m image.Image) error { return gif.Encode(w, m, nil) }), "image/gif", 37, 21},
		"bmp":  {enc(bmp.Encode), "image/bmp", 37, 21},
		"tiff": {enc(func(w io.Writer, m image.Image) error { return tiff.Encode(w, m, nil) }), "image/tiff", 37, 21},
		"webp": {webpHeader(1920, 1080), "image/webp", 1920, 1080},
	}
	for name, tc := range cases {
		att, err := c.UploadFile(ctx, bytes.NewReader(tc.data))
		require.NoError(t, err, name)
		assert.Equal(t, tc.mime, att.MimeType, name)
		assert.Equal(t, tc.w, att.Width, name)
		assert.Equal(t, tc.h, att.Height, name)
		require.NoError(t, att.ImagePayload().Validate(), name)
	}
}

// An image payload for a file that is not an image is refused before any
// request, and the emulator sees no message.
func TestImagePayloadOfTextFileRefused(t *testing.T) {
	s, c, u := withContact(t)
	ctx := ctxT(t)
	att, err := c.UploadFile(ctx, strings.NewReader("just some notes\n"))
	require.NoError(t, err)
	assert.Equal(t, "text/plain; charset=utf-8", att.MimeType)
	assert.Zero(t, att.Width)
	s.ResetRequests()
	_, err = c.SendImage(ctx, mixin.ToUser(u.UserID), att.ImagePayload())
	var fe *mixin.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "mime_type", fe.Field)
	// With the right mime type forced, the missing dimensions are caught.
	forced, err := c.UploadFile(ctx, strings.NewReader("not really a png"), mixin.WithUploadMimeType("image/png"))
	require.NoError(t, err)
	s.ResetRequests()
	_, err = c.SendImage(ctx, mixin.ToUser(u.UserID), forced.ImagePayload())
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "width", fe.Field)
	assert.Empty(t, s.Requests(), "refused before any request")
	assert.Empty(t, u.Inbox())
}

// A 60 s video is sent as 60000: the apps read milliseconds.
func TestVideoPayloadDurationInMilliseconds(t *testing.T) {
	_, c, u := withContact(t)
	ctx := ctxT(t)
	mp4 := append([]byte("\x00\x00\x00\x18ftypmp42"), make([]byte, 4084)...) // an MP4 file type box, then zeros
	att, err := c.UploadFile(ctx, bytes.NewReader(mp4), mixin.WithUploadMimeType("video/mp4"))
	require.NoError(t, err)
	p := att.VideoPayload(1280, 720, 60*time.Second)
	assert.Equal(t, int64(60000), p.Duration)
	_, err = c.SendVideo(ctx, mixin.ToUser(u.UserID), p)
	require.NoError(t, err)
	inbox, err := u.WaitInbox(ctx, 1)
	require.NoError(t, err)
	var sent struct {
		Duration int64 `json:"duration"`
	}
	require.NoError(t, json.Unmarshal(inbox[0].Data, &sent))
	assert.Equal(t, int64(60000), sent.Duration)
}

// Download needs an explicit positive limit; WithUploadSize gives the size of a
// reader that does not tell it.
func TestTransferSizesAreExplicit(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	ctx := ctxT(t)
	att, err := c.UploadFile(ctx, io.MultiReader(strings.NewReader("hello, world")), mixin.WithUploadSize(12))
	require.NoError(t, err)
	assert.Equal(t, int64(12), att.Size)
	for _, n := range []int64{0, -1} {
		_, err = c.Download(ctx, att.ViewURL, io.Discard, n)
		var fe *mixin.FieldError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "max_bytes", fe.Field)
	}
	var buf bytes.Buffer
	_, err = c.Download(ctx, att.ViewURL, &buf, 5)
	var re *mixin.ResponseError
	require.ErrorAs(t, err, &re, "over the caller's limit")
	buf.Reset()
	n, err := c.Download(ctx, att.ViewURL, &buf, 12)
	require.NoError(t, err)
	assert.Equal(t, int64(12), n)
	assert.Equal(t, "hello, world", buf.String())
	_, err = c.UploadFile(ctx, strings.NewReader("x"), mixin.WithUploadSize(-2))
	assert.ErrorIs(t, err, mixin.ErrInvalidInput)
}
