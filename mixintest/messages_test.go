package mixintest

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
)

type msgJSON struct {
	Type             string `json:"type"`
	RepresentativeID string `json:"representative_id"`
	QuoteMessageID   string `json:"quote_message_id"`
	ConversationID   string `json:"conversation_id"`
	UserID           string `json:"user_id"`
	SessionID        string `json:"session_id"`
	MessageID        string `json:"message_id"`
	Category         string `json:"category"`
	Data             string `json:"data"`
	DataBase64       string `json:"data_base64"`
	Status           string `json:"status"`
	Source           string `json:"source"`
	Silent           bool   `json:"silent"`
	CreatedAt        string `json:"created_at"`
}

func createContact(t *testing.T, s *Server, from, to *User) string {
	t.Helper()
	id := from.ContactConversationID(to.UserID)
	newREST(t, s, from).do("POST", "/conversations", map[string]any{"category": "CONTACT", "conversation_id": id,
		"participants": []map[string]string{{"user_id": to.UserID}}}).ok(t, nil)
	return id
}

func textMsg(conv, text string) map[string]any {
	return map[string]any{"conversation_id": conv, "message_id": uuid.NewString(), "category": "PLAIN_TEXT",
		"data_base64": base64.RawURLEncoding.EncodeToString([]byte(text))}
}

func TestSendToContact(t *testing.T) {
	s := NewServer(t)
	bot, alice := s.Bot(), s.NewUser("Alice")
	c := newREST(t, s, bot)
	conv := bot.ContactConversationID(alice.UserID)
	// Never-created contact conversation: 403, as the seed warns.
	c.do("POST", "/messages", textMsg(conv, "hello")).fails(t, 403)
	c.do("POST", "/messages", []any{textMsg(conv, "hello")}).fails(t, 403)
	createContact(t, s, bot, alice)

	m := textMsg(conv, "hello")
	m["recipient_id"] = alice.UserID
	m["quote_message_id"] = "q"
	var v msgJSON
	c.do("POST", "/messages", m).ok(t, &v)
	if v.Type != "message" || v.Data != "aGVsbG8=" || v.DataBase64 != "aGVsbG8" || v.Status != "SENT" ||
		v.Source != "CREATE_MESSAGE" || v.SessionID != bot.SessionID || v.UserID != bot.UserID ||
		v.MessageID != m["message_id"] || v.ConversationID != conv || v.QuoteMessageID != "q" || !strings.HasSuffix(v.CreatedAt, "Z") {
		t.Fatalf("bad view %+v", v)
	}
	in, err := alice.WaitInbox(ctxT(t), 1)
	if err != nil || len(in) != 1 || string(in[0].Data) != "hello" || in[0].UserID != bot.UserID || in[0].Category != "PLAIN_TEXT" {
		t.Fatalf("inbox %+v %v", in, err)
	}
	if s.Pending(alice.UserID) != 1 || s.Pending(bot.UserID) != 0 {
		t.Fatalf("pending alice=%d bot=%d", s.Pending(alice.UserID), s.Pending(bot.UserID))
	}

	// Dedupe: the same message id again is a no-op success.
	c.do("POST", "/messages", m).ok(t, &v)
	c.do("POST", "/messages", []any{m, m}).ok(t, nil)
	if len(alice.Inbox()) != 1 {
		t.Fatalf("duplicate delivered: %d", len(alice.Inbox()))
	}

	// Legacy "data" in any alphabet, padded or not.
	for _, enc := range []string{"aGk/Pz8=", "aGk_Pz8", "aGk/Pz8", "aGk_Pz8="} {
		c.do("POST", "/messages", map[string]any{"conversation_id": conv, "message_id": uuid.NewString(),
			"category": "PLAIN_TEXT", "data": enc}).ok(t, nil)
	}
	for _, got := range alice.Inbox()[1:] {
		if string(got.Data) != "hi???" {
			t.Fatalf("data decoded to %q", got.Data)
		}
	}
	// Simulated user replies; the bot's queue fills.
	if _, err := alice.SendText(ctxT(t), bot.UserID, "yo"); err != nil {
		t.Fatal(err)
	}
	if s.Pending(bot.UserID) != 1 {
		t.Fatalf("bot pending %d", s.Pending(bot.UserID))
	}
}

