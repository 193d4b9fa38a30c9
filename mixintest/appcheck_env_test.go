package mixintest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	stdimage "image"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/google/uuid"
)

func pngBytes(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, stdimage.NewRGBA(stdimage.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, stdimage.NewRGBA(stdimage.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	b[0] = 0x42 // no signature the check knows starts with 'B' alone
	return b
}

// The rules that need the server's state: the users and stickers it knows
// and the bytes of the attachments it holds.
func TestAppCheckEnvRules(t *testing.T) {
	const (
		known      = "11111111-1111-4111-8111-111111111111"
		pngID      = "22222222-2222-4222-8222-222222222222"
		jpegID     = "33333333-3333-4333-8333-333333333333"
		randomID   = "44444444-4444-4444-8444-444444444444"
		mp4ID      = "55555555-5555-4555-8555-555555555555"
		oggID      = "66666666-6666-4666-8666-666666666666"
		mp3ID      = "77777777-7777-4777-8777-777777777777"
		sealedID   = "88888888-8888-4888-8888-888888888888"
		notKeptID  = "99999999-9999-4999-8999-999999999999"
		unknownUID = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	)
	sealed, key, digest := EncryptAttachment(pngBytes(t, 40, 30))
	_, otherKey, _ := EncryptAttachment([]byte("x"))
	files := map[string][]byte{
		pngID: pngBytes(t, 40, 30), jpegID: jpegBytes(t, 40, 30), randomID: randomBytes(3000),
		mp4ID: append([]byte("\x00\x00\x00\x18ftypmp42"), randomBytes(100)...), oggID: append([]byte("OggS\x00\x02"), randomBytes(100)...),
		mp3ID: append([]byte("ID3\x04\x00"), randomBytes(100)...), sealedID: sealed,
	}
	env := &checkEnv{
		userKnown:    func(id string) bool { return normID(id) == known },
		stickerKnown: func(id string) bool { return normID(id) == known },
		attachment:   func(id string) ([]byte, bool) { b, ok := files[normID(id)]; return b, ok },
	}
	img := func(id, mime string, w, h int) string {
		return `{"attachment_id":"` + id + `","mime_type":"` + mime + `","width":` + strconv.Itoa(w) + `,"height":` + strconv.Itoa(h) + `,"size":5}`
	}
	media := func(id, mime string) string {
		return `{"attachment_id":"` + id + `","mime_type":"` + mime + `","width":640,"height":360,"size":5,"duration":5000}`
	}
	cases := []ruleCase{
		{"known sticker", mixin.CategoryPlainSticker, `{"sticker_id":"` + strings.ToUpper(known) + `"}`, nil},
		{"unknown sticker: iOS drops it", mixin.CategoryPlainSticker, `{"sticker_id":"` + unknownUID + `"}`, []string{"broken:sticker_id"}},
		{"known contact", mixin.CategoryPlainContact, `{"user_id":"` + known + `"}`, nil},
		{"unknown contact: iOS drops it", mixin.CategoryPlainContact, `{"user_id":"` + unknownUID + `"}`, []string{"broken:user_id"}},
		{"a PNG of the claimed size", mixin.CategoryPlainImage, img(pngID, "image/png", 40, 30), nil},
		{"a PNG claimed rotated (EXIF) or scaled", mixin.CategoryPlainImage, img(pngID, "image/png", 15, 20), nil},
		{"random bytes as image/png", mixin.CategoryPlainImage, img(randomID, "image/png", 40, 30), []string{"broken:mime_type"}},
		{"a JPEG as image/png: a warning", mixin.CategoryPlainImage, img(jpegID, "image/png", 40, 30), []string{"warning:mime_type"}},
		{"a PNG of another shape", mixin.CategoryPlainImage, img(pngID, "image/png", 300, 30), []string{"warning:width"}},
		{"an image type the check does not read", mixin.CategoryPlainImage, img(randomID, "image/heic", 40, 30), nil},
		{"bytes the server did not keep", mixin.CategoryPlainImage, img(notKeptID, "image/png", 40, 30), nil},
		{"an encrypted PNG opened with its key", mixin.CategoryPlainImage,
			`{"attachment_id":"` + sealedID + `","mime_type":"image/png","width":40,"height":30,"size":5,"key":"` + key + `","digest":"` + digest + `"}`, nil},
		{"an encrypted file with the wrong key", mixin.CategoryPlainData,
			`{"attachment_id":"` + sealedID + `","mime_type":"image/png","size":5,"key":"` + otherKey + `","digest":"` + digest + `"}`, []string{"broken:key"}},
		{"an MP4", mixin.CategoryPlainVideo, media(mp4ID, "video/mp4"), nil},
		{"random bytes as video/mp4", mixin.CategoryPlainVideo, media(randomID, "video/mp4"), []string{"broken:mime_type"}},
		{"a PNG as video/mp4", mixin.CategoryPlainVideo, media(pngID, "video/mp4"), []string{"warning:mime_type"}},
		{"an Ogg voice message", mixin.CategoryPlainAudio, media(oggID, "audio/ogg"), nil},
		{"random bytes as audio/ogg", mixin.CategoryPlainAudio, media(randomID, "audio/ogg"), []string{"broken:mime_type"}},
		{"an MP3 as audio/ogg: a warning", mixin.CategoryPlainAudio, media(mp3ID, "audio/ogg"), []string{"warning:mime_type"}},
		{"an audio type the check does not know", mixin.CategoryPlainAudio, media(randomID, "audio/x-unheard"), nil},
		{"any bytes as a file", mixin.CategoryPlainData, `{"attachment_id":"` + randomID + `","mime_type":"image/png","size":5}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := checkMessageIn(env, tc.category, acMsg, []byte(tc.data))
			if f := findings(got); !slices.Equal(f, tc.want) {
				t.Fatalf("findings %v, want %v\n%v", f, tc.want, got)
			}
		})
	}
}

// upload puts data on the server as u would: POST /attachments, then a PUT
// of the bytes to the upload URL.
func upload(t *testing.T, s *Server, u *User, data []byte) string {
	t.Helper()
	var a attachmentView
	newREST(t, s, u).do("POST", "/attachments", map[string]any{}).ok(t, &a)
	req, _ := http.NewRequest(http.MethodPut, a.UploadURL, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("X-Amz-Acl", "public-read")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("upload: HTTP %d", res.StatusCode)
	}
	return a.AttachmentID
}

// Random bytes uploaded as image/png are a broken picture; a real PNG of
// the claimed size is not flagged.
func TestAppCheckUploadedImage(t *testing.T) {
	tb := &recordingTB{TB: t}
	s := NewServer(tb)
	bot, alice := s.Bot(), s.NewUser("Alice")
	conv := createContact(t, s, bot, alice)
	send := func(id string, w, h int) {
		p := `{"attachment_id":"` + id + `","mime_type":"image/png","width":` + strconv.Itoa(w) + `,"height":` + strconv.Itoa(h) + `,"size":5}`
		newREST(t, s, bot).do("POST", "/messages", map[string]any{"conversation_id": conv, "message_id": uuid.NewString(),
			"category": "PLAIN_IMAGE", "data_base64": base64.RawURLEncoding.EncodeToString([]byte(p))}).ok(t, nil)
	}
	send(upload(t, s, bot, pngBytes(t, 64, 48)), 64, 48)
	if p := s.Problems(); len(p) != 0 {
		t.Fatalf("a real PNG of the claimed size was flagged: %v", p)
	}
	send(upload(t, s, bot, randomBytes(2048)), 64, 48)
	p := s.Problems()
	if len(p) != 1 || p[0].Kind != ProblemKindBroken || p[0].Field != "mime_type" || !strings.Contains(p[0].Reason, "not an image") {
		t.Fatalf("random bytes as image/png: problems %v", p)
	}
	if errs := tb.errors(); len(errs) != 1 || !strings.Contains(errs[0], "cannot show the picture") {
		t.Fatalf("owner errors %q", errs)
	}
}

// A contact card or sticker is checked against the users and the sticker
// catalogue the server knows; stickers come built in and through
// AddSticker, the admin API and GET /stickers/:id.
func TestAppCheckContactsAndStickers(t *testing.T) {
	tb := &recordingTB{TB: t}
	s := NewServer(tb)
	bot, alice := s.Bot(), s.NewUser("Alice")
	conv := createContact(t, s, bot, alice)
	ctx := context.Background()
	send := func(c mixin.Category, data string) {
		if _, err := alice.Send(ctx, MessageRequest{ConversationID: conv, Category: c, Data: []byte(data)}); err != nil {
			t.Fatal(err)
		}
	}
	builtin := BuiltinStickers()[0].StickerID
	added := s.AddSticker(Sticker{Name: "wave"})
	var viaAdmin Sticker
	admin(t, s, "POST", "/_mixintest/stickers", `{"name":"nod"}`, 200, &viaAdmin)
	send(mixin.CategoryPlainSticker, `{"sticker_id":"`+builtin+`"}`)
	send(mixin.CategoryPlainSticker, `{"sticker_id":"`+added.StickerID+`"}`)
	send(mixin.CategoryPlainSticker, `{"sticker_id":"`+viaAdmin.StickerID+`"}`)
	send(mixin.CategoryPlainContact, `{"user_id":"`+bot.UserID+`"}`)
	if p := s.Problems(); len(p) != 0 {
		t.Fatalf("known stickers and users flagged: %v", p)
	}
	send(mixin.CategoryPlainSticker, `{"sticker_id":"`+uuid.NewString()+`"}`)
	send(mixin.CategoryPlainContact, `{"user_id":"`+uuid.NewString()+`"}`)
	if f := findings(s.Problems()); !slices.Equal(f, []string{"broken:sticker_id", "broken:user_id"}) {
		t.Fatalf("unknown sticker and user: %v", f)
	}
	var list []Sticker
	admin(t, s, "GET", "/_mixintest/stickers", "", 200, &list)
	if len(list) != len(BuiltinStickers())+2 {
		t.Fatalf("catalogue %v", list)
	}
	var got stickerView
	newREST(t, s, alice).do("GET", "/stickers/"+added.StickerID, nil).ok(t, &got)
	if got.Type != "sticker" || got.StickerID != added.StickerID || got.Name != "wave" || got.AlbumID == "" {
		t.Fatalf("GET /stickers/:id = %+v", got)
	}
	if r := newREST(t, s, alice).do("GET", "/stickers/"+uuid.NewString(), nil); r.env.Error == nil || r.env.Error.Code != 404 {
		t.Fatalf("unknown sticker: %s", r.raw)
	}
	admin(t, s, "POST", "/_mixintest/stickers", `{"sticker_id":"nope"}`, 400, nil)
}
