package mixin

import (
	"strconv"
	"strings"
	"time"
)

// RecallPayload is a MESSAGE_RECALL payload: the id of one of the bot's own
// messages to take back.
type RecallPayload struct {
	MessageID string `json:"message_id"`
}

// Category returns MESSAGE_RECALL.
func (RecallPayload) Category() Category { return CategoryMessageRecall }

func (RecallPayload) payload() {}

// Validate checks the message id.
func (p RecallPayload) Validate() error { return checkUUID("message_id", p.MessageID) }

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
func (PinPayload) Category() Category { return CategoryMessagePin }

func (PinPayload) payload() {}

// Validate checks the action and that there is at least one message id,
// each a UUID, none repeated.
func (p PinPayload) Validate() error {
	if p.Action != PinActionPin && p.Action != PinActionUnpin {
		return &FieldError{Field: "action", Reason: "must be PIN or UNPIN, got " + strconvQuote(string(p.Action))}
	}
	_, err := parseUUIDs("message_ids", p.MessageIDs, 0)
	return err
}

// Sources: ios-app TranscriptMessage.swift (required fields); android-app
// DecryptMessage.kt processTranscriptMessage and ios-app
// ReceiveMessageService.swift parseTranscript (items kept by transcript_id).

// TranscriptItem is one message quoted in a PLAIN_TRANSCRIPT. iOS decodes
// transcript_id, message_id, category and created_at as required fields,
// so they are always encoded.
type TranscriptItem struct {
	// TranscriptID is the message id of the transcript message that holds
	// the item: the apps show only the items whose TranscriptID is the
	// message's id. Left empty,
	// [Client.SendTranscript] and [Client.Send] fill it in. An item of a
	// transcript nested in this one carries the nested transcript's
	// message id.
	TranscriptID   string    `json:"transcript_id"`
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
	MediaDuration  int64     `json:"media_duration,omitempty"` // milliseconds
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

// TranscriptPayload is a PLAIN_TRANSCRIPT payload: a JSON array of quoted
// messages.
type TranscriptPayload []TranscriptItem

// Category returns PLAIN_TRANSCRIPT.
func (TranscriptPayload) Category() Category { return CategoryPlainTranscript }

func (TranscriptPayload) payload() {}

// Validate requires at least one item, each with a UUID message id and a
// known category; transcript ids, when set, must be UUIDs. Whether they
// point at the right message is checked when the message id is known (see
// [TranscriptPayload.For]).
func (t TranscriptPayload) Validate() error {
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

// For returns a copy of t for the transcript message messageID: items
// without a transcript id get messageID. It reports a [*FieldError] when an
// item points at a message that is neither messageID nor a transcript item
// of t (a nested transcript), or when no item belongs to messageID: the
// apps drop such items, and show a transcript without any as an unknown
// message.
func (t TranscriptPayload) For(messageID string) (TranscriptPayload, error) {
	id, err := parseUUID("message_id", messageID)
	if err != nil {
		return nil, err
	}
	nested := map[string]bool{}
	for _, it := range t {
		if it.Category.Plain() == CategoryPlainTranscript {
			nested[strings.ToLower(it.MessageID)] = true
		}
	}
	out := make(TranscriptPayload, len(t))
	own := 0
	for i, it := range t {
		tid := strings.ToLower(it.TranscriptID)
		switch {
		case tid == "":
			it.TranscriptID = id
			own++
		case tid == id:
			own++
		case !nested[tid]:
			return nil, &FieldError{Field: "transcript[" + strconv.Itoa(i) + "].transcript_id",
				Reason: "is " + tid + ", neither this message (" + id + ") nor a transcript inside it: the apps drop the item"}
		}
		out[i] = it
	}
	if own == 0 {
		return nil, &FieldError{Field: "transcript", Reason: "no item belongs to message " + id + ": the apps show the transcript as an unknown message"}
	}
	return out, nil
}
