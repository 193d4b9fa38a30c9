package recent_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/recent"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const token = "0123456789abcdef-token"

type apiFixture struct {
	header  http.Header // of the last answer to post
	r       *recent.Tracker
	srv     *httptest.Server
	contact string
	alice   string
	f       *msgs
}

func newAPI(t *testing.T, opts ...recent.HandlerOption) *apiFixture {
	r := newTracker(t, sqliteOpener(t, nil)(t), recent.WithMessages(3))
	if opts == nil {
		opts = []recent.HandlerOption{recent.WithBearerToken(token)}
	}
	h, err := r.Handler(opts...)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	alice := mixin.NewUUID()
	return &apiFixture{r: r, srv: srv, alice: alice, contact: mixin.UniqueConversationID(alice, recentBot), f: newMsgs()}
}

// post sends body and decodes the answer into out (if not nil); it
// returns the status.
func (a *apiFixture) post(t *testing.T, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, a.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a.header = resp.Header
	assert.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out), string(b))
	}
	return resp.StatusCode
}

type errBody struct {
	Msg    string `json:"msg"`
	Status int    `json:"status"`
}

func TestHTTPSyncShapes(t *testing.T) {
	a := newAPI(t)
	ctx := t.Context()
	for _, text := range []string{"one", "two", "three", "four"} {
		require.NoError(t, a.r.Record(ctx, a.f.text(a.contact, a.alice, text)))
	}
	require.NoError(t, a.r.Record(ctx, a.f.text("group-1", a.alice, "in the group")))
	sent := a.f.text("group-1", recentBot, "bot answer")
	require.NoError(t, a.r.RecordSent(ctx, sent))

	// The raw JSON has exactly the seed's fields.
	var raw []map[string]any
	require.Equal(t, http.StatusOK, a.post(t, "/conversation/sync", `{"uid":"`+recentBot+`","version":0,"msg_count":20}`, &raw))
	require.Len(t, raw, 2)
	keys := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		return out
	}
	assert.ElementsMatch(t, []string{"channel_id", "channel_type", "unread", "timestamp", "last_msg_seq", "last_client_msg_no", "version", "recents"}, keys(raw[0]))
	msg := raw[0]["recents"].([]any)[0].(map[string]any)
	assert.ElementsMatch(t, []string{"header", "setting", "message_id", "client_msg_no", "message_seq", "from_uid", "channel_id", "channel_type", "timestamp", "payload"}, keys(msg))
	assert.ElementsMatch(t, []string{"no_persist", "red_dot", "sync_once"}, keys(msg["header"].(map[string]any)))

	type message struct {
		Header      map[string]int `json:"header"`
		MessageID   uint64         `json:"message_id"`
		ClientMsgNo string         `json:"client_msg_no"`
		MessageSeq  uint64         `json:"message_seq"`
		FromUID     string         `json:"from_uid"`
		ChannelID   string         `json:"channel_id"`
		ChannelType int            `json:"channel_type"`
		Timestamp   int64          `json:"timestamp"`
		Payload     string         `json:"payload"`
	}
	type conv struct {
		ChannelID       string    `json:"channel_id"`
		ChannelType     int       `json:"channel_type"`
		Unread          int       `json:"unread"`
		Timestamp       int64     `json:"timestamp"`
		LastMsgSeq      uint64    `json:"last_msg_seq"`
		LastClientMsgNo string    `json:"last_client_msg_no"`
		Version         uint64    `json:"version"`
		Recents         []message `json:"recents"`
	}
	var got []conv
	require.Equal(t, http.StatusOK, a.post(t, "/conversation/sync", `{"uid":"`+recentBot+`","version":0,"msg_count":20}`, &got))
	c, g := got[0], got[1]
	assert.Equal(t, a.contact, c.ChannelID)
	assert.Equal(t, 1, c.ChannelType, "contact")
	assert.Equal(t, 4, c.Unread)
	assert.Equal(t, uint64(4), c.LastMsgSeq)
	assert.Equal(t, uint64(4), c.Version)
	require.Len(t, c.Recents, 3, "the tracker keeps 3 per conversation")
	assert.Equal(t, uint64(2), c.Recents[0].MessageSeq)
	p, err := base64.StdEncoding.DecodeString(c.Recents[2].Payload)
	require.NoError(t, err)
	assert.Equal(t, "four", string(p))
	assert.Equal(t, c.Recents[2].ClientMsgNo, c.LastClientMsgNo)
	assert.Equal(t, a.alice, c.Recents[2].FromUID)
	assert.Equal(t, 1, c.Recents[2].Header["red_dot"])
	assert.Equal(t, c.Timestamp, c.Recents[2].Timestamp)
	assert.Equal(t, int64(1767225604), c.Timestamp, "10-digit seconds")
	assert.Equal(t, 2, g.ChannelType, "group")
	assert.Equal(t, sent.MessageID, g.LastClientMsgNo)
	assert.Equal(t, 0, g.Recents[1].Header["red_dot"], "the bot's own message")
	assert.NotEqual(t, g.Recents[0].MessageID, g.Recents[1].MessageID)

	// msg_count and last_msg_seqs narrow the recents.
	require.Equal(t, http.StatusOK, a.post(t, "/conversation/sync", `{"uid":"`+recentBot+`","version":0,"msg_count":1}`, &got))
	assert.Len(t, got[0].Recents, 1)
	assert.Equal(t, uint64(4), got[0].Recents[0].MessageSeq, "the newest")
	require.Equal(t, http.StatusOK, a.post(t, "/conversation/sync",
		`{"uid":"`+recentBot+`","version":0,"msg_count":20,"last_msg_seqs":"`+a.contact+`:1:3|group-1:2:2"}`, &got))
	require.Len(t, got[0].Recents, 1)
	assert.Equal(t, uint64(4), got[0].Recents[0].MessageSeq, "only after the client's last_msg_seq")
	assert.Empty(t, got[1].Recents)

	// Incremental: only what changed since the version.
	require.Equal(t, http.StatusOK, a.post(t, "/conversations/setUnread",
		`{"uid":"`+recentBot+`","channel_id":"`+a.contact+`","channel_type":1,"unread":0}`, nil))
	require.Equal(t, http.StatusOK, a.post(t, "/conversation/sync", `{"uid":"`+recentBot+`","version":6}`, &got))
	require.Len(t, got, 1)
	assert.Equal(t, a.contact, got[0].ChannelID)
	assert.Equal(t, 0, got[0].Unread)
	assert.Equal(t, uint64(7), got[0].Version)
	require.Equal(t, http.StatusOK, a.post(t, "/conversation/sync", `{"uid":"`+recentBot+`","version":7}`, &got))
	assert.Empty(t, got)
	var rawEmpty json.RawMessage
	a.post(t, "/conversation/sync", `{"uid":"`+recentBot+`","version":7}`, &rawEmpty)
	assert.Equal(t, "[]", strings.TrimSpace(string(rawEmpty)), "an empty list, not null")
}

