package mixintest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func admin(t *testing.T, s *Server, method, path, body string, want int, v any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: HTTP %d %s", method, path, res.StatusCode, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
	}
}

func TestAdminAPI(t *testing.T) {
	s := NewServer(t, WithPathPrefix("/p"))
	var created struct {
		User struct {
			UserID         string `json:"user_id"`
			IdentityNumber string `json:"identity_number"`
		} `json:"user"`
		Keystore keystoreJSON `json:"keystore"`
	}
	id := "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
	admin(t, s, "POST", "/_mixintest/users", `{"full_name":"Zed","user_id":"`+id+`"}`, 200, &created)
	u, ok := s.User(id)
	if !ok || created.User.UserID != id || created.Keystore.SessionID != u.SessionID || created.User.IdentityNumber != u.IdentityNumber {
		t.Fatalf("created %+v", created)
	}
	admin(t, s, "POST", "/_mixintest/users", `{"full_name":"X","user_id":"nope"}`, 400, nil)
	admin(t, s, "POST", "/_mixintest/users", `{`, 400, nil)

	// Sending into a conversation that does not exist is refused like the API.
	admin(t, s, "POST", "/_mixintest/users/"+id+"/messages",
		`{"conversation_id":"`+s.Bot().ContactConversationID(id)+`","category":"PLAIN_TEXT","data_base64":"aGk"}`, 403, nil)
	admin(t, s, "POST", "/_mixintest/users/"+id+"/messages",
		`{"recipient_id":"`+s.Bot().UserID+`","category":"plain_text","data_base64":"aGk"}`, 200, nil)
	if in := s.Bot().Inbox(); len(in) != 1 || in[0].Category != "PLAIN_TEXT" || in[0].UserID != id {
		t.Fatalf("bot inbox %+v", in)
	}
	admin(t, s, "POST", "/_mixintest/users/"+id+"/acknowledgements", `[{"message_id":"x","status":"READ"}]`, 400, nil)
	admin(t, s, "GET", "/_mixintest/conversations/"+s.Bot().ContactConversationID(id), "", 200, nil)
	admin(t, s, "GET", "/_mixintest/conversations/"+id, "", 404, nil)
	admin(t, s, "GET", "/_mixintest/nothing", "", 404, nil)

	// Faults and fail_next drive the REST API.
	c := newREST(t, s, s.Bot())
	admin(t, s, "POST", "/_mixintest/fail_next", `{"method":"GET","path":"/me","n":1,"code":7001}`, 200, nil)
	c.do("GET", "/me", nil).fails(t, 7001)
	var bad struct {
		Error struct {
			Extra map[string]string `json:"extra"`
		} `json:"error"`
	}
	admin(t, s, "POST", "/_mixintest/fail_next", `{"n":-1}`, 400, &bad)
	if bad.Error.Extra["field"] != "n" {
		t.Fatalf("fail_next n -1: %+v, want the field named", bad)
	}
	admin(t, s, "POST", "/_mixintest/fail_next", `{"status":42}`, 400, nil)
	admin(t, s, "POST", "/_mixintest/faults", `{"rate_limit_rate":1,"rate_limit_http":true,"retry_after_ms":2500}`, 200, nil)
	if r := c.do("GET", "/me", nil); r.status != 429 || r.header.Get("Retry-After") != "3" {
		t.Fatalf("faults: %d %v", r.status, r.header)
	}
	admin(t, s, "POST", "/_mixintest/faults", `{}`, 200, nil)
	c.do("GET", "/me", nil).ok(t, nil)
	var recs []Request
	admin(t, s, "GET", "/_mixintest/requests", "", 200, &recs)
	if len(recs) != 3 || recs[0].Code != 7001 || recs[1].Status != 429 || recs[2].Code != 0 {
		t.Fatalf("requests %+v", recs)
	}
	admin(t, s, "DELETE", "/_mixintest/requests", "", 200, nil)
	if len(s.Requests()) != 0 {
		t.Fatal("not reset")
	}
}
