package mixin

import (
	"context"
	"strconv"
	"time"
	"unicode/utf8"
)

// Limits of conversation fields the API enforces.
const (
	MaxGroupNameLength    = 512
	MaxAnnouncementLength = 1024
	MaxParticipants       = 256
	MaxDisappearDuration  = 12 * 7 * 24 * time.Hour
)

// ParticipantAction is what [Client.ManageParticipants] does.
type ParticipantAction string

// Participant actions accepted in the path of
// POST /conversations/:id/participants/:action.
const (
	ParticipantActionAdd    ParticipantAction = "ADD"
	ParticipantActionRemove ParticipantAction = "REMOVE"
	ParticipantActionRole   ParticipantAction = "ROLE"
)

// ParticipantRequest names a member and, for ADD at creation or ROLE, the
// role to give.
type ParticipantRequest struct {
	UserID string          `json:"user_id"`
	Role   ParticipantRole `json:"role"`
}

// GroupConversationRequest describes a group to create.
type GroupConversationRequest struct {
	// ConversationID is the group's id. Leave it empty to derive it with
	// [GroupConversationID] from the bot, Name, the participants and RandomID.
	ConversationID string
	// RandomID seeds the derived id; a fresh UUID is used when empty.
	RandomID     string
	Name         string
	Announcement string
	Participants []ParticipantRequest
	// Icon, when set, is the group's icon: a PNG, JPEG or GIF of at most
	// [MaxIconSize] bytes, sent as icon_base64.
	Icon []byte
}

type createConversationBody struct {
	Category       ConversationCategory `json:"category"`
	ConversationID string               `json:"conversation_id"`
	Name           string               `json:"name,omitempty"`
	Announcement   string               `json:"announcement,omitempty"`
	Participants   []ParticipantRequest `json:"participants"`
	RandomID       string               `json:"random_id,omitempty"`
	IconBase64     []byte               `json:"icon_base64,omitempty"` // encoding/json writes []byte as base64
}

// CreateContactConversation creates (or returns, if it exists) the
// one-to-one conversation between the bot and userID. Its id is
// [UniqueConversationID] of the two. Sending to a user needs it to exist.
func (c *Client) CreateContactConversation(ctx context.Context, userID string) (*Conversation, error) {
	uid, err := parseUUID("user_id", userID)
	if err != nil {
		return nil, err
	}
	if uid == c.ks.AppID {
		return nil, &FieldError{Field: "user_id", Reason: "is the bot itself"}
	}
	body := createConversationBody{
		Category:       ConversationCategoryContact,
		ConversationID: UniqueConversationID(c.ks.AppID, uid),
		Participants:   []ParticipantRequest{{UserID: uid}},
	}
	return c.conversationCall(ctx, "/conversations", body, retrySafe)
}

// CreateGroupConversation creates a group owned by the bot, or returns it if
// a group with that id exists. The participants may be given the ADMIN role.
func (c *Client) CreateGroupConversation(ctx context.Context, req GroupConversationRequest) (*Conversation, error) {
	if err := validateName(req.Name); err != nil {
		return nil, err
	}
	if err := validateAnnouncement(req.Announcement); err != nil {
		return nil, err
	}
	if len(req.Icon) > 0 {
		if err := validateImage("icon", req.Icon, MaxIconSize); err != nil {
			return nil, err
		}
	}
	body := createConversationBody{Category: ConversationCategoryGroup, Name: req.Name, Announcement: req.Announcement, Participants: []ParticipantRequest{}, IconBase64: req.Icon}
	var ids []string
	var err error
	if len(req.Participants) > 0 {
		if body.Participants, ids, err = validateParticipants(req.Participants, true); err != nil {
			return nil, err
		}
	}
	if req.ConversationID != "" {
		if body.ConversationID, err = parseUUID("conversation_id", req.ConversationID); err != nil {
			return nil, err
		}
	} else {
		body.RandomID = req.RandomID
		if body.RandomID == "" {
			body.RandomID = NewUUID()
		} else if body.RandomID, err = parseUUID("random_id", body.RandomID); err != nil {
			return nil, err
		}
		body.ConversationID = GroupConversationID(c.ks.AppID, req.Name, ids, body.RandomID)
	}
	return c.conversationCall(ctx, "/conversations", body, retrySafe)
}

// ConversationUpdate holds the group fields to change. Each field says
// explicitly whether it changes: a zero field leaves it as it is.
type ConversationUpdate struct {
	// Name, when not empty, renames the group (a group always has a name).
	Name string
	// Announcement, when not empty, replaces the announcement.
	Announcement string
	// ClearAnnouncement removes the announcement (Announcement must then be
	// empty): the request carries "announcement": "".
	ClearAnnouncement bool
	// Icon, when set, replaces the group's icon: a PNG, JPEG or GIF of at
	// most [MaxIconSize] bytes.
	Icon []byte
}

// updateConversationBody is the wire form: only the fields that change.
type updateConversationBody struct {
	Name         string  `json:"name,omitempty"`
	Announcement *string `json:"announcement,omitempty"`
	Icon         []byte  `json:"icon_base64,omitempty"` // encoding/json writes base64
}

