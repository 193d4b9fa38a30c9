package mixin

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The -update flag rewrites testdata/payloads. It is defined here only if
// no other test file of the package has defined it already.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files in testdata")
	}
}

func updatePayloadGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func plTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

const (
	plIDA = "7404c815-0393-4ea3-b9f2-b08efe4c72da"
	plIDB = "a465ffdb-4441-4cb9-8b45-00cf79dfbc46"
	plIDC = "c81e774b-a762-49f8-9114-35900be2c90e"
	plIDD = "fbd7d403-3b39-4f8f-afcf-2b2aac42588f"
)

// payloadGoldens maps testdata/payloads/<name>.json to the value it holds.
// The category is the file name up to the first dot.
var payloadGoldens = []struct {
	name  string
	value Payload
}{
	{"PLAIN_IMAGE", ImagePayload{AttachmentID: plIDD, MimeType: "image/jpeg", Width: 1024, Height: 768, Size: 204800, Thumbnail: "/9j/4AAQSkZJRgABAQ=="}},
	{"PLAIN_DATA", DataPayload{AttachmentID: plIDD, MimeType: "application/pdf", Size: 1024, Name: "2020-12-12 <report> & notes.pdf"}},
	{"PLAIN_VIDEO", VideoPayload{AttachmentID: plIDD, MimeType: "video/mp4", Width: 1280, Height: 720, Size: 4096000, Duration: 60000, Thumbnail: "iVBORw0KGgo"}},
	{"PLAIN_AUDIO", AudioPayload{AttachmentID: plIDD, MimeType: "audio/ogg", Size: 3000, Duration: 2500, Waveform: "AAECAwQFBgcICQ"}},
	{"PLAIN_STICKER", StickerPayload{StickerID: plIDA}},
	{"PLAIN_CONTACT", ContactPayload{UserID: plIDB}},
	{"PLAIN_LIVE", LivePayload{Width: 650, Height: 366, ThumbURL: "https://mixin.one/logo.png", URL: "https://mixin.one/live.m3u8?a=1&b=2", Shareable: false}},
	{"PLAIN_LOCATION", LocationPayload{Latitude: 53.47845177824066, Longitude: 126.5893955829421, Name: "Tom & Jerry <café>", Address: "China Beijing"}},
	{"PLAIN_TRANSCRIPT", TranscriptPayload{
		{TranscriptID: plIDC, MessageID: plIDA, UserID: plIDB, UserFullName: "Alice", Category: CategoryPlainText, Content: "hi <b>there</b>", CreatedAt: plTime("2022-08-19T03:06:17.363215481Z")},
		{TranscriptID: plIDC, MessageID: plIDD, UserID: plIDB, UserFullName: "Alice", Category: CategoryPlainImage, Content: plIDD,
			MediaName: "cat.jpg", MediaSize: 2048, MediaWidth: 100, MediaHeight: 80, MediaMimeType: "image/jpeg", MediaStatus: "DONE",
			MediaKey: "a2V5", MediaDigest: "ZGlnZXN0", MediaCreatedAt: plTime("2022-08-19T03:06:00Z"), ThumbImage: "L6PZfSi_.AyE_3t7t7R**0o#DgR4",
			QuoteID: plIDA, QuoteContent: `{"content":"hi"}`, Caption: "a cat", CreatedAt: plTime("2022-08-19T03:06:18Z")},
	}},
	{"APP_CARD", AppCardPayload{AppID: plIDA, CoverURL: "https://mixin.one/cover.png", Title: "Mixin", Description: "Hello & welcome <friend>",
		Actions:   []Button{{Label: "Open", Color: "#3D75E3", Action: "https://mixin.one/?a=1&b=2"}, {Label: "Say hi", Color: "#ABABAB", Action: "input:hi"}},
		UpdatedAt: "2024-09-28T05:49:14.1234Z", Shareable: true}},
	{"APP_CARD.cover", AppCardPayload{AppID: plIDA, Cover: AppCardCover{MimeType: "image/png", URL: "https://mixin.one/cover.png", Width: 640, Height: 320, Thumbnail: "LEHV6nWB2yk8pyo0adR*.7kCMdnj"},
		Title: "Cover", Description: "With a cover object", Actions: []Button{}, UpdatedAt: "2024-09-28T15:49:14+10:00", Shareable: true}},
	{"APP_CARD.legacy", AppCardPayload{AppID: plIDA, IconURL: "https://mixin.one/assets/98b586edb270556d1972112bd7985e9e.png", Title: "Mixin", Description: "Hello World.", Action: "https://mixin.one", Shareable: false}},
	{"APP_BUTTON_GROUP", ButtonGroupPayload{{Label: "Mixin Website", Color: "#ABABAB", Action: "https://mixin.one"}, {Label: "Pay", Color: "#00b2ff", Action: "mixin://pay?recipient=" + plIDB + "&amount=1"}}},
	{"MESSAGE_RECALL", RecallPayload{MessageID: plIDC}},
	{"MESSAGE_PIN", PinPayload{Action: PinActionPin, MessageIDs: []string{plIDA, plIDC}}},
	{"SYSTEM_CONVERSATION", SystemConversationPayload{Action: SystemConversationActionAdd, ParticipantID: plIDB, UserID: plIDA}},
	{"SYSTEM_CONVERSATION.role", SystemConversationPayload{Action: SystemConversationActionRole, ParticipantID: plIDB, Role: ParticipantRoleAdmin}},
	{"SYSTEM_CONVERSATION.expire", SystemConversationPayload{Action: SystemConversationActionExpire, ParticipantID: plIDB, ExpireIn: 86400}},
	{"SYSTEM_ACCOUNT_SNAPSHOT", AccountSnapshotPayload{Type: "transfer", SnapshotID: "ab56be4c-5b20-41c6-a9c3-244f9a433f35", OpponentID: plIDB,
		AssetID: "43d61dcd-e413-450d-80b8-101d5e903357", Amount: "-10", TraceID: "7c67e8e8-b142-488b-80a3-61d4d29c90bf", Memo: "hello", CreatedAt: plTime("2018-05-03T10:08:34.859542588Z")}},
	{"SYSTEM_SAFE_SNAPSHOT", SafeSnapshotPayload{Type: "snapshot", SnapshotID: "ab56be4c-5b20-41c6-a9c3-244f9a433f35", UserID: plIDA, OpponentID: plIDB,
		TransactionHash: "b6b8d99b7cecf810980aaeef17a48f82ed573f2552517d4932d195181bc6ba11", AssetID: "43d61dcd-e413-450d-80b8-101d5e903357",
		Amount: "0.5", Memo: "thanks", CreatedAt: plTime("2024-05-03T10:08:34.859542588Z")}},
}

