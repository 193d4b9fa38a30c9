package mixintest

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/google/uuid"
)

const (
	acID  = "7404c815-0393-4ea3-b9f2-b08efe4c72da"
	acMsg = "c81e774b-a762-49f8-9114-35900be2c90e"
)

// appCheckCases: for each category a payload the apps show, and broken
// variants with the field the check must name.
var appCheckCases = []struct {
	category mixin.Category
	valid    string
	broken   map[string]string // payload -> field
}{
	{mixin.CategoryPlainText, "hello", map[string]string{"": "data", "  \n": "data", "\xff\xfe": "data"}},
	{mixin.CategoryPlainPost, "# title", map[string]string{"": "data"}},
	{mixin.CategoryPlainImage, `{"attachment_id":"` + acID + `","mime_type":"image/png","width":10,"height":20,"size":5}`, map[string]string{
		`{"attachment_id":"` + acID + `","mime_type":"image/png","width":0,"height":20,"size":5}`:  "width",
		`{"attachment_id":"` + acID + `","mime_type":"image/png","width":10,"size":5}`:             "height",
		`{"attachment_id":"` + acID + `","mime_type":"image/png","width":10,"height":-1,"size":5}`: "height",
		`{"mime_type":"image/png","width":10,"height":20,"size":5}`:                                "attachment_id",
		`{"attachment_id":"","mime_type":"image/png","width":10,"height":20,"size":5}`:             "attachment_id",
		`{"attachment_id":"` + acID + `","mime_type":"image/png","width":10,"height":20}`:          "size",
		`{"attachment_id":"` + acID + `","width":10,"height":20,"size":"5"}`:                       "size",
		`[1,2]`: "data",
	}},
	{mixin.CategoryPlainVideo, `{"attachment_id":"` + acID + `","mime_type":"video/mp4","width":1280,"height":720,"size":5,"duration":60000}`, map[string]string{
		`{"attachment_id":"` + acID + `","mime_type":"video/mp4","width":1280,"height":720,"size":5,"duration":60}`: "duration",
		`{"attachment_id":"` + acID + `","mime_type":"video/mp4","width":1280,"height":720,"size":5}`:               "duration",
		`{"attachment_id":"` + acID + `","mime_type":"video/mp4","height":720,"size":5,"duration":60000}`:           "width",
	}},
	{mixin.CategoryPlainData, `{"attachment_id":"` + acID + `","mime_type":"text/plain","size":5,"name":"a.txt"}`, map[string]string{
		`{"attachment_id":"` + acID + `","mime_type":"text/plain","size":0,"name":"a.txt"}`: "size",
		`{"mime_type":"text/plain","size":5}`:                                               "attachment_id",
		`"file"`:                                                                            "data",
	}},
	{mixin.CategoryPlainAudio, `{"attachment_id":"` + acID + `","mime_type":"audio/ogg","size":5,"duration":3000}`, map[string]string{
		`{"attachment_id":"` + acID + `","mime_type":"audio/ogg","size":5}`:                "duration",
		`{"attachment_id":"` + acID + `","mime_type":"audio/ogg","size":1.5,"duration":1}`: "size",
	}},
	{mixin.CategoryPlainSticker, `{"sticker_id":"` + strings.ToUpper(acID) + `"}`, map[string]string{
		`{"album_id":"` + acID + `","name":"wave"}`: "sticker_id",
		`{"sticker_id":"wave"}`:                     "sticker_id",
		`{"sticker_id":null}`:                       "sticker_id",
	}},
	{mixin.CategoryPlainContact, `{"user_id":"` + acID + `"}`, map[string]string{
		`{"user_id":"7000"}`: "user_id",
		`{}`:                 "user_id",
	}},
	{mixin.CategoryPlainLocation, `{"latitude":0,"longitude":2.5,"name":"n"}`, map[string]string{
		`{"latitude":0,"longitude":0}`:   "latitude",
		`{"longitude":1}`:                "latitude",
		`{"latitude":1,"longitude":"2"}`: "longitude",
	}},
	{mixin.CategoryPlainLive, `{"width":650,"height":366,"thumb_url":"https://x.test/t.png","url":"https://x.test/l.m3u8"}`, map[string]string{
		`{"width":0,"height":366,"thumb_url":"https://x.test/t.png","url":"https://x.test/l.m3u8"}`: "width",
		`{"width":650,"thumb_url":"https://x.test/t.png","url":"https://x.test/l.m3u8"}`:            "height",
		`{"width":650,"height":366,"url":"https://x.test/l.m3u8"}`:                                  "thumb_url",
		`{"width":650,"height":366,"thumb_url":"https://x.test/t.png"}`:                             "url",
	}},
	{mixin.CategoryPlainTranscript, `[{"transcript_id":"` + acMsg + `","message_id":"` + acID + `","category":"PLAIN_TEXT","content":"hi","created_at":"2022-08-19T03:06:17Z"}]`, map[string]string{
		`[{"transcript_id":"","message_id":"` + acID + `","category":"PLAIN_TEXT","created_at":"2022-08-19T03:06:17Z"}]`:             "transcript_id",
		`[{"message_id":"` + acID + `","category":"PLAIN_TEXT","created_at":"2022-08-19T03:06:17Z"}]`:                                "transcript[0].transcript_id",
		`[{"transcript_id":"` + acID + `","message_id":"` + acID + `","category":"PLAIN_TEXT","created_at":"2022-08-19T03:06:17Z"}]`: "transcript_id",
		`[{"transcript_id":"` + acMsg + `","message_id":"` + acID + `","category":"PLAIN_TEXT"}]`:                                    "transcript[0].created_at",
		`[{"transcript_id":"` + acMsg + `","category":"PLAIN_TEXT","created_at":"2022-08-19T03:06:17Z"}]`:                            "transcript[0].message_id",
		`{"transcript_id":"` + acMsg + `"}`: "data",
	}},
	{mixin.CategoryAppCard, `{"app_id":"` + acID + `","title":"t","description":"d","actions":[],"shareable":true,"updated_at":"2024-09-28T15:49:14+10:00"}`, map[string]string{
		`{"app_id":"` + acID + `","title":"t","description":"d","actions":[]}`:                                                         "shareable",
		`{"app_id":"` + acID + `","title":"t","description":"d","shareable":true}`:                                                     "actions",
		`{"title":"t","description":"d","actions":[],"shareable":true}`:                                                                "app_id",
		`{"app_id":"x","title":"t","description":"d","actions":[],"shareable":true}`:                                                   "app_id",
		`{"app_id":"` + acID + `","title":"t","description":"d","actions":[{"label":"l","action":"https://x.test"}],"shareable":true}`: "actions[0].color",
		`{"app_id":"` + acID + `","title":"t","description":"d","action":"https://x.test","shareable":true}`:                           "icon_url",
		`{"app_id":"` + acID + `","icon_url":"https://x.test/i.png","title":"t","description":"d","action":"https://x.test"}`:          "shareable",
		`{"app_id":"` + acID + `","icon_url":"https://x.test/i.png","title":"t","action":"https://x.test","shareable":true}`:           "description",
	}},
	{mixin.CategoryAppButtonGroup, `[{"label":"l","color":"#FF0000","action":"https://x.test"},{"label":"m","color":"red","action":"input:hi"}]`, map[string]string{
		`[{"label":"l","color":"#F00","action":"https://x.test"}]`: "buttons[0].color",
		`[{"label":"l","action":"https://x.test"}]`:                "buttons[0].color",
		`[{"color":"#FF0000","action":"https://x.test"}]`:          "buttons[0].label",
		`[]`: "data",
		`{}`: "data",
	}},
	{mixin.CategoryMessageRecall, `{"message_id":"` + acID + `"}`, map[string]string{`{}`: "message_id"}},
	{mixin.CategoryMessagePin, `{"action":"PIN","message_ids":["` + acID + `"]}`, map[string]string{
		`{"action":"pin","message_ids":["` + acID + `"]}`: "action",
		`{"action":"UNPIN"}`:                              "message_ids",
		`{"action":"PIN","message_ids":[1]}`:              "message_ids[0]",
	}},
	{"PLAIN_JSON", `{"action":"ACKNOWLEDGE_MESSAGE_RECEIPTS"}`, nil},
	{"PLAIN_HOLOGRAM", "", map[string]string{"{}": "category"}},
}

