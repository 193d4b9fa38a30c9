package mixin_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// assertLossless decodes a documented JSON sample into v and checks that
// every documented field comes back with its value when v is encoded.
func assertLossless(t *testing.T, doc string, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal([]byte(doc), v))
	out, err := json.Marshal(v)
	require.NoError(t, err)
	var want, got map[string]any
	require.NoError(t, json.Unmarshal([]byte(doc), &want))
	require.NoError(t, json.Unmarshal(out, &got))
	for k, w := range want {
		if !reflect.DeepEqual(w, got[k]) {
			t.Errorf("field %q: documented %v, decoded and encoded %v", k, w, got[k])
		}
	}
}

// noRequest runs fn and checks it returned a *FieldError without a request.
func noRequest(t *testing.T, s *mixintest.Server, field string, fn func() error) {
	t.Helper()
	before := len(s.Requests())
	err := fn()
	var fe *mixin.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("want *FieldError for %s, got %v", field, err)
	}
	assert.True(t, strings.HasPrefix(fe.Field, field), "field %q, want %q", fe.Field, field)
	assert.Equal(t, before, len(s.Requests()), "a request was sent")
}

// Samples from developers.mixin.one (docs/_partials/_resp.user-extra.md, a
// trailing comma removed; _resp.codes-user.md).
const (
	docUserExtra = `{"type":"user","user_id":"773e5e77-4107-45c2-b648-8fc722ed77f5","identity_number":"7000",
	"phone":"+8613801380138","full_name":"Team Mixin","biography":"",
	"avatar_url":"https://images.mixin.one/E2y0BnTopFK9qey0YI-8xV3M82kudNnTaGw0U5SU065864SsewNUo6fe9kDF1HIzVYhXqzws4lBZnLj1lPsjk-0=s256",
	"relationship":"STRANGER","mute_until":"0001-01-01T00:00:00Z","created_at":"2017-12-23T18:23:26.996149Z",
	"is_verified":true,"session_id":"a34c07a9-755d-4b54-94c5-e45e9a2dd43e","pin_token":"",
	"code_id":"dabcf1c2-6a5e-4ea3-ad51-6e6641a06c7c","code_url":"https://mixin.one/codes/dabcf1c2-6a5e-4ea3-ad51-6e6641a06c7c",
	"has_pin":true,"has_emergency_contact":true,"receive_message_source":"CONTACTS",
	"accept_conversation_source":"CONTACTS","fiat_currency":"USD","transfer_notification_threshold":0}`
	docCodeUser = `{"type":"user","user_id":"44d9717d-8cae-4004-98a1-f9ad544dcfb1","identity_number":"25566","phone":"",
	"full_name":"Name","biography":"Bio",
	"avatar_url":"https://images.mixin.one/7RKXjQPvFDSiTXVP4EMyEHK2xDPEcgBM0ZlY-ft_8FxWgmFCAhumR9dtX-BYfwAJ5KtfOF1AujmPbyFC6ZX1l2d_ELwynAgu2-0F=s256",
	"relationship":"","mute_until":"0001-01-01T00:00:00Z","created_at":"2017-11-28T08:05:49.959425563Z",
	"is_verified":false,"is_scam":false}`
)

func TestUserDocSampleLossless(t *testing.T) {
	var u mixin.User
	// omitempty drops the zero-valued documented fields pin_token, biography,
	// transfer_notification_threshold; check the rest.
	doc := strings.NewReplacer(`"pin_token":"",`, ``, `"biography":"",`, ``, `,"transfer_notification_threshold":0`, ``).Replace(docUserExtra)
	assertLossless(t, doc, &u)
	assert.Equal(t, mixin.MessageSourceContacts, u.ReceiveMessageSource)
}

func TestCodeDocSampleLossless(t *testing.T) {
	var c mixin.Code
	require.NoError(t, json.Unmarshal([]byte(docCodeUser), &c))
	require.Equal(t, mixin.CodeTypeUser, c.Type)
	require.NotNil(t, c.User)
	assert.Nil(t, c.Conversation)
	assert.Equal(t, "Bio", c.User.Biography)
	var u mixin.User
	assertLossless(t, strings.Replace(docCodeUser, `"relationship":"",`, ``, 1), &u)
	out, err := json.Marshal(c)
	require.NoError(t, err)
	assert.JSONEq(t, docCodeUser, string(out), "Code encodes back to what was received")

	var other mixin.Code
	payment := `{"type":"payment","trace_id":"x","amount":"1"}`
	require.NoError(t, json.Unmarshal([]byte(payment), &other))
	assert.Equal(t, mixin.CodeType("payment"), other.Type, "a type the SDK has no constant for is kept as received")
	assert.Nil(t, other.User)
	assert.JSONEq(t, payment, string(other.Raw))
}

// apiCodeOf is the Mixin code of an *APIError, or 0.
func apiCodeOf(err error) int {
	var e *mixin.APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// userClient is a mixin.Client acting as a simulated user.
func userClient(t *testing.T, s *mixintest.Server, u *mixintest.User) *mixin.Client {
	t.Helper()
	ks, err := mixin.ParseKeystore(u.KeystoreJSON())
	require.NoError(t, err)
	c, err := mixin.NewClient(ks, mixin.WithBaseURL(s.URL()), mixin.WithBlazeURL(s.BlazeURL()))
	require.NoError(t, err)
	return c
}

// rawPost sends body to path as the bot, signed, bypassing the client's
// validation, and returns the response body.
func rawPost(t *testing.T, s *mixintest.Server, path string, body []byte) string {
	t.Helper()
	c := botClient(t, s)
	u, err := url.Parse(s.URL() + path)
	require.NoError(t, err)
	reqID := uuid.NewString()
	tok, err := c.Token("POST", u.RequestURI(), body, reqID)
	require.NoError(t, err)
	req, _ := http.NewRequest("POST", u.String(), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("X-Request-Id", reqID)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}
