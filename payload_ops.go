package mixin

import (
	"strconv"
	"time"
)

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
