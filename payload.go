package mixin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strconv"
	"strings"
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
	// data is ciphertext: send them with [WithEncryption]; the blaze loop
	// decrypts them ([Client.DecryptMessage]).
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
// SYSTEM_* categories are inbound only, and ENCRYPTED_* ones are sent by
// giving a PLAIN_* payload [WithEncryption].
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

// Payload is the typed content of a message: the sealed set of this
// package's payload types, each a value type (pointers to them work too and
// are dereferenced). [DecodePayload] and [Message.Payload] return one, so a
// type switch over a received message is checked by the compiler:
//
//	switch p := p.(type) {
//	case mixin.TextPayload:
//	case mixin.ImagePayload:
//	case mixin.RawPayload: // a category this SDK has no type for
//	}
//
// The sendable ones are [TextPayload], [PostPayload], [ImagePayload],
// [DataPayload], [StickerPayload], [ContactPayload], [AudioPayload], [LivePayload],
// [VideoPayload], [LocationPayload], [TranscriptPayload], [AppCardPayload],
// [ButtonGroupPayload], [RecallPayload] and [PinPayload]; an inbound payload of one
// of these categories can be sent back as it is. [SystemConversationPayload],
// [AccountSnapshotPayload] and [SafeSnapshotPayload] are inbound only: their
// Validate refuses them.
type Payload interface {
	// Category is the message category the payload is sent as.
	Category() Category
	// Validate reports, as a [*FieldError], the first field the API would
	// reject or the official apps would show broken. It makes no network
	// call.
	Validate() error
	// payload seals the interface to this package's types.
	payload()
}

// Source: developers.mixin.one api/messages (the limits it documents).

// Limits the API documents for payloads.
const (
	MaxAppCardTitle       = 36   // characters in an APP_CARD title
	MaxAppCardDescription = 1024 // characters in a new-shape APP_CARD description
	MaxButtons            = 6    // buttons in an APP_BUTTON_GROUP
	MaxButtonLabel        = 36   // characters in a button label
)

// TextPayload is a PLAIN_TEXT payload: UTF-8 text, sent as is (not JSON).
type TextPayload string

// Category returns PLAIN_TEXT.
func (TextPayload) Category() Category { return CategoryPlainText }

func (TextPayload) payload() {}

// Validate rejects empty text and text that is not UTF-8.
func (t TextPayload) Validate() error { return validateText("text", string(t)) }

// PostPayload is a PLAIN_POST payload: Markdown text, sent as is (not JSON).
type PostPayload string

// Category returns PLAIN_POST.
func (PostPayload) Category() Category { return CategoryPlainPost }

func (PostPayload) payload() {}

// Validate rejects an empty post and a post that is not UTF-8.
func (p PostPayload) Validate() error { return validateText("post", string(p)) }

// ErrEncryptedCategory is matched (errors.Is) by the error DecodePayload
// returns for an ENCRYPTED_* category, whose data is ciphertext: decrypt the
// message first with [Client.DecryptMessage] (the blaze loop does).
var ErrEncryptedCategory = errors.New("mixin: encrypted message category")

func nilPayloadError() error { return &FieldError{Field: "payload", Reason: "is nil"} }

// RawPayload is a payload this SDK has no type for: the category (Kind) and
// the data exactly as received. [DecodePayload] returns it for categories it
// does not know. Sending one is allowed for the sendable categories only:
// its data is decoded and validated as that category's payload, then sent
// byte for byte.
type RawPayload struct {
	Kind Category
	Data []byte
}

// Category returns Kind.
func (p RawPayload) Category() Category { return p.Kind }

func (RawPayload) payload() {}

// Validate refuses a category a bot cannot send and otherwise validates the
// data as the typed payload of Kind.
func (p RawPayload) Validate() error {
	if !p.Kind.Sendable() {
		return &FieldError{Field: "category", Reason: strconvQuote(string(p.Kind)) + " cannot be sent by a bot"}
	}
	if len(p.Data) == 0 {
		return &FieldError{Field: "data", Reason: "is empty"}
	}
	typed, err := DecodePayload(p.Kind, p.Data)
	if err != nil {
		return &FieldError{Field: "data", Reason: "is not a " + string(p.Kind) + " payload: " + err.Error()}
	}
	if _, raw := typed.(RawPayload); raw {
		return &FieldError{Field: "category", Reason: strconvQuote(string(p.Kind)) + " is unknown"}
	}
	return typed.Validate()
}

// inboundOnly is the Validate error of the payloads only the API sends.
func inboundOnly(c Category) error {
	return &FieldError{Field: "category", Reason: string(c) + " is inbound only: a bot cannot send it"}
}

// derefPayload turns a pointer to a payload into the payload value.
func derefPayload(p Payload) (Payload, error) {
	if p == nil {
		return nil, nilPayloadError()
	}
	v := reflect.ValueOf(p)
	if v.Kind() != reflect.Pointer {
		return p, nil
	}
	if v.IsNil() {
		return nil, nilPayloadError()
	}
	return v.Elem().Interface().(Payload), nil
}

