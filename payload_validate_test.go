package mixin

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPayloadValidateRejects(t *testing.T) {
	longLabel := strings.Repeat("é", MaxButtonLabel+1)
	okButton := Button{Label: "ok", Color: "#000000", Action: "https://x.test"}
	sevenButtons := make(ButtonGroupPayload, MaxButtons+1)
	for i := range sevenButtons {
		sevenButtons[i] = okButton
	}
	img := ImagePayload{AttachmentID: plIDD, MimeType: "image/png", Width: 10, Height: 10, Size: 1}
	vid := VideoPayload{AttachmentID: plIDD, MimeType: "video/mp4", Width: 10, Height: 10, Size: 1, Duration: 1000}
	live := LivePayload{Width: 10, Height: 10, ThumbURL: "https://x.test/t.png", URL: "https://x.test/l.m3u8"}
	legacy := AppCardPayload{AppID: plIDA, Title: "t", Description: "d", Action: "https://x.test", IconURL: "https://x.test/i.png"}
	cover := AppCardCover{MimeType: "image/png", URL: "https://x.test/c.png", Width: 10, Height: 10, Thumbnail: "AAAA"}
	with := func(p ImagePayload, f func(*ImagePayload)) ImagePayload { f(&p); return p }
	withVideo := func(p VideoPayload, f func(*VideoPayload)) VideoPayload { f(&p); return p }
	withLive := func(p LivePayload, f func(*LivePayload)) LivePayload { f(&p); return p }
	withCard := func(p AppCardPayload, f func(*AppCardPayload)) AppCardPayload { f(&p); return p }
	cases := []struct {
		name  string
		p     Payload
		field string
	}{
		{"empty text", TextPayload(""), "text"},
		{"text not utf8", TextPayload("\xff\xfe"), "text"},
		{"empty post", PostPayload(""), "post"},
		{"image attachment not uuid", with(img, func(p *ImagePayload) { p.AttachmentID = "abc" }), "attachment_id"},
		{"image no mime", with(img, func(p *ImagePayload) { p.MimeType = "" }), "mime_type"},
		{"image of a text file", with(img, func(p *ImagePayload) { p.MimeType = "text/plain" }), "mime_type"},
		{"image without width", with(img, func(p *ImagePayload) { p.Width = 0 }), "width"},
		{"image without height", with(img, func(p *ImagePayload) { p.Height = 0 }), "height"},
		{"image negative width", with(img, func(p *ImagePayload) { p.Width = -1 }), "width"},
		{"image zero size", with(img, func(p *ImagePayload) { p.Size = 0 }), "size"},
		{"data empty attachment", DataPayload{MimeType: "a/b", Size: 1}, "attachment_id"},
		{"data zero size", DataPayload{AttachmentID: plIDD, MimeType: "a/b"}, "size"},
		{"video zero duration", withVideo(vid, func(p *VideoPayload) { p.Duration = 0 }), "duration"},
		{"video negative duration", withVideo(vid, func(p *VideoPayload) { p.Duration = -1 }), "duration"},
		{"video without height", withVideo(vid, func(p *VideoPayload) { p.Height = 0 }), "height"},
		{"video of an image", withVideo(vid, func(p *VideoPayload) { p.MimeType = "image/png" }), "mime_type"},
		{"audio no mime", AudioPayload{AttachmentID: plIDD, MimeType: " ", Size: 1}, "mime_type"},
		{"audio negative duration", AudioPayload{AttachmentID: plIDD, MimeType: "audio/ogg", Size: 1, Duration: -3}, "duration"},
		{"sticker empty", StickerPayload{}, "sticker_id"},
		{"sticker id not uuid", StickerPayload{StickerID: "smile"}, "sticker_id"},
		{"sticker by album only", StickerPayload{AlbumID: plIDA, Name: "wave"}, "sticker_id"},
		{"contact not uuid", ContactPayload{UserID: "7000"}, "user_id"},
		{"card app id", withCard(legacy, func(p *AppCardPayload) { p.AppID = "x" }), "app_id"},
		{"card empty title", withCard(legacy, func(p *AppCardPayload) { p.Title = "" }), "title"},
		{"card long title", AppCardPayload{AppID: plIDA, Title: strings.Repeat("x", 37), Description: "d", Actions: []Button{okButton}}, "title"},
		{"card long description", AppCardPayload{AppID: plIDA, Title: "t", Description: strings.Repeat("d", 1025)}, "description"},
		{"card legacy empty description", withCard(legacy, func(p *AppCardPayload) { p.Description = "" }), "description"},
		{"card legacy bad action", withCard(legacy, func(p *AppCardPayload) { p.Action = "javascript:alert(1)" }), "action"},
		{"card legacy bad icon", withCard(legacy, func(p *AppCardPayload) { p.IconURL = "ftp://x" }), "icon_url"},
		{"card legacy without icon", withCard(legacy, func(p *AppCardPayload) { p.IconURL = "" }), "icon_url"},
		{"card bad cover url", AppCardPayload{AppID: plIDA, Title: "t", Description: "d", CoverURL: "/relative.png"}, "cover_url"},
		{"card cover without width", AppCardPayload{AppID: plIDA, Title: "t", Description: "d", Cover: AppCardCover{MimeType: "image/png", URL: "https://x.test/c.png", Height: 1, Thumbnail: "A"}}, "cover.width"},
		{"card cover without thumbnail", AppCardPayload{AppID: plIDA, Title: "t", Description: "d", Cover: AppCardCover{MimeType: "image/png", URL: "https://x.test/c.png", Width: 1, Height: 1}}, "cover.thumbnail"},
		{"card cover not an image", AppCardPayload{AppID: plIDA, Title: "t", Description: "d", Cover: AppCardCover{MimeType: "video/mp4", URL: cover.URL, Width: 1, Height: 1, Thumbnail: "A"}}, "cover.mime_type"},
		{"card action color", AppCardPayload{AppID: plIDA, Title: "t", Description: "d", Actions: []Button{okButton, {Label: "x", Color: "red", Action: "https://x.test"}}}, "actions[1].color"},
		{"card action without color", AppCardPayload{AppID: plIDA, Title: "t", Description: "d", Actions: []Button{{Label: "x", Action: "https://x.test"}}}, "actions[0].color"},
		{"buttons empty", ButtonGroupPayload{}, "buttons"},
		{"buttons too many", sevenButtons, "buttons"},
		{"button empty label", ButtonGroupPayload{okButton, {Color: "#FFFFFF", Action: "https://x.test"}}, "buttons[1].label"},
		{"button long label", ButtonGroupPayload{{Label: longLabel, Color: "#FFFFFF", Action: "https://x.test"}}, "buttons[0].label"},
		{"button color of four digits", ButtonGroupPayload{{Label: "l", Color: "#FFFF", Action: "https://x.test"}}, "buttons[0].color"},
		{"button missing color", ButtonGroupPayload{{Label: "l", Action: "https://x.test"}}, "buttons[0].color"},
		{"button bad hex", ButtonGroupPayload{{Label: "l", Color: "#GGGGGG", Action: "https://x.test"}}, "buttons[0].color"},
		{"button empty action", ButtonGroupPayload{{Label: "l", Color: "#FFFFFF"}}, "buttons[0].action"},
		{"button hostless url", ButtonGroupPayload{{Label: "l", Color: "#FFFFFF", Action: "https:///path"}}, "buttons[0].action"},
		{"button empty input", ButtonGroupPayload{{Label: "l", Color: "#FFFFFF", Action: "input: "}}, "buttons[0].action"},
		{"location latitude", LocationPayload{Latitude: 91}, "latitude"},
		{"location latitude NaN", LocationPayload{Latitude: math.NaN()}, "latitude"},
		{"location longitude", LocationPayload{Latitude: 1, Longitude: -180.5}, "longitude"},
		{"location at 0,0", LocationPayload{Name: "nowhere"}, "latitude"},
		// Desktop drops either coordinate at exactly 0 (flutter-app decrypt_message.dart).
		{"location on the equator", LocationPayload{Latitude: 0, Longitude: 32.58}, "latitude"},
		{"location on the equator, negative zero", LocationPayload{Latitude: math.Copysign(0, -1), Longitude: 32.58}, "latitude"},
		{"location on the prime meridian", LocationPayload{Latitude: 51.4779, Longitude: 0}, "longitude"},
		{"recall not uuid", RecallPayload{MessageID: "1"}, "message_id"},
		{"pin bad action", PinPayload{Action: "pin", MessageIDs: []string{plIDA}}, "action"},
		{"pin no ids", PinPayload{Action: PinActionUnpin}, "message_ids"},
		{"pin bad id", PinPayload{Action: PinActionPin, MessageIDs: []string{plIDA, "x"}}, "message_ids[1]"},
		{"live bad url", withLive(live, func(p *LivePayload) { p.URL = "rtmp://x.test/live" }), "url"},
		{"live empty thumb", withLive(live, func(p *LivePayload) { p.ThumbURL = "" }), "thumb_url"},
		{"live without width", withLive(live, func(p *LivePayload) { p.Width = 0 }), "width"},
		{"live without height", withLive(live, func(p *LivePayload) { p.Height = 0 }), "height"},
		{"transcript empty", TranscriptPayload{}, "transcript"},
		{"transcript item message id", TranscriptPayload{{Category: CategoryPlainText}}, "transcript[0].message_id"},
		{"transcript item category", TranscriptPayload{{MessageID: plIDA, Category: CategoryPlainText}, {MessageID: plIDB, Category: "PLAIN_NOPE"}}, "transcript[1].category"},
		{"system conversation", SystemConversationPayload{Action: SystemConversationActionAdd}, "category"},
		{"account snapshot", AccountSnapshotPayload{}, "category"},
		{"safe snapshot", SafeSnapshotPayload{}, "category"},
		{"raw unknown", RawPayload{Kind: "PLAIN_HOLOGRAM", Data: []byte("{}")}, "category"},
		{"raw system", RawPayload{Kind: CategorySystemConversation, Data: []byte("{}")}, "category"},
		{"raw empty", RawPayload{Kind: CategoryPlainText}, "data"},
		{"raw bad json", RawPayload{Kind: CategoryPlainImage, Data: []byte("{")}, "data"},
		{"raw invalid image", RawPayload{Kind: CategoryPlainImage, Data: []byte(`{"attachment_id":"` + plIDD + `","mime_type":"image/png","size":1}`)}, "width"},
	}
	require.GreaterOrEqual(t, len(cases), 20)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			require.Error(t, err)
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "%T", err)
			assert.Equal(t, tc.field, fe.Field, "error: %v", err)
			assert.True(t, strings.HasPrefix(err.Error(), "mixin: invalid "+tc.field+": "), err.Error())
			assert.ErrorIs(t, err, ErrInvalidInput)

			b, encErr := EncodePayload(tc.p)
			assert.Nil(t, b)
			assert.Equal(t, err.Error(), encErr.Error(), "EncodePayload must validate first")
		})
	}
	_, err := EncodePayload(nil)
	assert.ErrorIs(t, err, ErrInvalidInput)
	for _, p := range []Payload{(*ImagePayload)(nil), (*RecallPayload)(nil), (*TextPayload)(nil)} {
		_, err := EncodePayload(p)
		var fe *FieldError
		require.True(t, errors.As(err, &fe), "%T", p)
		assert.Equal(t, "payload", fe.Field)
	}
}