func (u ConversationUpdate) body() (updateConversationBody, error) {
	b := updateConversationBody{Name: u.Name, Icon: u.Icon}
	switch {
	case u.ClearAnnouncement && u.Announcement != "":
		return b, &FieldError{Field: "announcement", Reason: "is set while ClearAnnouncement asks to remove it"}
	case u.ClearAnnouncement:
		b.Announcement = new(string)
	case u.Announcement != "":
		b.Announcement = &u.Announcement
	}
	if u.Name == "" && b.Announcement == nil && len(u.Icon) == 0 {
		return b, &FieldError{Field: "update", Reason: "changes neither name, announcement nor icon"}
	}
	if len(u.Icon) > 0 {
		if err := validateImage("icon", u.Icon, MaxIconSize); err != nil {
			return b, err
		}
	}
	if u.Name != "" {
		if err := validateName(u.Name); err != nil {
			return b, err
		}
	}
	return b, validateAnnouncement(u.Announcement)
}

// UpdateConversation changes a group's name, announcement and/or icon
// (owner or admin). Every member sees the new announcement.
func (c *Client) UpdateConversation(ctx context.Context, conversationID string, u ConversationUpdate) (*Conversation, error) {
	id, err := parseUUID("conversation_id", conversationID)
	if err != nil {
		return nil, err
	}
	body, err := u.body()
	if err != nil {
		return nil, err
	}
	return c.conversationCall(ctx, "/conversations/"+id, body, retrySafe)
}

// ReadConversation returns a conversation the bot is a member of.
func (c *Client) ReadConversation(ctx context.Context, conversationID string) (*Conversation, error) {
	id, err := parseUUID("conversation_id", conversationID)
	if err != nil {
		return nil, err
	}
	conv, err := c.readConversation(ctx, id)
	if err != nil {
		return nil, err
	}
	c.rememberConversation(conv)
	return conv, nil
}

func (c *Client) readConversation(ctx context.Context, id string) (*Conversation, error) {
	var conv Conversation
	if err := c.do(ctx, request{method: "GET", path: "/conversations/" + id, out: &conv}); err != nil {
		return nil, err
	}
	return &conv, nil
}

// ManageParticipants adds, removes or sets the role of group members. Owner
// and admins may ADD and REMOVE; only the owner may use ROLE (Role "ADMIN"
// grants, "" revokes).
func (c *Client) ManageParticipants(ctx context.Context, conversationID string, action ParticipantAction, participants []ParticipantRequest) (*Conversation, error) {
	id, err := parseUUID("conversation_id", conversationID)
	if err != nil {
		return nil, err
	}
	switch action {
	case ParticipantActionAdd, ParticipantActionRemove, ParticipantActionRole:
	default:
		return nil, &FieldError{Field: "action", Reason: "must be ADD, REMOVE or ROLE, got " + strconvQuote(string(action))}
	}
	ps, _, err := validateParticipants(participants, action != ParticipantActionRemove)
	if err != nil {
		return nil, err
	}
	return c.conversationCall(ctx, "/conversations/"+id+"/participants/"+string(action), ps, retrySafe)
}

// AddParticipants adds users to a group as members.
func (c *Client) AddParticipants(ctx context.Context, conversationID string, userIDs ...string) (*Conversation, error) {
	return c.ManageParticipants(ctx, conversationID, ParticipantActionAdd, participantsWithRole(userIDs, ParticipantRoleMember))
}

// RemoveParticipants removes users from a group.
func (c *Client) RemoveParticipants(ctx context.Context, conversationID string, userIDs ...string) (*Conversation, error) {
	return c.ManageParticipants(ctx, conversationID, ParticipantActionRemove, participantsWithRole(userIDs, ParticipantRoleMember))
}

// AdminParticipants makes members admins of a group (owner only).
func (c *Client) AdminParticipants(ctx context.Context, conversationID string, userIDs ...string) (*Conversation, error) {
	return c.ManageParticipants(ctx, conversationID, ParticipantActionRole, participantsWithRole(userIDs, ParticipantRoleAdmin))
}

// RevokeAdminParticipants makes admins plain members again (owner only).
func (c *Client) RevokeAdminParticipants(ctx context.Context, conversationID string, userIDs ...string) (*Conversation, error) {
	return c.ManageParticipants(ctx, conversationID, ParticipantActionRole, participantsWithRole(userIDs, ParticipantRoleMember))
}

// RotateConversation replaces a group's invite code (code_id, code_url),
// invalidating the old link. It is never retried automatically: a repeat
// would rotate twice.
func (c *Client) RotateConversation(ctx context.Context, conversationID string) (*Conversation, error) {
	id, err := parseUUID("conversation_id", conversationID)
	if err != nil {
		return nil, err
	}
	return c.conversationCall(ctx, "/conversations/"+id+"/rotate", nil, retryRejected)
}

// JoinConversation joins a group by its invite code id (the last part of
// code_url).
func (c *Client) JoinConversation(ctx context.Context, codeID string) (*Conversation, error) {
	id, err := parseUUID("code_id", codeID)
	if err != nil {
		return nil, err
	}
	return c.conversationCall(ctx, "/conversations/"+id+"/join", nil, retrySafe)
}

