package mixintest

import (
	"time"
)

type appView struct {
	Type             string    `json:"type"`
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

type userView struct {
	Type           string    `json:"type"`
	UserID         string    `json:"user_id"`
	IdentityNumber string    `json:"identity_number"`
	Phone          string    `json:"phone"`
	FullName       string    `json:"full_name"`
	Biography      string    `json:"biography"`
	AvatarURL      string    `json:"avatar_url"`
	Relationship   string    `json:"relationship"`
	MuteUntil      time.Time `json:"mute_until"`
	CreatedAt      time.Time `json:"created_at"`
	IsVerified     bool      `json:"is_verified"`
	IsScam         bool      `json:"is_scam"`
	IsDeactivated  bool      `json:"is_deactivated"`
	App            *appView  `json:"app,omitempty"`
}

type meView struct {
	userView
	SessionID                string `json:"session_id"`
	CodeID                   string `json:"code_id"`
	CodeURL                  string `json:"code_url"`
	HasPin                   bool   `json:"has_pin"`
	HasSafe                  bool   `json:"has_safe"`
	HasEmergencyContact      bool   `json:"has_emergency_contact"`
	DeviceStatus             string `json:"device_status"`
	ReceiveMessageSource     string `json:"receive_message_source"`
	AcceptConversationSource string `json:"accept_conversation_source"`
	AcceptSearchSource       string `json:"accept_search_source"`
	FiatCurrency             string `json:"fiat_currency"`
	PinTokenBase64           string `json:"pin_token_base64"`
	TipCounter               int    `json:"tip_counter"`
	SpendPublicKey           string `json:"spend_public_key"`

	TransferNotificationThreshold float64 `json:"transfer_notification_threshold"`
	TransferConfirmationThreshold float64 `json:"transfer_confirmation_threshold"`
}

type sessionView struct {
	Type      string `json:"type,omitempty"`
	UserID    string `json:"user_id"`
	SessionID string `json:"session_id"`
	PublicKey string `json:"public_key"`
	Platform  string `json:"platform,omitempty"`
}

// userViewLocked renders u as seen by viewer; s.mu must be held.
func (s *Server) userViewLocked(u, viewer *User) userView {
	v := userView{
		Type: "user", UserID: u.UserID, IdentityNumber: u.IdentityNumber, FullName: u.FullName,
		MuteUntil: u.createdAt, CreatedAt: u.createdAt,
	}
	s.decorateUserLocked(&v, u, viewer) // relationship, profile (social.go)
	if u.isBot {
		v.App = &appView{
			Type: "app", AppID: u.UserID, AppNumber: u.IdentityNumber, Name: u.FullName,
			Capabilities: s.botCapabilities(), ResourcePatterns: []string{},
			Category: "OTHER", CreatorID: u.UserID, UpdatedAt: u.createdAt,
		}
	}
	return v
}

func (s *Server) meViewLocked(u *User) meView {
	v := meView{
		userView: s.userViewLocked(u, u), SessionID: u.SessionID, CodeID: u.codeID,
		CodeURL: "https://mixin.one/codes/" + u.codeID, HasSafe: true,
	}
	s.decorateMeLocked(&v, u) // preferences (social.go)
	return v
}

// getMe is GET /me: the user view plus the bot's own fields and its app
// (developers.mixin.one api/users/profile.md; protocol.md §8).
func (s *Server) getMe(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.meViewLocked(c.user), nil
}

func (s *Server) lookupUserLocked(idOrNumber string) *User {
	if u, ok := s.users[normID(idOrNumber)]; ok {
		return u
	}
	return s.byIdentity[idOrNumber]
}

// getUser is GET /users/:id; :id may also be an identity number
// (fox-one/mixin-sdk-go user.go ReadUser); 404 when unknown (docs
// api/users/user.md; bot-api-go-client maps it to not found).
func (s *Server) getUser(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookupUserLocked(c.r.PathValue("id"))
	if u == nil {
		return nil, errNotFound
	}
	return s.userViewLocked(u, c.user), nil
}

// searchUser is GET /search/:q by identity number or phone (docs
// api/users/search.md). The live not-found code is not documented; 404 is
// what the other reads answer.
func (s *Server) searchUser(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookupUserLocked(c.r.PathValue("q"))
	if u == nil {
		return nil, errNotFound
	}
	return s.userViewLocked(u, c.user), nil
}

// fetchUsers is POST /users/fetch with an array of ids; unknown ids are
// left out of the answer, not an error (docs api/users/users.md).
func (s *Server) fetchUsers(c *call) (any, *apiError) {
	var ids []string
	if err := c.decode(&ids); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []userView{}
	for _, id := range ids {
		if u, ok := s.users[normID(id)]; ok {
			out = append(out, s.userViewLocked(u, c.user))
		}
	}
	return out, nil
}

// fetchSessions is POST /sessions/fetch: [{user_id, session_id, public_key,
// platform}] per session of each known user (docs api/users/sessions.md;
// bot-api-go-client session.go; public keys in Curve25519 form, protocol.md
// §9).
func (s *Server) fetchSessions(c *call) (any, *apiError) {
	var ids []string
	if err := c.decode(&ids); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []sessionView{}
	for _, id := range ids {
		if u, ok := s.users[normID(id)]; ok {
			out = append(out, s.sessionViewsLocked(u, "", true)...)
		}
	}
	return out, nil
}

func platformOf(u *User) string {
	if u.isBot {
		return "Bot"
	}
	return "Android"
}
