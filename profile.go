package mixin

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// Profile limits. MaxBiographyLength is where the official Android app's
// biography editor stops (ProfileBottomSheetDialogFragment, 140). No source
// states the server's avatar limit: MaxAvatarSize is the SDK's own bound, so
// that the request stays far below the 1 MB request size the seed documents
// name.
const (
	MaxBiographyLength = 140
	MaxAvatarSize      = 512 << 10
)

// MaxIconSize bounds a group icon ([GroupConversationRequest].Icon,
// [ConversationUpdate].Icon) like an avatar.
const MaxIconSize = MaxAvatarSize

// ProfileUpdate holds the profile fields to change (POST /me); a zero field
// is left as it is.
type ProfileUpdate struct {
	// FullName is the new display name, at most [MaxFullNameLength]
	// characters.
	FullName string
	// Biography, when not nil, replaces the biography ("" clears it); at
	// most [MaxBiographyLength] characters.
	Biography *string
	// Avatar, when not empty, is the new avatar: a PNG, JPEG or GIF image of
	// at most [MaxAvatarSize] bytes.
	Avatar []byte
}

type profileBody struct {
	FullName     string  `json:"full_name,omitempty"`
	AvatarBase64 string  `json:"avatar_base64,omitempty"`
	Biography    *string `json:"biography,omitempty"`
}

// UpdateProfile changes the bot's name, biography and/or avatar and returns
// the updated profile (as [Client.ReadMe] does).
func (c *Client) UpdateProfile(ctx context.Context, u ProfileUpdate) (*User, error) {
	if u.FullName == "" && u.Biography == nil && len(u.Avatar) == 0 {
		return nil, &FieldError{Field: "profile", Reason: "sets neither full_name, biography nor avatar"}
	}
	body := profileBody{FullName: u.FullName, Biography: u.Biography}
	if u.FullName != "" {
		if err := validateFullName("full_name", u.FullName, false); err != nil {
			return nil, err
		}
	}
	if u.Biography != nil {
		if !utf8.ValidString(*u.Biography) {
			return nil, &FieldError{Field: "biography", Reason: "is not valid UTF-8"}
		}
		if n := utf8.RuneCountInString(*u.Biography); n > MaxBiographyLength {
			return nil, &FieldError{Field: "biography", Reason: "has " + strconv.Itoa(n) + " characters, at most " + strconv.Itoa(MaxBiographyLength) + " allowed"}
		}
	}
	if len(u.Avatar) > 0 {
		if err := validateImage("avatar", u.Avatar, MaxAvatarSize); err != nil {
			return nil, err
		}
		body.AvatarBase64 = base64.StdEncoding.EncodeToString(u.Avatar)
	}
	return c.meCall(ctx, "/me", body)
}

// maxImagePixels bounds the pixels of an avatar or icon the SDK decodes to
// check it, so that a small file cannot claim a huge canvas.
const maxImagePixels = 4096 * 4096

// validateImage checks that b is a whole PNG, JPEG or GIF image of at most
// max bytes: the header is read first (positive size, at most
// maxImagePixels), then the image is decoded to the end.
func validateImage(field string, b []byte, max int) error {
	if len(b) > max {
		return &FieldError{Field: field, Reason: "has " + strconv.Itoa(len(b)) + " bytes, at most " + strconv.Itoa(max) + " allowed"}
	}
	var (
		config func(io.Reader) (image.Config, error)
		decode func(io.Reader) (image.Image, error)
	)
	switch ct := http.DetectContentType(b); ct {
	case "image/png":
		config, decode = png.DecodeConfig, png.Decode
	case "image/jpeg":
		config, decode = jpeg.DecodeConfig, jpeg.Decode
	case "image/gif":
		config, decode = gif.DecodeConfig, gif.Decode
	default:
		return &FieldError{Field: field, Reason: "is not a PNG, JPEG or GIF image (looks like " + ct + ")"}
	}
	cfg, err := config(bytes.NewReader(b))
	if err != nil {
		return &FieldError{Field: field, Reason: "is not a readable image: " + err.Error()}
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return &FieldError{Field: field, Reason: "is " + strconv.Itoa(cfg.Width) + "x" + strconv.Itoa(cfg.Height) + " pixels, want 1 to 4096x4096"}
	}
	if _, err := decode(bytes.NewReader(b)); err != nil {
		return &FieldError{Field: field, Reason: "is not a readable image: " + err.Error()}
	}
	return nil
}

