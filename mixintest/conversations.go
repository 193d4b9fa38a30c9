package mixintest

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gomixin/mixin"
	"github.com/google/uuid"
)

const (
	maxParticipants   = 256
	maxNameRunes      = 512
	maxAnnounceRunes  = 1024
	maxDisappearAfter = 12 * 7 * 24 * 60 * 60
	roleOwner         = "OWNER"
	roleAdmin         = "ADMIN"
	categoryContact   = "CONTACT"
	categoryGroup     = "GROUP"
)

type participantView struct {
	Type      string    `json:"type"`
	UserID    string    `json:"user_id"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

type conversationView struct {
	Type                string            `json:"type"`
	ConversationID      string            `json:"conversation_id"`
	CreatorID           string            `json:"creator_id"`
	Category            string            `json:"category"`
	Name                string            `json:"name"`
	IconURL             string            `json:"icon_url"`
	Announcement        string            `json:"announcement"`
	CreatedAt           time.Time         `json:"created_at"`
	CodeID              string            `json:"code_id"`
	CodeURL             string            `json:"code_url"`
	MuteUntil           time.Time         `json:"mute_until"`
	ExpireIn            int64             `json:"expire_in"`
	Participants        []participantView `json:"participants"`
	ParticipantSessions []sessionView     `json:"participant_sessions"`
	Circles             []circleItemView  `json:"circles"`
}

// participantRequest is one element of a participants array.
type participantRequest struct {
	UserID string `json:"user_id"`
	Role   string `json:"role"`
}

type createConversationRequest struct {
	Category       string               `json:"category"`
	ConversationID string               `json:"conversation_id"`
	Name           string               `json:"name"`
	Announcement   string               `json:"announcement"`
	Participants   []participantRequest `json:"participants"`
	RandomID       string               `json:"random_id"`
	IconBase64     string               `json:"icon_base64"`
}

// conversationViewLocked renders c as seen by viewer; s.mu must be held.
func (s *Server) conversationViewLocked(c *conversation, viewer *User) conversationView {
	v := conversationView{
		Type: "conversation", ConversationID: c.id, CreatorID: c.creatorID, Category: c.category,
		Name: c.name, IconURL: c.iconURL, Announcement: c.announcement, CreatedAt: c.createdAt,
		CodeID: c.codeID, MuteUntil: c.createdAt, ExpireIn: c.expireIn,
		Participants: []participantView{}, ParticipantSessions: []sessionView{},
		Circles: s.conversationCirclesLocked(c.id, viewer), // the viewer's circles (circles.go)
	}
	if c.codeID != "" {
		v.CodeURL = "https://mixin.one/codes/" + c.codeID
	}
	if viewer != nil {
		if t, ok := c.muteUntil[viewer.UserID]; ok {
			v.MuteUntil = t
		}
	}
	for _, p := range c.participants {
		v.Participants = append(v.Participants, participantView{Type: "participant", UserID: p.UserID, Role: string(p.Role), CreatedAt: p.CreatedAt})
		if u := s.users[p.UserID]; u != nil {
			v.ParticipantSessions = append(v.ParticipantSessions, s.sessionViewsLocked(u, "participant", false)...)
		}
	}
	return v
}

// createConversationLocked implements POST /conversations for actor.
func (s *Server) createConversationLocked(actor *User, req createConversationRequest) (*conversation, *apiError) {
	req.Category = strings.ToUpper(req.Category)
	if req.Category != categoryContact && req.Category != categoryGroup {
		return nil, invalidField("category", "must be CONTACT or GROUP")
	}
	if !validUUID(req.ConversationID) {
		return nil, invalidField("conversation_id", "must be a lowercase UUID")
	}
	if c, ok := s.convs[req.ConversationID]; ok {
		if c.participant(actor.UserID) == nil {
			return nil, errForbidden
		}
		return c, nil
	}
	now := s.now()
	c := &conversation{id: req.ConversationID, creatorID: actor.UserID, category: req.Category,
		muteUntil: make(map[string]time.Time), createdAt: now}
	if req.Category == categoryContact {
		if len(req.Participants) != 1 {
			return nil, invalidField("participants", "a contact conversation needs exactly one participant")
		}
		other := s.users[normID(req.Participants[0].UserID)]
		if other == nil || other.UserID == actor.UserID {
			return nil, invalidField("participants", "unknown user")
		}
		if req.ConversationID != uniqueConversationID(actor.UserID, other.UserID) {
			return nil, invalidField("conversation_id", "not the contact conversation id of the two users")
		}
		c.participants = []*Participant{{UserID: actor.UserID, Role: roleOwner, CreatedAt: now}, {UserID: other.UserID, CreatedAt: now}}
		s.convs[c.id] = c
		return c, nil
	}
	name := strings.TrimSpace(req.Name)
	if name == "" || utf8.RuneCountInString(req.Name) > maxNameRunes {
		return nil, invalidField("name", "required, at most 512 characters")
	}
	if utf8.RuneCountInString(req.Announcement) > maxAnnounceRunes {
		return nil, invalidField("announcement", "at most 1024 characters")
	}
	c.name, c.announcement = req.Name, req.Announcement
	c.codeID = uuid.NewString()
	c.participants = []*Participant{{UserID: actor.UserID, Role: roleOwner, CreatedAt: now}}
	for _, p := range req.Participants {
		id := normID(p.UserID)
		if s.users[id] == nil {
			return nil, invalidField("participants", "unknown user "+p.UserID)
		}
		role := strings.ToUpper(p.Role)
		if role != "" && role != roleAdmin {
			return nil, invalidField("participants", "role must be ADMIN or empty")
		}
		if c.participant(id) != nil {
			continue
		}
		c.participants = append(c.participants, &Participant{UserID: id, Role: mixin.ParticipantRole(role), CreatedAt: now})
	}
	if len(c.participants) > maxParticipants {
		return nil, errGroupFull
	}
	s.convs[c.id] = c
	s.codes[c.codeID] = c.id
	s.systemLocked(c, actor, "CREATE", actor.UserID, "", nil)
	return c, nil
}

func (s *Server) createConversation(c *call) (any, *apiError) {
	var req createConversationRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	icon, err := s.iconOf(req.IconBase64)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	conv, err := s.createConversationLocked(c.user, req)
	if err != nil {
		return nil, err
	}
	if icon != nil && conv.category == categoryGroup && conv.iconURL == "" {
		conv.iconURL = s.storeImageLocked(c.r, *icon)
	}
	return s.conversationViewLocked(conv, c.user), nil
}

// iconOf decodes an icon_base64 (create and update, as android-app's
// ConversationRequest and bot-api-kotlin-client send it); "" means none.
func (s *Server) iconOf(b64 string) (*image, *apiError) {
	if b64 == "" {
		return nil, nil
	}
	img, err := decodeImage("icon_base64", b64, s.cfg.maxImageBytes)
	if err != nil {
		return nil, err
	}
	return &img, nil
}

// memberConvLocked finds the conversation and checks actor is a member:
// 404 when missing, 403 when not a participant.
func (s *Server) memberConvLocked(id string, actor *User) (*conversation, *Participant, *apiError) {
	conv, ok := s.convs[normID(id)]
	if !ok {
		return nil, nil, errNotFound
	}
	p := conv.participant(actor.UserID)
	if p == nil {
		return nil, nil, errForbidden
	}
	return conv, p, nil
}

func isManager(p *Participant) bool { return p.Role == roleOwner || p.Role == roleAdmin }

func (s *Server) readConversation(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	conv, _, err := s.memberConvLocked(c.r.PathValue("id"), c.user)
	if err != nil {
		return nil, err
	}
	return s.conversationViewLocked(conv, c.user), nil
}

func (s *Server) updateConversation(c *call) (any, *apiError) {
	var req struct {
		Name         *string `json:"name"`
		Announcement *string `json:"announcement"`
		IconBase64   string  `json:"icon_base64"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	icon, ierr := s.iconOf(req.IconBase64)
	if ierr != nil {
		return nil, ierr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	conv, p, err := s.memberConvLocked(c.r.PathValue("id"), c.user)
	if err != nil {
		return nil, err
	}
	if conv.category != categoryGroup || !isManager(p) {
		return nil, errForbidden
	}
	if req.Name != nil && (strings.TrimSpace(*req.Name) == "" || utf8.RuneCountInString(*req.Name) > maxNameRunes) {
		return nil, invalidField("name", "required, at most 512 characters")
	}
	if req.Announcement != nil && utf8.RuneCountInString(*req.Announcement) > maxAnnounceRunes {
		return nil, invalidField("announcement", "at most 1024 characters")
	}
	if req.Name != nil {
		conv.name = *req.Name
	}
	if req.Announcement != nil {
		conv.announcement = *req.Announcement
	}
	if icon != nil {
		conv.iconURL = s.storeImageLocked(c.r, *icon)
	}
	s.systemLocked(conv, c.user, "UPDATE", c.user.UserID, "", nil)
	return s.conversationViewLocked(conv, c.user), nil
}

func (s *Server) manageParticipants(c *call) (any, *apiError) {
	var reqs []participantRequest
	if len(c.body) == 0 {
		return nil, errBadRequest
	}
	if err := c.decode(&reqs); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	conv, err := s.manageParticipantsLocked(c.user, c.r.PathValue("id"), strings.ToUpper(c.r.PathValue("action")), reqs)
	if err != nil {
		return nil, err
	}
	return s.conversationViewLocked(conv, c.user), nil
}

func (s *Server) manageParticipantsLocked(actor *User, id, action string, reqs []participantRequest) (*conversation, *apiError) {
	if action != "ADD" && action != "REMOVE" && action != "ROLE" {
		return nil, invalidField("action", "must be ADD, REMOVE or ROLE")
	}
	conv, p, err := s.memberConvLocked(id, actor)
	if err != nil {
		return nil, err
	}
	if conv.category != categoryGroup || !isManager(p) || (action == "ROLE" && p.Role != roleOwner) {
		return nil, errForbidden
	}
	// Validate everything before changing anything.
	if err := s.checkParticipantsLocked(conv, action, reqs); err != nil {
		return nil, err
	}
	now := s.now()
	switch action {
	case "ADD":
		added := 0
		for _, r := range reqs {
			if conv.participant(normID(r.UserID)) == nil {
				added++
			}
		}
		if len(conv.participants)+added > maxParticipants {
			return nil, errGroupFull
		}
		for _, r := range reqs {
			uid := normID(r.UserID)
			if conv.participant(uid) != nil {
				continue
			}
			conv.participants = append(conv.participants, &Participant{UserID: uid, CreatedAt: now})
			s.systemLocked(conv, actor, "ADD", uid, "", nil)
		}
	case "REMOVE":
		for _, r := range reqs {
			uid := normID(r.UserID)
			if conv.participant(uid) == nil {
				continue
			}
			s.systemLocked(conv, actor, "REMOVE", uid, "", nil)
			conv.removeParticipant(uid)
		}
	case "ROLE":
		for _, r := range reqs {
			target := conv.participant(normID(r.UserID))
			target.Role = mixin.ParticipantRole(strings.ToUpper(r.Role))
			s.systemLocked(conv, actor, "ROLE", target.UserID, string(target.Role), nil)
		}
	}
	return conv, nil
}

// checkParticipantsLocked validates a whole participants request before
// manageParticipantsLocked changes anything.
func (s *Server) checkParticipantsLocked(conv *conversation, action string, reqs []participantRequest) *apiError {
	for _, r := range reqs {
		uid := normID(r.UserID)
		if s.users[uid] == nil {
			return invalidField("participants", "unknown user "+r.UserID)
		}
		target := conv.participant(uid)
		switch action {
		case "ADD":
		case "REMOVE":
			if target != nil && target.Role == roleOwner {
				return errForbidden
			}
		case "ROLE":
			role := strings.ToUpper(r.Role)
			if role != "" && role != roleAdmin {
				return invalidField("role", "must be ADMIN or empty")
			}
			if target == nil {
				return invalidField("participants", "not a participant "+r.UserID)
			}
			if target.Role == roleOwner {
				return errForbidden
			}
		}
	}
	return nil
}

func (c *conversation) removeParticipant(uid string) {
	for i, p := range c.participants {
		if p.UserID == uid {
			c.participants = append(c.participants[:i], c.participants[i+1:]...)
			return
		}
	}
}

func (s *Server) joinConversation(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	conv, err := s.joinLocked(c.user, c.r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return s.conversationViewLocked(conv, c.user), nil
}

func (s *Server) joinLocked(actor *User, code string) (*conversation, *apiError) {
	id, ok := s.codes[normID(code)]
	if !ok {
		return nil, errNotFound
	}
	conv := s.convs[id]
	if conv.participant(actor.UserID) != nil {
		return conv, nil
	}
	if len(conv.participants) >= maxParticipants {
		return nil, errGroupFull
	}
	conv.participants = append(conv.participants, &Participant{UserID: actor.UserID, CreatedAt: s.now()})
	s.systemLocked(conv, actor, "JOIN", actor.UserID, "", nil)
	return conv, nil
}

func (s *Server) exitConversation(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	conv, err := s.exitLocked(c.user, c.r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return s.conversationViewLocked(conv, c.user), nil
}

func (s *Server) exitLocked(actor *User, id string) (*conversation, *apiError) {
	conv, p, err := s.memberConvLocked(id, actor)
	if err != nil {
		return nil, err
	}
	if conv.category != categoryGroup {
		return nil, errForbidden
	}
	s.systemLocked(conv, actor, "EXIT", actor.UserID, "", nil)
	conv.removeParticipant(actor.UserID)
	if p.Role == roleOwner && len(conv.participants) > 0 {
		// Ownership passes to the first admin, else the oldest member.
		next := conv.participants[0]
		for _, q := range conv.participants {
			if q.Role == roleAdmin {
				next = q
				break
			}
		}
		next.Role = roleOwner
	}
	return conv, nil
}

func (s *Server) rotateConversation(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	conv, p, err := s.memberConvLocked(c.r.PathValue("id"), c.user)
	if err != nil {
		return nil, err
	}
	if conv.category != categoryGroup || !isManager(p) {
		return nil, errForbidden
	}
	delete(s.codes, conv.codeID)
	conv.codeID = uuid.NewString()
	s.codes[conv.codeID] = conv.id
	return s.conversationViewLocked(conv, c.user), nil
}

type durationRequest struct {
	Duration *json.Number `json:"duration"`
}

func (r durationRequest) seconds(max int64) (int64, *apiError) {
	if r.Duration == nil {
		return 0, invalidField("duration", "required")
	}
	n, err := r.Duration.Int64()
	if err != nil || n < 0 || (max > 0 && n > max) {
		return 0, invalidField("duration", "out of range")
	}
	return n, nil
}

func (s *Server) muteConversation(c *call) (any, *apiError) {
	var req durationRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	d, aerr := req.seconds(0)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	conv, _, err := s.memberConvLocked(c.r.PathValue("id"), c.user)
	if err != nil {
		// Muting a conversation that does not exist is a 403 on the real API.
		return nil, errForbidden
	}
	if d == 0 {
		conv.muteUntil[c.user.UserID] = s.now()
	} else {
		conv.muteUntil[c.user.UserID] = s.now().Add(time.Duration(d) * time.Second)
	}
	return s.conversationViewLocked(conv, c.user), nil
}

func (s *Server) disappearConversation(c *call) (any, *apiError) {
	var req durationRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	d, aerr := req.seconds(maxDisappearAfter)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	conv, p, err := s.memberConvLocked(c.r.PathValue("id"), c.user)
	if err != nil {
		return nil, err
	}
	if conv.category == categoryGroup && !isManager(p) {
		return nil, errForbidden
	}
	conv.expireIn = d
	s.systemLocked(conv, c.user, "EXPIRE", c.user.UserID, "", &d)
	return s.conversationViewLocked(conv, c.user), nil
}
