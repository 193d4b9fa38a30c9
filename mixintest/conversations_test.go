package mixintest

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestUniqueConversationID(t *testing.T) {
	a, b := "11efbb75-e7fe-44d7-a14f-698535289310", "e8e8cd79-cd40-4796-8c54-3a13cfe50115"
	want := "dd219235-e83a-3b85-a13f-d0f20fa0e833"
	if got := uniqueConversationID(a, b); got != want {
		t.Fatalf("got %s want %s", got, want)
	}
	if got := uniqueConversationID(b, a); got != want {
		t.Fatalf("order-dependent: %s", got)
	}
}

func TestSessionPublicKeyVector(t *testing.T) {
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = byte(i + 1)
	}
	u := &User{key: ed25519.NewKeyFromSeed(seed)}
	got, err := base64.RawURLEncoding.DecodeString(u.sessionPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != "4a3807d064d077181cc070989e76891d20dca5559548dc2c77c1a50273882b38" {
		t.Fatalf("x25519 public = %x", got)
	}
}

type convJSON struct {
	Type           string    `json:"type"`
	ConversationID string    `json:"conversation_id"`
	CreatorID      string    `json:"creator_id"`
	Category       string    `json:"category"`
	Name           string    `json:"name"`
	Announcement   string    `json:"announcement"`
	CodeID         string    `json:"code_id"`
	CodeURL        string    `json:"code_url"`
	MuteUntil      time.Time `json:"mute_until"`
	ExpireIn       int64     `json:"expire_in"`
	Participants   []struct {
		Type   string `json:"type"`
		UserID string `json:"user_id"`
		Role   string `json:"role"`
	} `json:"participants"`
	ParticipantSessions []struct {
		Type      string `json:"type"`
		UserID    string `json:"user_id"`
		SessionID string `json:"session_id"`
		PublicKey string `json:"public_key"`
	} `json:"participant_sessions"`
	Circles []any `json:"circles"`
}

func (c convJSON) role(uid string) (string, bool) {
	for _, p := range c.Participants {
		if p.UserID == uid {
			return p.Role, true
		}
	}
	return "", false
}

func TestContactConversation(t *testing.T) {
	s := NewServer(t)
	bot, alice, eve := s.Bot(), s.NewUser("Alice"), s.NewUser("Eve")
	c := newREST(t, s, bot)
	id := bot.ContactConversationID(alice.UserID)
	body := map[string]any{"category": "CONTACT", "conversation_id": id, "participants": []map[string]string{{"user_id": alice.UserID}}}

	wrong := map[string]any{"category": "CONTACT", "conversation_id": uuid.NewString(), "participants": []map[string]string{{"user_id": alice.UserID}}}
	c.do("POST", "/conversations", wrong).fails(t, 10002)
	two := map[string]any{"category": "CONTACT", "conversation_id": id, "participants": []map[string]string{{"user_id": alice.UserID}, {"user_id": eve.UserID}}}
	c.do("POST", "/conversations", two).fails(t, 10002)
	ghost := uuid.NewString()
	c.do("POST", "/conversations", map[string]any{"category": "CONTACT", "conversation_id": bot.ContactConversationID(ghost),
		"participants": []map[string]string{{"user_id": ghost}}}).fails(t, 10002)

	var conv convJSON
	c.do("POST", "/conversations", body).ok(t, &conv)
	if conv.Type != "conversation" || conv.ConversationID != id || conv.Category != "CONTACT" || conv.CodeURL != "" ||
		len(conv.Participants) != 2 || len(conv.ParticipantSessions) != 2 || conv.Circles == nil {
		t.Fatalf("bad contact: %+v", conv)
	}
	for _, ps := range conv.ParticipantSessions {
		k, err := base64.RawURLEncoding.DecodeString(ps.PublicKey)
		if err != nil || len(k) != 32 || ps.Type != "participant" {
			t.Fatalf("bad session %+v", ps)
		}
	}
	// Creating again returns the same conversation.
	var again convJSON
	c.do("POST", "/conversations", body).ok(t, &again)
	if again.ConversationID != id || len(again.Participants) != 2 {
		t.Fatalf("again: %+v", again)
	}
	// An outsider can neither read nor "create" it.
	e := newREST(t, s, eve)
	e.do("GET", "/conversations/"+id, nil).fails(t, 403)
	e.do("POST", "/conversations", body).fails(t, 403)
	c.do("GET", "/conversations/"+uuid.NewString(), nil).fails(t, 404)
	var read convJSON
	newREST(t, s, alice).do("GET", "/conversations/"+id, nil).ok(t, &read)
	if read.ConversationID != id {
		t.Fatal(read)
	}
	// A conversation alone does not make a friend (POST /relationships ADD does).
	var uv struct{ Relationship string }
	c.do("GET", "/users/"+alice.IdentityNumber, nil).ok(t, &uv)
	if uv.Relationship != "STRANGER" {
		t.Fatalf("relationship %s", uv.Relationship)
	}
	c.do("GET", "/users/"+eve.UserID, nil).ok(t, &uv)
	if uv.Relationship != "STRANGER" {
		t.Fatalf("relationship %s", uv.Relationship)
	}
	// Groups-only operations are refused on a contact.
	c.do("POST", "/conversations/"+id, map[string]string{"name": "x"}).fails(t, 403)
	c.do("POST", "/conversations/"+id+"/rotate", nil).fails(t, 403)
	c.do("POST", "/conversations/"+id+"/participants/ADD", []map[string]string{{"user_id": eve.UserID}}).fails(t, 403)
}

