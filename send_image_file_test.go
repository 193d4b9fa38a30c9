package mixin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"log"
	"strings"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SendImageFile is upload, payload and send in one call; WithEncryption
// encrypts the file and the message together, and the payload's size is
// the plain image's.
func TestSendImageFile(t *testing.T) {
	ctx := ctxT(t)
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	alice := s.NewUser("Alice")
	_, err := c.CreateContactConversation(ctx, alice.UserID)
	require.NoError(t, err)
	pic := tinyPNG(t)

	sent, err := c.SendImageFile(ctx, mixin.ToUser(alice.UserID), bytes.NewReader(pic), mixin.WithEncryption(), mixin.WithSilent())
	require.NoError(t, err)
	assert.True(t, sent.Encrypted, "the message went encrypted")
	assert.Equal(t, mixin.CategoryPlainImage, sent.Category, "the view of an encrypted send has the plain category")
	in, err := alice.WaitInbox(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, mixin.CategoryEncryptedImage, in[0].Category)
	var p mixin.ImagePayload
	require.NoError(t, json.Unmarshal(in[0].Plaintext, &p))
	assert.Equal(t, mixin.ImagePayload{AttachmentID: p.AttachmentID, MimeType: "image/png", Width: 3, Height: 2,
		Size: int64(len(pic)), Key: p.Key, Digest: p.Digest}, p, "the plain size, not the uploaded one")
	require.NotEmpty(t, p.Key)
	stored, ok := s.Attachment(p.AttachmentID)
	require.True(t, ok)
	assert.Greater(t, stored.Size, int64(len(pic)), "what was uploaded is the encrypted form")
	plain, err := mixintest.DecryptAttachment(stored.Data, p.Key, p.Digest)
	require.NoError(t, err)
	assert.Equal(t, pic, plain)
	var back bytes.Buffer
	_, err = c.DownloadMedia(ctx, p, &back)
	require.NoError(t, err)
	assert.Equal(t, pic, back.Bytes())

	_, err = c.SendImageFile(ctx, mixin.ToUser(alice.UserID), bytes.NewReader(pic))
	require.NoError(t, err)
	in, err = alice.WaitInbox(ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, mixin.CategoryPlainImage, in[1].Category, "without WithEncryption: plain file, plain message")
	var plainP mixin.ImagePayload
	require.NoError(t, json.Unmarshal(in[1].Data, &plainP))
	assert.Empty(t, plainP.Key)
	stored, _ = s.Attachment(plainP.AttachmentID)
	assert.Equal(t, pic, stored.Data)
}

// What SendImageFile can judge, it refuses before anything is uploaded.
func TestSendImageFileRefusesBeforeUploading(t *testing.T) {
	ctx := ctxT(t)
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	alice := s.NewUser("Alice")
	pic := tinyPNG(t)
	cases := []struct {
		name  string
		to    mixin.Target
		r     io.Reader
		opts  []mixin.SendOption
		field string
	}{
		{"nil reader", mixin.ToUser(alice.UserID), nil, nil, "file"},
		{"no size", mixin.ToUser(alice.UserID), io.MultiReader(bytes.NewReader(pic)), nil, "size"},
		{"empty", mixin.ToUser(alice.UserID), bytes.NewReader(nil), nil, "size"},
		{"not an image", mixin.ToUser(alice.UserID), strings.NewReader("just some text, no picture"), nil, "file"},
		{"bad target", mixin.ToUser("not-a-uuid"), bytes.NewReader(pic), nil, "recipient_id"},
		{"no target", mixin.Target{}, bytes.NewReader(pic), nil, "conversation_id"},
		{"bad quote", mixin.ToUser(alice.UserID), bytes.NewReader(pic), []mixin.SendOption{mixin.WithQuote("nope")}, "quote_message_id"},
	}
	s.ResetRequests()
	for _, tc := range cases {
		_, err := c.SendImageFile(ctx, tc.to, tc.r, tc.opts...)
		var fe *mixin.FieldError
		if assert.ErrorAs(t, err, &fe, tc.name) {
			assert.Equal(t, tc.field, fe.Field, tc.name)
		}
	}
	assert.Empty(t, s.Requests(), "nothing was uploaded")
}

// One call sends an encrypted image; the user's app decrypts the message
// and then the file.
func ExampleClient_SendImageFile() {
	s := exampleServer()
	defer s.Close()
	ctx := context.Background()
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}
	alice := s.NewUserWithID(exampleAliceID, "Alice")
	if _, err := client.CreateContactConversation(ctx, alice.UserID); err != nil {
		log.Fatal(err)
	}
	var pic bytes.Buffer // in a bot: f, err := os.Open("chart.png")
	if err := png.Encode(&pic, image.NewGray(image.Rect(0, 0, 300, 200))); err != nil {
		log.Fatal(err)
	}
	size := pic.Len()

	if _, err := client.SendImageFile(ctx, mixin.ToUser(alice.UserID), &pic, mixin.WithEncryption()); err != nil {
		log.Fatal(err)
	}

	in, err := alice.WaitInbox(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	var p mixin.ImagePayload
	if err := json.Unmarshal(in[0].Plaintext, &p); err != nil {
		log.Fatal(err)
	}
	fmt.Println(in[0].Category, p.MimeType, p.Width, "×", p.Height, "plain size:", p.Size == int64(size))
	// Output: ENCRYPTED_IMAGE image/png 300 × 200 plain size: true
}
