package mixin

import "time"

// ConversationCategory is CONTACT (one-to-one) or GROUP.
type ConversationCategory string

// Conversation categories.
const (
	ConversationCategoryContact ConversationCategory = "CONTACT"
	ConversationCategoryGroup   ConversationCategory = "GROUP"
)

// ParticipantRole is a member's role in a conversation; members have "".
type ParticipantRole string

// Participant roles.
const (
	ParticipantRoleOwner  ParticipantRole = "OWNER"
	ParticipantRoleAdmin  ParticipantRole = "ADMIN"
	ParticipantRoleMember ParticipantRole = ""
)

// Conversation is the API's conversation object, returned by every
// conversation call.
type Conversation struct {
	Type                string               `json:"type"`
	ConversationID      string               `json:"conversation_id"`
	CreatorID           string               `json:"creator_id"`
	Category            ConversationCategory `json:"category"`
	Name                string               `json:"name"`
	IconURL             string               `json:"icon_url"`
	Announcement        string               `json:"announcement"`
	CreatedAt           time.Time            `json:"created_at"`
	CodeID              string               `json:"code_id"`
	CodeURL             string               `json:"code_url"`
	MuteUntil           time.Time            `json:"mute_until"`
	ExpireIn            int64                `json:"expire_in"`
	Participants        []Participant        `json:"participants"`
	ParticipantSessions []ParticipantSession `json:"participant_sessions"`
	Circles             []ConversationCircle `json:"circles"`
}

// Participant returns the member with userID, if present.
func (c *Conversation) Participant(userID string) (Participant, bool) {
	for _, p := range c.Participants {
		if p.UserID == userID {
			return p, true
		}
	}
	return Participant{}, false
}

// Participant is one member of a conversation.
type Participant struct {
	Type      string          `json:"type"`
	UserID    string          `json:"user_id"`
	Role      ParticipantRole `json:"role"`
	CreatedAt time.Time       `json:"created_at"`
}

// ParticipantSession is one device session of a member; PublicKey is the
// session's Curve25519 key, base64url.
type ParticipantSession struct {
	Type      string `json:"type"`
	UserID    string `json:"user_id"`
	SessionID string `json:"session_id"`
	PublicKey string `json:"public_key,omitempty"`
}

// ConversationCircle links a conversation to one of the user's circles (an
// item of GET /circles/:id/conversations). Name is the circle's name, which
// the docs show in the answer of POST /conversations/:id/circles.
type ConversationCircle struct {
	Type           string    `json:"type,omitempty"`
	CircleID       string    `json:"circle_id"`
	ConversationID string    `json:"conversation_id,omitempty"`
	UserID         string    `json:"user_id,omitempty"`
	Name           string    `json:"name,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	PinTime        string    `json:"pin_time,omitempty"`
}

// User is a Mixin user as the API shows it. [Client.ReadMe] fills the fields
// only the account itself sees (session, code, preferences, app).
type User struct {
	Type           string       `json:"type"`
	UserID         string       `json:"user_id"`
	IdentityNumber string       `json:"identity_number"`
	Phone          string       `json:"phone"`
	FullName       string       `json:"full_name"`
	Biography      string       `json:"biography"`
	AvatarURL      string       `json:"avatar_url"`
	Relationship   Relationship `json:"relationship"`
	MuteUntil      time.Time    `json:"mute_until"`
	CreatedAt      time.Time    `json:"created_at"`
	IsVerified     bool         `json:"is_verified"`
	IsScam         bool         `json:"is_scam"`
	IsDeactivated  bool         `json:"is_deactivated,omitempty"`
	App            *App         `json:"app,omitempty"`

	SessionID                     string        `json:"session_id,omitempty"`
	CodeID                        string        `json:"code_id,omitempty"`
	CodeURL                       string        `json:"code_url,omitempty"`
	DeviceStatus                  string        `json:"device_status,omitempty"`
	HasPin                        bool          `json:"has_pin,omitempty"`
	HasSafe                       bool          `json:"has_safe,omitempty"`
	HasEmergencyContact           bool          `json:"has_emergency_contact,omitempty"`
	ReceiveMessageSource          MessageSource `json:"receive_message_source,omitempty"`
	AcceptConversationSource      MessageSource `json:"accept_conversation_source,omitempty"`
	AcceptSearchSource            MessageSource `json:"accept_search_source,omitempty"`
	FiatCurrency                  string        `json:"fiat_currency,omitempty"`
	TransferNotificationThreshold float64       `json:"transfer_notification_threshold,omitempty"`
	TransferConfirmationThreshold float64       `json:"transfer_confirmation_threshold,omitempty"`
	PinToken                      string        `json:"pin_token,omitempty"`
	PinTokenBase64                string        `json:"pin_token_base64,omitempty"`
	TipKeyBase64                  string        `json:"tip_key_base64,omitempty"`
	TipCounter                    int64         `json:"tip_counter,omitempty"`
	SpendPublicKey                string        `json:"spend_public_key,omitempty"`
}

// Relationship is how the bot stands to a user, as User.Relationship
// reports it.
type Relationship string

// User relationships.
const (
	RelationshipMe       Relationship = "ME"
	RelationshipFriend   Relationship = "FRIEND"
	RelationshipStranger Relationship = "STRANGER"
	RelationshipBlocking Relationship = "BLOCKING"
)

// App describes a bot's application.
type App struct {
	Type             string    `json:"type,omitempty"`
	AppID            string    `json:"app_id"`
	AppNumber        string    `json:"app_number"`
	Name             string    `json:"name"`
	IconURL          string    `json:"icon_url"`
	Description      string    `json:"description"`
	HomeURI          string    `json:"home_uri"`
	RedirectURI      string    `json:"redirect_uri"`
	Capabilities     []string  `json:"capabilities"`
	ResourcePatterns []string  `json:"resource_patterns"`
	Category         string    `json:"category"`
	CreatorID        string    `json:"creator_id"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// Session is one device session of a user, as returned by
// [Client.ReadSessions]. PublicKey is base64url.
type Session struct {
	Type      string `json:"type,omitempty"`
	UserID    string `json:"user_id"`
	SessionID string `json:"session_id"`
	PublicKey string `json:"public_key"`
	Platform  string `json:"platform"`
}