// EncodePayload validates p and returns the bytes that go, base64-encoded,
// into a message's data: the raw UTF-8 text for [TextPayload] and
// [PostPayload], the data as is for [RawPayload], compact JSON for the rest, with &, < and > left
// unescaped and no trailing newline.
func EncodePayload(p Payload) ([]byte, error) {
	p, err := derefPayload(p)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	switch v := p.(type) {
	case TextPayload:
		return []byte(v), nil
	case PostPayload:
		return []byte(v), nil
	case RawPayload:
		return append([]byte(nil), v.Data...), nil
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
// [DecodeBase64Data]) into the typed payload of category c, a value:
//
//	PLAIN_TEXT               TextPayload
//	PLAIN_POST               PostPayload
//	PLAIN_IMAGE              ImagePayload
//	PLAIN_DATA               DataPayload
//	PLAIN_VIDEO              VideoPayload
//	PLAIN_AUDIO              AudioPayload
//	PLAIN_STICKER            StickerPayload
//	PLAIN_CONTACT            ContactPayload
//	PLAIN_LIVE               LivePayload
//	PLAIN_LOCATION           LocationPayload
//	PLAIN_TRANSCRIPT         TranscriptPayload
//	APP_CARD                 AppCardPayload
//	APP_BUTTON_GROUP         ButtonGroupPayload
//	MESSAGE_RECALL           RecallPayload
//	MESSAGE_PIN              PinPayload
//	SYSTEM_CONVERSATION      SystemConversationPayload
//	SYSTEM_ACCOUNT_SNAPSHOT  AccountSnapshotPayload
//	SYSTEM_SAFE_SNAPSHOT     SafeSnapshotPayload
//	anything else            RawPayload
//
// It does not validate: inbound payloads are returned as sent. ENCRYPTED_*
// categories give an error matching [ErrEncryptedCategory]; data that does
// not decode as its category gives an error naming the category.
func DecodePayload(c Category, data []byte) (Payload, error) {
	switch c {
	case CategoryPlainText:
		return TextPayload(data), nil
	case CategoryPlainPost:
		return PostPayload(data), nil
	case CategoryPlainImage:
		return decodeJSON[ImagePayload](c, data)
	case CategoryPlainData:
		return decodeJSON[DataPayload](c, data)
	case CategoryPlainVideo:
		return decodeJSON[VideoPayload](c, data)
	case CategoryPlainAudio:
		return decodeJSON[AudioPayload](c, data)
	case CategoryPlainSticker:
		return decodeJSON[StickerPayload](c, data)
	case CategoryPlainContact:
		return decodeJSON[ContactPayload](c, data)
	case CategoryPlainLive:
		return decodeJSON[LivePayload](c, data)
	case CategoryPlainLocation:
		return decodeJSON[LocationPayload](c, data)
	case CategoryPlainTranscript:
		return decodeJSON[TranscriptPayload](c, data)
	case CategoryAppCard:
		return decodeJSON[AppCardPayload](c, data)
	case CategoryAppButtonGroup:
		return decodeJSON[ButtonGroupPayload](c, data)
	case CategoryMessageRecall:
		return decodeJSON[RecallPayload](c, data)
	case CategoryMessagePin:
		return decodeJSON[PinPayload](c, data)
	case CategorySystemConversation:
		return decodeJSON[SystemConversationPayload](c, data)
	case CategorySystemAccountSnapshot:
		return decodeJSON[AccountSnapshotPayload](c, data)
	case CategorySystemSafeSnapshot:
		return decodeJSON[SafeSnapshotPayload](c, data)
	}
	if c.Encrypted() {
		return nil, &payloadDecodeError{category: c, err: ErrEncryptedCategory}
	}
	return RawPayload{Kind: c, Data: append([]byte(nil), data...)}, nil
}

// decodeJSON decodes data into a new T. Types with their own UnmarshalJSON
// are called directly, which spares encoding/json a second scan.
func decodeJSON[T Payload](c Category, data []byte) (Payload, error) {
	var v T
	var err error
	if u, ok := any(&v).(json.Unmarshaler); ok {
		err = u.UnmarshalJSON(data)
	} else {
		err = json.Unmarshal(data, &v)
	}
	if err != nil {
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
	if e.err == ErrEncryptedCategory {
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

// isHexColor accepts the hex forms android-app util/ColorUtil.java
// parseColor reads: #RGB, #RRGGBB and #AARRGGBB.
func isHexColor(s string) bool {
	if len(s) < 2 || s[0] != '#' {
		return false
	}
	switch len(s) {
	case 4, 7, 9: // #RGB, #RRGGBB, #AARRGGBB
	default:
		return false
	}
	for i := 1; i < len(s); i++ {
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
