package mixintest

import (
	"bytes"
	goimage "image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"github.com/gomixin/mixin"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Relationships, profiles and preferences (developers.mixin.one
// api/users/relationships, api/users/contacts, the Node SDK's
// src/client/user.ts). Every user has, per other user, at most one
// relation: FRIEND (after ADD, with an optional alias) or BLOCKING (after
// BLOCK). A relationship is one-sided: what u sees of v says nothing of what
// v sees of u.

const (
	relFriend   = "FRIEND"
	relBlocking = "BLOCKING"
	relStranger = "STRANGER"
	relMe       = "ME"

	sourceEverybody = "EVERYBODY"
	sourceContacts  = "CONTACTS"
	sourceNobody    = "NOBODY"

	// Limits of the official Android app's editors
	// (ProfileBottomSheetDialogFragment: name 40, biography 140).
	maxFullNameRunes  = 40
	maxBiographyRunes = 140

	imagesPath = "/_mixintest/images/"
)

// socialState is guarded by Server.mu; its maps are made on first use.
type socialState struct {
	rels     map[string]map[string]*relation // owner id -> other id -> relation
	order    int64                           // makes relation order stable
	profiles map[string]*profile             // user id -> profile changes
	images   map[string]image                // key -> avatar or icon
	circles  map[string]*circle              // circle id -> circle
	statuses map[string][]statusRec          // sender id -> status changes of their messages
}

type relation struct {
	kind         string
	alias, phone string
	seq          int64
}

type profile struct {
	fullName, biography, avatarURL                   string
	receiveMessage, acceptConversation, acceptSearch string
	fiat                                             string
	notifyThreshold, confirmThreshold                float64
}

type image struct {
	contentType string
	data        []byte
}

func (st *socialState) profileOf(id string) *profile {
	if st.profiles == nil {
		st.profiles = make(map[string]*profile)
	}
	p, ok := st.profiles[id]
	if !ok {
		p = &profile{receiveMessage: sourceEverybody, acceptConversation: sourceEverybody,
			acceptSearch: sourceEverybody, fiat: "USD"}
		st.profiles[id] = p
	}
	return p
}

func (st *socialState) relation(owner, other string) *relation {
	return st.rels[owner][other]
}

func (st *socialState) setRelation(owner, other string, r *relation) {
	if st.rels == nil {
		st.rels = make(map[string]map[string]*relation)
	}
	if st.rels[owner] == nil {
		st.rels[owner] = make(map[string]*relation)
	}
	if r == nil {
		delete(st.rels[owner], other)
		return
	}
	st.order++
	r.seq = st.order
	st.rels[owner][other] = r
}

// relationshipLocked is what viewer sees as u's relationship field.
func (s *Server) relationshipLocked(u, viewer *User) string {
	switch {
	case viewer == nil:
		return relStranger
	case viewer.UserID == u.UserID:
		return relMe
	}
	if r := s.social.relation(viewer.UserID, u.UserID); r != nil {
		return r.kind
	}
	return relStranger
}

// decorateUserLocked applies profile changes and the viewer's relationship
// to a rendered user. A friend's alias is shown to the one who set it (the
// docs call full_name on ADD "the alias of the friend").
func (s *Server) decorateUserLocked(v *userView, u, viewer *User) {
	v.Relationship = s.relationshipLocked(u, viewer)
	if p := s.social.profiles[u.UserID]; p != nil {
		if p.fullName != "" {
			v.FullName = p.fullName
		}
		v.Biography, v.AvatarURL = p.biography, p.avatarURL
	}
	if viewer != nil {
		if r := s.social.relation(viewer.UserID, u.UserID); r != nil && r.kind == relFriend && r.alias != "" {
			v.FullName = r.alias
		}
	}
}

// decorateMeLocked applies the user's preferences to their /me view.
func (s *Server) decorateMeLocked(v *meView, u *User) {
	p := s.social.profileOf(u.UserID)
	v.ReceiveMessageSource, v.AcceptConversationSource, v.AcceptSearchSource = p.receiveMessage, p.acceptConversation, p.acceptSearch
	v.FiatCurrency = p.fiat
	v.TransferNotificationThreshold, v.TransferConfirmationThreshold = p.notifyThreshold, p.confirmThreshold
}

// contactRefusalLocked says whether sender may not message recipients in a
// contact conversation: a recipient who blocks the sender, or who accepts
// messages from contacts only and has not added the sender, refuses it with
// 403 (docs api/users/relationships "Block a User"; the seed's Node SDK
// notes: a 403 on a send means the conversation was never created or the
// user blocks strangers). Groups are not filtered.
func (s *Server) contactRefusalLocked(conv *conversation, sender *User, recipients []string) *apiError {
	if conv.category != categoryContact {
		return nil
	}
	for _, rid := range recipients {
		r := s.social.relation(rid, sender.UserID)
		if r != nil && r.kind == relBlocking {
			return errForbidden
		}
		if p := s.social.profiles[rid]; p != nil && p.receiveMessage == sourceContacts && (r == nil || r.kind != relFriend) {
			return errForbidden
		}
	}
	return nil
}

// Relationship returns what the user owner sees as other's relationship:
// FRIEND, BLOCKING, STRANGER or ME.
func (s *Server) Relationship(ownerID, otherUserID string) mixin.Relationship {
	s.mu.Lock()
	defer s.mu.Unlock()
	owner, other := s.users[normID(ownerID)], s.users[normID(otherUserID)]
	if owner == nil || other == nil {
		return relStranger
	}
	return mixin.Relationship(s.relationshipLocked(other, owner))
}

type relationshipRequest struct {
	UserID   string `json:"user_id"`
	Action   string `json:"action"`
	FullName string `json:"full_name"`
	Phone    string `json:"phone"`
}

// updateRelationshipLocked implements POST /relationships for actor.
func (s *Server) updateRelationshipLocked(actor *User, req relationshipRequest) (*User, *apiError) {
	target := s.users[normID(req.UserID)]
	switch {
	case !validUUID(normID(req.UserID)):
		return nil, invalidField("user_id", "must be a UUID")
	case target == nil:
		return nil, errNotFound
	case target.UserID == actor.UserID:
		return nil, invalidField("user_id", "cannot be yourself")
	}
	if utf8.RuneCountInString(req.FullName) > maxFullNameRunes {
		return nil, invalidField("full_name", "at most 40 characters")
	}
	cur := s.social.relation(actor.UserID, target.UserID)
	switch strings.ToUpper(req.Action) {
	case "ADD":
		s.social.setRelation(actor.UserID, target.UserID, &relation{kind: relFriend, alias: req.FullName, phone: req.Phone})
	case "UPDATE":
		if cur == nil || cur.kind != relFriend {
			return nil, invalidField("user_id", "not a friend")
		}
		cur.alias = req.FullName
	case "REMOVE":
		if cur != nil && cur.kind == relFriend {
			s.social.setRelation(actor.UserID, target.UserID, nil)
		}
	case "BLOCK":
		s.social.setRelation(actor.UserID, target.UserID, &relation{kind: relBlocking})
	case "UNBLOCK":
		if cur != nil && cur.kind == relBlocking {
			s.social.setRelation(actor.UserID, target.UserID, nil)
		}
	default:
		return nil, invalidField("action", "must be ADD, UPDATE, REMOVE, BLOCK or UNBLOCK")
	}
	return target, nil
}

func (s *Server) postRelationships(c *call) (any, *apiError) {
	var req relationshipRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	target, err := s.updateRelationshipLocked(c.user, req)
	if err != nil {
		return nil, err
	}
	return s.userViewLocked(target, c.user), nil
}

// relatedLocked lists the users owner relates to with kind, oldest first.
func (s *Server) relatedLocked(owner *User, kind string) []userView {
	type entry struct {
		u   *User
		seq int64
	}
	var es []entry
	for id, r := range s.social.rels[owner.UserID] {
		if r.kind == kind && s.users[id] != nil {
			es = append(es, entry{s.users[id], r.seq})
		}
	}
	for i := 1; i < len(es); i++ { // few entries: insertion sort by seq
		for j := i; j > 0 && es[j].seq < es[j-1].seq; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
	out := []userView{}
	for _, e := range es {
		out = append(out, s.userViewLocked(e.u, owner))
	}
	return out
}

func (s *Server) getFriends(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.relatedLocked(c.user, relFriend), nil
}

func (s *Server) getBlockingUsers(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.relatedLocked(c.user, relBlocking), nil
}

// decodeImage decodes base64 image data and checks it is a PNG, JPEG or
// GIF of at most max bytes; field names the request field.
func decodeImage(field, b64 string, max int) (image, *apiError) {
	data, err := decodeLenient(b64)
	if err != nil {
		return image{}, invalidField(field, "not base64")
	}
	if len(data) > max {
		return image{}, invalidField(field, "image too large")
	}
	ct := http.DetectContentType(data)
	var (
		config func(io.Reader) (goimage.Config, error)
		decode func(io.Reader) (goimage.Image, error)
	)
	switch ct {
	case "image/png":
		config, decode = png.DecodeConfig, png.Decode
	case "image/jpeg":
		config, decode = jpeg.DecodeConfig, jpeg.Decode
	case "image/gif":
		config, decode = gif.DecodeConfig, gif.Decode
	default:
		return image{}, invalidField(field, "not an image")
	}
	// The header first, so a small file cannot claim a huge canvas.
	cfg, err := config(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > 4096*4096 {
		return image{}, invalidField(field, "not a readable image")
	}
	if _, err := decode(bytes.NewReader(data)); err != nil {
		return image{}, invalidField(field, "not a readable image")
	}
	return image{contentType: ct, data: data}, nil
}

// storeImageLocked keeps an image and returns the URL it is served at.
func (s *Server) storeImageLocked(r *http.Request, img image) string {
	if s.social.images == nil {
		s.social.images = make(map[string]image)
	}
	key := uuid.NewString()
	s.social.images[key] = img
	return s.baseURL(r) + imagesPath + key
}

// serveImage answers GET /_mixintest/images/{key}: the avatars and icons
// clients uploaded, at the URLs the API views name.
func (s *Server) serveImage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	img, ok := s.social.images[r.PathValue("key")]
	s.mu.Unlock()
	if !ok {
		http.Error(w, "NoSuchKey", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", img.contentType)
	_, _ = w.Write(img.data)
}

type profileRequest struct {
	FullName     *string `json:"full_name"`
	AvatarBase64 string  `json:"avatar_base64"`
	Biography    *string `json:"biography"`
}

func (s *Server) postMe(c *call) (any, *apiError) {
	var req profileRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.FullName != nil && (strings.TrimSpace(*req.FullName) == "" || utf8.RuneCountInString(*req.FullName) > maxFullNameRunes) {
		return nil, invalidField("full_name", "required, at most 40 characters")
	}
	if req.Biography != nil && utf8.RuneCountInString(*req.Biography) > maxBiographyRunes {
		return nil, invalidField("biography", "at most 140 characters")
	}
	var avatar image
	if req.AvatarBase64 != "" {
		var err *apiError
		if avatar, err = decodeImage("avatar_base64", req.AvatarBase64, s.cfg.maxImageBytes); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.social.profileOf(c.user.UserID)
	if req.FullName != nil {
		p.fullName = *req.FullName
	}
	if req.Biography != nil {
		p.biography = *req.Biography
	}
	if avatar.data != nil {
		p.avatarURL = s.storeImageLocked(c.r, avatar)
	}
	return s.meViewLocked(c.user), nil
}

type preferencesRequest struct {
	ReceiveMessageSource          string   `json:"receive_message_source"`
	AcceptConversationSource      string   `json:"accept_conversation_source"`
	AcceptSearchSource            string   `json:"accept_search_source"`
	FiatCurrency                  string   `json:"fiat_currency"`
	TransferNotificationThreshold *float64 `json:"transfer_notification_threshold"`
	TransferConfirmationThreshold *float64 `json:"transfer_confirmation_threshold"`
}

// postPreferences implements POST /me/preferences; the allowed values are
// those the API shows on /me (EVERYBODY, CONTACTS; NOBODY for search).
func (s *Server) postPreferences(c *call) (any, *apiError) {
	var req preferencesRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, v string }{{"receive_message_source", req.ReceiveMessageSource},
		{"accept_conversation_source", req.AcceptConversationSource}} {
		if f.v != "" && f.v != sourceEverybody && f.v != sourceContacts {
			return nil, invalidField(f.name, "must be EVERYBODY or CONTACTS")
		}
	}
	if v := req.AcceptSearchSource; v != "" && v != sourceEverybody && v != sourceContacts && v != sourceNobody {
		return nil, invalidField("accept_search_source", "must be EVERYBODY, CONTACTS or NOBODY")
	}
	if req.FiatCurrency != "" && (len(req.FiatCurrency) != 3 || strings.ToUpper(req.FiatCurrency) != req.FiatCurrency) {
		return nil, invalidField("fiat_currency", "must be a currency code")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.social.profileOf(c.user.UserID)
	setIf(&p.receiveMessage, req.ReceiveMessageSource)
	setIf(&p.acceptConversation, req.AcceptConversationSource)
	setIf(&p.acceptSearch, req.AcceptSearchSource)
	setIf(&p.fiat, req.FiatCurrency)
	if req.TransferNotificationThreshold != nil {
		p.notifyThreshold = *req.TransferNotificationThreshold
	}
	if req.TransferConfirmationThreshold != nil {
		p.confirmThreshold = *req.TransferConfirmationThreshold
	}
	return s.meViewLocked(c.user), nil
}

func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// getCode implements GET /codes/:id for user codes (code_id on /me) and
// group invite codes (code_id on a conversation): the user or the
// conversation, with its type field (docs api/codes).
func (s *Server) getCode(c *call) (any, *apiError) {
	id := normID(c.r.PathValue("id"))
	if !validUUID(id) {
		return nil, errNotFound
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if convID, ok := s.codes[id]; ok {
		return s.conversationViewLocked(s.convs[convID], c.user), nil
	}
	for _, u := range s.users {
		if u.codeID == id {
			return s.userViewLocked(u, c.user), nil
		}
	}
	return nil, errNotFound
}

// statusRec is one status change of a message, for GET /messages/status.
type statusRec struct {
	messageID, conversationID, status string
	updatedAt                         time.Time
}

// recordStatusLocked logs a receipt for the sender of m.
func (s *Server) recordStatusLocked(m *Message, status string, at time.Time) {
	if s.social.statuses == nil {
		s.social.statuses = make(map[string][]statusRec)
	}
	s.social.statuses[m.UserID] = append(s.social.statuses[m.UserID], statusRec{messageID: m.MessageID,
		conversationID: m.ConversationID, status: status, updatedAt: at})
}

// rotateMeCode implements GET /me/code (the Node SDK's user.rotateCode): a
// new code_id for the user; the old one no longer resolves.
func (s *Server) rotateMeCode(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.user.codeID = uuid.NewString()
	return s.meViewLocked(c.user), nil
}
