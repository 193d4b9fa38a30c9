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
