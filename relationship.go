package mixin

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"
)

// RelationshipAction is what [Client.UpdateRelationship] does to another
// user.
type RelationshipAction string

// Source: developers.mixin.one api/users/relationships; UPDATE is the
// action fox-one/mixin-sdk-go's RemarkFriend sends.

// Relationship actions of POST /relationships; UPDATE renames a friend.
const (
	RelationshipActionAdd     RelationshipAction = "ADD"
	RelationshipActionUpdate  RelationshipAction = "UPDATE"
	RelationshipActionRemove  RelationshipAction = "REMOVE"
	RelationshipActionBlock   RelationshipAction = "BLOCK"
	RelationshipActionUnblock RelationshipAction = "UNBLOCK"
)

// MaxFullNameLength is the longest full name (of the bot's profile, or an
// alias given to a friend) in characters: the official Android app's name
// editor stops at 40.
const MaxFullNameLength = 40

// RelationshipRequest is the body of POST /relationships. FullName (an alias
// for the friend) and Phone apply to ADD and UPDATE only.
type RelationshipRequest struct {
	UserID   string             `json:"user_id"`
	Action   RelationshipAction `json:"action"`
	FullName string             `json:"full_name,omitempty"`
	Phone    string             `json:"phone,omitempty"`
}

// UpdateRelationship adds, renames, removes, blocks or unblocks a user and
// returns that user as the bot now sees them (User.Relationship is FRIEND,
// STRANGER or BLOCKING). A blocked user can no longer message the bot.
func (c *Client) UpdateRelationship(ctx context.Context, req RelationshipRequest) (*User, error) {
	body, err := c.checkRelationship(req)
	if err != nil {
		return nil, err
	}
	var u User
	if err := c.do(ctx, request{method: "POST", path: "/relationships", body: body, out: &u, retry: retrySafe}); err != nil {
		return nil, err
	}
	return &u, nil
}

func (c *Client) checkRelationship(req RelationshipRequest) (RelationshipRequest, error) {
	id, err := parseUUID("user_id", req.UserID)
	if err != nil {
		return req, err
	}
	if id == c.ks.AppID {
		return req, &FieldError{Field: "user_id", Reason: "is the bot itself"}
	}
	req.UserID = id
	switch req.Action {
	case RelationshipActionAdd, RelationshipActionUpdate:
		if req.Action == RelationshipActionUpdate && strings.TrimSpace(req.FullName) == "" {
			return req, &FieldError{Field: "full_name", Reason: "is required to UPDATE (the friend's new alias)"}
		}
		if err := validateFullName("full_name", req.FullName, true); err != nil {
			return req, err
		}
		if req.Phone != "" && !isDigits(strings.TrimPrefix(req.Phone, "+")) {
			return req, &FieldError{Field: "phone", Reason: "must be digits with an optional leading +"}
		}
	case RelationshipActionRemove, RelationshipActionBlock, RelationshipActionUnblock:
		if req.FullName != "" || req.Phone != "" {
			return req, &FieldError{Field: "full_name", Reason: "full_name and phone apply to ADD and UPDATE only"}
		}
	default:
		return req, &FieldError{Field: "action", Reason: "must be ADD, UPDATE, REMOVE, BLOCK or UNBLOCK, got " + strconvQuote(string(req.Action))}
	}
	return req, nil
}

// AddFriend adds a user to the bot's contacts, with an optional alias.
func (c *Client) AddFriend(ctx context.Context, userID, alias string) (*User, error) {
	return c.UpdateRelationship(ctx, RelationshipRequest{UserID: userID, Action: RelationshipActionAdd, FullName: alias})
}

// RemoveFriend removes a user from the bot's contacts.
func (c *Client) RemoveFriend(ctx context.Context, userID string) (*User, error) {
	return c.UpdateRelationship(ctx, RelationshipRequest{UserID: userID, Action: RelationshipActionRemove})
}

// BlockUser blocks a user: they can no longer message the bot.
func (c *Client) BlockUser(ctx context.Context, userID string) (*User, error) {
	return c.UpdateRelationship(ctx, RelationshipRequest{UserID: userID, Action: RelationshipActionBlock})
}

// UnblockUser lifts a block.
func (c *Client) UnblockUser(ctx context.Context, userID string) (*User, error) {
	return c.UpdateRelationship(ctx, RelationshipRequest{UserID: userID, Action: RelationshipActionUnblock})
}

// ReadFriends returns the bot's contacts, users and bots (a bot has App set).
func (c *Client) ReadFriends(ctx context.Context) ([]User, error) {
	return c.userList(ctx, "/friends")
}

// ReadBlockingUsers returns the users the bot blocks.
func (c *Client) ReadBlockingUsers(ctx context.Context) ([]User, error) {
	return c.userList(ctx, "/blocking_users")
}

func (c *Client) userList(ctx context.Context, path string) ([]User, error) {
	users := []User{}
	if err := c.do(ctx, request{method: "GET", path: path, out: &users}); err != nil {
		return nil, err
	}
	return users, nil
}

// validateFullName checks a display name: valid UTF-8, at most
// MaxFullNameLength characters, and (unless optional) not blank.
func validateFullName(field, name string, optional bool) error {
	if !utf8.ValidString(name) {
		return &FieldError{Field: field, Reason: "is not valid UTF-8"}
	}
	if strings.TrimSpace(name) == "" {
		if optional && name == "" {
			return nil
		}
		return &FieldError{Field: field, Reason: "is blank"}
	}
	if n := utf8.RuneCountInString(name); n > MaxFullNameLength {
		return &FieldError{Field: field, Reason: "has " + strconv.Itoa(n) + " characters, at most " + strconv.Itoa(MaxFullNameLength) + " allowed"}
	}
	return nil
}
