package mixin

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// The rules below follow what the official apps do when they parse a
// message, so that what a bot sends is shown and not marked invalid:
// android-app websocket/AttachmentMessagePayload.kt (invalidData) and
// job/DecryptMessage.kt (processDecryptSuccess); ios-app
// Services/WebSocket/Service/ReceiveMessageService.swift (processDecryptSuccess)
// and Model/TransferAttachmentData.swift.

// ImagePayload is a PLAIN_IMAGE payload. Upload the file first to get the
// attachment id ([Client.UploadFile] detects the dimensions).
type ImagePayload struct {
	AttachmentID string `json:"attachment_id"`
	MimeType     string `json:"mime_type"` // e.g. "image/jpeg"
	Width        int    `json:"width"`     // pixels, > 0
	Height       int    `json:"height"`    // pixels, > 0
	// Size is the file's length in bytes as the user gets it: for an
	// attachment uploaded encrypted, the plain file's length, not the
	// larger uploaded one ([Attachment.Size] is that length).
	Size int64 `json:"size"`
	// Thumbnail is an optional tiny preview image, base64 as sent.
	Thumbnail string `json:"thumbnail,omitempty"`
	// Key and Digest are set for an attachment uploaded encrypted (see
	// [WithEncryption]): base64 of the 64-byte AES-256 and HMAC-SHA256 keys,
	// and of the SHA-256 of the uploaded bytes, as the apps read them.
	Key    string `json:"key,omitempty"`
	Digest string `json:"digest,omitempty"`
}

// Category returns PLAIN_IMAGE.
func (ImagePayload) Category() Category { return CategoryPlainImage }

func (ImagePayload) payload() {}

// Validate checks the attachment id, that the mime type is an image type,
// the dimensions (both apps show an image without them as invalid) and the
// size.
func (p ImagePayload) Validate() error {
	return firstError(
		checkAttachmentKey(p.Key, p.Digest),
		checkUUID("attachment_id", p.AttachmentID),
		checkMimeType("mime_type", p.MimeType, "image/"),
		checkDimension("width", p.Width),
		checkDimension("height", p.Height),
		checkSize("size", p.Size),
	)
}

// DataPayload is a PLAIN_DATA payload: a file.
type DataPayload struct {
	AttachmentID string `json:"attachment_id"`
	MimeType     string `json:"mime_type"` // e.g. "application/pdf"
	Size         int64  `json:"size"`      // bytes, > 0; the plain length, as in [ImagePayload]
	Name         string `json:"name"`      // the file name shown
	// Key and Digest: as in [ImagePayload].
	Key    string `json:"key,omitempty"`
	Digest string `json:"digest,omitempty"`
}

// Category returns PLAIN_DATA.
func (DataPayload) Category() Category { return CategoryPlainData }

func (DataPayload) payload() {}

// Validate checks the attachment id, mime type and size (iOS shows a file
// of size 0 as an unknown message).
func (p DataPayload) Validate() error {
	return firstError(
		checkAttachmentKey(p.Key, p.Digest),
		checkUUID("attachment_id", p.AttachmentID),
		checkNonEmpty("mime_type", p.MimeType),
		checkSize("size", p.Size),
		checkUTF8("name", p.Name),
	)
}

// VideoPayload is a PLAIN_VIDEO payload.
type VideoPayload struct {
	AttachmentID string `json:"attachment_id"`
	MimeType     string `json:"mime_type"` // e.g. "video/mp4"
	Width        int    `json:"width"`     // pixels, > 0
	Height       int    `json:"height"`    // pixels, > 0
	Size         int64  `json:"size"`      // bytes; the plain length, as in [ImagePayload]
	// Duration is the length in milliseconds, as the apps read it: a 60 s
	// video is 60000. [Attachment.VideoPayload] converts a time.Duration.
	Duration int64 `json:"duration"`
	// Thumbnail is an optional tiny preview image, base64 as sent.
	Thumbnail string `json:"thumbnail,omitempty"`
	// Key and Digest: as in [ImagePayload].
	Key    string `json:"key,omitempty"`
	Digest string `json:"digest,omitempty"`
}

// Category returns PLAIN_VIDEO.
func (VideoPayload) Category() Category { return CategoryPlainVideo }

func (VideoPayload) payload() {}

// Validate checks the attachment id, that the mime type is a video type, the
// dimensions, the size and that the duration is positive.
func (p VideoPayload) Validate() error {
	err := firstError(
		checkUUID("attachment_id", p.AttachmentID),
		checkMimeType("mime_type", p.MimeType, "video/"),
		checkDimension("width", p.Width),
		checkDimension("height", p.Height),
		checkSize("size", p.Size),
	)
	// Milliseconds: android-app VideoHolder formats it with formatMillis,
	// ios-app VideoMessageViewModel divides by milliseconds per second.
	if err == nil && p.Duration <= 0 {
		err = &FieldError{Field: "duration", Reason: "must be a positive number of milliseconds, got " + strconv.FormatInt(p.Duration, 10)}
	}
	return err
}

// AudioPayload is a PLAIN_AUDIO payload (a voice message).
//
// The waveform is encoded under the key "waveform", the one the apps read,
// and decoded from either "waveform" or "wave_form" (older SDKs' key).
type AudioPayload struct {
	AttachmentID string `json:"attachment_id"`
	MimeType     string `json:"mime_type"` // e.g. "audio/ogg"
	Size         int64  `json:"size"`      // bytes; the plain length, as in [ImagePayload]
	Duration     int64  `json:"duration"`  // milliseconds
	// Waveform is the optional amplitude track, base64 exactly as sent.
	Waveform string `json:"waveform,omitempty"`
	// Key and Digest: as in [ImagePayload].
	Key    string `json:"key,omitempty"`
	Digest string `json:"digest,omitempty"`
}