func TestSendValidation(t *testing.T) {
	s := NewServer(t, WithMaxMessageBody(20<<10))
	bot, alice := s.Bot(), s.NewUser("Alice")
	conv := createContact(t, s, bot, alice)
	c := newREST(t, s, bot)
	bad := []map[string]any{
		{"conversation_id": "x", "message_id": uuid.NewString(), "category": "PLAIN_TEXT", "data_base64": "aGk"},
		{"conversation_id": conv, "message_id": "x", "category": "PLAIN_TEXT", "data_base64": "aGk"},
		{"conversation_id": conv, "message_id": uuid.NewString(), "category": "", "data_base64": "aGk"},
		{"conversation_id": conv, "message_id": uuid.NewString(), "category": "SYSTEM_CONVERSATION", "data_base64": "aGk"},
		{"conversation_id": conv, "message_id": uuid.NewString(), "category": "PLAIN_TEXT", "data_base64": "!!"},
	}
	for _, b := range bad {
		c.do("POST", "/messages", b).fails(t, 10002)
	}
	// 100 per request.
	batch := make([]any, 101)
	for i := range batch {
		batch[i] = map[string]any{"conversation_id": conv, "message_id": uuid.NewString(), "category": "PLAIN_TEXT", "data_base64": "aGk"}
	}
	c.do("POST", "/messages", batch).fails(t, 10002)
	// "It returns empty JSON on success" (docs api/messages/send.md).
	r := c.do("POST", "/messages", batch[:100])
	r.ok(t, nil)
	if string(r.raw) != "{}" {
		t.Fatalf("batch answer should be {}, got %s", r.raw)
	}
	if len(alice.Inbox()) != 100 {
		t.Fatalf("inbox %d", len(alice.Inbox()))
	}
	// Body size limit.
	c.do("POST", "/messages", textMsg(conv, strings.Repeat("x", 20<<10))).fails(t, 10002)
	// A batch with one invalid message sends nothing.
	good := textMsg(conv, "ok")
	c.do("POST", "/messages", []any{good, bad[0]}).fails(t, 10002)
	if len(alice.Inbox()) != 100 {
		t.Fatal("partial batch delivered")
	}
	c.do("POST", "/messages", "{").fails(t, 400)
}

func TestGroupRouting(t *testing.T) {
	s := NewServer(t)
	id, alice, bob, _ := group(t, s)
	eve := s.NewUser("Eve")
	c := newREST(t, s, s.Bot())
	base := map[*User]int{alice: len(alice.Inbox()), bob: len(bob.Inbox())}
	c.do("POST", "/messages", textMsg(id, "all")).ok(t, nil)
	m := textMsg(id, "only bob")
	m["recipient_id"] = bob.UserID
	c.do("POST", "/messages", m).ok(t, nil)
	if len(alice.Inbox()) != base[alice]+1 || len(bob.Inbox()) != base[bob]+2 {
		t.Fatalf("alice %d bob %d", len(alice.Inbox()), len(bob.Inbox()))
	}
	if got := bob.Inbox()[base[bob]+1]; string(got.Data) != "only bob" || got.RecipientID != bob.UserID {
		t.Fatalf("bob got %+v", got)
	}
	m = textMsg(id, "eve")
	m["recipient_id"] = eve.UserID
	c.do("POST", "/messages", m).fails(t, 403)
	newREST(t, s, eve).do("POST", "/messages", textMsg(id, "intruder")).fails(t, 403)
	// A member's message reaches the bot and the other member.
	if _, err := alice.Send(ctxT(t), MessageRequest{ConversationID: id, Category: "PLAIN_TEXT", Data: []byte("from alice")}); err != nil {
		t.Fatal(err)
	}
	if s.Pending(s.Bot().UserID) != 1 || string(bob.Inbox()[len(bob.Inbox())-1].Data) != "from alice" {
		t.Fatal("alice's group message not routed")
	}
	if _, err := eve.Send(ctxT(t), MessageRequest{ConversationID: id, Category: "PLAIN_TEXT"}); err == nil {
		t.Fatal("outsider could send")
	}
}