// encodePayloadGolden encodes sendable payloads with EncodePayload (which validates)
// and inbound-only ones with the same JSON encoder.
func encodePayloadGolden(t *testing.T, v Payload) []byte {
	t.Helper()
	if v.Category().Sendable() {
		b, err := EncodePayload(v)
		require.NoError(t, err)
		return b
	}
	b, err := marshalPayload(v)
	require.NoError(t, err)
	return b
}

func TestPayloadGoldenRoundTrip(t *testing.T) {
	seen := map[Category]bool{}
	for _, tc := range payloadGoldens {
		t.Run(tc.name, func(t *testing.T) {
			c := Category(strings.SplitN(tc.name, ".", 2)[0])
			require.Equal(t, c, tc.value.Category())
			seen[c] = true
			path := filepath.Join("testdata", "payloads", tc.name+".json")
			got := encodePayloadGolden(t, tc.value)
			if updatePayloadGolden() {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -run PayloadGolden -update")
			assert.Equal(t, string(want), string(got), "encoding differs from %s", path)
			assert.False(t, strings.HasSuffix(string(got), "\n"))
			assert.NotContains(t, string(got), `\u0026`)
			assert.NotContains(t, string(got), `\u003c`)

			decoded, err := DecodePayload(c, want)
			require.NoError(t, err)
			assert.Equal(t, tc.value, decoded)
		})
	}
	for _, c := range allPayloadCategories {
		if c.Valid() && !c.Encrypted() && c != CategoryPlainText && c != CategoryPlainPost {
			assert.True(t, seen[c], "no golden for %s", c)
		}
	}
}

func TestPayloadTextAndPostAreRaw(t *testing.T) {
	b, err := EncodePayload(TextPayload("hello & <world> ✓"))
	require.NoError(t, err)
	assert.Equal(t, "hello & <world> ✓", string(b))
	b, err = EncodePayload(PostPayload("# Title\n\n* item"))
	require.NoError(t, err)
	assert.Equal(t, "# Title\n\n* item", string(b))

	v, err := DecodePayload(CategoryPlainText, []byte("hello"))
	require.NoError(t, err)
	assert.Equal(t, TextPayload("hello"), v)
	v, err = DecodePayload(CategoryPlainPost, []byte("## two"))
	require.NoError(t, err)
	assert.Equal(t, PostPayload("## two"), v)
}

// The seed (testdata/seed/message_text.json) carries "hello" as std padded
// data and raw-URL data_base64.
func TestPayloadSeedMessageText(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "seed", "message_text.json"))
	require.NoError(t, err)
	var view struct {
		Category   Category `json:"category"`
		Data       string   `json:"data"`
		DataBase64 string   `json:"data_base64"`
	}
	require.NoError(t, json.Unmarshal(raw, &view))
	for _, s := range []string{view.Data, view.DataBase64} {
		b, err := DecodeBase64Data(s)
		require.NoError(t, err)
		v, err := DecodePayload(view.Category, b)
		require.NoError(t, err)
		assert.Equal(t, TextPayload("hello"), v)
	}
	assert.Equal(t, view.DataBase64, EncodeBase64Data([]byte("hello")))
}

