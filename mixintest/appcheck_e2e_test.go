package mixintest

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"
)

// encryptedEntry builds one entry of POST /encrypted_messages from u to
// the users to, encrypted for all their sessions.
func encryptedEntry(t *testing.T, s *Server, u *User, conv, recipient, messageID string, plain []byte, to ...*User) map[string]any {
	t.Helper()
	s.mu.Lock()
	var sessions []*deviceSession
	var ids []string
	var listed []map[string]string
	for _, r := range to {
		for _, d := range s.sessionsLocked(r) {
			sessions = append(sessions, d)
			ids = append(ids, d.id)
			listed = append(listed, map[string]string{"session_id": d.id})
		}
	}
	data, err := s.sessionsLocked(u)[0].seal(plain, sessions)
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"conversation_id": conv, "recipient_id": recipient, "message_id": messageID, "category": "ENCRYPTED_TEXT",
		"data_base64": encodeRawURL(data), "checksum": checksum(ids), "recipient_sessions": listed}
}

// The app check on encrypted messages: a message a recipient cannot decrypt
// is broken, one to a whole group without recipient_id is a warning, and one
// entry per recipient under one message id (the official Go client's form)
// is delivered once to each and not flagged.
func TestAppCheckEncryptedMessages(t *testing.T) {
	tb := &recordingTB{TB: t}
	s := NewServer(tb)
	bot, alice, bob := s.Bot(), s.NewUser("Alice"), s.NewUser("Bob")
	g, err := alice.CreateGroup(context.Background(), "e2e", bot.UserID, bob.UserID)
	if err != nil {
		t.Fatal(err)
	}
	conv := g.ConversationID
	post := func(entries ...map[string]any) {
		t.Helper()
		newREST(t, s, alice).do("POST", "/encrypted_messages", entries).ok(t, nil)
	}

	// Per recipient, one message id; then the entry for Bob again.
	id := uuid.NewString()
	post(encryptedEntry(t, s, alice, conv, bot.UserID, id, []byte("hi"), bot), encryptedEntry(t, s, alice, conv, bob.UserID, id, []byte("hi"), bob))
	var again []encryptedResult
	newREST(t, s, alice).do("POST", "/encrypted_messages", []map[string]any{encryptedEntry(t, s, alice, conv, bob.UserID, id, []byte("hi"), bob)}).ok(t, &again)
	if len(again) != 1 || again[0].RecipientID != bob.UserID || again[0].State != "SUCCESS" {
		t.Fatalf("Bob's entry sent again: %+v", again)
	}
	if p := s.Problems(); len(p) != 0 {
		t.Fatalf("per-recipient entries flagged: %v", p)
	}
	for _, u := range []*User{bot, bob} {
		got := slices.DeleteFunc(u.Inbox(), func(m Message) bool { return m.MessageID != id })
		if len(got) != 1 || string(got[0].Plaintext) != "hi" || got[0].RecipientID != u.UserID {
			t.Fatalf("%s got %+v", u.FullName, got)
		}
	}

	// The whole group in one entry: delivered, but no official client does it.
	post(encryptedEntry(t, s, alice, conv, "", uuid.NewString(), []byte("all"), bot, bob))
	if f := findings(s.Problems()); !slices.Equal(f, []string{"warning:recipient_id"}) {
		t.Fatalf("group entry without recipient_id: %v", f)
	}
	s.ResetProblems()

	// Tampered: Bob's sessions cannot open it.
	bad := encryptedEntry(t, s, alice, conv, bob.UserID, uuid.NewString(), []byte("x"), bob)
	raw, _ := decodeLenient(bad["data_base64"].(string))
	raw[len(raw)-1] ^= 1
	bad["data_base64"] = encodeRawURL(raw)
	post(bad)
	p := s.Problems()
	if f := findings(p); !slices.Equal(f, []string{"broken:data"}) || p[0].UserID != alice.UserID {
		t.Fatalf("tampered message: %v", p)
	}
	if len(s.EncryptionProblems()) != 1 || len(tb.errors()) != 1 {
		t.Fatalf("encryption problems %v, owner errors %v", s.EncryptionProblems(), tb.errors())
	}
}
