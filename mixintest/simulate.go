package mixintest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gomixin/mixin"
	"github.com/google/uuid"
)

// simError is what simulated-user methods return for an API-level
// refusal: the answer of the REST call the method stands for, as a
// [mixin.APIError] (errors.As and the SDK's classifiers such as
// mixin.IsForbidden work on it) that names the call and, for an invalid
// field, the field.
type simError struct {
	e   *apiError
	api *mixin.APIError
}

// Error returns "mixintest: METHOD PATH: api error CODE: DESCRIPTION
// {"field":…,"reason":…}".
func (e *simError) Error() string {
	return "mixintest: " + strings.TrimPrefix(e.api.Error(), "mixin: ")
}

// Unwrap returns the API error.
func (e *simError) Unwrap() error { return e.api }

// wrap turns an API refusal of the call method path into the error a
// simulated user's method returns.
func wrap(method, path string, e *apiError) error {
	if e == nil {
		return nil
	}
	api := &mixin.APIError{Method: method, Path: path, Status: e.httpStatus, Code: e.code, Description: e.desc, RetryAfter: e.retryAfter}
	if len(e.extra) > 0 {
		api.Extra, _ = json.Marshal(e.extra)
	}
	return &simError{e: e, api: api}
}

// SendText sends a PLAIN_TEXT message to another user, creating their
// contact conversation first if needed.
func (u *User) SendText(ctx context.Context, toUserID, text string) (Message, error) {
	if err := u.ensureContact(toUserID); err != nil {
		return Message{}, err
	}
	return u.Send(ctx, MessageRequest{ConversationID: u.ContactConversationID(normID(toUserID)),
		RecipientID: normID(toUserID), Category: "PLAIN_TEXT", Data: []byte(text)})
}

// ensureContact creates the contact conversation with the other user if it
// does not exist yet.
func (u *User) ensureContact(other string) error {
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.createConversationLocked(u, createConversationRequest{Category: categoryContact,
		ConversationID: uniqueConversationID(u.UserID, normID(other)),
		Participants:   []participantRequest{{UserID: normID(other)}}})
	return wrap("POST", "/conversations", err)
}

// Send sends a message of any category into a conversation the user is in,
// with the same rules as POST /messages. An empty MessageID is generated.
func (u *User) Send(ctx context.Context, m MessageRequest) (Message, error) {
	if err := ctx.Err(); err != nil {
		return Message{}, err
	}
	if m.MessageID == "" {
		m.MessageID = uuid.NewString()
	}
	req := messageRequestJSON{ConversationID: m.ConversationID, RecipientID: m.RecipientID, MessageID: m.MessageID,
		Category: string(m.Category), DataBase64: base64.RawURLEncoding.EncodeToString(m.Data),
		RepresentativeID: m.RepresentativeID, QuoteMessageID: m.QuoteMessageID, Silent: m.Silent}
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	req, eerr := s.encryptForBotLocked(u, req, m.Data)
	if eerr != nil {
		return Message{}, eerr
	}
	out, err := s.sendLocked(u, []messageRequestJSON{req})
	if err != nil {
		return Message{}, wrap("POST", "/messages", err)
	}
	return copyMessage(*out[0]), nil
}

func copyMessage(m Message) Message {
	m.Data = append([]byte(nil), m.Data...)
	if m.Plaintext != nil {
		m.Plaintext = append([]byte(nil), m.Plaintext...)
	}
	return m
}

// Inbox returns every message delivered to the user, in arrival order.
func (u *User) Inbox() []Message {
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxes[u.UserID]
	out := make([]Message, 0, len(mb.inbox))
	for _, m := range mb.inbox {
		out = append(out, copyMessage(m))
	}
	return out
}

// WaitInbox blocks until the inbox holds at least n messages, then returns
// it; it returns ctx's error if ctx ends first.
func (u *User) WaitInbox(ctx context.Context, n int) ([]Message, error) {
	s := u.s
	for {
		s.mu.Lock()
		mb := s.mailboxes[u.UserID]
		have, ch := len(mb.inbox), mb.notify
		s.mu.Unlock()
		if have >= n {
			return u.Inbox(), nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return u.Inbox(), ctx.Err()
		case <-s.done:
			return u.Inbox(), fmt.Errorf("mixintest: server closed")
		}
	}
}

// Ack acknowledges a message the user received with status READ or
// DELIVERED: it leaves the user's queue and its sender gets a receipt.
func (u *User) Ack(ctx context.Context, messageID string, status mixin.AckStatus) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a := ackRequest{MessageID: messageID, Status: string(status)}
	if err := validateAck(a); err != nil {
		return wrap("POST", "/acknowledgements", err)
	}
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ackLocked(u, a)
	return nil
}

// CreateGroup creates a group conversation owned by the user with the given
// members (plain members; use Server-side calls for roles).
func (u *User) CreateGroup(ctx context.Context, name string, participantIDs ...string) (Conversation, error) {
	if err := ctx.Err(); err != nil {
		return Conversation{}, err
	}
	req := createConversationRequest{Category: categoryGroup, ConversationID: uuid.NewString(), Name: name}
	for _, id := range participantIDs {
		req.Participants = append(req.Participants, participantRequest{UserID: id})
	}
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.createConversationLocked(u, req)
	if err != nil {
		return Conversation{}, wrap("POST", "/conversations", err)
	}
	return c.snapshot(), nil
}

// AddParticipants adds users to a group the user manages.
func (u *User) AddParticipants(ctx context.Context, conversationID string, userIDs ...string) (Conversation, error) {
	return u.manage(ctx, conversationID, "ADD", "", userIDs)
}

// RemoveParticipants removes users from a group the user manages.
func (u *User) RemoveParticipants(ctx context.Context, conversationID string, userIDs ...string) (Conversation, error) {
	return u.manage(ctx, conversationID, "REMOVE", "", userIDs)
}

// SetRole sets the role (mixin.ParticipantRoleAdmin or
// mixin.ParticipantRoleMember) of members of a group the user owns.
func (u *User) SetRole(ctx context.Context, conversationID string, role mixin.ParticipantRole, userIDs ...string) (Conversation, error) {
	return u.manage(ctx, conversationID, "ROLE", string(role), userIDs)
}

func (u *User) manage(ctx context.Context, conversationID, action, role string, ids []string) (Conversation, error) {
	if err := ctx.Err(); err != nil {
		return Conversation{}, err
	}
	reqs := make([]participantRequest, 0, len(ids))
	for _, id := range ids {
		reqs = append(reqs, participantRequest{UserID: id, Role: role})
	}
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.manageParticipantsLocked(u, conversationID, action, reqs)
	if err != nil {
		return Conversation{}, wrap("POST", "/conversations/"+conversationID+"/participants/"+action, err)
	}
	return c.snapshot(), nil
}

// JoinByCode joins the group whose invitation code id is codeID.
func (u *User) JoinByCode(ctx context.Context, codeID string) (Conversation, error) {
	if err := ctx.Err(); err != nil {
		return Conversation{}, err
	}
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.joinLocked(u, codeID)
	if err != nil {
		return Conversation{}, wrap("POST", "/conversations/"+codeID+"/join", err)
	}
	return c.snapshot(), nil
}

// Exit leaves a group conversation.
func (u *User) Exit(ctx context.Context, conversationID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.exitLocked(u, conversationID)
	return wrap("POST", "/conversations/"+conversationID+"/exit", err)
}
