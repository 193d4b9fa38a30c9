package mixin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A router refuses what could only fail once per message when it is
// configured, as net/http's ServeMux does: with a panic.
func TestRouterPanicsAtRegistration(t *testing.T) {
	ok := mixin.HandlerFunc(func(context.Context, *mixin.Message) error { return nil })
	var nilRouter *mixin.Router
	cases := []struct {
		name, want string
		register   func(r *mixin.Router)
	}{
		{"nil command handler", "Router.Command: nil handler", func(r *mixin.Router) { r.Command("/start", nil) }},
		{"nil HandlerFunc", "Router.Command: nil handler", func(r *mixin.Router) { r.Command("/start", mixin.HandlerFunc(nil)) }},
		{"nil *Router", "Router.Category: nil handler", func(r *mixin.Router) { r.Category(mixin.CategoryPlainText, nilRouter) }},
		{"nil category handler", "Router.Category: nil handler", func(r *mixin.Router) { r.Category(mixin.CategoryPlainText, nil) }},
		{"nil default", "Router.Default: nil handler", func(r *mixin.Router) { r.Default(nil) }},
		{"nil middleware", "Router.Use: middleware 2 of 2 is nil", func(r *mixin.Router) { r.Use(mixin.Logging(), nil) }},
		{"command without slash", `"start" is not a command`, func(r *mixin.Router) { r.Command("start", ok) }},
		{"empty command", `"" is not a command`, func(r *mixin.Router) { r.Command("", ok) }},
		{"bare slash", `"/" is not a command`, func(r *mixin.Router) { r.Command("/", ok) }},
		{"two words", `"/a b" is not a command`, func(r *mixin.Router) { r.Command("/a b", ok) }},
		{"command twice", `"/HELP" is registered twice`, func(r *mixin.Router) { r.Command("/help", ok).Command("/HELP", ok) }},
		{"category twice", "PLAIN_TEXT is registered twice", func(r *mixin.Router) {
			r.Category(mixin.CategoryPlainText, ok).Category(mixin.CategoryPlainText, ok)
		}},
		{"empty category", "empty category", func(r *mixin.Router) { r.Category("", ok) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []*mixin.Router{mixin.NewRouter(), {}} {
				assert.Contains(t, panicText(t, func() { tc.register(r) }), tc.want)
			}
		})
	}
}

// panicText returns what fn panics with; it fails the test if fn does not
// panic with a string starting "mixin: ".
func panicText(t *testing.T, fn func()) (text string) {
	t.Helper()
	defer func() {
		p := recover()
		s, ok := p.(string)
		if !ok || !strings.HasPrefix(s, "mixin: ") {
			t.Errorf("panic value %#v, want a string starting with mixin: ", p)
		}
		text = s
	}()
	fn()
	return ""
}

// Once a router has handled a message it is read-only: a registration then
// is a panic, not a data race.
func TestRouterRegistrationAfterUse(t *testing.T) {
	ok := mixin.HandlerFunc(func(context.Context, *mixin.Message) error { return nil })
	r := mixin.NewRouter().Command("/start", ok)
	require.NoError(t, r.HandleMessage(t.Context(), &mixin.Message{Category: mixin.CategoryPlainText}))
	assert.PanicsWithValue(t, "mixin: Router.Command after the router handled a message: configure it before RunBlaze",
		func() { r.Command("/late", ok) })
	assert.Panics(t, func() { r.Use(mixin.Logging()) })
}

// A middleware that returns a nil handler is found before RunBlaze
// connects; a nil handler to wrap is refused when it is wrapped.
func TestMiddlewareReturningNil(t *testing.T) {
	broken := func(mixin.Handler) mixin.Handler { return nil }
	r := mixin.NewRouter().Use(mixin.Recover(), broken)
	c, err := mixin.NewClient(testKeystore(t), mixin.WithBaseURL("http://127.0.0.1:1"), mixin.WithBlazeURL("ws://127.0.0.1:1"))
	require.NoError(t, err)
	done, cancel := context.WithCancel(t.Context())
	cancel() // a loop that got past its checks would return nil at once
	err = c.RunBlaze(done, r)
	var fe *mixin.FieldError
	require.ErrorAs(t, err, &fe, "an error before any dial")
	assert.Equal(t, "middleware", fe.Field)
	assert.Contains(t, fe.Reason, "number 2 given to Router.Use returned a nil handler")
	err = r.HandleMessage(t.Context(), &mixin.Message{})
	assert.ErrorAs(t, err, &fe)
	assert.True(t, mixin.IsPermanent(err), "the same every time: not worth a retry")

	err = c.RunBlaze(done, mixin.HandlerFunc(nil))
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "handler", fe.Field)

	assert.PanicsWithValue(t, "mixin: Logging: nil handler to wrap", func() { mixin.Logging()(nil) })
	assert.PanicsWithValue(t, "mixin: Recover: nil handler to wrap", func() { mixin.Recover()(mixin.HandlerFunc(nil)) })
}
