package mixin

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Payloads as the docs and the official apps show them
// (testdata/official/SOURCES.md) decode to what they say.
func TestOfficialPayloadFixtures(t *testing.T) {
	const app = "7404c815-0393-4ea3-b9f2-b08efe4c72da"
	const member = "a465ffdb-4441-4cb9-8b45-00cf79dfbc46"
	const owner = "53bac64e-e1ff-408a-ad0e-aca20cdc68bd"
	cases := []struct {
		file     string
		category Category
		want     Payload
		sendable bool // whether it passes Validate as it is
	}{
		{"docs-card-legacy", CategoryAppCard, AppCardPayload{AppID: app, IconURL: "https://mixin.one/assets/98b586edb270556d1972112bd7985e9e.png",
			Title: "Mixin", Description: "Hello World.", Action: "https://mixin.one", Shareable: true}, true},
		{"docs-card-2024", CategoryAppCard, AppCardPayload{AppID: app, Title: "Mixin", Description: "Hello World.",
			Cover:     AppCardCover{MimeType: "image/png", URL: "https://example.com/cover.png", Width: 800, Height: 600, Thumbnail: "https://example.com/thumbnail.png"},
			Actions:   []Button{{Label: "Open", Action: "https://mixin.one"}},
			Shareable: true, UpdatedAt: "2024-09-28T15:49:14+10:00"}, false}, // its button has no color
		{"docs-image", CategoryPlainImage, ImagePayload{AttachmentID: "read From POST /attachments", MimeType: "image/jpeg",
			Width: 1024, Height: 1024, Size: 1024, Thumbnail: "base64 encoded"}, false},
		{"docs-video", CategoryPlainVideo, VideoPayload{AttachmentID: "Read From POST /attachments", MimeType: "video/mp4",
			Width: 1024, Height: 1024, Size: 1024, Duration: 60, Thumbnail: "base64 encoded"}, false},
		{"docs-file", CategoryPlainData, DataPayload{AttachmentID: "Read From POST /attachments", MimeType: "application/pdf", Size: 1024, Name: "2020-12-12.pdf"}, false},
		{"docs-live", CategoryPlainLive, LivePayload{Width: 650, Height: 366, ThumbURL: "https://mixin.one/logo.png", URL: "https://mixin.one/live.m3u8"}, true},
		{"docs-location", CategoryPlainLocation, LocationPayload{Latitude: 53.47845177824066, Longitude: 126.5893955829421, Name: "China", Address: "China Beijing"}, true},
		{"docs-sticker", CategoryPlainSticker, StickerPayload{StickerID: "UUID"}, false},
		{"docs-contact", CategoryPlainContact, ContactPayload{UserID: "UUID"}, false},
		{"docs-buttons", CategoryAppButtonGroup, ButtonGroupPayload{{Label: "Mixin Website", Color: "#ABABAB", Action: "https://mixin.one"}}, true},
		{"docs-transfer", CategorySystemAccountSnapshot, AccountSnapshotPayload{Type: "transfer", SnapshotID: "ab56be4c-5b20-41c6-a9c3-244f9a433f35",
			OpponentID: member, AssetID: "43d61dcd-e413-450d-80b8-101d5e903357", Amount: "-10",
			TraceID: "7c67e8e8-b142-488b-80a3-61d4d29c90bf", Memo: "hello", CreatedAt: time.Date(2018, 5, 3, 10, 8, 34, 859542588, time.UTC)}, false},
		{"android-SystemConversationMessagePayload-add", CategorySystemConversation,
			SystemConversationPayload{Action: SystemConversationActionAdd, ParticipantID: member, UserID: owner}, false},
		{"android-SystemConversationMessagePayload-role", CategorySystemConversation,
			SystemConversationPayload{Action: SystemConversationActionRole, ParticipantID: member, UserID: owner, Role: ParticipantRoleAdmin}, false},
		{"android-SystemConversationMessagePayload-expire", CategorySystemConversation,
			SystemConversationPayload{Action: SystemConversationActionExpire, UserID: owner, ExpireIn: 86400}, false},
		{"android-PinMessagePayload", CategoryMessagePin, PinPayload{Action: PinActionPin,
			MessageIDs: []string{"f381aaa0-a462-4333-af10-e3f5bff7bec7", app}}, true},
		{"android-RecallMessagePayload", CategoryMessageRecall, RecallPayload{MessageID: "f381aaa0-a462-4333-af10-e3f5bff7bec7"}, true},
		{"ios-AppCardData-V1", CategoryAppCard, AppCardPayload{AppID: app, CoverURL: "https://mixin.one/cover.png", Title: "Mixin", Description: "Hello World.",
			Actions:   []Button{{Label: "Open", Color: "#3D75E3", Action: "https://mixin.one"}, {Label: "Help", Color: "#ABABAB", Action: "input:help"}},
			UpdatedAt: "2024-09-28T05:49:14.123456789Z", Shareable: true}, true},
		{"ios-TransferLiveData", CategoryPlainLive, LivePayload{Width: 650, Height: 366, ThumbURL: "https://mixin.one/logo.png", URL: "https://mixin.one/live.m3u8"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "official", tc.file+".json"))
			require.NoError(t, err)
			got, err := DecodePayload(tc.category, data)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			if tc.sendable {
				assert.NoError(t, got.Validate(), "the sample can be sent as it is")
			} else {
				assert.Error(t, got.Validate(), "placeholder ids, seconds, a colorless button or an inbound-only category")
			}
		})
	}
}