func TestHTTPSetUnreadAndDelete(t *testing.T) {
	a := newAPI(t)
	ctx := t.Context()
	require.NoError(t, a.r.Record(ctx, a.f.text(a.contact, a.alice, "hi")))
	var ok map[string]int
	require.Equal(t, http.StatusOK, a.post(t, "/conversations/setUnread",
		`{"uid":"`+recentBot+`","channel_id":"`+a.contact+`","channel_type":1,"unread":7}`, &ok))
	assert.Equal(t, map[string]int{"status": 200}, ok)
	c, _ := get(t, a.r, a.contact)
	assert.Equal(t, 7, c.Unread)

	require.Equal(t, http.StatusOK, a.post(t, "/conversations/delete", `{"uid":"`+recentBot+`","channel_id":"`+a.contact+`","channel_type":1}`, &ok))
	_, found := get(t, a.r, a.contact)
	assert.False(t, found)
	require.Equal(t, http.StatusOK, a.post(t, "/conversations/delete", `{"uid":"`+recentBot+`","channel_id":"`+a.contact+`","channel_type":1}`, &ok), "deleting twice is fine")
	var e errBody
	require.Equal(t, http.StatusBadRequest, a.post(t, "/conversations/setUnread",
		`{"uid":"`+recentBot+`","channel_id":"`+a.contact+`","channel_type":1,"unread":0}`, &e))
	assert.Contains(t, e.Msg, "unknown channel")

	var got []map[string]any
	require.Equal(t, http.StatusOK, a.post(t, "/conversation/sync", `{"uid":"`+recentBot+`","version":0}`, &got))
	assert.Empty(t, got, "a deleted conversation is not synced")
}

