package mixin_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The zero Router works: routes can be added to it and it routes.
func TestRouterZeroValue(t *testing.T) {
	var r mixin.Router
	var got []string
	r.Command("/start", mixin.HandlerFunc(func(context.Context, *mixin.Message) error { got = append(got, "start"); return nil }))
	r.Category(mixin.CategoryPlainSticker, mixin.HandlerFunc(func(context.Context, *mixin.Message) error { got = append(got, "sticker"); return nil }))
	ctx := context.Background()
	require.NoError(t, r.HandleMessage(ctx, &mixin.Message{Category: mixin.CategoryPlainText, DataBase64: mixin.EncodeBase64Data([]byte("/start now"))}))
	require.NoError(t, r.HandleMessage(ctx, &mixin.Message{Category: mixin.CategoryPlainSticker}))
	require.NoError(t, r.HandleMessage(ctx, &mixin.Message{Category: mixin.CategoryPlainImage}))
	assert.Equal(t, []string{"start", "sticker"}, got)

	var empty mixin.Router
	assert.NoError(t, empty.HandleMessage(ctx, &mixin.Message{Category: mixin.CategoryPlainText}))
}

// Logging logs through the logger of the client that runs the loop, and
// nowhere without one.
func TestLoggingUsesTheClientsLogger(t *testing.T) {
	s := mixintest.NewServer(t)
	logs := &logRecords{}
	c := botClient(t, s, mixin.WithLogger(slog.New(logs)))
	u := s.NewUser("Alice")
	rec := newRecorder()
	h := mixin.Logging()(rec)
	runBlaze(t, c, h)
	_, err := u.SendText(ctxT(t), s.Bot().UserID, "hello")
	require.NoError(t, err)
	eventually(t, "handled", func() bool { return rec.total.Load() == 1 })
	eventually(t, "logged", func() bool { return len(logs.find("mixin: message handled")) == 1 })
	assert.NoError(t, h.HandleMessage(context.Background(), &mixin.Message{}), "outside the loop it logs nothing and still calls through")
	assert.Len(t, logs.find("mixin: message handled"), 1)
}

// A recovered panic says what panicked; an error panic value stays
// reachable with errors.Is and errors.As.
func TestRecoverMakesAPanicError(t *testing.T) {
	sentinel := errors.New("boom")
	h := mixin.Recover()(mixin.HandlerFunc(func(context.Context, *mixin.Message) error { panic(sentinel) }))
	err := h.HandleMessage(context.Background(), &mixin.Message{})
	var pe *mixin.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "boom", pe.Value)
	assert.ErrorIs(t, err, sentinel)
	assert.NotEmpty(t, pe.Stack)

	h = mixin.Recover()(mixin.HandlerFunc(func(context.Context, *mixin.Message) error { panic(42) }))
	require.ErrorAs(t, h.HandleMessage(context.Background(), &mixin.Message{}), &pe)
	assert.Equal(t, "42", pe.Value)
	assert.Nil(t, pe.Err)
}
