package mixin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Category is a message category: what the message's data holds.
type Category string

// Message categories. A bot may send the PLAIN_* categories, APP_CARD,
// APP_BUTTON_GROUP, MESSAGE_RECALL and MESSAGE_PIN (see [Category.Sendable]);
// the SYSTEM_* categories are inbound only.
const (
	CategoryPlainText       Category = "PLAIN_TEXT"
	CategoryPlainPost       Category = "PLAIN_POST"
	CategoryPlainImage      Category = "PLAIN_IMAGE"
	CategoryPlainData       Category = "PLAIN_DATA"
	CategoryPlainSticker    Category = "PLAIN_STICKER"
	CategoryPlainContact    Category = "PLAIN_CONTACT"
	CategoryPlainAudio      Category = "PLAIN_AUDIO"
	CategoryPlainLive       Category = "PLAIN_LIVE"
	CategoryPlainVideo      Category = "PLAIN_VIDEO"
	CategoryPlainLocation   Category = "PLAIN_LOCATION"
	CategoryPlainTranscript Category = "PLAIN_TRANSCRIPT"

	CategoryAppCard        Category = "APP_CARD"
	CategoryAppButtonGroup Category = "APP_BUTTON_GROUP"
	CategoryMessageRecall  Category = "MESSAGE_RECALL"
	CategoryMessagePin     Category = "MESSAGE_PIN"

	CategorySystemConversation    Category = "SYSTEM_CONVERSATION"
	CategorySystemAccountSnapshot Category = "SYSTEM_ACCOUNT_SNAPSHOT"
	CategorySystemSafeSnapshot    Category = "SYSTEM_SAFE_SNAPSHOT"

	// The end-to-end encrypted counterparts of the PLAIN_* categories. Their
	// data is ciphertext; this SDK neither sends nor decodes them.
	CategoryEncryptedText       Category = "ENCRYPTED_TEXT"
	CategoryEncryptedPost       Category = "ENCRYPTED_POST"
	CategoryEncryptedImage      Category = "ENCRYPTED_IMAGE"
	CategoryEncryptedData       Category = "ENCRYPTED_DATA"
	CategoryEncryptedSticker    Category = "ENCRYPTED_STICKER"
	CategoryEncryptedContact    Category = "ENCRYPTED_CONTACT"
	CategoryEncryptedAudio      Category = "ENCRYPTED_AUDIO"
	CategoryEncryptedLive       Category = "ENCRYPTED_LIVE"
	CategoryEncryptedVideo      Category = "ENCRYPTED_VIDEO"
	CategoryEncryptedLocation   Category = "ENCRYPTED_LOCATION"
	CategoryEncryptedTranscript Category = "ENCRYPTED_TRANSCRIPT"
)

const (
	plainPrefix     = "PLAIN_"
	encryptedPrefix = "ENCRYPTED_"
)

// Valid reports whether c is a category this SDK knows.
func (c Category) Valid() bool {
	switch c {
	case CategoryPlainText, CategoryPlainPost, CategoryPlainImage, CategoryPlainData,
		CategoryPlainSticker, CategoryPlainContact, CategoryPlainAudio, CategoryPlainLive,
		CategoryPlainVideo, CategoryPlainLocation, CategoryPlainTranscript,
		CategoryAppCard, CategoryAppButtonGroup, CategoryMessageRecall, CategoryMessagePin,
		CategorySystemConversation, CategorySystemAccountSnapshot, CategorySystemSafeSnapshot,
		CategoryEncryptedText, CategoryEncryptedPost, CategoryEncryptedImage, CategoryEncryptedData,
		CategoryEncryptedSticker, CategoryEncryptedContact, CategoryEncryptedAudio, CategoryEncryptedLive,
		CategoryEncryptedVideo, CategoryEncryptedLocation, CategoryEncryptedTranscript:
		return true
	}
	return false
}

// Sendable reports whether a bot may send c through this SDK: the PLAIN_*
// categories, APP_CARD, APP_BUTTON_GROUP, MESSAGE_RECALL and MESSAGE_PIN.
// SYSTEM_* categories are inbound only, and ENCRYPTED_* ones are not sent
// by this SDK.
func (c Category) Sendable() bool {
	switch c {
	case CategoryAppCard, CategoryAppButtonGroup, CategoryMessageRecall, CategoryMessagePin:
		return true
	}
	return c.Valid() && strings.HasPrefix(string(c), plainPrefix)
}

// Encrypted reports whether c is one of the ENCRYPTED_* categories.
func (c Category) Encrypted() bool {
	return c.Valid() && strings.HasPrefix(string(c), encryptedPrefix)
}

// Plain returns the PLAIN_* category of an ENCRYPTED_* one (ENCRYPTED_TEXT
// gives PLAIN_TEXT) and any other category unchanged.
func (c Category) Plain() Category {
	if c.Encrypted() {
		return Category(plainPrefix + string(c)[len(encryptedPrefix):])
	}
	return c
}