// Category returns PLAIN_AUDIO.
func (AudioPayload) Category() Category { return CategoryPlainAudio }

func (AudioPayload) payload() {}

// Validate checks the attachment id, mime type, size and duration.
func (p AudioPayload) Validate() error {
	return firstError(
		checkAttachmentKey(p.Key, p.Digest),
		checkAttachmentKey(p.Key, p.Digest),
		checkUUID("attachment_id", p.AttachmentID),
		checkNonEmpty("mime_type", p.MimeType),
		checkSize("size", p.Size),
		checkNonNegative("duration", p.Duration),
	)
}

// UnmarshalJSON accepts the waveform under "waveform" or "wave_form";
// "waveform" wins when both are present.
func (p *AudioPayload) UnmarshalJSON(b []byte) error {
	// "waveform": docs, android-app, ios-app; "wave_form": the Node and
	// fox-one SDKs.
	var v struct {
		AttachmentID string `json:"attachment_id"`
		MimeType     string `json:"mime_type"`
		Size         int64  `json:"size"`
		Duration     int64  `json:"duration"`
		Waveform     string `json:"waveform"`
		WaveForm     string `json:"wave_form"`
		Key          string `json:"key"`
		Digest       string `json:"digest"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = AudioPayload{AttachmentID: v.AttachmentID, MimeType: v.MimeType, Size: v.Size, Duration: v.Duration, Waveform: v.Waveform, Key: v.Key, Digest: v.Digest}
	if p.Waveform == "" {
		p.Waveform = v.WaveForm
	}
	return nil
}

// StickerPayload is a PLAIN_STICKER payload. The apps read only StickerID
// (iOS requires it); AlbumID and Name are decoded when present but a
// sticker is sent by id.
type StickerPayload struct {
	StickerID string `json:"sticker_id"`
	Name      string `json:"name,omitempty"`
	AlbumID   string `json:"album_id,omitempty"`
}

// Category returns PLAIN_STICKER.
func (StickerPayload) Category() Category { return CategoryPlainSticker }

func (StickerPayload) payload() {}

// Validate requires the sticker id.
func (p StickerPayload) Validate() error {
	// docs; android-app StickerMessagePayload; ios-app TransferStickerData
	// (sticker_id required).
	return firstError(checkUUID("sticker_id", p.StickerID), checkOptionalUUID("album_id", p.AlbumID))
}

// ContactPayload is a PLAIN_CONTACT payload: a user's card.
type ContactPayload struct {
	UserID string `json:"user_id"`
}

// Category returns PLAIN_CONTACT.
func (ContactPayload) Category() Category { return CategoryPlainContact }

func (ContactPayload) payload() {}

// Validate checks the user id.
func (p ContactPayload) Validate() error { return checkUUID("user_id", p.UserID) }

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
func (LocationPayload) Category() Category { return CategoryPlainLocation }

func (LocationPayload) payload() {}

// Validate checks that latitude is in [-90, 90] and longitude in
// [-180, 180], and that neither is exactly zero: Mixin Desktop drops a
// location whose latitude or longitude is 0 without showing it, and
// Android one at 0,0, so a point on the equator or the prime meridian is
// refused as well.
func (p LocationPayload) Validate() error {
	// flutter-app lib/workers/decrypt_message.dart drops latitude == 0.0 ||
	// longitude == 0.0; android-app websocket/LocationPayload.kt
	// toLocationData drops 0,0.
	if math.IsNaN(p.Latitude) || p.Latitude < -90 || p.Latitude > 90 {
		return &FieldError{Field: "latitude", Reason: "must be in [-90, 90], got " + strconv.FormatFloat(p.Latitude, 'g', -1, 64)}
	}
	if math.IsNaN(p.Longitude) || p.Longitude < -180 || p.Longitude > 180 {
		return &FieldError{Field: "longitude", Reason: "must be in [-180, 180], got " + strconv.FormatFloat(p.Longitude, 'g', -1, 64)}
	}
	switch {
	case p.Latitude == 0 && p.Longitude == 0:
		return &FieldError{Field: "latitude", Reason: "latitude and longitude are both 0: Android and Desktop drop such a location without showing it"}
	case p.Latitude == 0:
		return &FieldError{Field: "latitude", Reason: "is 0: Mixin Desktop drops a location with a zero coordinate without showing it"}
	case p.Longitude == 0:
		return &FieldError{Field: "longitude", Reason: "is 0: Mixin Desktop drops a location with a zero coordinate without showing it"}
	}
	return nil
}

// checkDimension requires a positive pixel count: both apps show an image
// or video without one as invalid, and Android a live card too
// (android-app AttachmentMessagePayload.invalidData, live check in
// DecryptMessage.kt; ios-app ReceiveMessageService processDecryptSuccess).
func checkDimension(field string, n int) error {
	if n <= 0 {
		return &FieldError{Field: field, Reason: "must be > 0, got " + strconv.Itoa(n) + ": the apps show the message as invalid"}
	}
	return nil
}

// checkSize requires a positive byte count.
func checkSize(field string, n int64) error {
	if n <= 0 {
		return &FieldError{Field: field, Reason: "must be > 0 bytes, got " + strconv.FormatInt(n, 10)}
	}
	return nil
}

// checkMimeType requires a mime type of the given top-level type, e.g.
// "image/".
func checkMimeType(field, mime, prefix string) error {
	if err := checkNonEmpty(field, mime); err != nil {
		return err
	}
	if !strings.HasPrefix(strings.ToLower(mime), prefix) {
		return &FieldError{Field: field, Reason: "must be " + prefix + "*, got " + strconvQuote(mime)}
	}
	return nil
}
