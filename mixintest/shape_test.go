package mixintest

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
)

// The seed documents' responses (Node SDK docs): our views must carry the
// same keys.
const (
	seedConversation = `{"type":"conversation","conversation_id":"dd219235-e83a-3b85-a13f-d0f20fa0e833","creator_id":"e8e8cd79-cd40-4796-8c54-3a13cfe50115","category":"CONTACT","name":"","icon_url":"","announcement":"","created_at":"2019-12-27T13:13:20.465183257Z","code_id":"","code_url":"","mute_until":"2019-12-27T13:13:20.465185812Z","expire_in":0,"participants":[{"type":"participant","user_id":"11efbb75-e7fe-44d7-a14f-698535289310","role":"","created_at":"2019-12-27T13:13:20.465183257Z"}],"participant_sessions":[{"type":"participant","user_id":"11efbb75-e7fe-44d7-a14f-698535289310","session_id":"afad4c37-b90e-43c2-adc2-e6e1bd31ae94","public_key":"czPRr4JrzeuFsNStu-Nl5KloHQGHs6uluViwfWeojgk"}],"circles":[]}`
	seedMessage      = `{"type":"message","representative_id":"","quote_message_id":"","conversation_id":"dd219235-e83a-3b85-a13f-d0f20fa0e833","user_id":"11efbb75-e7fe-44d7-a14f-698535289310","session_id":"afad4c37-b90e-43c2-adc2-e6e1bd31ae94","message_id":"c81e774b-a762-49f8-9114-35900be2c90e","category":"PLAIN_TEXT","data":"aGVsbG8=","data_base64":"aGVsbG8","status":"","source":"CREATE_MESSAGE","silent":false,"expire_in":0,"created_at":"2022-08-19T03:06:17.363215481Z","updated_at":"2022-08-19T03:06:17.363215481Z"}`
)

// keys lists the JSON keys of an object, and of the first element of each
// array of objects as "field[].key".
func keys(t *testing.T, raw []byte) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var out []string
	for k, v := range m {
		out = append(out, k)
		var arr []map[string]json.RawMessage
		if json.Unmarshal(v, &arr) == nil && len(arr) > 0 {
			for kk := range arr[0] {
				out = append(out, k+"[]."+kk)
			}
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestViewsMatchSeedShapes(t *testing.T) {
	s := NewServer(t, WithBotID("11efbb75-e7fe-44d7-a14f-698535289310"))
	alice := s.NewUserWithID("e8e8cd79-cd40-4796-8c54-3a13cfe50115", "Alice")
	c := newREST(t, s, s.Bot())
	r := c.do("POST", "/conversations", map[string]any{"category": "CONTACT", "conversation_id": "dd219235-e83a-3b85-a13f-d0f20fa0e833",
		"participants": []map[string]string{{"user_id": alice.UserID}}})
	r.ok(t, nil)
	if got, want := keys(t, r.env.Data), keys(t, []byte(seedConversation)); got != want {
		t.Fatalf("conversation keys\n got %s\nwant %s", got, want)
	}
	r = c.do("POST", "/messages", map[string]any{"conversation_id": "dd219235-e83a-3b85-a13f-d0f20fa0e833",
		"message_id": "c81e774b-a762-49f8-9114-35900be2c90e", "category": "PLAIN_TEXT", "data": "aGVsbG8="})
	r.ok(t, nil)
	if got, want := keys(t, r.env.Data), keys(t, []byte(seedMessage)); got != want {
		t.Fatalf("message keys\n got %s\nwant %s", got, want)
	}
	var m map[string]any
	_ = json.Unmarshal(r.env.Data, &m)
	if m["data"] != "aGVsbG8=" || m["data_base64"] != "aGVsbG8" {
		t.Fatalf("payload encodings %v %v", m["data"], m["data_base64"])
	}
}