// The field names the Node SDK sends (seed 003) all decode.
func TestPayloadSeedNodeFieldsDecode(t *testing.T) {
	cases := []struct {
		category Category
		data     string
		want     Payload
	}{
		{CategoryPlainImage, `{"attachment_id":"` + plIDD + `","mime_type":"image/jpeg","width":300,"height":300,"size":300,"thumbnail":"dGh1bWI="}`,
			ImagePayload{AttachmentID: plIDD, MimeType: "image/jpeg", Width: 300, Height: 300, Size: 300, Thumbnail: "dGh1bWI="}},
		{CategoryPlainData, `{"attachment_id":"` + plIDD + `","mime_type":"image/jpeg","size":300,"name":"a.jpg"}`,
			DataPayload{AttachmentID: plIDD, MimeType: "image/jpeg", Size: 300, Name: "a.jpg"}},
		{CategoryPlainSticker, `{"sticker_id":"` + plIDA + `","name":"n","album_id":"` + plIDB + `"}`,
			StickerPayload{StickerID: plIDA, Name: "n", AlbumID: plIDB}},
		{CategoryPlainContact, `{"user_id":"` + plIDB + `"}`, ContactPayload{UserID: plIDB}},
		{CategoryAppCard, `{"app_id":"` + plIDA + `","icon_url":"https://x.test/i.png","title":"t","description":"d","action":"https://x.test","shareable":false}`,
			AppCardPayload{AppID: plIDA, IconURL: "https://x.test/i.png", Title: "t", Description: "d", Action: "https://x.test"}},
		{CategoryPlainAudio, `{"attachment_id":"` + plIDD + `","mime_type":"audio/ogg","size":300,"duration":300,"wave_form":"AAEC"}`,
			AudioPayload{AttachmentID: plIDD, MimeType: "audio/ogg", Size: 300, Duration: 300, Waveform: "AAEC"}},
		{CategoryPlainLive, `{"width":300,"height":300,"thumb_url":"https://x.test/t.png","url":"https://x.test/l.m3u8","shareable":false}`,
			LivePayload{Width: 300, Height: 300, ThumbURL: "https://x.test/t.png", URL: "https://x.test/l.m3u8"}},
		{CategoryPlainVideo, `{"attachment_id":"` + plIDD + `","mime_type":"video/mp4","size":300,"duration":300,"width":300,"height":300,"thumbnail":"dA=="}`,
			VideoPayload{AttachmentID: plIDD, MimeType: "video/mp4", Size: 300, Duration: 300, Width: 300, Height: 300, Thumbnail: "dA=="}},
		{CategoryPlainLocation, `{"latitude":1.5,"longitude":-2.25,"address":"addr","name":"nm"}`,
			LocationPayload{Latitude: 1.5, Longitude: -2.25, Address: "addr", Name: "nm"}},
		{CategoryAppButtonGroup, `[{"label":"l","color":"#FF0000","action":"https://x.test"}]`,
			ButtonGroupPayload{{Label: "l", Color: "#FF0000", Action: "https://x.test"}}},
		{CategoryMessageRecall, `{"message_id":"` + plIDC + `"}`, RecallPayload{MessageID: plIDC}},
		// Go/Node SDK types name the counter-party counter_user_id.
		{CategorySystemAccountSnapshot, `{"type":"transfer","snapshot_id":"` + plIDA + `","counter_user_id":"` + plIDB + `","asset_id":"` + plIDC + `","amount":"1.5","trace_id":"` + plIDD + `","memo":"m","created_at":"2018-05-03T10:08:34.859542588Z"}`,
			AccountSnapshotPayload{Type: "transfer", SnapshotID: plIDA, CounterUserID: plIDB, AssetID: plIDC, Amount: "1.5", TraceID: plIDD, Memo: "m", CreatedAt: plTime("2018-05-03T10:08:34.859542588Z")}},
	}
	for _, tc := range cases {
		t.Run(string(tc.category), func(t *testing.T) {
			got, err := DecodePayload(tc.category, []byte(tc.data))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			if got.Category().Sendable() {
				assert.NoError(t, got.Validate())
			} else {
				assert.ErrorIs(t, got.Validate(), ErrInvalidInput, "inbound-only payloads are refused for sending")
			}
		})
	}
}