func TestHTTPBadInput(t *testing.T) {
	a := newAPI(t)
	require.NoError(t, a.r.Record(t.Context(), a.f.text(a.contact, a.alice, "hi")))
	cases := []struct {
		path, body, msg string
	}{
		{"/conversation/sync", `{"uid":"` + recentBot + `",`, "not valid JSON"},
		{"/conversation/sync", ``, "empty"},
		{"/conversation/sync", `[1,2]`, "must be a JSON object"},
		{"/conversation/sync", `{"uid":"someone-else","version":0}`, "uid must be the bot's user id"},
		{"/conversation/sync", `{"uid":"` + recentBot + `","verison":12}`, `unknown field "verison": the fields are uid, version, last_msg_seqs, msg_count`},
		{"/conversation/sync", `{"Version":3,"extra":1,"also":2}`, `unknown field "also", "extra"`},
		{"/conversation/sync", `{"version":0} {"version":1}`, "not valid JSON"},
		{"/conversation/sync", `{"uid":5}`, "uid must be a string"},
		{"/conversation/sync", `{"uid":"` + recentBot + `","version":"12"}`, "version must be an integer"},
		{"/conversation/sync", `{"uid":"` + recentBot + `","version":-1}`, "version must not be negative"},
		{"/conversation/sync", `{"uid":"` + recentBot + `","version":1.5}`, "version must be an integer"},
		{"/conversation/sync", `{"uid":"` + recentBot + `","msg_count":-3}`, "msg_count must not be negative"},
		{"/conversation/sync", `{"uid":"` + recentBot + `","last_msg_seqs":"abc"}`, "not channelID:channelType:last_msg_seq"},
		{"/conversation/sync", `{"uid":"` + recentBot + `","last_msg_seqs":"abc:9:1"}`, "channel type"},
		{"/conversation/sync", `{"uid":"` + recentBot + `","last_msg_seqs":"abc:1:x"}`, "last_msg_seq"},
		{"/conversation/sync", `{"uid":"` + recentBot + `","last_msg_seqs":7}`, "last_msg_seqs must be a string"},
		{"/conversations/setUnread", `{"uid":"` + recentBot + `","channel_id":"nope","channel_type":1,"unread":0}`, "unknown channel"},
		{"/conversations/setUnread", `{"uid":"` + recentBot + `","channel_id":"` + a.contact + `","channel_type":2,"unread":0}`, "unknown channel"},
		{"/conversations/setUnread", `{"uid":"` + recentBot + `","channel_id":"` + a.contact + `","channel_type":1}`, "unread is required"},
		{"/conversations/setUnread", `{"uid":"` + recentBot + `","channel_id":"` + a.contact + `","channel_type":1,"unread":-1}`, "unread must not be negative"},
		{"/conversations/setUnread", `{"uid":"` + recentBot + `","channel_id":"` + a.contact + `","channel_type":1,"unread":"0"}`, "unread must be an integer"},
		{"/conversations/setUnread", `{"uid":"` + recentBot + `","channel_id":"` + a.contact + `","channel_type":3,"unread":0}`, "channel_type 3"},
		{"/conversations/delete", `{"uid":"` + recentBot + `","channel_id":"` + a.contact + `"}`, "channel_type is required"},
		{"/conversations/delete", `{"uid":"` + recentBot + `","channel_type":1}`, "channel_id is required"},
		{"/conversations/delete", `{"uid":"someone-else","channel_id":"x","channel_type":1}`, "uid must be the bot's user id"},
		{"/conversations/delete", `{"channel_id":"` + a.contact + `","channel_type":1,"unread":0}`, `unknown field "unread": the fields are uid, channel_id, channel_type`},
		{"/conversations/setUnread", `{"channel_id":"` + a.contact + `","channel_type":1,"unraed":0}`, `unknown field "unraed"`},
		{"/conversations/delete", `{"uid":"` + recentBot + `","channel_id":42,"channel_type":1}`, "channel_id must be a string"},
		{"/conversations/delete", `{"uid":"` + recentBot + `","channel_id":"nope","channel_type":2}`, "unknown channel"},
	}
	for _, tc := range cases {
		var e errBody
		status := a.post(t, tc.path, tc.body, &e)
		assert.Equal(t, http.StatusBadRequest, status, tc.body)
		assert.Equal(t, http.StatusBadRequest, e.Status, tc.body)
		assert.Contains(t, e.Msg, tc.msg, tc.body)
	}
	var e errBody
	assert.Equal(t, http.StatusRequestEntityTooLarge, a.post(t, "/conversation/sync", `{"uid":"`+strings.Repeat("x", 2<<20)+`"}`, &e))
	assert.Equal(t, http.StatusNotFound, a.post(t, "/conversations/list", `{}`, &e))
	assert.Equal(t, 404, e.Status)
	c, _ := get(t, a.r, a.contact)
	assert.Equal(t, 1, c.Unread, "nothing changed")
}

