package mixin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func tinyPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

func TestEncryptedImageToUser(t *testing.T) {
	ctx := context.Background()
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	alice := s.NewUser("Alice")
	_, err := c.CreateContactConversation(ctx, alice.UserID)
	require.NoError(t, err)

	pic := tinyPNG(t)
	att, err := c.UploadFile(ctx, bytes.NewReader(pic), mixin.WithEncryption())
	require.NoError(t, err)
	assert.Equal(t, "image/png", att.MimeType, "sniffing reads the plaintext")
	assert.Equal(t, 3, att.Width)
	require.NotEmpty(t, att.Key)
	require.NotEmpty(t, att.Digest)
	stored, ok := s.Attachment(att.AttachmentID)
	require.True(t, ok)
	assert.Equal(t, int64(16+(len(pic)/16+1)*16+32), stored.Size)
	assert.False(t, bytes.Contains(stored.Data, pic[:16]), "the upload holds the plaintext")
	got, err := mixintest.DecryptAttachment(stored.Data, att.Key, att.Digest)
	require.NoError(t, err)
	assert.Equal(t, pic, got)

	p := att.ImagePayload()
	assert.Equal(t, att.Key, p.Key)
	_, err = c.SendImage(ctx, mixin.ToUser(alice.UserID), p, mixin.WithEncryption())
	require.NoError(t, err)
	in, err := alice.WaitInbox(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, mixin.CategoryEncryptedImage, in[0].Category)
	var sent map[string]any
	require.NoError(t, json.Unmarshal(in[0].Plaintext, &sent))
	assert.Equal(t, att.Key, sent["key"])
	assert.Equal(t, att.Digest, sent["digest"])
	assert.Empty(t, s.EncryptionProblems())
}

func TestEncryptedAttachmentsFromUsers(t *testing.T) {
	ctx := context.Background()
	s := mixintest.NewServer(t, mixintest.WithBotCapabilities("CONTACT", "ENCRYPTED"))
	c := botClient(t, s)
	alice := s.NewUser("Alice")
	_, err := c.CreateContactConversation(ctx, alice.UserID)
	require.NoError(t, err)
	for _, n := range []int{1, 15, 16, 17, 70_000} {
		file := bytes.Repeat([]byte{byte(n)}, n)
		file[0] = 'F'
		upload, key, digest := mixintest.EncryptAttachment(file)
		id := alice.UploadAttachment(upload)
		data, _ := json.Marshal(mixin.DataPayload{AttachmentID: id, MimeType: "application/octet-stream", Size: int64(n), Name: "f.bin", Key: key, Digest: digest})
		_, err := alice.Send(ctx, mixintest.MessageRequest{ConversationID: alice.ContactConversationID(s.Bot().UserID), Category: "PLAIN_DATA", Data: data})
		require.NoError(t, err)
		in := s.Bot().Inbox()
		m := botInbound(in[len(in)-1])
		require.Equal(t, mixin.CategoryEncryptedData, m.Category)
		require.NoError(t, c.DecryptMessage(m))
		pl, err := m.Payload()
		require.NoError(t, err)
		dp, ok := pl.(mixin.DataPayload)
		require.True(t, ok, "payload %T", pl)
		require.Equal(t, key, dp.Key)
		var out bytes.Buffer
		written, err := c.DownloadMedia(ctx, dp, &out)
		require.NoError(t, err, "size %d", n)
		assert.Equal(t, int64(n), written)
		assert.Equal(t, file, out.Bytes(), "size %d", n)
	}
}

func TestDownloadMediaRejectsTampering(t *testing.T) {
	ctx := context.Background()
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	alice := s.NewUser("Alice")
	file := bytes.Repeat([]byte("secret file "), 100)
	upload, key, digest := mixintest.EncryptAttachment(file)
	_, _, otherDigest := mixintest.EncryptAttachment(file)
	flipped := append([]byte(nil), upload...)
	flipped[40] ^= 1
	cases := map[string]mixin.DataPayload{
		"ciphertext bit": {AttachmentID: alice.UploadAttachment(flipped), Key: key, Digest: digest},
		"truncated":      {AttachmentID: alice.UploadAttachment(upload[:len(upload)-5]), Key: key, Digest: digest},
		"wrong digest":   {AttachmentID: alice.UploadAttachment(upload), Key: key, Digest: otherDigest},
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			p.MimeType, p.Size, p.Name = "application/octet-stream", int64(len(file)), "f"
			var out bytes.Buffer
			_, err := c.DownloadMedia(ctx, p, &out)
			require.ErrorIs(t, err, mixin.ErrAttachmentIntegrity)
		})
	}
	plainID := alice.UploadAttachment(file)
	var out bytes.Buffer
	_, err := c.DownloadMedia(ctx, mixin.DataPayload{AttachmentID: plainID, MimeType: "text/plain", Size: int64(len(file)), Name: "f"}, &out)
	require.NoError(t, err)
	assert.Equal(t, file, out.Bytes(), "a plain attachment is downloaded as is")
	_, err = c.DownloadMedia(ctx, mixin.DataPayload{AttachmentID: plainID, Key: key}, &out)
	require.ErrorIs(t, err, mixin.ErrInvalidInput, "a key without a digest")
}

// A nil payload, typed or not, is refused with a *FieldError, as a send
// refuses one, before any request and without a panic.
func TestDownloadMediaNilPayload(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	for name, p := range map[string]mixin.MediaPayload{
		"nil":               nil,
		"nil *ImagePayload": (*mixin.ImagePayload)(nil),
		"nil *AudioPayload": (*mixin.AudioPayload)(nil),
		"nil *DataPayload":  (*mixin.DataPayload)(nil),
		"nil *VideoPayload": (*mixin.VideoPayload)(nil),
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			require.NotPanics(t, func() {
				_, err := c.DownloadMedia(context.Background(), p, &out)
				require.ErrorIs(t, err, mixin.ErrInvalidInput)
			})
		})
	}
	assert.Empty(t, s.Requests())
}