// Payload is the typed content of a message a bot can send. Every sendable
// category has one: [Text], [Post], [*ImagePayload], [*DataPayload],
// [*StickerPayload], [*ContactPayload], [*AudioPayload], [*LivePayload],
// [*VideoPayload], [*LocationPayload], [Transcript], [*AppCardPayload],
// [ButtonGroup], [*RecallPayload] and [*PinPayload].
type Payload interface {
	// Category is the message category the payload is sent as.
	Category() Category
	// Validate reports, as a [*FieldError], the first field the API would
	// reject. It makes no network call.
	Validate() error
}

// Limits the API enforces on payloads (Docs, developers.mixin.one).
const (
	MaxAppCardTitle       = 36   // characters in an APP_CARD title
	MaxAppCardDescription = 1024 // characters in a new-shape APP_CARD description
	MaxButtons            = 6    // buttons in an APP_BUTTON_GROUP
	MaxButtonLabel        = 36   // characters in a button label
)

// Text is a PLAIN_TEXT payload: UTF-8 text, sent as is (not JSON).
type Text string

// Category returns PLAIN_TEXT.
func (Text) Category() Category { return CategoryPlainText }

// Validate rejects empty text and text that is not UTF-8.
func (t Text) Validate() error { return validateText("text", string(t)) }

// Post is a PLAIN_POST payload: Markdown text, sent as is (not JSON).
type Post string

// Category returns PLAIN_POST.
func (Post) Category() Category { return CategoryPlainPost }

// Validate rejects an empty post and a post that is not UTF-8.
func (p Post) Validate() error { return validateText("post", string(p)) }

// ImagePayload is a PLAIN_IMAGE payload. Upload the file first to get the
// attachment id.
type ImagePayload struct {
	AttachmentID string `json:"attachment_id"`
	MimeType     string `json:"mime_type"` // e.g. "image/jpeg"
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	Size         int64  `json:"size"` // bytes
	// Thumbnail is an optional tiny preview image, base64 as sent.
	Thumbnail string `json:"thumbnail,omitempty"`
}

// Category returns PLAIN_IMAGE.
func (*ImagePayload) Category() Category { return CategoryPlainImage }

// Validate checks the attachment id, mime type, dimensions and size.
func (p *ImagePayload) Validate() error {
	if p == nil {
		return nilPayloadError()
	}
	return firstError(
		checkUUID("attachment_id", p.AttachmentID),
		checkNonEmpty("mime_type", p.MimeType),
		checkNonNegative("width", int64(p.Width)),
		checkNonNegative("height", int64(p.Height)),
		checkNonNegative("size", p.Size),
	)
}

// DataPayload is a PLAIN_DATA payload: a file.
type DataPayload struct {
	AttachmentID string `json:"attachment_id"`
	MimeType     string `json:"mime_type"` // e.g. "application/pdf"
	Size         int64  `json:"size"`      // bytes
	Name         string `json:"name"`      // the file name shown
}

// Category returns PLAIN_DATA.
func (*DataPayload) Category() Category { return CategoryPlainData }

// Validate checks the attachment id, mime type and size.
func (p *DataPayload) Validate() error {
	if p == nil {
		return nilPayloadError()
	}
	return firstError(
		checkUUID("attachment_id", p.AttachmentID),
		checkNonEmpty("mime_type", p.MimeType),
		checkNonNegative("size", p.Size),
	)
}

// VideoPayload is a PLAIN_VIDEO payload.
type VideoPayload struct {
	AttachmentID string `json:"attachment_id"`
	MimeType     string `json:"mime_type"` // "video/mp4"
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	Size         int64  `json:"size"` // bytes
	// Duration is the length as the sender wrote it; the Docs example and
	// the Node SDK documentation give seconds (unconfirmed).
	Duration int64 `json:"duration"`
	// Thumbnail is an optional tiny preview image, base64 as sent.
	Thumbnail string `json:"thumbnail,omitempty"`
}

// Category returns PLAIN_VIDEO.
func (*VideoPayload) Category() Category { return CategoryPlainVideo }

// Validate checks the attachment id, mime type, dimensions, size and
// duration.
func (p *VideoPayload) Validate() error {
	if p == nil {
		return nilPayloadError()
	}
	return firstError(
		checkUUID("attachment_id", p.AttachmentID),
		checkNonEmpty("mime_type", p.MimeType),
		checkNonNegative("width", int64(p.Width)),
		checkNonNegative("height", int64(p.Height)),
		checkNonNegative("size", p.Size),
		checkNonNegative("duration", p.Duration),
	)
}