func TestHTTPAuth(t *testing.T) {
	do := func(t *testing.T, url, method, auth string) (int, errBody) {
		req, err := http.NewRequestWithContext(t.Context(), method, url+"/conversation/sync", strings.NewReader(`{"uid":"`+recentBot+`"}`))
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var e errBody
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e
	}
	t.Run("no authentication is an error", func(t *testing.T) {
		r := newTracker(t, sqliteOpener(t, nil)(t))
		for _, opts := range [][]recent.HandlerOption{nil, {nil}} {
			h, err := r.Handler(opts...)
			var fe *mixin.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, "authentication", fe.Field)
			assert.Nil(t, h)
		}
	})
	t.Run("bearer token", func(t *testing.T) {
		a := newAPI(t)
		for _, auth := range []string{"", "Bearer wrong-token-wrong-token", "Basic " + token, token, "Bearer " + token + "x"} {
			status, _ := do(t, a.srv.URL, http.MethodPost, auth)
			assert.Equal(t, http.StatusUnauthorized, status, auth)
		}
		status, _ := do(t, a.srv.URL, http.MethodPost, "Bearer "+token)
		assert.Equal(t, http.StatusOK, status)
		status, e := do(t, a.srv.URL, http.MethodPost, "Bearer anything-at-all-here")
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.Equal(t, errBody{Msg: "unauthorized", Status: 401}, e)
		status, e = do(t, a.srv.URL, http.MethodGet, "Bearer "+token)
		assert.Equal(t, http.StatusMethodNotAllowed, status)
		assert.Equal(t, 405, e.Status)
	})
	t.Run("authorizer", func(t *testing.T) {
		a := newAPI(t, recent.WithAuthorizer(func(r *http.Request) error {
			if r.Header.Get("Authorization") == "Dashboard ok" {
				return nil
			}
			return errors.New("secret reason")
		}))
		status, e := do(t, a.srv.URL, http.MethodPost, "Dashboard no")
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.NotContains(t, e.Msg, "secret reason")
		status, _ = do(t, a.srv.URL, http.MethodPost, "Dashboard ok")
		assert.Equal(t, http.StatusOK, status)
	})
	t.Run("bad options", func(t *testing.T) {
		r := newTracker(t, sqliteOpener(t, nil)(t))
		_, err := r.Handler(recent.WithBearerToken("short"))
		assert.ErrorIs(t, err, mixin.ErrInvalidInput)
		_, err = r.Handler(recent.WithBearerToken(strings.Repeat("x", recent.MinTokenLength-1)))
		assert.ErrorIs(t, err, mixin.ErrInvalidInput, "one under the minimum")
		_, err = r.Handler(recent.WithBearerToken(strings.Repeat("x", recent.MinTokenLength)))
		assert.NoError(t, err, "the minimum")
		_, err = r.Handler(recent.WithBearerToken("a token with spaces in it"))
		assert.ErrorIs(t, err, mixin.ErrInvalidInput, "never matches an Authorization header")
		_, err = r.Handler(recent.WithAuthorizer(nil))
		assert.ErrorIs(t, err, mixin.ErrInvalidInput)
	})
}

func TestHTTPStoreFailureIsNot500(t *testing.T) {
	db := sqliteOpener(t, nil)(t)
	r := newTracker(t, db)
	h, err := r.Handler(recent.WithBearerToken(token))
	require.NoError(t, err)
	require.NoError(t, db.Close())
	require.NoError(t, db.SQL().Close())
	req := httptest.NewRequest(http.MethodPost, "/conversation/sync", strings.NewReader(`{"uid":"`+recentBot+`"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	var e errBody
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e))
	assert.Equal(t, 503, e.Status)
	assert.NotContains(t, e.Msg, "sql")
}
