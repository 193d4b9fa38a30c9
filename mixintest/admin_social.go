package mixintest

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gomixin/mixin"
)

// Admin routes that act as a simulated user on relationships and groups,
// with the same rules as the REST calls the user would make.

func (s *Server) adminFail(w http.ResponseWriter, r *http.Request, err error) {
	var se *simError
	if errors.As(err, &se) {
		s.adminError(w, r, adminStatus(se.e), se.e)
		return
	}
	s.adminError(w, r, http.StatusBadRequest, &apiError{code: codeBadRequest, desc: err.Error()})
}

func (s *Server) adminRelationship(w http.ResponseWriter, r *http.Request) {
	u := s.adminUser(w, r)
	if u == nil {
		return
	}
	var req relationshipRequest
	if err := readAdminBody(r, &req); err != nil {
		s.adminError(w, r, http.StatusBadRequest, errBadRequest)
		return
	}
	s.mu.Lock()
	target, err := s.updateRelationshipLocked(u, req)
	var v userView
	if err == nil {
		v = s.userViewLocked(target, u)
	}
	s.mu.Unlock()
	if err != nil {
		s.adminError(w, r, adminStatus(err), err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, v)
}

func (s *Server) adminConvView(w http.ResponseWriter, r *http.Request, u *User, c Conversation, err error) {
	if err != nil {
		s.adminFail(w, r, err)
		return
	}
	s.mu.Lock()
	v := s.conversationViewLocked(s.convs[c.ConversationID], u)
	s.mu.Unlock()
	s.writeJSON(w, r, http.StatusOK, v)
}

func (s *Server) adminCreateGroup(w http.ResponseWriter, r *http.Request) {
	u := s.adminUser(w, r)
	if u == nil {
		return
	}
	var req struct {
		Name         string   `json:"name"`
		Participants []string `json:"participants"`
	}
	if err := readAdminBody(r, &req); err != nil {
		s.adminError(w, r, http.StatusBadRequest, errBadRequest)
		return
	}
	c, err := u.CreateGroup(r.Context(), req.Name, req.Participants...)
	s.adminConvView(w, r, u, c, err)
}

func (s *Server) adminManage(w http.ResponseWriter, r *http.Request) {
	u := s.adminUser(w, r)
	if u == nil {
		return
	}
	var reqs []participantRequest
	if err := readAdminBody(r, &reqs); err != nil {
		s.adminError(w, r, http.StatusBadRequest, errBadRequest)
		return
	}
	s.mu.Lock()
	conv, err := s.manageParticipantsLocked(u, r.PathValue("cid"), strings.ToUpper(r.PathValue("action")), reqs)
	var v conversationView
	if err == nil {
		v = s.conversationViewLocked(conv, u)
	}
	s.mu.Unlock()
	if err != nil {
		s.adminError(w, r, adminStatus(err), err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, v)
}

func (s *Server) adminJoin(w http.ResponseWriter, r *http.Request) {
	u := s.adminUser(w, r)
	if u == nil {
		return
	}
	c, err := u.JoinByCode(r.Context(), r.PathValue("code"))
	s.adminConvView(w, r, u, c, err)
}

func (s *Server) adminExit(w http.ResponseWriter, r *http.Request) {
	u := s.adminUser(w, r)
	if u == nil {
		return
	}
	if err := u.Exit(r.Context(), r.PathValue("cid")); err != nil {
		s.adminFail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, map[string]bool{"ok": true})
}

// UpdateRelationship makes the user ADD (with an optional alias), UPDATE,
// REMOVE, BLOCK or UNBLOCK another user, with the rules of POST
// /relationships. A user who blocks the bot makes the bot's messages to
// them fail with 403, and the other way round.
func (u *User) UpdateRelationship(ctx context.Context, otherUserID string, action mixin.RelationshipAction, alias string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.updateRelationshipLocked(u, relationshipRequest{UserID: otherUserID, Action: string(action), FullName: alias})
	return wrap("POST", "/relationships", err)
}

// AddFriend adds another user to u's contacts.
func (u *User) AddFriend(ctx context.Context, otherUserID string) error {
	return u.UpdateRelationship(ctx, otherUserID, mixin.RelationshipActionAdd, "")
}

// RemoveFriend removes another user from u's contacts.
func (u *User) RemoveFriend(ctx context.Context, otherUserID string) error {
	return u.UpdateRelationship(ctx, otherUserID, mixin.RelationshipActionRemove, "")
}

// Block blocks another user: their messages to u fail with 403.
func (u *User) Block(ctx context.Context, otherUserID string) error {
	return u.UpdateRelationship(ctx, otherUserID, mixin.RelationshipActionBlock, "")
}

// Unblock lifts a block.
func (u *User) Unblock(ctx context.Context, otherUserID string) error {
	return u.UpdateRelationship(ctx, otherUserID, mixin.RelationshipActionUnblock, "")
}

// AcceptMessagesFrom sets who may message u in a contact conversation:
// [mixin.MessageSourceEverybody] (the default) or
// [mixin.MessageSourceContacts] (only users u added), as POST
// /me/preferences receive_message_source does.
func (u *User) AcceptMessagesFrom(source mixin.MessageSource) error {
	if source != sourceEverybody && source != sourceContacts {
		return wrap("POST", "/me/preferences", invalidField("receive_message_source", "must be EVERYBODY or CONTACTS"))
	}
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.social.profileOf(u.UserID).receiveMessage = string(source)
	return nil
}
