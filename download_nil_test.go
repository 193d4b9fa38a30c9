package mixin_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A nil destination fails every download before the first request, instead
// of a panic once the bytes come.
func TestDownloadNilWriter(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	ctx := ctxT(t)
	att, err := c.UploadFile(ctx, bytes.NewReader([]byte("some bytes")), mixin.WithUploadMimeType("text/plain"))
	require.NoError(t, err)
	s.ResetRequests()

	var nilBuffer *bytes.Buffer
	for _, w := range []io.Writer{nil, nilBuffer} {
		calls := map[string]func() (int64, error){
			"Download":           func() (int64, error) { return c.Download(ctx, att.ViewURL, w, 1<<20) },
			"DownloadAttachment": func() (int64, error) { return c.DownloadAttachment(ctx, att.AttachmentID, w) },
			"DownloadMedia":      func() (int64, error) { return c.DownloadMedia(ctx, att.DataPayload("a.txt"), w) },
		}
		for name, call := range calls {
			n, err := call()
			var fe *mixin.FieldError
			if assert.ErrorAs(t, err, &fe, "%s(%T)", name, w) {
				assert.Equal(t, "writer", fe.Field)
			}
			assert.Zero(t, n)
		}
	}
	assert.Empty(t, s.Requests(), "no request was made")

	var buf bytes.Buffer
	_, err = c.DownloadAttachment(ctx, att.AttachmentID, &buf)
	require.NoError(t, err)
	assert.Equal(t, "some bytes", buf.String())
}