func TestPayloadAudioWaveformKeys(t *testing.T) {
	base := `{"attachment_id":"` + plIDD + `","mime_type":"audio/ogg","size":1,"duration":2`
	for name, tc := range map[string]struct {
		data string
		want string
	}{
		"waveform":  {base + `,"waveform":"AAEC"}`, "AAEC"},
		"wave_form": {base + `,"wave_form":"AwQF"}`, "AwQF"},
		"both":      {base + `,"wave_form":"AwQF","waveform":"AAEC"}`, "AAEC"},
		"neither":   {base + `}`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			v, err := DecodePayload(CategoryPlainAudio, []byte(tc.data))
			require.NoError(t, err)
			a := v.(AudioPayload)
			assert.Equal(t, tc.want, a.Waveform)
			assert.Equal(t, int64(2), a.Duration)
			b, err := EncodePayload(a)
			require.NoError(t, err)
			assert.NotContains(t, string(b), "wave_form")
			if tc.want != "" {
				assert.Contains(t, string(b), `"waveform":"`+tc.want+`"`)
			}
		})
	}
}

func TestPayloadAppCardShapes(t *testing.T) {
	legacy, err := DecodePayload(CategoryAppCard, mustReadPayloadGolden(t, "APP_CARD.legacy"))
	require.NoError(t, err)
	assert.True(t, legacy.(AppCardPayload).IsLegacy())
	assert.False(t, legacy.(AppCardPayload).Shareable)

	card, err := DecodePayload(CategoryAppCard, mustReadPayloadGolden(t, "APP_CARD"))
	require.NoError(t, err)
	c := card.(AppCardPayload)
	assert.False(t, c.IsLegacy())
	assert.Len(t, c.Actions, 2)

	// shareable is always sent, false included (iOS requires it, Android
	// reads a missing one as false); a new-shape card always has actions.
	p := AppCardPayload{AppID: plIDA, Title: "t", Description: "d", Action: "https://x.test", IconURL: "https://x.test/i.png"}
	b, err := EncodePayload(p)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"shareable":false`)
	assert.NotContains(t, string(b), `"actions"`)
	p.Shareable = true
	b, err = EncodePayload(p)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"shareable":true`)
	b, err = EncodePayload(AppCardPayload{AppID: plIDA, Title: "t", Description: "d", UpdatedAt: "2024-09-28T05:49:14Z"})
	require.NoError(t, err)
	assert.Equal(t, `{"app_id":"`+plIDA+`","title":"t","description":"d","actions":[],"updated_at":"2024-09-28T05:49:14Z","shareable":false}`, string(b))

	// The 2024 Docs variant: cover object and actions.buttons.
	v, err := DecodePayload(CategoryAppCard, []byte(`{"app_id":"`+plIDA+`","title":"t","description":"d",
		"cover":{"mime_type":"image/png","url":"https://x.test/c.png","width":10,"height":10,"thumbnail":"AAAA"},
		"actions":{"buttons":[{"label":"Go","color":"#FFFFFF","url":"https://x.test/go"}]},"updated_at":"2024-09-01T00:00:00Z"}`))
	require.NoError(t, err)
	assert.Equal(t, AppCardPayload{AppID: plIDA, Title: "t", Description: "d",
		Cover:     AppCardCover{MimeType: "image/png", URL: "https://x.test/c.png", Width: 10, Height: 10, Thumbnail: "AAAA"},
		Actions:   []Button{{Label: "Go", Color: "#FFFFFF", Action: "https://x.test/go"}},
		UpdatedAt: "2024-09-01T00:00:00Z"}, v)
	assert.NoError(t, v.Validate())

	// A cover that is not an object is ignored, not fatal.
	v, err = DecodePayload(CategoryAppCard, []byte(`{"app_id":"`+plIDA+`","title":"t","description":"d","cover":"x"}`))
	require.NoError(t, err)
	assert.True(t, v.(AppCardPayload).Cover.IsZero())

	_, err = DecodePayload(CategoryAppCard, []byte(`{"actions":"x"}`))
	assert.Error(t, err)
}