// group makes a group owned by the bot with alice as ADMIN and bob as member.
func group(t *testing.T, s *Server) (id string, alice, bob *User, conv convJSON) {
	t.Helper()
	alice, bob = s.NewUser("Alice"), s.NewUser("Bob")
	id = uuid.NewString()
	newREST(t, s, s.Bot()).do("POST", "/conversations", map[string]any{
		"category": "GROUP", "conversation_id": id, "name": "测试群组",
		"participants": []map[string]string{{"user_id": alice.UserID, "role": "ADMIN"}, {"user_id": bob.UserID}},
	}).ok(t, &conv)
	return id, alice, bob, conv
}

func TestGroupCreate(t *testing.T) {
	s := NewServer(t)
	id, alice, bob, conv := group(t, s)
	if conv.CreatorID != s.Bot().UserID || conv.Name != "测试群组" || conv.CodeID == "" ||
		conv.CodeURL != "https://mixin.one/codes/"+conv.CodeID || len(conv.Participants) != 3 {
		t.Fatalf("bad group %+v", conv)
	}
	for uid, want := range map[string]string{s.Bot().UserID: "OWNER", alice.UserID: "ADMIN", bob.UserID: ""} {
		if r, ok := conv.role(uid); !ok || r != want {
			t.Fatalf("role of %s = %q, want %q", uid, r, want)
		}
	}
	// Members got a CREATE system message; the creator did not.
	for _, u := range []*User{alice, bob} {
		in := u.Inbox()
		if len(in) != 1 || in[0].Category != "SYSTEM_CONVERSATION" || in[0].ConversationID != id || !strings.Contains(string(in[0].Data), `"CREATE"`) {
			t.Fatalf("%s inbox %+v", u.FullName, in)
		}
	}
	if s.Pending(s.Bot().UserID) != 0 {
		t.Fatal("creator got its own system message")
	}
	c := newREST(t, s, s.Bot())
	base := func() map[string]any {
		return map[string]any{"category": "GROUP", "conversation_id": uuid.NewString(), "name": "g"}
	}
	b := base()
	b["name"] = ""
	c.do("POST", "/conversations", b).fails(t, 10002)
	b = base()
	b["name"] = strings.Repeat("名", 513)
	c.do("POST", "/conversations", b).fails(t, 10002)
	b = base()
	b["announcement"] = strings.Repeat("a", 1025)
	c.do("POST", "/conversations", b).fails(t, 10002)
	b = base()
	b["participants"] = []map[string]string{{"user_id": uuid.NewString()}}
	c.do("POST", "/conversations", b).fails(t, 10002)
	b = base()
	b["participants"] = []map[string]string{{"user_id": alice.UserID, "role": "OWNER"}}
	c.do("POST", "/conversations", b).fails(t, 10002)
	b = base()
	b["category"] = "CHANNEL"
	c.do("POST", "/conversations", b).fails(t, 10002)
	b = base()
	b["conversation_id"] = strings.ToUpper(uuid.NewString())
	c.do("POST", "/conversations", b).fails(t, 10002)
	var many []map[string]string
	for i := 0; i < 256; i++ {
		many = append(many, map[string]string{"user_id": s.NewUser("u").UserID})
	}
	b = base()
	b["participants"] = many
	c.do("POST", "/conversations", b).fails(t, 20116)
	b = base()
	b["participants"] = many[:255]
	c.do("POST", "/conversations", b).ok(t, nil)
}

