package mixin

import (
	"bytes"
	"context"
	"encoding/json"
)

// Code is what a code id (the last part of a https://mixin.one/codes/ URL,
// e.g. a group's invite link or a user's QR code) points to, as GET
// /codes/:id returns it. Type says which: "user" fills User,
// "conversation" fills Conversation; other types (payment,
// multisig_request, collectible, authorization, …) leave both nil. Raw
// always holds the object exactly as received, so nothing is lost.
type Code struct {
	Type         CodeType
	User         *User
	Conversation *Conversation
	Raw          json.RawMessage
}

// Source: developers.mixin.one api/codes; bot-api-nodejs-client
// CodeResponse.

// CodeType is the type field of a code: what the code points to.
type CodeType string

// Code types [Code] decodes; other types are kept as received.
const (
	CodeTypeUser         CodeType = "user"
	CodeTypeConversation CodeType = "conversation"
)

// UnmarshalJSON decodes the object by its type field.
func (c *Code) UnmarshalJSON(b []byte) error {
	var head struct {
		Type CodeType `json:"type"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return err
	}
	*c = Code{Type: head.Type, Raw: bytes.Clone(b)}
	switch head.Type {
	case CodeTypeUser:
		c.User = new(User)
		return json.Unmarshal(b, c.User)
	case CodeTypeConversation:
		c.Conversation = new(Conversation)
		return json.Unmarshal(b, c.Conversation)
	}
	return nil
}

// MarshalJSON returns Raw, the object as received.
func (c Code) MarshalJSON() ([]byte, error) {
	if len(c.Raw) == 0 {
		return []byte("null"), nil
	}
	return c.Raw, nil
}

// ReadCode returns what a code id points to: a user, a group conversation
// (its invite code), a payment and so on.
func (c *Client) ReadCode(ctx context.Context, codeID string) (*Code, error) {
	id, err := parseUUID("code_id", codeID)
	if err != nil {
		return nil, err
	}
	var out Code
	if err := c.do(ctx, request{method: "GET", path: "/codes/" + id, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}