// ExitConversation makes the bot leave a group. The answer is not needed
// (the bot is no longer a member), so an empty success is a success.
func (c *Client) ExitConversation(ctx context.Context, conversationID string) error {
	id, err := parseUUID("conversation_id", conversationID)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: "POST", path: "/conversations/" + id + "/exit", retry: retrySafe})
}

type durationBody struct {
	Duration int64 `json:"duration"`
}

// MuteConversation silences a conversation for d (whole seconds); the
// conversation must exist. Use [Client.UnmuteConversation] to undo.
func (c *Client) MuteConversation(ctx context.Context, conversationID string, d time.Duration) (*Conversation, error) {
	id, err := parseUUID("conversation_id", conversationID)
	if err != nil {
		return nil, err
	}
	if d < time.Second {
		return nil, &FieldError{Field: "duration", Reason: "must be at least one second (use UnmuteConversation to unmute)"}
	}
	return c.conversationCall(ctx, "/conversations/"+id+"/mute", durationBody{Duration: int64(d / time.Second)}, retrySafe)
}

// UnmuteConversation ends a mute.
func (c *Client) UnmuteConversation(ctx context.Context, conversationID string) (*Conversation, error) {
	id, err := parseUUID("conversation_id", conversationID)
	if err != nil {
		return nil, err
	}
	return c.conversationCall(ctx, "/conversations/"+id+"/mute", durationBody{}, retrySafe)
}

// DisappearConversation sets the disappearing-message timer of a
// conversation (0 turns it off, at most 12 weeks; owner or admin). A read
// message disappears d after it is read.
func (c *Client) DisappearConversation(ctx context.Context, conversationID string, d time.Duration) (*Conversation, error) {
	id, err := parseUUID("conversation_id", conversationID)
	if err != nil {
		return nil, err
	}
	if d < 0 || d > MaxDisappearDuration {
		return nil, &FieldError{Field: "duration", Reason: "must be between 0 and 12 weeks"}
	}
	if d%time.Second != 0 {
		return nil, &FieldError{Field: "duration", Reason: "must be whole seconds"}
	}
	return c.conversationCall(ctx, "/conversations/"+id+"/disappear", durationBody{Duration: int64(d / time.Second)}, retrySafe)
}

func (c *Client) conversationCall(ctx context.Context, path string, body any, mode retryMode) (*Conversation, error) {
	var conv Conversation
	if err := c.do(ctx, request{method: "POST", path: path, body: body, out: &conv, retry: mode}); err != nil {
		return nil, err
	}
	c.rememberConversation(&conv)
	return &conv, nil
}

func participantsWithRole(userIDs []string, role ParticipantRole) []ParticipantRequest {
	ps := make([]ParticipantRequest, len(userIDs))
	for i, id := range userIDs {
		ps[i] = ParticipantRequest{UserID: id, Role: role}
	}
	return ps
}

// validateParticipants checks ids and roles; OWNER can never be given.
func validateParticipants(ps []ParticipantRequest, rolesAllowed bool) ([]ParticipantRequest, []string, error) {
	raw := make([]string, len(ps))
	for i, p := range ps {
		raw[i] = p.UserID
	}
	ids, err := parseUUIDs("participants", raw, MaxParticipants)
	if err != nil {
		return nil, nil, err
	}
	out := make([]ParticipantRequest, len(ps))
	for i, p := range ps {
		switch p.Role {
		case ParticipantRoleMember:
		case ParticipantRoleAdmin:
			if !rolesAllowed {
				return nil, nil, &FieldError{Field: "participants[" + strconv.Itoa(i) + "].role", Reason: "is not allowed for this action"}
			}
		default:
			return nil, nil, &FieldError{Field: "participants[" + strconv.Itoa(i) + "].role", Reason: "must be ADMIN or empty, got " + strconvQuote(string(p.Role))}
		}
		out[i] = ParticipantRequest{UserID: ids[i], Role: p.Role}
	}
	return out, ids, nil
}

func validateName(name string) error {
	if name == "" {
		return &FieldError{Field: "name", Reason: "is empty"}
	}
	if !utf8.ValidString(name) {
		return &FieldError{Field: "name", Reason: "is not valid UTF-8"}
	}
	if n := utf8.RuneCountInString(name); n > MaxGroupNameLength {
		return &FieldError{Field: "name", Reason: "has " + strconv.Itoa(n) + " characters, at most " + strconv.Itoa(MaxGroupNameLength) + " allowed"}
	}
	return nil
}

func validateAnnouncement(a string) error {
	if !utf8.ValidString(a) {
		return &FieldError{Field: "announcement", Reason: "is not valid UTF-8"}
	}
	if n := utf8.RuneCountInString(a); n > MaxAnnouncementLength {
		return &FieldError{Field: "announcement", Reason: "has " + strconv.Itoa(n) + " characters, at most " + strconv.Itoa(MaxAnnouncementLength) + " allowed"}
	}
	return nil
}