func TestPayloadValidateAccepts(t *testing.T) {
	for _, p := range []Payload{
		TextPayload("x"),
		StickerPayload{StickerID: strings.ToUpper(plIDA)},
		ButtonGroupPayload{{Label: "a", Color: "#abcdef", Action: "mixin://users/" + plIDB}, {Label: "b", Color: "#ABCDEF", Action: "input:/help"}, {Label: "c", Color: "#000000", Action: "HTTPS://X.TEST"}},
		LocationPayload{Latitude: -90, Longitude: 180},
		LocationPayload{Latitude: -0.25, Longitude: 1e-9},
		AppCardPayload{AppID: plIDA, Title: strings.Repeat("界", MaxAppCardTitle), Description: strings.Repeat("d", MaxAppCardDescription), UpdatedAt: "2024-09-28T05:49:14Z"},
		// updated_at and actions are optional (ios-app AppCardData.swift since August 2024).
		AppCardPayload{AppID: plIDA, Title: "t", Description: "d", Shareable: true},
		ButtonGroupPayload{{Label: "rgb", Color: "#f0A", Action: "input:x"}, {Label: "argb", Color: "#80FF0000", Action: "input:y"}},
		TranscriptPayload{{MessageID: plIDA, Category: CategoryEncryptedText}},
		RawPayload{Kind: CategoryPlainText, Data: []byte("hi")},
		RawPayload{Kind: CategoryPlainSticker, Data: []byte(`{"sticker_id":"` + plIDA + `"}`)},
	} {
		assert.NoError(t, p.Validate(), "%#v", p)
	}
}