func mustReadPayloadGolden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "payloads", name+".json"))
	require.NoError(t, err)
	return b
}

// Pointers to payloads are accepted and encode as the value does.
func TestPayloadPointersEncodeAsValues(t *testing.T) {
	text := TextPayload("hi & <you>")
	b, err := EncodePayload(&text)
	require.NoError(t, err)
	assert.Equal(t, "hi & <you>", string(b))
	img := ImagePayload{AttachmentID: plIDD, MimeType: "image/png", Width: 1, Height: 2, Size: 3}
	bv, err := EncodePayload(img)
	require.NoError(t, err)
	bp, err := EncodePayload(&img)
	require.NoError(t, err)
	assert.Equal(t, string(bv), string(bp))
	raw := RawPayload{Kind: CategoryPlainText, Data: []byte("raw bytes")}
	b, err = EncodePayload(raw)
	require.NoError(t, err)
	assert.Equal(t, "raw bytes", string(b))
}

// A decoded payload switches by value, and a sendable one encodes back to
// the same bytes.
func TestPayloadTypeSwitchByValue(t *testing.T) {
	for _, tc := range payloadGoldens {
		c := Category(strings.SplitN(tc.name, ".", 2)[0])
		data := mustReadPayloadGolden(t, tc.name)
		p, err := DecodePayload(c, data)
		require.NoError(t, err, tc.name)
		matched := false
		switch p.(type) {
		case ImagePayload, DataPayload, VideoPayload, AudioPayload, StickerPayload, ContactPayload, LivePayload,
			LocationPayload, TranscriptPayload, AppCardPayload, ButtonGroupPayload, RecallPayload, PinPayload,
			SystemConversationPayload, AccountSnapshotPayload, SafeSnapshotPayload:
			matched = true
		}
		assert.True(t, matched, "%s decoded to %T", tc.name, p)
		if c.Sendable() {
			again, err := EncodePayload(p)
			require.NoError(t, err, tc.name)
			assert.Equal(t, string(data), string(again), tc.name)
		}
	}
}