func TestGroupManagement(t *testing.T) {
	s := NewServer(t)
	id, alice, bob, conv := group(t, s)
	eve := s.NewUser("Eve")
	owner, admin, member, outsider := newREST(t, s, s.Bot()), newREST(t, s, alice), newREST(t, s, bob), newREST(t, s, eve)
	p := "/conversations/" + id

	// update
	member.do("POST", p, map[string]string{"name": "x"}).fails(t, 403)
	outsider.do("POST", p, map[string]string{"name": "x"}).fails(t, 403)
	admin.do("POST", p, map[string]string{"name": ""}).fails(t, 10002)
	var got convJSON
	admin.do("POST", p, map[string]string{"announcement": "公告"}).ok(t, &got)
	if got.Name != "测试群组" || got.Announcement != "公告" {
		t.Fatalf("update: %+v", got)
	}
	owner.do("POST", p, map[string]string{"name": "renamed"}).ok(t, &got)
	if got.Name != "renamed" || got.Announcement != "公告" {
		t.Fatalf("update: %+v", got)
	}

	// participants
	add := []map[string]string{{"user_id": eve.UserID}}
	member.do("POST", p+"/participants/ADD", add).fails(t, 403)
	owner.do("POST", p+"/participants/JOIN", add).fails(t, 10002)
	admin.do("POST", p+"/participants/ADD", []map[string]string{{"user_id": uuid.NewString()}}).fails(t, 10002)
	admin.do("POST", p+"/participants/ADD", "nope").fails(t, 400)
	before := len(bob.Inbox())
	admin.do("POST", p+"/participants/ADD", add).ok(t, &got)
	if _, ok := got.role(eve.UserID); !ok {
		t.Fatal("eve not added")
	}
	in := bob.Inbox()
	if len(in) != before+1 || !strings.Contains(string(in[len(in)-1].Data), `"ADD"`) ||
		!strings.Contains(string(in[len(in)-1].Data), eve.UserID) || in[len(in)-1].UserID != alice.UserID {
		t.Fatalf("ADD system message: %+v", in)
	}
	if len(eve.Inbox()) != 1 {
		t.Fatalf("added user should hear of it: %+v", eve.Inbox())
	}
	admin.do("POST", p+"/participants/REMOVE", []map[string]string{{"user_id": s.Bot().UserID}}).fails(t, 403)
	admin.do("POST", p+"/participants/ROLE", []map[string]string{{"user_id": bob.UserID, "role": "ADMIN"}}).fails(t, 403)
	owner.do("POST", p+"/participants/ROLE", []map[string]string{{"user_id": bob.UserID, "role": "BOSS"}}).fails(t, 10002)
	owner.do("POST", p+"/participants/ROLE", []map[string]string{{"user_id": s.Bot().UserID, "role": ""}}).fails(t, 403)
	owner.do("POST", p+"/participants/ROLE", []map[string]string{{"user_id": bob.UserID, "role": "ADMIN"}}).ok(t, &got)
	if r, _ := got.role(bob.UserID); r != "ADMIN" {
		t.Fatalf("bob role %q", r)
	}
	owner.do("POST", p+"/participants/ROLE", []map[string]string{{"user_id": bob.UserID, "role": ""}}).ok(t, &got)
	if r, _ := got.role(bob.UserID); r != "" {
		t.Fatalf("bob role %q", r)
	}
	eveBefore := len(eve.Inbox())
	admin.do("POST", p+"/participants/REMOVE", add).ok(t, &got)
	if _, ok := got.role(eve.UserID); ok {
		t.Fatal("eve not removed")
	}
	if in := eve.Inbox(); len(in) != eveBefore+1 || !strings.Contains(string(in[len(in)-1].Data), `"REMOVE"`) {
		t.Fatalf("removed user should get REMOVE: %+v", in)
	}
	outsider.do("GET", p, nil).fails(t, 403)

	// rotate, join, exit
	member.do("POST", p+"/rotate", nil).fails(t, 403)
	admin.do("POST", p+"/rotate", nil).ok(t, &got)
	if got.CodeID == conv.CodeID || got.CodeURL != "https://mixin.one/codes/"+got.CodeID {
		t.Fatalf("rotate: %+v", got)
	}
	outsider.do("POST", "/conversations/"+conv.CodeID+"/join", nil).fails(t, 404)
	outsider.do("POST", "/conversations/"+got.CodeID+"/join", nil).ok(t, &got)
	if r, ok := got.role(eve.UserID); !ok || r != "" {
		t.Fatal("join failed")
	}
	outsider.do("POST", p+"/exit", nil).ok(t, nil)
	outsider.do("POST", p+"/exit", nil).fails(t, 403)
	if c, _ := s.Conversation(id); len(c.Participants) != 3 {
		t.Fatalf("after exit: %+v", c.Participants)
	}

	// mute
	outsider.do("POST", p+"/mute", map[string]int{"duration": 60}).fails(t, 403)
	member.do("POST", p+"/mute", map[string]int{"duration": -1}).fails(t, 10002)
	member.do("POST", p+"/mute", map[string]int{"duration": 28800}).ok(t, &got)
	if d := got.MuteUntil.Sub(s.now()); d < 7*time.Hour || d > 9*time.Hour {
		t.Fatalf("mute_until %v", got.MuteUntil)
	}
	owner.do("GET", p, nil).ok(t, &got) // per user: the owner is not muted
	if got.MuteUntil.After(s.now()) {
		t.Fatalf("mute leaked to owner: %v", got.MuteUntil)
	}
	member.do("POST", p+"/mute", map[string]int{"duration": 0}).ok(t, &got)
	if got.MuteUntil.After(s.now()) {
		t.Fatalf("unmute: %v", got.MuteUntil)
	}

	// disappear
	member.do("POST", p+"/disappear", map[string]int{"duration": 60}).fails(t, 403)
	admin.do("POST", p+"/disappear", map[string]int{"duration": 12*7*24*3600 + 1}).fails(t, 10002)
	admin.do("POST", p+"/disappear", map[string]int{"duration": 3600}).ok(t, &got)
	if got.ExpireIn != 3600 {
		t.Fatalf("expire_in %d", got.ExpireIn)
	}
	// messages inherit expire_in
	var mv struct {
		ExpireIn int64 `json:"expire_in"`
	}
	member.do("POST", "/messages", map[string]any{"conversation_id": id, "message_id": uuid.NewString(),
		"category": "PLAIN_TEXT", "data_base64": "aGk"}).ok(t, &mv)
	if mv.ExpireIn != 3600 {
		t.Fatalf("message expire_in %d", mv.ExpireIn)
	}
}

