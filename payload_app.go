package mixin

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// Button is one button of an APP_BUTTON_GROUP or one action of a new-shape
// APP_CARD.
type Button struct {
	Label string `json:"label"`
	// Color is "#RRGGBB" ("#RGB" and "#AARRGGBB" are read too).
	Color string `json:"color"`
	// Action is an http(s) or mixin:// URL, or "input:TEXT" to make the
	// user send TEXT.
	Action string `json:"action"`
}

// validate checks a button; the color is required everywhere: Android
// parses every button's color on receipt (android-app DecryptMessage.kt
// processAppButton, util/ColorUtil.java) and iOS decodes a card action's as
// a required string (ios-app AppCardData.swift V1Content.Action). Android
// draws a card action whose color does not parse in black
// (ActionsCardHolder.kt); the client holds both to the hex forms.
func (b *Button) validate(prefix string) error {
	if err := checkLength(prefix+".label", b.Label, 1, MaxButtonLabel); err != nil {
		return err
	}
	if !isHexColor(b.Color) {
		return &FieldError{Field: prefix + ".color", Reason: "must be #RGB, #RRGGBB or #AARRGGBB, got " + strconvQuote(b.Color)}
	}
	return checkAction(prefix+".action", b.Action)
}

// ButtonGroupPayload is an APP_BUTTON_GROUP payload: 1 to [MaxButtons] buttons.
type ButtonGroupPayload []Button

// Category returns APP_BUTTON_GROUP.
func (ButtonGroupPayload) Category() Category { return CategoryAppButtonGroup }

func (ButtonGroupPayload) payload() {}

// Validate checks the number of buttons and each label, color and action.
func (g ButtonGroupPayload) Validate() error {
	if len(g) == 0 {
		return &FieldError{Field: "buttons", Reason: "is empty"}
	}
	if len(g) > MaxButtons {
		return &FieldError{Field: "buttons", Reason: "has " + strconv.Itoa(len(g)) + " entries, at most " + strconv.Itoa(MaxButtons) + " allowed"}
	}
	for i := range g {
		if err := g[i].validate("buttons[" + strconv.Itoa(i) + "]"); err != nil {
			return err
		}
	}
	return nil
}

// AppCardPayload is an APP_CARD payload in either of its two shapes:
//
//   - legacy: AppID, IconURL, Title, Description, Action, Shareable;
//   - new: AppID, CoverURL or Cover, Title, Description, Actions, Shareable.
//
// The apps render a card that has Action in the legacy style and ignore the
// new-shape fields then (docs api/messages/category; see
// [AppCardPayload.IsLegacy]). Shareable is always sent, false included: iOS
// requires it on a new-shape card and Android treats a missing one as
// false (ios-app AppCardData.swift; android-app AppCardData.canShare).
// A new-shape card carries an "actions" array, empty included; iOS reads
// actions and updated_at as optional since August 2024 (AppCardData.swift),
// so neither is required.
type AppCardPayload struct {
	AppID       string
	IconURL     string
	CoverURL    string
	Cover       AppCardCover // the cover object variant (docs, Android); zero for none
	Title       string
	Description string
	Action      string
	Actions     []Button
	Shareable   bool
	// UpdatedAt is the app's own updated_at as the API writes it, e.g.
	// me.App.UpdatedAt.Format(time.RFC3339Nano) with me from [Client.ReadMe]:
	// the apps compare it with the one they hold to refresh the app's
	// profile (ios-app AppCardData.swift; flutter-app decrypt_message.dart
	// _processAppCard). Optional; empty leaves it out. The official Go
	// client's card has none.
	UpdatedAt string
}

// AppCardCover is the cover image object of a new-shape APP_CARD, as
// Android reads it (android-app vo/AppCardData.kt Cover): every field is
// required when a cover is given.
type AppCardCover struct {
	MimeType  string `json:"mime_type"`
	URL       string `json:"url"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	Thumbnail string `json:"thumbnail"` // a tiny preview, as the apps send it
}

// IsZero reports whether no cover is set.
func (c AppCardCover) IsZero() bool { return c == AppCardCover{} }

// appCardJSON is the wire form of an APP_CARD, in the key order of the
// docs' example.
type appCardJSON struct {
	AppID       string          `json:"app_id"`
	IconURL     string          `json:"icon_url,omitempty"`
	CoverURL    string          `json:"cover_url,omitempty"`
	Cover       *AppCardCover   `json:"cover,omitempty"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Action      string          `json:"action,omitempty"`
	Actions     json.RawMessage `json:"actions,omitempty"`
	UpdatedAt   string          `json:"updated_at,omitempty"`
	Shareable   bool            `json:"shareable"`
}

// Category returns APP_CARD.
func (AppCardPayload) Category() Category { return CategoryAppCard }

func (AppCardPayload) payload() {}

// IsLegacy reports whether the card is in the legacy shape: it has a single
// Action.
func (p AppCardPayload) IsLegacy() bool { return p.Action != "" }

