package mixin

import (
	"encoding/json"
	"math"
	"strconv"
)

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
