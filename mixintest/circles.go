package mixintest

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Circles (developers.mixin.one api/circles/*, android-app CircleService and
// ConversationService.updateCircles, the Node SDK's src/client/circle.ts).
// A circle belongs to the user who created it: another user's circle id
// answers 404 as if it did not exist (no source says whether the server
// answers 404 or 403 there).

const (
	// maxCircleNameRunes is where the official Android app's circle name
	// editor stops (ConversationCircleFragment, maxTextCount 128).
	maxCircleNameRunes = 128
	// maxCirclesPerUser is the Node SDK's stated limit (src/client/circle.ts:
	// "User can have no more than 64 circles"); past it, code 20133.
	maxCirclesPerUser = 64
	// maxCirclesPerContact: "one user can only be added to 5 circles at most,
	// otherwise error 20133" (docs api/circles/add-to-remove-from-circles).
	maxCirclesPerContact = 5
	// circlePageLimit is the default and largest page of GET
	// /circles/:id/conversations (docs api/circles/list-items).
	circlePageLimit    = 500
	codeTooManyCircles = 20133
)

var errTooManyCircles = &apiError{httpStatus: 202, code: codeTooManyCircles, desc: "Too many circles."}

type circle struct {
	id, ownerID, name string
	createdAt         time.Time
	items             []*circleItem // in the order added; createdAt strictly increasing
}

type circleItem struct {
	conversationID, userID string
	createdAt              time.Time
}

type circleView struct {
	Type      string    `json:"type"`
	CircleID  string    `json:"circle_id"`
	UserID    string    `json:"user_id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// circleItemView is the wire shape of a circle_conversation (the Node SDK's
// CircleConversationResponse; android-app CircleConversation).
type circleItemView struct {
	Type           string    `json:"type"`
	CircleID       string    `json:"circle_id"`
	ConversationID string    `json:"conversation_id"`
	UserID         string    `json:"user_id,omitempty"`
	Name           string    `json:"name,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

func (ci *circle) view() circleView {
	return circleView{Type: "circle", CircleID: ci.id, UserID: ci.ownerID, Name: ci.name, CreatedAt: ci.createdAt}
}

func (ci *circle) itemView(it *circleItem) circleItemView {
	return circleItemView{Type: "circle_conversation", CircleID: ci.id, ConversationID: it.conversationID,
		UserID: it.userID, CreatedAt: it.createdAt}
}

// decodeCircleName reads and checks the {name} body of a circle create or
// update.
func decodeCircleName(c *call) (string, *apiError) {
	var req struct {
		Name string `json:"name"`
	}
	if err := c.decode(&req); err != nil {
		return "", err
	}
	if strings.TrimSpace(req.Name) == "" || utf8.RuneCountInString(req.Name) > maxCircleNameRunes {
		return "", invalidField("name", "required, at most 128 characters")
	}
	return req.Name, nil
}

// ownCircleLocked finds a circle of actor.
func (s *Server) ownCircleLocked(id string, actor *User) (*circle, *apiError) {
	ci, ok := s.social.circles[normID(id)]
	if !ok || ci.ownerID != actor.UserID {
		return nil, errNotFound
	}
	return ci, nil
}

// circlesOfLocked lists actor's circles, oldest first.
func (s *Server) circlesOfLocked(actor *User) []*circle {
	var out []*circle
	for _, ci := range s.social.circles {
		if ci.ownerID == actor.UserID {
			out = append(out, ci)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && (out[j].createdAt.Before(out[j-1].createdAt) ||
			(out[j].createdAt.Equal(out[j-1].createdAt) && out[j].id < out[j-1].id)); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (s *Server) getCircles(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []circleView{}
	for _, ci := range s.circlesOfLocked(c.user) {
		out = append(out, ci.view())
	}
	return out, nil
}

func (s *Server) getCircle(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ci, err := s.ownCircleLocked(c.r.PathValue("id"), c.user)
	if err != nil {
		return nil, err
	}
	return ci.view(), nil
}

func (s *Server) createCircle(c *call) (any, *apiError) {
	name, err := decodeCircleName(c)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.circlesOfLocked(c.user)) >= maxCirclesPerUser {
		return nil, errTooManyCircles
	}
	if s.social.circles == nil {
		s.social.circles = make(map[string]*circle)
	}
	ci := &circle{id: uuid.NewString(), ownerID: c.user.UserID, name: name, createdAt: s.now()}
	s.social.circles[ci.id] = ci
	return ci.view(), nil
}

func (s *Server) updateCircle(c *call) (any, *apiError) {
	name, err := decodeCircleName(c)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ci, err := s.ownCircleLocked(c.r.PathValue("id"), c.user)
	if err != nil {
		return nil, err
	}
	ci.name = name
	return ci.view(), nil
}

// deleteCircle answers empty JSON: "An empty json will be returned on
// success" (docs api/circles/delete), the same words the docs use for batch
// POST /messages.
func (s *Server) deleteCircle(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ci, err := s.ownCircleLocked(c.r.PathValue("id"), c.user)
	if err != nil {
		return nil, err
	}
	delete(s.social.circles, ci.id)
	return emptyAnswer{}, nil
}

// getCircleConversations pages by created_at: items added after offset
// (RFC 3339), at most limit (default and maximum 500).
func (s *Server) getCircleConversations(c *call) (any, *apiError) {
	q := c.r.URL.Query()
	var offset time.Time
	if v := q.Get("offset"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, invalidField("offset", "must be an RFC 3339 time")
		}
		offset = t
	}
	limit := circlePageLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, invalidField("limit", "must be a positive number")
		}
		limit = min(n, circlePageLimit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ci, err := s.ownCircleLocked(c.r.PathValue("id"), c.user)
	if err != nil {
		return nil, err
	}
	out := []circleItemView{}
	for _, it := range ci.items {
		if len(out) == limit {
			break
		}
		if it.createdAt.After(offset) {
			out = append(out, ci.itemView(it))
		}
	}
	return out, nil
}

type circleConversationRequest struct {
	ConversationID string `json:"conversation_id"`
	UserID         string `json:"user_id"`
	CircleID       string `json:"circle_id"`
	Action         string `json:"action"`
}

// decodeList accepts an array of requests or a single object: android-app
// sends arrays, the docs' curl examples a single object.
func decodeList(body []byte) ([]circleConversationRequest, *apiError) {
	var reqs []circleConversationRequest
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		reqs = make([]circleConversationRequest, 1)
		if json.Unmarshal(trimmed, &reqs[0]) != nil {
			return nil, errBadRequest
		}
	} else if json.Unmarshal(trimmed, &reqs) != nil {
		return nil, errBadRequest
	}
	if len(reqs) == 0 {
		return nil, invalidField("body", "no items")
	}
	return reqs, nil
}

// applyCircleLocked adds a conversation of actor to ci or removes it. The
// actor must be a participant; a contact conversation is listed with the
// other user's id.
func (s *Server) applyCircleLocked(actor *User, ci *circle, convID, action string) (*circleItem, *apiError) {
	conv, _, err := s.memberConvLocked(convID, actor)
	if err != nil {
		return nil, err
	}
	userID := ""
	if conv.category == categoryContact {
		for _, p := range conv.participants {
			if p.UserID != actor.UserID {
				userID = p.UserID
			}
		}
	}
	idx := slices.IndexFunc(ci.items, func(it *circleItem) bool { return it.conversationID == conv.id })
	switch strings.ToUpper(action) {
	case "ADD":
		if idx >= 0 {
			return ci.items[idx], nil
		}
		if userID != "" && s.contactCircleCountLocked(actor, userID) >= maxCirclesPerContact {
			return nil, errTooManyCircles
		}
		return ci.add(conv.id, userID, s.now()), nil
	case "REMOVE":
		if idx >= 0 {
			ci.items = append(ci.items[:idx], ci.items[idx+1:]...)
		}
		return nil, nil
	}
	return nil, invalidField("action", "must be ADD or REMOVE")
}

// add files a conversation in ci at now, or just after its last item: the
// items' created_at strictly increase, which keeps offset paging exact.
func (ci *circle) add(convID, userID string, now time.Time) *circleItem {
	it := &circleItem{conversationID: convID, userID: userID, createdAt: now}
	if n := len(ci.items); n > 0 && !it.createdAt.After(ci.items[n-1].createdAt) {
		it.createdAt = ci.items[n-1].createdAt.Add(time.Microsecond)
	}
	ci.items = append(ci.items, it)
	return it
}

// requestedCirclesLocked resolves the circle of each request (one of
// actor's) and checks its action, before anything changes.
func (s *Server) requestedCirclesLocked(reqs []circleConversationRequest, actor *User) ([]*circle, *apiError) {
	circles := make([]*circle, len(reqs))
	for i, r := range reqs {
		if r.CircleID == "" {
			return nil, invalidField("circle_id", "required")
		}
		ci, err := s.ownCircleLocked(r.CircleID, actor)
		if err != nil {
			return nil, err
		}
		if a := strings.ToUpper(r.Action); a != "ADD" && a != "REMOVE" {
			return nil, invalidField("action", "must be ADD or REMOVE")
		}
		circles[i] = ci
	}
	return circles, nil
}

func (s *Server) contactCircleCountLocked(actor *User, userID string) int {
	n := 0
	for _, ci := range s.circlesOfLocked(actor) {
		for _, it := range ci.items {
			if it.userID == userID {
				n++
			}
		}
	}
	return n
}

// postCircleConversations implements POST /circles/:id/conversations and
// answers the items added.
func (s *Server) postCircleConversations(c *call) (any, *apiError) {
	reqs, aerr := decodeList(c.body)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ci, err := s.ownCircleLocked(c.r.PathValue("id"), c.user)
	if err != nil {
		return nil, err
	}
	for _, r := range reqs { // validate before changing anything
		if a := strings.ToUpper(r.Action); a != "ADD" && a != "REMOVE" {
			return nil, invalidField("action", "must be ADD or REMOVE")
		}
		if _, _, err := s.memberConvLocked(r.ConversationID, c.user); err != nil {
			return nil, err
		}
	}
	out := []circleItemView{}
	for _, r := range reqs {
		it, err := s.applyCircleLocked(c.user, ci, r.ConversationID, r.Action)
		if err != nil {
			return nil, err
		}
		if it != nil {
			out = append(out, ci.itemView(it))
		}
	}
	return out, nil
}

// postConversationCircles implements POST /conversations/:id/circles and
// answers the conversation's circle items after the change ("The list of
// circles that the group belongs to is returned", docs).
func (s *Server) postConversationCircles(c *call) (any, *apiError) {
	reqs, aerr := decodeList(c.body)
	if aerr != nil {
		return nil, aerr
	}
	convID := c.r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, _, err := s.memberConvLocked(convID, c.user); err != nil {
		return nil, err
	}
	circles, err := s.requestedCirclesLocked(reqs, c.user)
	if err != nil {
		return nil, err
	}
	for i, r := range reqs {
		if _, err := s.applyCircleLocked(c.user, circles[i], convID, r.Action); err != nil {
			return nil, err
		}
	}
	return s.conversationCirclesLocked(normID(convID), c.user), nil
}

// conversationCirclesLocked lists viewer's circle items for a conversation.
func (s *Server) conversationCirclesLocked(convID string, viewer *User) []circleItemView {
	out := []circleItemView{}
	if viewer == nil {
		return out
	}
	for _, ci := range s.circlesOfLocked(viewer) {
		for _, it := range ci.items {
			if it.conversationID == convID {
				out = append(out, ci.itemView(it))
			}
		}
	}
	return out
}

// postUserCircles implements POST /users/:id/circles {circle_id, action}
// (an object as in the docs, or an array): it files the contact
// conversation with that user, and answers the circles the user is in,
// named ("The list of circles that the user belongs to is returned", docs
// api/circles/add-to-remove-from-circles; at most 5, else 20133).
func (s *Server) postUserCircles(c *call) (any, *apiError) {
	reqs, aerr := decodeList(c.body)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	other := s.users[normID(c.r.PathValue("id"))]
	if other == nil {
		return nil, errNotFound
	}
	if other.UserID == c.user.UserID {
		return nil, invalidField("user_id", "cannot be yourself")
	}
	circles, err := s.requestedCirclesLocked(reqs, c.user)
	if err != nil {
		return nil, err
	}
	convID := uniqueConversationID(c.user.UserID, other.UserID)
	for i, r := range reqs {
		ci := circles[i]
		idx := slices.IndexFunc(ci.items, func(it *circleItem) bool { return it.conversationID == convID })
		switch {
		case strings.ToUpper(r.Action) == "REMOVE" && idx >= 0:
			ci.items = slices.Delete(ci.items, idx, idx+1)
		case strings.ToUpper(r.Action) == "ADD" && idx < 0:
			if s.contactCircleCountLocked(c.user, other.UserID) >= maxCirclesPerContact {
				return nil, errTooManyCircles
			}
			ci.add(convID, other.UserID, s.now())
		}
	}
	out := []circleItemView{}
	for _, ci := range s.circlesOfLocked(c.user) {
		for _, it := range ci.items {
			if it.conversationID == convID {
				v := ci.itemView(it)
				v.Name = ci.name
				out = append(out, v)
			}
		}
	}
	return out, nil
}
