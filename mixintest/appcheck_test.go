package mixintest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/google/uuid"
)

// recordingTB stands in for the test that owns a server: it records what
// the server reports instead of failing.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

// Every message accepted, from any client, is checked; a broken one fails
// the owning test, naming the field and what the apps do, a warning is only
// logged, and both are listed by Problems, the hook and the admin API.
func TestAppCheckReportsToOwner(t *testing.T) {
	tb := &recordingTB{TB: t}
	var hooked []Problem
	s := NewServer(tb, WithProblemHook(func(p Problem) { hooked = append(hooked, p) }))
	bot, alice := s.Bot(), s.NewUser("Alice")
	conv := createContact(t, s, bot, alice)
	ctx := context.Background()

	// Empty lists are [], not null.
	s.ResetRequests()
	for _, path := range []string{"/_mixintest/problems", "/_mixintest/requests", "/_mixintest/users/" + alice.UserID + "/inbox"} {
		var empty []json.RawMessage
		admin(t, s, "GET", path, "", 200, &empty)
		if empty == nil {
			t.Fatalf("GET %s answered null, not []", path)
		}
	}
	// A simulated user, REST as the bot, and the admin API.
	if _, err := alice.Send(ctx, MessageRequest{ConversationID: conv, Category: mixin.CategoryPlainSticker, Data: []byte(`{"name":"wave"}`)}); err != nil {
		t.Fatal(err)
	}
	video := `{"attachment_id":"` + acID + `","mime_type":"video/mp4","width":1,"height":1,"size":1,"duration":60}`
	newREST(t, s, bot).do("POST", "/messages", map[string]any{"conversation_id": conv, "message_id": uuid.NewString(),
		"category": "PLAIN_VIDEO", "data_base64": base64.RawURLEncoding.EncodeToString([]byte(video))}).ok(t, nil)
	admin(t, s, "POST", "/_mixintest/users/"+alice.UserID+"/messages",
		`{"conversation_id":"`+conv+`","category":"PLAIN_TEXT","data_base64":""}`, 200, nil)
	// A valid message is not reported.
	if _, err := alice.SendText(ctx, bot.UserID, "fine"); err != nil {
		t.Fatal(err)
	}

	probs := s.Problems()
	want := []struct {
		kind     ProblemKind
		category mixin.Category
		field    string
		user     string
	}{
		{ProblemKindBroken, mixin.CategoryPlainSticker, "sticker_id", alice.UserID},
		{ProblemKindWarning, mixin.CategoryPlainVideo, "duration", bot.UserID},
		{ProblemKindWarning, mixin.CategoryPlainText, "data", alice.UserID},
	}
	if len(probs) != len(want) {
		t.Fatalf("problems %v", probs)
	}
	for i, w := range want {
		p := probs[i]
		if p.Kind != w.kind || p.Category != w.category || p.Field != w.field || p.UserID != w.user || p.ConversationID != conv || !validUUID(p.MessageID) {
			t.Errorf("problem %d = %+v, want %s %s %s from %s", i, p, w.kind, w.category, w.field, w.user)
		}
	}
	// Only the broken message fails the owner; the warnings are logged.
	errs := tb.errors()
	if len(errs) != 1 || !strings.Contains(errs[0], "sticker_id") || !strings.Contains(errs[0], "the real API accepts it") {
		t.Fatalf("owner errors %q", errs)
	}
	if len(hooked) != 3 || hooked[0] != probs[0] {
		t.Fatalf("hook saw %v", hooked)
	}
	var served []Problem
	admin(t, s, "GET", "/_mixintest/problems", "", 200, &served)
	if len(served) != 3 || served[2] != probs[2] || served[1].Kind != ProblemKindWarning {
		t.Fatalf("admin problems %v", served)
	}
	// Both DELETEs of the admin API answer alike.
	var delProblems, delRequests map[string]bool
	admin(t, s, "DELETE", "/_mixintest/problems", "", 200, &delProblems)
	admin(t, s, "DELETE", "/_mixintest/requests", "", 200, &delRequests)
	if !delProblems["ok"] || !delRequests["ok"] {
		t.Fatalf("DELETE answers %v and %v", delProblems, delRequests)
	}
	if len(s.Problems()) != 0 {
		t.Fatal("problems not reset")
	}
}

func TestWithoutAppCheck(t *testing.T) {
	tb := &recordingTB{TB: t}
	s := NewServer(tb, WithoutAppCheck())
	bot, alice := s.Bot(), s.NewUser("Alice")
	conv := createContact(t, s, bot, alice)
	if _, err := alice.Send(context.Background(), MessageRequest{ConversationID: conv, Category: mixin.CategoryPlainImage, Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if p, e := s.Problems(), tb.errors(); len(p) != 0 || len(e) != 0 {
		t.Fatalf("check not off: %v %q", p, e)
	}
	if len(alice.Inbox())+len(bot.Inbox()) != 1 {
		t.Fatal("the message is still delivered")
	}
}

// The real API accepts what the apps show broken: the message is delivered
// and the sender gets success.
func TestAppCheckDoesNotRefuse(t *testing.T) {
	tb := &recordingTB{TB: t}
	s := NewServer(tb)
	bot, alice := s.Bot(), s.NewUser("Alice")
	conv := createContact(t, s, bot, alice)
	r := newREST(t, s, bot).do("POST", "/messages", map[string]any{"conversation_id": conv, "message_id": uuid.NewString(),
		"category": "PLAIN_LIVE", "data_base64": base64.RawURLEncoding.EncodeToString([]byte(`{"width":0}`))})
	if r.status != http.StatusOK || r.env.Error != nil || len(alice.Inbox()) != 1 {
		t.Fatalf("refused: %s", r.raw)
	}
	if len(tb.errors()) == 0 {
		t.Fatal("not reported")
	}
}