func TestOwnerExitTransfersOwnership(t *testing.T) {
	s := NewServer(t)
	id, alice, _, _ := group(t, s)
	newREST(t, s, s.Bot()).do("POST", "/conversations/"+id+"/exit", nil).ok(t, nil)
	c, _ := s.Conversation(id)
	for _, p := range c.Participants {
		if p.UserID == alice.UserID && p.Role != "OWNER" {
			t.Fatalf("alice role %q", p.Role)
		}
	}
}

func TestUsersEndpoints(t *testing.T) {
	s := NewServer(t)
	alice := s.NewUserWithID("E8E8CD79-CD40-4796-8C54-3A13CFE50115", "Alice")
	if alice.UserID != "e8e8cd79-cd40-4796-8c54-3a13cfe50115" {
		t.Fatal(alice.UserID)
	}
	c := newREST(t, s, s.Bot())
	var users []struct {
		UserID string `json:"user_id"`
	}
	c.do("POST", "/users/fetch", []string{alice.UserID, uuid.NewString(), s.Bot().UserID}).ok(t, &users)
	if len(users) != 2 || users[0].UserID != alice.UserID {
		t.Fatalf("fetch: %+v", users)
	}
	var u struct {
		UserID string `json:"user_id"`
	}
	c.do("GET", "/search/"+alice.IdentityNumber, nil).ok(t, &u)
	if u.UserID != alice.UserID {
		t.Fatalf("search: %+v", u)
	}
	c.do("GET", "/search/1", nil).fails(t, 404)
	c.do("GET", "/users/"+uuid.NewString(), nil).fails(t, 404)
	r := c.do("POST", "/sessions/fetch", []string{alice.UserID})
	r.ok(t, nil)
	var raw []map[string]any
	_ = json.Unmarshal(r.env.Data, &raw)
	if len(raw) != 1 || raw[0]["session_id"] != alice.SessionID || raw[0]["public_key"] != alice.sessionPublicKey() || raw[0]["platform"] == "" {
		t.Fatalf("sessions: %s", r.env.Data)
	}
}