func TestAcknowledgementsAndReceipts(t *testing.T) {
	s := NewServer(t)
	bot, alice := s.Bot(), s.NewUser("Alice")
	conv := createContact(t, s, bot, alice)
	c := newREST(t, s, bot)
	m := textMsg(conv, "read me")
	c.do("POST", "/messages", m).ok(t, nil)
	mid := m["message_id"].(string)

	a := newREST(t, s, alice)
	a.do("POST", "/acknowledgements", []map[string]string{{"message_id": mid, "status": "SEEN"}}).fails(t, 10002)
	a.do("POST", "/acknowledgements", "{").fails(t, 400)
	many := make([]map[string]string, 101)
	for i := range many {
		many[i] = map[string]string{"message_id": uuid.NewString(), "status": "READ"}
	}
	a.do("POST", "/acknowledgements", many).fails(t, 10002)

	// The older docs answer { }.
	r := a.do("POST", "/acknowledgements", []map[string]string{{"message_id": mid, "status": "DELIVERED"}})
	r.ok(t, nil)
	if string(r.raw) != "{}" {
		t.Fatalf("acknowledgements answer should be {}, got %s", r.raw)
	}
	if s.Pending(alice.UserID) != 0 {
		t.Fatal("ack did not clear alice's queue")
	}
	if err := alice.Ack(ctxT(t), mid, "READ"); err != nil {
		t.Fatal(err)
	}
	// The bot has two receipts pending, keyed by the message id.
	s.mu.Lock()
	pend := append([]*pendingEntry(nil), s.mailboxes[bot.UserID].pending...)
	s.mu.Unlock()
	if len(pend) != 2 || pend[0].receipt == nil || pend[0].receipt.Status != "DELIVERED" || pend[1].receipt.Status != "READ" || pend[1].messageID != mid {
		t.Fatalf("bot pending %+v", pend)
	}
	// An acknowledgement retires the receipt of its status only: the
	// queue is keyed by message and kind.
	c.do("POST", "/acknowledgements", []map[string]string{{"message_id": mid, "status": "READ"}}).ok(t, nil)
	if n := s.Pending(bot.UserID); n != 1 {
		t.Fatalf("pending %d after acknowledging READ; want the DELIVERED receipt left", n)
	}
	c.do("POST", "/acknowledgements", []map[string]string{{"message_id": mid, "status": "DELIVERED"}}).ok(t, nil)
	if s.Pending(bot.UserID) != 0 {
		t.Fatal("receipts not cleared")
	}
	// Acking a message one sent oneself produces no receipt.
	if err := alice.Ack(ctxT(t), uuid.NewString(), "READ"); err != nil {
		t.Fatal(err)
	}
	if s.Pending(bot.UserID) != 0 {
		t.Fatal("phantom receipt")
	}
	if err := alice.Ack(ctxT(t), mid, "bogus"); err == nil {
		t.Fatal("bad status accepted")
	}
	var recs []Request
	for _, r := range s.Requests() {
		if r.Path == "/acknowledgements" {
			recs = append(recs, r)
		}
	}
	if len(recs) != 6 || recs[0].Code != 10002 || recs[1].Code != 400 || recs[3].Code != 0 || recs[3].UserID != alice.UserID {
		b, _ := json.Marshal(recs)
		t.Fatalf("records %s", b)
	}
}
