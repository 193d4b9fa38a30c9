package mixintest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gomixin/mixin"
)

// A Failure's zero fields mean one request, code 500, the code's usual
// status; bad fields are refused, naming the field, and script nothing.
func TestFailNextDefaultsAndRefusals(t *testing.T) {
	s := NewServer(t)
	c := newREST(t, s, s.Bot())
	if err := s.FailNext(Failure{}); err != nil {
		t.Fatal(err)
	}
	r := c.do("GET", "/me", nil)
	if r.status != 500 || r.env.Error.Code != 500 {
		t.Fatalf("zero Failure: HTTP %d %s, want HTTP 500 code 500", r.status, r.raw)
	}
	c.do("GET", "/me", nil).ok(t, nil) // Times 0 is once
	if err := s.FailNext(Failure{Path: "/me", Code: 403}); err != nil {
		t.Fatal(err)
	}
	if r := c.do("GET", "/me", nil); r.status != 202 || r.env.Error.Code != 403 {
		t.Fatalf("code 403: HTTP %d %s, want the documented HTTP 202", r.status, r.raw)
	}

	for _, tc := range []struct {
		f     Failure
		field string
	}{
		{Failure{Times: -1}, "Failure.Times"},
		{Failure{Code: -5}, "Failure.Code"},
		{Failure{Status: 99}, "Failure.Status"},
		{Failure{Status: 600}, "Failure.Status"},
		{Failure{RetryAfter: -1}, "Failure.RetryAfter"},
	} {
		err := s.FailNext(tc.f)
		var fe *mixin.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%+v: got %v, want a FieldError on %s", tc.f, err, tc.field)
		}
	}
	c.do("GET", "/me", nil).ok(t, nil) // nothing was scripted by the refusals
}

// A simulated user's refusal is the API error of the call it stands for:
// it names the method, the path and, for an invalid field, the field, and
// the SDK's classifiers read it.
func TestSimulatedUserErrorsNameTheCall(t *testing.T) {
	s := NewServer(t)
	ctx := context.Background()
	alice, bob := s.NewUser("Alice"), s.NewUser("Bob")
	if err := bob.Block(ctx, alice.UserID); err != nil {
		t.Fatal(err)
	}
	_, err := alice.SendText(ctx, bob.UserID, "hi")
	var api *mixin.APIError
	if !errors.As(err, &api) || !mixin.IsForbidden(err) {
		t.Fatalf("blocked: got %v, want a 403 APIError", err)
	}
	if api.Method != "POST" || api.Path != "/messages" {
		t.Errorf("blocked: call %s %s, want POST /messages", api.Method, api.Path)
	}
	if !strings.HasPrefix(err.Error(), "mixintest: POST /messages: api error 403") {
		t.Errorf("blocked: %q", err)
	}

	err = alice.Ack(ctx, "not-a-uuid", mixin.AckStatusRead)
	if !errors.As(err, &api) || api.Code != mixin.CodeInvalidField || api.Path != "/acknowledgements" {
		t.Fatalf("bad ack: got %v", err)
	}
	if !strings.Contains(err.Error(), `"field":"message_id"`) {
		t.Errorf("bad ack: %q does not name the field", err)
	}

	err = alice.AcceptMessagesFrom("FRIENDS")
	if !strings.Contains(err.Error(), "POST /me/preferences") || !strings.Contains(err.Error(), "receive_message_source") {
		t.Errorf("bad source: %q", err)
	}
	_, err = alice.JoinByCode(ctx, "11111111-2222-4333-8444-555555555555")
	if !errors.As(err, &api) || api.Path != "/conversations/11111111-2222-4333-8444-555555555555/join" {
		t.Errorf("unknown code: %v", err)
	}
}