// AudioPayload is a PLAIN_AUDIO payload (a voice message).
//
// The waveform is encoded under the key "waveform" (Docs, Android) and
// decoded from either "waveform" or "wave_form" (the Node and fox SDKs).
type AudioPayload struct {
	AttachmentID string `json:"attachment_id"`
	MimeType     string `json:"mime_type"` // "audio/ogg"
	Size         int64  `json:"size"`      // bytes
	Duration     int64  `json:"duration"`  // milliseconds
	// Waveform is the optional amplitude track, base64 exactly as sent.
	Waveform string `json:"waveform,omitempty"`
}

// Category returns PLAIN_AUDIO.
func (*AudioPayload) Category() Category { return CategoryPlainAudio }

// Validate checks the attachment id, mime type, size and duration.
func (p *AudioPayload) Validate() error {
	if p == nil {
		return nilPayloadError()
	}
	return firstError(
		checkUUID("attachment_id", p.AttachmentID),
		checkNonEmpty("mime_type", p.MimeType),
		checkNonNegative("size", p.Size),
		checkNonNegative("duration", p.Duration),
	)
}

// UnmarshalJSON accepts the waveform under "waveform" or "wave_form";
// "waveform" wins when both are present.
func (p *AudioPayload) UnmarshalJSON(b []byte) error {
	var v struct {
		AttachmentID string `json:"attachment_id"`
		MimeType     string `json:"mime_type"`
		Size         int64  `json:"size"`
		Duration     int64  `json:"duration"`
		Waveform     string `json:"waveform"`
		WaveForm     string `json:"wave_form"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = AudioPayload{AttachmentID: v.AttachmentID, MimeType: v.MimeType, Size: v.Size, Duration: v.Duration, Waveform: v.Waveform}
	if p.Waveform == "" {
		p.Waveform = v.WaveForm
	}
	return nil
}

// StickerPayload is a PLAIN_STICKER payload: a sticker by id, or by album
// and name.
type StickerPayload struct {
	StickerID string `json:"sticker_id,omitempty"`
	Name      string `json:"name,omitempty"`
	AlbumID   string `json:"album_id,omitempty"`
}

// Category returns PLAIN_STICKER.
func (*StickerPayload) Category() Category { return CategoryPlainSticker }

// Validate requires a sticker id, or an album id with a name.
func (p *StickerPayload) Validate() error {
	if p == nil {
		return nilPayloadError()
	}
	if p.StickerID == "" && p.AlbumID != "" {
		return firstError(checkUUID("album_id", p.AlbumID), checkNonEmpty("name", p.Name))
	}
	return firstError(checkUUID("sticker_id", p.StickerID), checkOptionalUUID("album_id", p.AlbumID))
}

// ContactPayload is a PLAIN_CONTACT payload: a user's card.
type ContactPayload struct {
	UserID string `json:"user_id"`
}

// Category returns PLAIN_CONTACT.
func (*ContactPayload) Category() Category { return CategoryPlainContact }

// Validate checks the user id.
func (p *ContactPayload) Validate() error {
	if p == nil {
		return nilPayloadError()
	}
	return checkUUID("user_id", p.UserID)
}

// Button is one button of an APP_BUTTON_GROUP or one action of a new-shape
// APP_CARD.
type Button struct {
	Label string `json:"label"`
	// Color is "#RRGGBB".
	Color string `json:"color"`
	// Action is an http(s) or mixin:// URL, or "input:TEXT" to make the
	// user send TEXT.
	Action string `json:"action"`
}

func (b *Button) validate(prefix string, colorRequired bool) error {
	if err := checkLength(prefix+".label", b.Label, 1, MaxButtonLabel); err != nil {
		return err
	}
	if b.Color != "" || colorRequired {
		if !isHexColor(b.Color) {
			return &FieldError{Field: prefix + ".color", Reason: "must be #RRGGBB, got " + strconvQuote(b.Color)}
		}
	}
	return checkAction(prefix+".action", b.Action)
}

// ButtonGroup is an APP_BUTTON_GROUP payload: 1 to [MaxButtons] buttons.
type ButtonGroup []Button

// Category returns APP_BUTTON_GROUP.
func (ButtonGroup) Category() Category { return CategoryAppButtonGroup }

// Validate checks the number of buttons and each label, color and action.
func (g ButtonGroup) Validate() error {
	if len(g) == 0 {
		return &FieldError{Field: "buttons", Reason: "is empty"}
	}
	if len(g) > MaxButtons {
		return &FieldError{Field: "buttons", Reason: "has " + strconv.Itoa(len(g)) + " entries, at most " + strconv.Itoa(MaxButtons) + " allowed"}
	}
	for i := range g {
		if err := g[i].validate("buttons["+strconv.Itoa(i)+"]", true); err != nil {
			return err
		}
	}
	return nil
}

// AppCardPayload is an APP_CARD payload in either of its two shapes:
//
//   - legacy: AppID, IconURL, Title, Description, Action, Shareable;
//   - new: AppID, CoverURL, Title, Description, Actions, Shareable.
//
// Clients render a card that has Action in the legacy style (see
// [AppCardPayload.IsLegacy]). Shareable is a pointer because the API
// default is true: nil leaves the key out (shareable), and a set value is
// always encoded, false included; see [AppCardPayload.SetShareable].
type AppCardPayload struct {
	AppID       string   `json:"app_id"`
	IconURL     string   `json:"icon_url,omitempty"`
	CoverURL    string   `json:"cover_url,omitempty"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Action      string   `json:"action,omitempty"`
	Actions     []Button `json:"actions,omitempty"`
	Shareable   *bool    `json:"shareable,omitempty"`
}

// Category returns APP_CARD.
func (*AppCardPayload) Category() Category { return CategoryAppCard }

// IsLegacy reports whether the card is in the legacy shape: it has a single
// Action.
func (p *AppCardPayload) IsLegacy() bool { return p.Action != "" }

// IsShareable reports whether the card may be forwarded; unset means true.
func (p *AppCardPayload) IsShareable() bool { return p.Shareable == nil || *p.Shareable }

// SetShareable sets Shareable explicitly.
func (p *AppCardPayload) SetShareable(v bool) { p.Shareable = &v }

// Validate checks the app id, title, description, URLs and actions.
func (p *AppCardPayload) Validate() error {
	if p == nil {
		return nilPayloadError()
	}
	if err := firstError(
		checkUUID("app_id", p.AppID),
		checkLength("title", p.Title, 1, MaxAppCardTitle),
	); err != nil {
		return err
	}
	if p.IsLegacy() {
		return firstError(
			checkNonEmpty("description", p.Description),
			checkUTF8("description", p.Description),
			checkOptionalURL("icon_url", p.IconURL),
			checkAction("action", p.Action),
		)
	}
	if err := firstError(
		checkLength("description", p.Description, 1, MaxAppCardDescription),
		checkOptionalURL("cover_url", p.CoverURL),
		checkOptionalURL("icon_url", p.IconURL),
	); err != nil {
		return err
	}
	for i := range p.Actions {
		if err := p.Actions[i].validate("actions["+strconv.Itoa(i)+"]", false); err != nil {
			return err
		}
	}
	return nil
}

// UnmarshalJSON decodes both shapes. It also tolerates a variant seen in the
// Docs where "actions" is {"buttons":[{label,url}]} and "cover" an object:
// the buttons become Actions and cover.url becomes CoverURL.
func (p *AppCardPayload) UnmarshalJSON(b []byte) error {
	type plain AppCardPayload
	var v struct {
		plain
		Actions json.RawMessage `json:"actions"`
		Cover   json.RawMessage `json:"cover"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = AppCardPayload(v.plain)
	p.Actions = nil
	switch a := bytes.TrimSpace(v.Actions); {
	case len(a) == 0 || string(a) == "null":
	case a[0] == '[':
		if err := json.Unmarshal(a, &p.Actions); err != nil {
			return err
		}
	case a[0] == '{':
		var obj struct {
			Buttons []struct {
				Label  string `json:"label"`
				Color  string `json:"color"`
				Action string `json:"action"`
				URL    string `json:"url"`
			} `json:"buttons"`
		}
		if err := json.Unmarshal(a, &obj); err != nil {
			return err
		}
		if len(obj.Buttons) > 0 {
			p.Actions = make([]Button, len(obj.Buttons))
			for i, btn := range obj.Buttons {
				action := btn.Action
				if action == "" {
					action = btn.URL
				}
				p.Actions[i] = Button{Label: btn.Label, Color: btn.Color, Action: action}
			}
		}
	default:
		return errors.New("mixin: APP_CARD actions is neither an array nor an object")
	}
	if c := bytes.TrimSpace(v.Cover); p.CoverURL == "" && len(c) > 0 && c[0] == '{' {
		var cover struct {
			URL string `json:"url"`
		}
		if err := json.Unmarshal(c, &cover); err != nil {
			return err
		}
		p.CoverURL = cover.URL
	}
	return nil
}

// LivePayload is a PLAIN_LIVE payload: a live stream card. Shareable works
// as in [AppCardPayload].
type LivePayload struct {
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	ThumbURL  string `json:"thumb_url"`
	URL       string `json:"url"` // the stream, e.g. an .m3u8
	Shareable *bool  `json:"shareable,omitempty"`
}

// Category returns PLAIN_LIVE.
func (*LivePayload) Category() Category { return CategoryPlainLive }

// IsShareable reports whether the card may be forwarded; unset means true.
func (p *LivePayload) IsShareable() bool { return p.Shareable == nil || *p.Shareable }

// SetShareable sets Shareable explicitly.
func (p *LivePayload) SetShareable(v bool) { p.Shareable = &v }

// Validate checks the dimensions and both URLs.
func (p *LivePayload) Validate() error {
	if p == nil {
		return nilPayloadError()
	}
	return firstError(
		checkNonNegative("width", int64(p.Width)),
		checkNonNegative("height", int64(p.Height)),
		checkURL("thumb_url", p.ThumbURL),
		checkURL("url", p.URL),
	)
}

// LocationPayload is a PLAIN_LOCATION payload. Coordinates are always
// encoded, zero included.
type LocationPayload struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	VenueType string  `json:"venue_type,omitempty"` // set by the Android client
}

// Category returns PLAIN_LOCATION.
func (*LocationPayload) Category() Category { return CategoryPlainLocation }

// Validate checks that latitude is in [-90, 90] and longitude in
// [-180, 180].
func (p *LocationPayload) Validate() error {
	if p == nil {
		return nilPayloadError()
	}
	if math.IsNaN(p.Latitude) || p.Latitude < -90 || p.Latitude > 90 {
		return &FieldError{Field: "latitude", Reason: "must be in [-90, 90], got " + strconv.FormatFloat(p.Latitude, 'g', -1, 64)}
	}
	if math.IsNaN(p.Longitude) || p.Longitude < -180 || p.Longitude > 180 {
		return &FieldError{Field: "longitude", Reason: "must be in [-180, 180], got " + strconv.FormatFloat(p.Longitude, 'g', -1, 64)}
	}
	return nil
}

// RecallPayload is a MESSAGE_RECALL payload: the id of one of the bot's own
// messages to take back.
type RecallPayload struct {
	MessageID string `json:"message_id"`
}

// Category returns MESSAGE_RECALL.
func (*RecallPayload) Category() Category { return CategoryMessageRecall }

// Validate checks the message id.
func (p *RecallPayload) Validate() error {
	if p == nil {
		return nilPayloadError()
	}
	return checkUUID("message_id", p.MessageID)
}

// PinAction is what a MESSAGE_PIN does.
type PinAction string

// Pin actions.
const (
	PinActionPin   PinAction = "PIN"
	PinActionUnpin PinAction = "UNPIN"
)

// PinPayload is a MESSAGE_PIN payload: pin or unpin messages in a
// conversation.
type PinPayload struct {
	Action     PinAction `json:"action"`
	MessageIDs []string  `json:"message_ids"`
}

// Category returns MESSAGE_PIN.
func (*PinPayload) Category() Category { return CategoryMessagePin }

// Validate checks the action and that there is at least one message id,
// each a UUID, none repeated.
func (p *PinPayload) Validate() error {
	if p == nil {
		return nilPayloadError()
	}
	if p.Action != PinActionPin && p.Action != PinActionUnpin {
		return &FieldError{Field: "action", Reason: "must be PIN or UNPIN, got " + strconvQuote(string(p.Action))}
	}
	_, err := parseUUIDs("message_ids", p.MessageIDs, 0)
	return err
}

// TranscriptItem is one message quoted in a PLAIN_TRANSCRIPT.
type TranscriptItem struct {
	// TranscriptID is the message id of the transcript message itself.
	TranscriptID   string    `json:"transcript_id,omitempty"`
	MessageID      string    `json:"message_id"`
	UserID         string    `json:"user_id,omitempty"`
	UserFullName   string    `json:"user_full_name,omitempty"`
	Category       Category  `json:"category"`
	Content        string    `json:"content,omitempty"`
	MediaURL       string    `json:"media_url,omitempty"`
	MediaName      string    `json:"media_name,omitempty"`
	MediaSize      int64     `json:"media_size,omitempty"`
	MediaWidth     int       `json:"media_width,omitempty"`
	MediaHeight    int       `json:"media_height,omitempty"`
	MediaDuration  int64     `json:"media_duration,omitempty"`
	MediaMimeType  string    `json:"media_mime_type,omitempty"`
	MediaStatus    string    `json:"media_status,omitempty"`
	MediaWaveform  string    `json:"media_waveform,omitempty"`
	MediaKey       string    `json:"media_key,omitempty"`
	MediaDigest    string    `json:"media_digest,omitempty"`
	MediaCreatedAt time.Time `json:"media_created_at,omitzero"`
	ThumbImage     string    `json:"thumb_image,omitempty"`
	ThumbURL       string    `json:"thumb_url,omitempty"`
	StickerID      string    `json:"sticker_id,omitempty"`
	SharedUserID   string    `json:"shared_user_id,omitempty"`
	Mentions       string    `json:"mentions,omitempty"`
	QuoteID        string    `json:"quote_id,omitempty"`
	QuoteContent   string    `json:"quote_content,omitempty"`
	Caption        string    `json:"caption,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

// Transcript is a PLAIN_TRANSCRIPT payload: a JSON array of quoted
// messages.
type Transcript []TranscriptItem

// Category returns PLAIN_TRANSCRIPT.
func (Transcript) Category() Category { return CategoryPlainTranscript }

// Validate requires at least one item, each with a UUID message id and a
// known category; transcript ids, when set, must be UUIDs.
func (t Transcript) Validate() error {
	if len(t) == 0 {
		return &FieldError{Field: "transcript", Reason: "is empty"}
	}
	for i := range t {
		it := &t[i]
		prefix := "transcript[" + strconv.Itoa(i) + "]"
		if err := firstError(
			checkOptionalUUID(prefix+".transcript_id", it.TranscriptID),
			checkUUID(prefix+".message_id", it.MessageID),
		); err != nil {
			return err
		}
		if !it.Category.Valid() {
			return &FieldError{Field: prefix + ".category", Reason: "is not a known category, got " + strconvQuote(string(it.Category))}
		}
	}
	return nil
}

// SystemConversationAction is what happened in a SYSTEM_CONVERSATION
// message.
type SystemConversationAction string

// System conversation actions.
const (
	SystemConversationActionJoin   SystemConversationAction = "JOIN"
	SystemConversationActionExit   SystemConversationAction = "EXIT"
	SystemConversationActionAdd    SystemConversationAction = "ADD"
	SystemConversationActionRemove SystemConversationAction = "REMOVE"
	SystemConversationActionCreate SystemConversationAction = "CREATE"
	SystemConversationActionUpdate SystemConversationAction = "UPDATE"
	SystemConversationActionRole   SystemConversationAction = "ROLE"
	SystemConversationActionExpire SystemConversationAction = "EXPIRE"
)

// SystemConversationPayload is the inbound SYSTEM_CONVERSATION payload. The
// actor is UserID when set, otherwise the message's sender; the target is
// ParticipantID.
type SystemConversationPayload struct {
	Action        SystemConversationAction `json:"action"`
	ParticipantID string                   `json:"participant_id"`
	UserID        string                   `json:"user_id,omitempty"`
	Role          ParticipantRole          `json:"role,omitempty"`
	ExpireIn      int64                    `json:"expire_in,omitempty"` // seconds
}

// Category returns SYSTEM_CONVERSATION.
func (*SystemConversationPayload) Category() Category { return CategorySystemConversation }

// AccountSnapshotPayload is the inbound SYSTEM_ACCOUNT_SNAPSHOT payload: a
// legacy transfer. Amount is a decimal string, negative when outgoing. The
// counter-party is OpponentID (Docs) or CounterUserID (Go and Node SDK
// types); see [AccountSnapshotPayload.Counterparty].
type AccountSnapshotPayload struct {
	Type          string    `json:"type"` // "transfer"
	SnapshotID    string    `json:"snapshot_id"`
	OpponentID    string    `json:"opponent_id,omitempty"`
	CounterUserID string    `json:"counter_user_id,omitempty"`
	AssetID       string    `json:"asset_id"`
	Amount        string    `json:"amount"`
	TraceID       string    `json:"trace_id"`
	Memo          string    `json:"memo"`
	CreatedAt     time.Time `json:"created_at"`
}

// Category returns SYSTEM_ACCOUNT_SNAPSHOT.
func (*AccountSnapshotPayload) Category() Category { return CategorySystemAccountSnapshot }

// Counterparty returns OpponentID, or CounterUserID when that is empty.
func (p *AccountSnapshotPayload) Counterparty() string {
	if p.OpponentID != "" {
		return p.OpponentID
	}
	return p.CounterUserID
}

// SafeSnapshotPayload is the inbound SYSTEM_SAFE_SNAPSHOT payload: a
// transfer on the Safe network. Amount is a decimal string.
type SafeSnapshotPayload struct {
	Type            string    `json:"type"`
	SnapshotID      string    `json:"snapshot_id"`
	UserID          string    `json:"user_id"`
	OpponentID      string    `json:"opponent_id"`
	TransactionHash string    `json:"transaction_hash"`
	AssetID         string    `json:"asset_id"`
	Amount          string    `json:"amount"`
	Memo            string    `json:"memo"`
	CreatedAt       time.Time `json:"created_at"`
	DepositHash     string    `json:"deposit_hash,omitempty"`     // deposits only
	InscriptionHash string    `json:"inscription_hash,omitempty"` // inscriptions only
}

// Category returns SYSTEM_SAFE_SNAPSHOT.
func (*SafeSnapshotPayload) Category() Category { return CategorySystemSafeSnapshot }

// ErrUnknownCategory is matched (errors.Is) by the error DecodePayload
// returns for a category it does not know.
var ErrUnknownCategory = errors.New("mixin: unknown message category")

// ErrEncryptedCategory is matched (errors.Is) by the error DecodePayload
// returns for an ENCRYPTED_* category, whose data is ciphertext.
var ErrEncryptedCategory = errors.New("mixin: encrypted message category")

func nilPayloadError() error { return &FieldError{Field: "payload", Reason: "is nil"} }

// EncodePayload validates p and returns the bytes that go, base64-encoded,
// into a message's data: the raw UTF-8 text for [Text] and [Post], compact
// JSON for the rest, with &, < and > left unescaped and no trailing
// newline.
func EncodePayload(p Payload) ([]byte, error) {
	if p == nil {
		return nil, nilPayloadError()
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	switch v := p.(type) {
	case Text:
		return []byte(v), nil
	case Post:
		return []byte(v), nil
	}
	return marshalPayload(p)
}

// marshalPayload encodes v as compact JSON without HTML escaping.
func marshalPayload(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil // Encode always ends with '\n'
}

// DecodePayload decodes a message's data (already base64-decoded, see
// [DecodeBase64Data]) into the typed payload of category c:
//
//	PLAIN_TEXT               Text
//	PLAIN_POST               Post
//	PLAIN_IMAGE              *ImagePayload
//	PLAIN_DATA               *DataPayload
//	PLAIN_VIDEO              *VideoPayload
//	PLAIN_AUDIO              *AudioPayload
//	PLAIN_STICKER            *StickerPayload
//	PLAIN_CONTACT            *ContactPayload
//	PLAIN_LIVE               *LivePayload
//	PLAIN_LOCATION           *LocationPayload
//	PLAIN_TRANSCRIPT         Transcript
//	APP_CARD                 *AppCardPayload
//	APP_BUTTON_GROUP         ButtonGroup
//	MESSAGE_RECALL           *RecallPayload
//	MESSAGE_PIN              *PinPayload
//	SYSTEM_CONVERSATION      *SystemConversationPayload
//	SYSTEM_ACCOUNT_SNAPSHOT  *AccountSnapshotPayload
//	SYSTEM_SAFE_SNAPSHOT     *SafeSnapshotPayload
//
// It does not validate: inbound payloads are returned as sent. ENCRYPTED_*
// categories give an error matching [ErrEncryptedCategory], unknown ones an
// error matching [ErrUnknownCategory].
func DecodePayload(c Category, data []byte) (any, error) {
	var v any
	switch c {
	case CategoryPlainText:
		return Text(data), nil
	case CategoryPlainPost:
		return Post(data), nil
	case CategoryPlainImage:
		v = new(ImagePayload)
	case CategoryPlainData:
		v = new(DataPayload)
	case CategoryPlainVideo:
		v = new(VideoPayload)
	case CategoryPlainAudio:
		// Calling UnmarshalJSON directly spares encoding/json a second scan.
		p := new(AudioPayload)
		if err := p.UnmarshalJSON(data); err != nil {
			return nil, &payloadDecodeError{category: c, err: err}
		}
		return p, nil
	case CategoryPlainSticker:
		v = new(StickerPayload)
	case CategoryPlainContact:
		v = new(ContactPayload)
	case CategoryPlainLive:
		v = new(LivePayload)
	case CategoryPlainLocation:
		v = new(LocationPayload)
	case CategoryAppCard:
		p := new(AppCardPayload)
		if err := p.UnmarshalJSON(data); err != nil {
			return nil, &payloadDecodeError{category: c, err: err}
		}
		return p, nil
	case CategoryMessageRecall:
		v = new(RecallPayload)
	case CategoryMessagePin:
		v = new(PinPayload)
	case CategorySystemConversation:
		v = new(SystemConversationPayload)
	case CategorySystemAccountSnapshot:
		v = new(AccountSnapshotPayload)
	case CategorySystemSafeSnapshot:
		v = new(SafeSnapshotPayload)
	case CategoryPlainTranscript:
		var t Transcript
		if err := json.Unmarshal(data, &t); err != nil {
			return nil, &payloadDecodeError{category: c, err: err}
		}
		return t, nil
	case CategoryAppButtonGroup:
		var g ButtonGroup
		if err := json.Unmarshal(data, &g); err != nil {
			return nil, &payloadDecodeError{category: c, err: err}
		}
		return g, nil
	default:
		if c.Encrypted() {
			return nil, &payloadDecodeError{category: c, err: ErrEncryptedCategory}
		}
		return nil, &payloadDecodeError{category: c, err: ErrUnknownCategory}
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, &payloadDecodeError{category: c, err: err}
	}
	return v, nil
}

// payloadDecodeError names the category whose data failed to decode.
type payloadDecodeError struct {
	category Category
	err      error
}

func (e *payloadDecodeError) Error() string {
	switch e.err {
	case ErrUnknownCategory:
		return "mixin: cannot decode payload: unknown category " + strconvQuote(string(e.category))
	case ErrEncryptedCategory:
		return "mixin: cannot decode payload: " + string(e.category) + " data is encrypted"
	}
	return "mixin: decode " + string(e.category) + " payload: " + e.err.Error()
}

func (e *payloadDecodeError) Unwrap() error { return e.err }

// EncodeBase64Data encodes b as a message's data_base64: URL-safe base64
// without padding (RFC 4648 §5, base64.RawURLEncoding).
func EncodeBase64Data(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// DecodeBase64Data decodes a message's data or data_base64 in any form the
// API or other clients produce: standard or URL-safe alphabet, padded or
// not. A string that mixes the two alphabets, or is padded wrongly, is an
// error.
func DecodeBase64Data(s string) ([]byte, error) {
	pad := 0
	for pad < len(s) && s[len(s)-1-pad] == '=' {
		pad++
	}
	if pad > 2 || (pad > 0 && len(s)%4 != 0) {
		return nil, errors.New("mixin: invalid base64 data: bad padding")
	}
	s = s[:len(s)-pad]
	std, urlSafe := false, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '+', '/':
			std = true
		case '-', '_':
			urlSafe = true
		}
	}
	if std && urlSafe {
		return nil, errors.New("mixin: invalid base64 data: mixes the standard and URL-safe alphabets")
	}
	enc := base64.RawStdEncoding
	if urlSafe {
		enc = base64.RawURLEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, errors.New("mixin: invalid base64 data: " + err.Error())
	}
	return b, nil
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func validateText(field, s string) error {
	if s == "" {
		return &FieldError{Field: field, Reason: "is empty"}
	}
	return checkUTF8(field, s)
}

func checkUTF8(field, s string) error {
	if !utf8.ValidString(s) {
		return &FieldError{Field: field, Reason: "is not valid UTF-8"}
	}
	return nil
}

func checkNonEmpty(field, s string) error {
	if strings.TrimSpace(s) == "" {
		return &FieldError{Field: field, Reason: "is empty"}
	}
	return nil
}

func checkNonNegative(field string, n int64) error {
	if n < 0 {
		return &FieldError{Field: field, Reason: "must not be negative, got " + strconv.FormatInt(n, 10)}
	}
	return nil
}

func checkUUID(field, s string) error {
	if s == "" {
		return &FieldError{Field: field, Reason: "is empty"}
	}
	if len(s) != 36 {
		return &FieldError{Field: field, Reason: "must be a UUID, got " + strconvQuote(s)}
	}
	if _, err := uuid.Parse(s); err != nil {
		return &FieldError{Field: field, Reason: "must be a UUID, got " + strconvQuote(s)}
	}
	return nil
}

func checkOptionalUUID(field, s string) error {
	if s == "" {
		return nil
	}
	return checkUUID(field, s)
}

// checkLength requires min..max characters (runes) of valid UTF-8.
func checkLength(field, s string, minN, maxN int) error {
	if err := checkUTF8(field, s); err != nil {
		return err
	}
	n := utf8.RuneCountInString(s)
	if n < minN || strings.TrimSpace(s) == "" {
		return &FieldError{Field: field, Reason: "is empty"}
	}
	if n > maxN {
		return &FieldError{Field: field, Reason: "has " + strconv.Itoa(n) + " characters, at most " + strconv.Itoa(maxN) + " allowed"}
	}
	return nil
}

func isHexColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	for i := 1; i < 7; i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// checkURL requires an absolute http(s) URL with a host.
func checkURL(field, s string) error {
	if s == "" {
		return &FieldError{Field: field, Reason: "is empty"}
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &FieldError{Field: field, Reason: "must be an http(s) URL, got " + strconvQuote(s)}
	}
	return nil
}

func checkOptionalURL(field, s string) error {
	if s == "" {
		return nil
	}
	return checkURL(field, s)
}

// checkAction accepts what Messenger clients act on: an http(s) URL, a
// mixin:// link, or "input:TEXT" (the user sends TEXT).
func checkAction(field, s string) error {
	if s == "" {
		return &FieldError{Field: field, Reason: "is empty"}
	}
	if rest, ok := strings.CutPrefix(s, "input:"); ok {
		if strings.TrimSpace(rest) == "" {
			return &FieldError{Field: field, Reason: "input: action has no text"}
		}
		return checkUTF8(field, s)
	}
	u, err := url.Parse(s)
	if err == nil {
		switch strings.ToLower(u.Scheme) {
		case "http", "https":
			if u.Host != "" {
				return nil
			}
		case "mixin":
			if u.Host != "" || u.Opaque != "" {
				return nil
			}
		}
	}
	return &FieldError{Field: field, Reason: "must be an http(s) or mixin:// URL or input:TEXT, got " + strconvQuote(s)}
}