var allPayloadCategories = []Category{
	CategoryPlainText, CategoryPlainPost, CategoryPlainImage, CategoryPlainData, CategoryPlainSticker,
	CategoryPlainContact, CategoryPlainAudio, CategoryPlainLive, CategoryPlainVideo, CategoryPlainLocation,
	CategoryPlainTranscript, CategoryAppCard, CategoryAppButtonGroup, CategoryMessageRecall, CategoryMessagePin,
	CategorySystemConversation, CategorySystemAccountSnapshot, CategorySystemSafeSnapshot,
	CategoryEncryptedText, CategoryEncryptedPost, CategoryEncryptedImage, CategoryEncryptedData,
	CategoryEncryptedSticker, CategoryEncryptedContact, CategoryEncryptedAudio, CategoryEncryptedLive,
	CategoryEncryptedVideo, CategoryEncryptedLocation, CategoryEncryptedTranscript,
}

func TestCategory(t *testing.T) {
	sendable := 0
	for _, c := range allPayloadCategories {
		assert.True(t, c.Valid(), c)
		switch {
		case strings.HasPrefix(string(c), "ENCRYPTED_"):
			assert.True(t, c.Encrypted(), c)
			assert.False(t, c.Sendable(), c)
			p := c.Plain()
			assert.True(t, p.Valid(), "%s -> %s", c, p)
			assert.Equal(t, "PLAIN_"+strings.TrimPrefix(string(c), "ENCRYPTED_"), string(p))
		case strings.HasPrefix(string(c), "SYSTEM_"):
			assert.False(t, c.Sendable(), c)
			assert.Equal(t, c, c.Plain())
		default:
			assert.True(t, c.Sendable(), c)
			assert.False(t, c.Encrypted(), c)
			assert.Equal(t, c, c.Plain())
			sendable++
		}
	}
	assert.Equal(t, 15, sendable)
	for _, c := range []Category{"", "PLAIN_", "PLAIN_NOPE", "ENCRYPTED_NOPE", "plain_text", "SIGNAL_TEXT"} {
		assert.False(t, c.Valid(), c)
		assert.False(t, c.Sendable(), c)
		assert.False(t, c.Encrypted(), c)
		assert.Equal(t, c, c.Plain())
	}
}

func TestPayloadDecodeErrors(t *testing.T) {
	_, err := DecodePayload(CategoryEncryptedText, []byte("AQID"))
	assert.ErrorIs(t, err, ErrEncryptedCategory)
	assert.Contains(t, err.Error(), "ENCRYPTED_TEXT")

	// Unknown categories decode to the raw escape hatch, data copied.
	data := []byte(`{"x":1}`)
	v, err := DecodePayload("PLAIN_HOLOGRAM", data)
	require.NoError(t, err)
	assert.Equal(t, RawPayload{Kind: "PLAIN_HOLOGRAM", Data: []byte(`{"x":1}`)}, v)
	data[0] = 'X'
	assert.Equal(t, byte('{'), v.(RawPayload).Data[0])
	assert.Equal(t, Category("PLAIN_HOLOGRAM"), v.Category())

	for _, c := range []Category{CategoryPlainImage, CategoryAppButtonGroup, CategoryPlainTranscript, CategoryPlainAudio, CategoryAppCard} {
		_, err = DecodePayload(c, []byte(`{"attachment_id":`))
		require.Error(t, err, c)
		assert.Contains(t, err.Error(), string(c))
		_, err = DecodePayload(c, nil)
		assert.Error(t, err, c)
	}
	var se *json.SyntaxError
	_, err = DecodePayload(CategoryPlainImage, []byte("{x"))
	assert.True(t, errors.As(err, &se))
}