func TestAppCheckRules(t *testing.T) {
	for _, tc := range appCheckCases {
		t.Run(string(tc.category), func(t *testing.T) {
			if tc.valid != "" || tc.broken == nil {
				if got := checkMessage(tc.category, acMsg, []byte(tc.valid)); len(got) != 0 {
					t.Errorf("valid payload flagged: %v", got)
				}
			}
			for data, field := range tc.broken {
				got := checkMessage(tc.category, acMsg, []byte(data))
				if len(got) == 0 {
					t.Errorf("%s not caught", data)
					continue
				}
				fields := make([]string, len(got))
				for i, p := range got {
					fields[i] = p.Field
					if p.Reason == "" || p.App == "" || !strings.Contains(p.Source, "-app ") && !strings.HasPrefix(p.Source, "docs") {
						t.Errorf("%s: problem without reason, app or source: %+v", data, p)
					}
				}
				if !strings.Contains(" "+strings.Join(fields, " ")+" ", " "+field+" ") {
					t.Errorf("%s: fields %v, want %s", data, fields, field)
				}
			}
		})
	}
	// ENCRYPTED_* plaintext is checked as its PLAIN_* counterpart.
	if got := checkMessage(mixin.CategoryEncryptedSticker, acMsg, []byte(`{}`)); len(got) != 1 || got[0].Field != "sticker_id" {
		t.Errorf("encrypted sticker: %v", got)
	}
}

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
// the owning test, naming the field and what the apps do, and is listed by
// Problems, the hook and the admin API.
func TestAppCheckReportsToOwner(t *testing.T) {
	tb := &recordingTB{TB: t}
	var hooked []Problem
	s := NewServer(tb, WithProblemHook(func(p Problem) { hooked = append(hooked, p) }))
	bot, alice := s.Bot(), s.NewUser("Alice")
	conv := createContact(t, s, bot, alice)
	ctx := context.Background()

	// A simulated user, REST as the bot, and the admin API.
	if _, err := alice.Send(ctx, MessageRequest{ConversationID: conv, Category: mixin.CategoryPlainSticker, Data: []byte(`{"name":"wave"}`)}); err != nil {
		t.Fatal(err)
	}
	video := `{"attachment_id":"` + acID + `","mime_type":"video/mp4","width":1,"height":1,"size":1,"duration":60}`
	newREST(t, s, bot).do("POST", "/messages", map[string]any{"conversation_id": conv, "message_id": uuid.NewString(),
		"category": "PLAIN_VIDEO", "data_base64": base64.RawURLEncoding.EncodeToString([]byte(video))}).ok(t, nil)
	admin(t, s, "POST", "/_mixintest/users/"+alice.ID+"/messages",
		`{"conversation_id":"`+conv+`","category":"PLAIN_TEXT","data_base64":""}`, 200, nil)
	// A valid message is not reported.
	if _, err := alice.SendText(ctx, bot.ID, "fine"); err != nil {
		t.Fatal(err)
	}

	probs := s.Problems()
	want := []struct {
		category mixin.Category
		field    string
		user     string
	}{{mixin.CategoryPlainSticker, "sticker_id", alice.ID}, {mixin.CategoryPlainVideo, "duration", bot.ID}, {mixin.CategoryPlainText, "data", alice.ID}}
	if len(probs) != len(want) {
		t.Fatalf("problems %v", probs)
	}
	for i, w := range want {
		p := probs[i]
		if p.Category != w.category || p.Field != w.field || p.UserID != w.user || p.ConversationID != conv || !validUUID(p.MessageID) {
			t.Errorf("problem %d = %+v, want %s %s from %s", i, p, w.category, w.field, w.user)
		}
	}
	errs := tb.errors()
	if len(errs) != 3 || !strings.Contains(errs[1], "duration") || !strings.Contains(errs[1], "milliseconds") ||
		!strings.Contains(errs[1], "the real API accepts it") {
		t.Fatalf("owner errors %q", errs)
	}
	if len(hooked) != 3 || hooked[0] != probs[0] {
		t.Fatalf("hook saw %v", hooked)
	}
	var served []Problem
	admin(t, s, "GET", "/_mixintest/problems", "", 200, &served)
	if len(served) != 3 || served[2] != probs[2] {
		t.Fatalf("admin problems %v", served)
	}
	admin(t, s, "DELETE", "/_mixintest/problems", "", 200, nil)
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
