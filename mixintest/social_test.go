package mixintest

import (
	"strconv"
	"strings"
	"testing"
)

// TestSocialWire checks the wire answers of the relationship, circle, code,
// profile and status endpoints as a raw client sees them: envelopes, error
// codes, the docs' single-object form of POST /conversations/:id/circles,
// the empty answer of a circle delete.
func TestSocialWire(t *testing.T) {
	s := NewServer(t)
	alice, bob := s.NewUser("Alice"), s.NewUser("Bob")
	a := newREST(t, s, alice)

	var friends []map[string]any
	a.do("GET", "/friends", nil).ok(t, &friends)
	if friends == nil || len(friends) != 0 {
		t.Fatalf("no friends must be [] , got %v", friends)
	}
	a.do("POST", "/relationships", map[string]string{"user_id": bob.UserID, "action": "FOLLOW"}).fails(t, codeInvalidField)
	a.do("POST", "/relationships", map[string]string{"user_id": alice.UserID, "action": "ADD"}).fails(t, codeInvalidField)
	a.do("POST", "/relationships", map[string]string{"user_id": "00000000-0000-4000-8000-000000000000", "action": "ADD"}).fails(t, codeNotFound)
	a.do("POST", "/relationships", "{not json").fails(t, codeBadRequest)
	var u struct {
		Relationship string `json:"relationship"`
		FullName     string `json:"full_name"`
	}
	a.do("POST", "/relationships", map[string]string{"user_id": bob.UserID, "action": "add", "full_name": "B"}).ok(t, &u)
	if u.Relationship != relFriend || u.FullName != "B" {
		t.Fatalf("after ADD %+v", u)
	}
	if s.Relationship(bob.UserID, alice.UserID) != relStranger {
		t.Fatal("relationships must be one-sided")
	}

	// Profile validation on the server side.
	a.do("POST", "/me", map[string]string{"full_name": strings.Repeat("x", 41)}).fails(t, codeInvalidField)
	a.do("POST", "/me", map[string]string{"biography": strings.Repeat("x", 141)}).fails(t, codeInvalidField)
	a.do("POST", "/me", map[string]string{"avatar_base64": "!!!"}).fails(t, codeInvalidField)
	a.do("POST", "/me/preferences", map[string]string{"accept_search_source": "SOME"}).fails(t, codeInvalidField)

	// Circles: the single-object body of the docs, the array of android-app.
	group := must[Conversation](t)(alice.CreateGroup(ctxT(t), "G", bob.UserID))
	var circle struct {
		CircleID string `json:"circle_id"`
		Type     string
	}
	a.do("POST", "/circles", map[string]string{"name": "C"}).ok(t, &circle)
	a.do("POST", "/circles", map[string]string{"name": strings.Repeat("n", 129)}).fails(t, codeInvalidField)
	var items []map[string]any
	a.do("POST", "/conversations/"+group.ConversationID+"/circles", map[string]string{"circle_id": circle.CircleID, "action": "ADD"}).ok(t, &items)
	if len(items) != 1 || items[0]["type"] != "circle_conversation" {
		t.Fatalf("items %v", items)
	}
	a.do("POST", "/conversations/"+group.ConversationID+"/circles", map[string]string{"circleID": circle.CircleID, "action": "ADD"}).fails(t, codeInvalidField)
	a.do("POST", "/conversations/"+group.ConversationID+"/circles", []map[string]string{{"circle_id": circle.CircleID, "action": "MOVE"}}).fails(t, codeInvalidField)
	newREST(t, s, bob).do("GET", "/circles/"+circle.CircleID, nil).fails(t, codeNotFound)
	a.do("GET", "/circles/"+circle.CircleID+"/conversations?offset=yesterday", nil).fails(t, codeInvalidField)
	r := a.do("POST", "/circles/"+circle.CircleID+"/delete", nil)
	if r.status != 200 || string(r.raw) != "{}" {
		t.Fatalf("delete answered HTTP %d %s, want {}", r.status, r.raw)
	}
	for i := range maxCirclesPerUser {
		a.do("POST", "/circles", map[string]string{"name": "c" + strconv.Itoa(i)}).ok(t, nil)
	}
	a.do("POST", "/circles", map[string]string{"name": "too many"}).fails(t, codeTooManyCircles)

	// Codes and statuses.
	a.do("GET", "/codes/"+group.CodeID, nil).ok(t, &u)
	a.do("GET", "/codes/not-a-uuid", nil).fails(t, codeNotFound)
	a.do("GET", "/messages/status/abc", nil).fails(t, codeInvalidField)
	var statuses []map[string]any
	a.do("GET", "/messages/status/0", nil).ok(t, &statuses)
	if statuses == nil || len(statuses) != 0 {
		t.Fatalf("statuses %v", statuses)
	}
}