// The transcript sample decodes item by item, and For keeps the ids that
// already name the transcript.
func TestOfficialTranscriptFixture(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "official", "ios-TranscriptMessage.json"))
	require.NoError(t, err)
	p, err := DecodePayload(CategoryPlainTranscript, data)
	require.NoError(t, err)
	tr := p.(TranscriptPayload)
	require.Len(t, tr, 2)
	assert.Equal(t, "c81e774b-a762-49f8-9114-35900be2c90e", tr[1].TranscriptID)
	assert.Equal(t, CategoryPlainImage, tr[1].Category)
	assert.Equal(t, "cat.jpg", tr[1].MediaName)
	assert.Equal(t, 100, tr[1].MediaWidth)
	assert.Equal(t, "f381aaa0-a462-4333-af10-e3f5bff7bec7", tr[1].QuoteID)
	assert.Equal(t, time.Date(2023, 4, 28, 10, 1, 59, 0, time.UTC), tr[1].MediaCreatedAt)
	require.NoError(t, tr.Validate())
	bound, err := tr.For("c81e774b-a762-49f8-9114-35900be2c90e")
	require.NoError(t, err)
	assert.Equal(t, tr, bound)
	_, err = tr.For("f381aaa0-a462-4333-af10-e3f5bff7bec7")
	assert.ErrorIs(t, err, ErrInvalidInput, "the items belong to another message")
}

// decodeFixtureFrame reads a frame fixture as the loop reads it off the
// socket: gzip, then the frame decoder.
func decodeFixtureFrame(t *testing.T, name string) *inFrame {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "official", name+".json"))
	require.NoError(t, err)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(raw)
	require.NoError(t, zw.Close())
	d := &frameDecoder{maxDecompressed: 1 << 20}
	var f inFrame
	require.NoError(t, d.decodeBytes(gz.Bytes(), &f))
	require.NotNil(t, f.Data)
	return &f
}

func TestOfficialFrameFixtures(t *testing.T) {
	const bot = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
	// The Kotlin client's example push: a text message.
	f := decodeFixtureFrame(t, "kotlin-MsgData-frame")
	assert.Equal(t, frameMessage, classify(f, bot))
	m := f.Data
	assert.Equal(t, "f381aaa0-a462-4333-af10-e3f5bff7bec7", m.MessageID)
	assert.Equal(t, "534d23a7-9ee5-38a0-9769-0f20f83521f6", m.ConversationID)
	assert.Equal(t, "6ab63de1-7483-497c-8916-35d1249ce9c0", m.SessionID)
	assert.Equal(t, MessageStatusSent, m.Status)
	assert.Equal(t, time.Date(2023, 4, 28, 10, 1, 32, 387507000, time.UTC), m.CreatedAt)
	p, err := m.Payload()
	require.NoError(t, err)
	assert.Equal(t, TextPayload("abc"), p)
	assert.Equal(t, frameOwn, classify(f, "53bac64e-e1ff-408a-ad0e-aca20cdc68bd"), "the bot's own message, from another session")

	// A SYSTEM_CONVERSATION push shaped as Android reads it.
	f = decodeFixtureFrame(t, "android-BlazeMessageData-system-frame")
	assert.Equal(t, frameMessage, classify(f, bot))
	p, err = f.Data.Payload()
	require.NoError(t, err)
	assert.Equal(t, SystemConversationPayload{Action: SystemConversationActionAdd,
		ParticipantID: "a465ffdb-4441-4cb9-8b45-00cf79dfbc46", UserID: "53bac64e-e1ff-408a-ad0e-aca20cdc68bd"}, p)

	// A receipt shaped as iOS reads it.
	f = decodeFixtureFrame(t, "ios-BlazeMessageData-receipt-frame")
	assert.Equal(t, frameReceipt, classify(f, bot))
	assert.Equal(t, "f381aaa0-a462-4333-af10-e3f5bff7bec7", f.Data.MessageID)
	assert.Equal(t, MessageStatusRead, f.Data.Status)
	assert.Equal(t, time.Date(2023, 4, 28, 10, 5, 0, 1000, time.UTC), f.Data.UpdatedAt)
}