func TestBase64Data(t *testing.T) {
	payload := []byte{0xfb, 0xff, 0xfe, 'h', 'i', 0x3e}
	forms := map[string]string{
		"std padded":   base64.StdEncoding.EncodeToString(payload[:5]),
		"std raw":      base64.RawStdEncoding.EncodeToString(payload[:5]),
		"url padded":   base64.URLEncoding.EncodeToString(payload[:5]),
		"url raw":      base64.RawURLEncoding.EncodeToString(payload[:5]),
		"std full":     base64.StdEncoding.EncodeToString(payload),
		"url full raw": base64.RawURLEncoding.EncodeToString(payload),
	}
	for name, s := range forms {
		t.Run(name, func(t *testing.T) {
			b, err := DecodeBase64Data(s)
			require.NoError(t, err, s)
			if strings.Contains(name, "full") {
				assert.Equal(t, payload, b)
			} else {
				assert.Equal(t, payload[:5], b)
			}
		})
	}
	b, err := DecodeBase64Data("")
	require.NoError(t, err)
	assert.Empty(t, b)

	for _, s := range []string{
		"aGVsbG8===",    // too much padding
		"aGVsbG8=x",     // padding in the middle
		"aGVsb=",        // padded but not a multiple of 4
		"+/-_",          // mixed alphabets
		"aGV sbG8",      // space
		"a",             // impossible length
		"aGVsbG8*",      // bad character
		"=",             // padding only
		"aGVsbG8\x00AA", // NUL
	} {
		_, err := DecodeBase64Data(s)
		assert.Error(t, err, "%q", s)
	}
	assert.Equal(t, "-_-_", EncodeBase64Data([]byte{0xfb, 0xff, 0xbf}))
	assert.Equal(t, "aGVsbG8", EncodeBase64Data([]byte("hello")))
}

func FuzzDecodePayload(f *testing.F) {
	for _, tc := range payloadGoldens {
		b, err := os.ReadFile(filepath.Join("testdata", "payloads", tc.name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(strings.SplitN(tc.name, ".", 2)[0], b)
	}
	f.Add(string(CategoryPlainText), []byte("hello"))
	f.Add(string(CategoryEncryptedText), []byte{1, 0, 0})
	f.Add(string(CategoryAppCard), []byte(`{"actions":{"buttons":[{"url":"x"}]},"cover":{"url":1}}`))
	f.Fuzz(func(t *testing.T, category string, data []byte) {
		c := Category(category)
		p, err := DecodePayload(c, data)
		if err != nil {
			if c.Valid() && !c.Encrypted() && c != CategoryPlainText && c != CategoryPlainPost {
				return // malformed JSON
			}
			if !errors.Is(err, ErrEncryptedCategory) {
				t.Fatalf("unexpected error for %q: %v", category, err)
			}
			return
		}
		_, _ = DecodeBase64Data(string(data))
		if p.Validate() != nil {
			return
		}
		if p.Category() != c {
			t.Fatalf("decoded %s as %s", c, p.Category())
		}
		b, err := EncodePayload(p)
		if err != nil {
			t.Fatalf("valid payload does not encode: %v", err)
		}
		p2, err := DecodePayload(c, b)
		if err != nil {
			t.Fatalf("re-decode: %v\n%s", err, b)
		}
		if err := p2.Validate(); err != nil {
			t.Fatalf("re-decoded payload invalid: %v\n%s", err, b)
		}
		b2, err := EncodePayload(p2)
		if err != nil || string(b2) != string(b) {
			t.Fatalf("encoding not stable:\n%s\n%s", b, b2)
		}
	})
}

func BenchmarkDecodePayload(b *testing.B) {
	data := []byte(`{"attachment_id":"` + plIDD + `","mime_type":"audio/ogg","size":3000,"duration":2500,"wave_form":"AAECAwQFBgcICQ"}`)
	b.Run("DecodePayload/audio", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodePayload(CategoryPlainAudio, data); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Baseline: plain encoding/json into a struct of the same shape.
	b.Run("baseline/json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v struct {
				AttachmentID string `json:"attachment_id"`
				MimeType     string `json:"mime_type"`
				Size         int64  `json:"size"`
				Duration     int64  `json:"duration"`
				WaveForm     string `json:"wave_form"`
			}
			if err := json.Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