// MessageSource says who may do something: everybody, contacts only, or
// nobody.
type MessageSource string

// Message sources of the preference fields.
const (
	MessageSourceEverybody MessageSource = "EVERYBODY"
	MessageSourceContacts  MessageSource = "CONTACTS"
	MessageSourceNobody    MessageSource = "NOBODY"
)

// PreferencesUpdate holds the preferences to change (POST /me/preferences,
// the Node SDK's PreferenceRequest); zero fields are left as they are.
type PreferencesUpdate struct {
	// ReceiveMessageSource: who may message the bot (EVERYBODY or
	// CONTACTS).
	ReceiveMessageSource MessageSource `json:"receive_message_source,omitempty"`
	// AcceptConversationSource: who may add the bot to groups (EVERYBODY or
	// CONTACTS).
	AcceptConversationSource MessageSource `json:"accept_conversation_source,omitempty"`
	// AcceptSearchSource: who may find the bot by search (EVERYBODY,
	// CONTACTS or NOBODY).
	AcceptSearchSource MessageSource `json:"accept_search_source,omitempty"`
	// FiatCurrency is an ISO 4217 code such as "USD".
	FiatCurrency                  string   `json:"fiat_currency,omitempty"`
	TransferNotificationThreshold *float64 `json:"transfer_notification_threshold,omitempty"`
	TransferConfirmationThreshold *float64 `json:"transfer_confirmation_threshold,omitempty"`
}

// UpdatePreferences changes the bot's privacy and currency preferences and
// returns the updated profile. With ReceiveMessageSource CONTACTS only the
// bot's friends can message it.
func (c *Client) UpdatePreferences(ctx context.Context, p PreferencesUpdate) (*User, error) {
	if p == (PreferencesUpdate{}) {
		return nil, &FieldError{Field: "preferences", Reason: "sets nothing"}
	}
	checks := []struct {
		field, allowed string
		v              MessageSource
		nobody         bool
	}{
		{"receive_message_source", "EVERYBODY or CONTACTS", p.ReceiveMessageSource, false},
		{"accept_conversation_source", "EVERYBODY or CONTACTS", p.AcceptConversationSource, false},
		{"accept_search_source", "EVERYBODY, CONTACTS or NOBODY", p.AcceptSearchSource, true},
	}
	for _, ch := range checks {
		ok := ch.v == "" || ch.v == MessageSourceEverybody || ch.v == MessageSourceContacts || (ch.nobody && ch.v == MessageSourceNobody)
		if !ok {
			return nil, &FieldError{Field: ch.field, Reason: "must be " + ch.allowed + ", got " + strconvQuote(string(ch.v))}
		}
	}
	if p.FiatCurrency != "" && !isCurrencyCode(p.FiatCurrency) {
		return nil, &FieldError{Field: "fiat_currency", Reason: "must be an ISO 4217 code of three capital letters, got " + strconvQuote(p.FiatCurrency)}
	}
	thresholds := []struct {
		field string
		v     *float64
	}{{"transfer_notification_threshold", p.TransferNotificationThreshold}, {"transfer_confirmation_threshold", p.TransferConfirmationThreshold}}
	for _, t := range thresholds {
		if t.v != nil && (*t.v < 0 || math.IsNaN(*t.v) || math.IsInf(*t.v, 0)) {
			return nil, &FieldError{Field: t.field, Reason: "must be a finite amount of at least 0"}
		}
	}
	return c.meCall(ctx, "/me/preferences", p)
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func (c *Client) meCall(ctx context.Context, path string, body any) (*User, error) {
	var u User
	if err := c.do(ctx, request{method: "POST", path: path, body: body, out: &u, retry: retrySafe}); err != nil {
		return nil, err
	}
	return &u, nil
}

// RotateCode replaces the bot's own code (code_id, code_url on [Client.ReadMe]),
// invalidating the old link, and returns the updated profile. It is never
// retried automatically: a repeat would rotate twice.
func (c *Client) RotateCode(ctx context.Context) (*User, error) {
	var u User
	if err := c.do(ctx, request{method: "GET", path: "/me/code", out: &u, retry: retryRejected}); err != nil {
		return nil, err
	}
	return &u, nil
}