// MarshalJSON writes the card with shareable always present and, for a
// new-shape card, an actions array even when it is empty.
func (p AppCardPayload) MarshalJSON() ([]byte, error) {
	v := appCardJSON{AppID: p.AppID, IconURL: p.IconURL, CoverURL: p.CoverURL, Title: p.Title,
		Description: p.Description, Action: p.Action, UpdatedAt: p.UpdatedAt, Shareable: p.Shareable}
	if !p.Cover.IsZero() {
		c := p.Cover
		v.Cover = &c
	}
	if !p.IsLegacy() || len(p.Actions) > 0 {
		actions := p.Actions
		if actions == nil {
			actions = []Button{}
		}
		b, err := marshalPayload(actions)
		if err != nil {
			return nil, err
		}
		v.Actions = b
	}
	return marshalPayload(v)
}

// Validate checks the app id, title, description, URLs, cover and actions.
func (p AppCardPayload) Validate() error {
	if err := firstError(
		checkUUID("app_id", p.AppID),
		checkLength("title", p.Title, 1, MaxAppCardTitle),
	); err != nil {
		return err
	}
	if p.IsLegacy() {
		// ios-app AppCardData.swift V0Content: icon_url and action are
		// required URLs, title and description required strings.
		return firstError(
			checkNonEmpty("description", p.Description),
			checkUTF8("description", p.Description),
			checkURL("icon_url", p.IconURL),
			checkAction("action", p.Action),
		)
	}
	if err := firstError(
		checkLength("description", p.Description, 1, MaxAppCardDescription),
		checkOptionalURL("cover_url", p.CoverURL),
		checkOptionalURL("icon_url", p.IconURL),
		p.Cover.validate("cover"),
	); err != nil {
		return err
	}
	for i := range p.Actions {
		if err := p.Actions[i].validate("actions[" + strconv.Itoa(i) + "]"); err != nil {
			return err
		}
	}
	return nil
}

func (c AppCardCover) validate(prefix string) error {
	if c.IsZero() {
		return nil
	}
	return firstError(
		checkURL(prefix+".url", c.URL),
		checkMimeType(prefix+".mime_type", c.MimeType, "image/"),
		checkDimension(prefix+".width", c.Width),
		checkDimension(prefix+".height", c.Height),
		checkNonEmpty(prefix+".thumbnail", c.Thumbnail),
	)
}

// UnmarshalJSON decodes both shapes. It also tolerates a variant seen in the
// Docs where "actions" is {"buttons":[{label,url}]}; a "cover" object is
// decoded into Cover (any other "cover" is ignored). A missing "shareable" decodes as false, as Android
// reads it.
func (p *AppCardPayload) UnmarshalJSON(b []byte) error {
	var v struct {
		appCardJSON
		Cover json.RawMessage `json:"cover"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = AppCardPayload{AppID: v.AppID, IconURL: v.IconURL, CoverURL: v.CoverURL, Title: v.Title,
		Description: v.Description, Action: v.Action, UpdatedAt: v.UpdatedAt, Shareable: v.Shareable}
	if c := bytes.TrimSpace(v.Cover); len(c) > 0 && c[0] == '{' {
		if err := json.Unmarshal(c, &p.Cover); err != nil {
			return err
		}
	}
	actions, err := decodeCardActions(v.Actions)
	p.Actions = actions
	return err
}

// decodeCardActions reads "actions" as an array of buttons or as the
// {"buttons":[...]} object variant.
func decodeCardActions(raw json.RawMessage) ([]Button, error) {
	switch a := bytes.TrimSpace(raw); {
	case len(a) == 0 || string(a) == "null":
		return nil, nil
	case a[0] == '[':
		var out []Button
		err := json.Unmarshal(a, &out)
		return out, err
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
			return nil, err
		}
		var out []Button
		for _, btn := range obj.Buttons {
			action := btn.Action
			if action == "" {
				action = btn.URL
			}
			out = append(out, Button{Label: btn.Label, Color: btn.Color, Action: action})
		}
		return out, nil
	}
	return nil, errors.New("mixin: APP_CARD actions is neither an array nor an object")
}

// LivePayload is a PLAIN_LIVE payload: a live stream card. Shareable is
// always sent; false keeps the card from being forwarded.
type LivePayload struct {
	Width     int    `json:"width"`  // pixels, > 0
	Height    int    `json:"height"` // pixels, > 0
	ThumbURL  string `json:"thumb_url"`
	URL       string `json:"url"` // the stream, e.g. an .m3u8
	Shareable bool   `json:"shareable"`
}

// Category returns PLAIN_LIVE.
func (LivePayload) Category() Category { return CategoryPlainLive }

func (LivePayload) payload() {}

// Validate checks the dimensions (Android shows a live card without them as
// invalid) and both URLs.
func (p LivePayload) Validate() error {
	return firstError(
		checkDimension("width", p.Width),
		checkDimension("height", p.Height),
		checkURL("thumb_url", p.ThumbURL),
		checkURL("url", p.URL),
	)
}
