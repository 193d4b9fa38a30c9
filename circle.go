package mixin

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Sources: android-app ConversationCircleFragment (maxTextCount 128);
// bot-api-nodejs-client src/client/circle.ts (64 circles per user);
// developers.mixin.one api/circles/list-items (500 by default, 500 at most).

// Circle limits. MaxCircleNameLength is where the official Android app's
// circle name editor stops; MaxCircles is the official Node SDK's stated
// limit per user, past which the API answers [CodeTooManyCircles];
// MaxCircleConversationsPage is the largest page of
// GET /circles/:id/conversations, and its default.
const (
	MaxCircleNameLength        = 128
	MaxCircles                 = 64
	MaxCircleConversationsPage = 500
)

// Source: developers.mixin.one api/error-codes,
// api/circles/add-to-remove-from-circles.

// CodeTooManyCircles is the API's error code for a user past [MaxCircles]
// circles, or a conversation in too many circles.
const CodeTooManyCircles = 20133

// Circle is one of the bot's circles, a folder of conversations.
type Circle struct {
	Type      string    `json:"type,omitempty"`
	CircleID  string    `json:"circle_id"`
	UserID    string    `json:"user_id,omitempty"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// CircleAction adds a conversation to a circle or removes it.
type CircleAction string

// Circle actions.
const (
	CircleActionAdd    CircleAction = "ADD"
	CircleActionRemove CircleAction = "REMOVE"
)

// CircleConversationRequest puts a conversation in or out of a circle (POST
// /circles/:id/conversations). For a contact conversation, UserID names the
// other user (the official Android app's CircleConversationRequest).
type CircleConversationRequest struct {
	ConversationID string       `json:"conversation_id"`
	UserID         string       `json:"user_id,omitempty"`
	Action         CircleAction `json:"action"`
}

// ConversationCircleRequest puts one conversation in or out of a circle
// (POST /conversations/:id/circles).
type ConversationCircleRequest struct {
	CircleID string       `json:"circle_id"`
	Action   CircleAction `json:"action"`
}

type circleName struct {
	Name string `json:"name"`
}

// ReadCircles returns the bot's circles.
func (c *Client) ReadCircles(ctx context.Context) ([]Circle, error) {
	out := []Circle{}
	if err := c.do(ctx, request{method: "GET", path: "/circles", out: &out}); err != nil {
		return nil, err
	}
	return out, nil
}

// ReadCircle returns one of the bot's circles.
func (c *Client) ReadCircle(ctx context.Context, circleID string) (*Circle, error) {
	id, err := parseUUID("circle_id", circleID)
	if err != nil {
		return nil, err
	}
	return c.circleCall(ctx, "GET", "/circles/"+id, nil, retrySafe)
}

// CreateCircle creates a circle. It is not retried automatically: a repeat
// would create a second circle of the same name.
func (c *Client) CreateCircle(ctx context.Context, name string) (*Circle, error) {
	if err := validateCircleName(name); err != nil {
		return nil, err
	}
	return c.circleCall(ctx, "POST", "/circles", circleName{Name: name}, retryRejected)
}

// UpdateCircle renames a circle.
func (c *Client) UpdateCircle(ctx context.Context, circleID, name string) (*Circle, error) {
	id, err := parseUUID("circle_id", circleID)
	if err != nil {
		return nil, err
	}
	if err := validateCircleName(name); err != nil {
		return nil, err
	}
	return c.circleCall(ctx, "POST", "/circles/"+id, circleName{Name: name}, retrySafe)
}

// DeleteCircle deletes a circle; its conversations and their messages stay.
func (c *Client) DeleteCircle(ctx context.Context, circleID string) error {
	id, err := parseUUID("circle_id", circleID)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: "POST", path: "/circles/" + id + "/delete", retry: retrySafe})
}

// CircleConversationsQuery pages through a circle's conversations: Offset
// is the created_at of the last item already seen (zero for the start),
// Limit at most [MaxCircleConversationsPage] (0 for the server's default).
type CircleConversationsQuery struct {
	Offset time.Time
	Limit  int
}

// ReadCircleConversations returns a page of the conversations in a circle, in
// the order they were added.
func (c *Client) ReadCircleConversations(ctx context.Context, circleID string, q CircleConversationsQuery) ([]ConversationCircle, error) {
	id, err := parseUUID("circle_id", circleID)
	if err != nil {
		return nil, err
	}
	if q.Limit < 0 || q.Limit > MaxCircleConversationsPage {
		return nil, &FieldError{Field: "limit", Reason: "must be between 0 and " + strconv.Itoa(MaxCircleConversationsPage)}
	}
	v := url.Values{}
	if !q.Offset.IsZero() {
		v.Set("offset", q.Offset.UTC().Format(time.RFC3339Nano))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	path := "/circles/" + id + "/conversations"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	return c.circleItems(ctx, "GET", path, nil)
}

// UpdateCircleConversations adds conversations to a circle or removes them,
// and returns the items changed.
func (c *Client) UpdateCircleConversations(ctx context.Context, circleID string, reqs []CircleConversationRequest) ([]ConversationCircle, error) {
	id, err := parseUUID("circle_id", circleID)
	if err != nil {
		return nil, err
	}
	if len(reqs) == 0 {
		return nil, &FieldError{Field: "conversations", Reason: "is empty"}
	}
	clean := make([]CircleConversationRequest, len(reqs))
	for i, r := range reqs {
		field := "conversations[" + strconv.Itoa(i) + "]"
		if clean[i].ConversationID, err = parseUUID(field+".conversation_id", r.ConversationID); err != nil {
			return nil, err
		}
		if r.UserID != "" {
			if clean[i].UserID, err = parseUUID(field+".user_id", r.UserID); err != nil {
				return nil, err
			}
		}
		if err := validateCircleAction(field+".action", r.Action); err != nil {
			return nil, err
		}
		clean[i].Action = r.Action
	}
	return c.circleItems(ctx, "POST", "/circles/"+id+"/conversations", clean)
}

// UpdateConversationCircles puts one conversation in or out of circles and
// returns the items changed.
func (c *Client) UpdateConversationCircles(ctx context.Context, conversationID string, reqs []ConversationCircleRequest) ([]ConversationCircle, error) {
	id, err := parseUUID("conversation_id", conversationID)
	if err != nil {
		return nil, err
	}
	if len(reqs) == 0 {
		return nil, &FieldError{Field: "circles", Reason: "is empty"}
	}
	clean := make([]ConversationCircleRequest, len(reqs))
	for i, r := range reqs {
		field := "circles[" + strconv.Itoa(i) + "]"
		if clean[i].CircleID, err = parseUUID(field+".circle_id", r.CircleID); err != nil {
			return nil, err
		}
		if err := validateCircleAction(field+".action", r.Action); err != nil {
			return nil, err
		}
		clean[i].Action = r.Action
	}
	return c.circleItems(ctx, "POST", "/conversations/"+id+"/circles", clean)
}

func (c *Client) circleCall(ctx context.Context, method, path string, body any, mode retryMode) (*Circle, error) {
	var out Circle
	if err := c.do(ctx, request{method: method, path: path, body: body, out: &out, retry: mode}); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) circleItems(ctx context.Context, method, path string, body any) ([]ConversationCircle, error) {
	out := []ConversationCircle{}
	if err := c.do(ctx, request{method: method, path: path, body: body, out: &out, retry: retrySafe}); err != nil {
		return nil, err
	}
	return out, nil
}

func validateCircleName(name string) error {
	if !utf8.ValidString(name) {
		return &FieldError{Field: "name", Reason: "is not valid UTF-8"}
	}
	if strings.TrimSpace(name) == "" {
		return &FieldError{Field: "name", Reason: "is blank"}
	}
	if n := utf8.RuneCountInString(name); n > MaxCircleNameLength {
		return &FieldError{Field: "name", Reason: "has " + strconv.Itoa(n) + " characters, at most " + strconv.Itoa(MaxCircleNameLength) + " allowed"}
	}
	return nil
}

func validateCircleAction(field string, a CircleAction) error {
	if a != CircleActionAdd && a != CircleActionRemove {
		return &FieldError{Field: field, Reason: "must be ADD or REMOVE, got " + strconvQuote(string(a))}
	}
	return nil
}

// AddUserToCircle files the contact conversation with a user in one of the
// bot's circles (POST /users/:id/circles; a user can be in at most 5
// circles, else [CodeTooManyCircles]) and returns the circles the user is
// now in, with their names.
func (c *Client) AddUserToCircle(ctx context.Context, userID, circleID string) ([]ConversationCircle, error) {
	return c.userCircle(ctx, userID, circleID, CircleActionAdd)
}

// RemoveUserFromCircle takes a user's contact conversation out of a circle
// and returns the circles the user is still in.
func (c *Client) RemoveUserFromCircle(ctx context.Context, userID, circleID string) ([]ConversationCircle, error) {
	return c.userCircle(ctx, userID, circleID, CircleActionRemove)
}

func (c *Client) userCircle(ctx context.Context, userID, circleID string, action CircleAction) ([]ConversationCircle, error) {
	uid, err := parseUUID("user_id", userID)
	if err != nil {
		return nil, err
	}
	if uid == c.ks.AppID {
		return nil, &FieldError{Field: "user_id", Reason: "is the bot itself"}
	}
	cid, err := parseUUID("circle_id", circleID)
	if err != nil {
		return nil, err
	}
	// One object, as developers.mixin.one api/circles/add-to-remove-from-circles shows it.
	return c.circleItems(ctx, "POST", "/users/"+uid+"/circles", ConversationCircleRequest{CircleID: cid, Action: action})
}
