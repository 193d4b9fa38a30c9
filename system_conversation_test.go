package mixin_test

import (
	"context"
	"sync"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Without WithSystemConversationHook, SYSTEM_CONVERSATION messages reach
// the handler, in order with the conversation's other messages, as the
// Handler documentation says; with it they do not (TestBlazeHooks).
func TestSystemConversationReachesTheHandlerWithoutItsHook(t *testing.T) {
	s, c, u := withContact(t)
	ctx := ctxT(t)
	var mu sync.Mutex
	var got []*mixin.Message
	h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
		return nil
	})
	runBlaze(t, c, h)
	g, err := u.CreateGroup(ctx, "club")
	require.NoError(t, err)
	_, err = u.AddParticipants(ctx, g.ConversationID, s.Bot().UserID)
	require.NoError(t, err)
	_, err = u.Send(ctx, mixintest.MessageRequest{ConversationID: g.ConversationID, Category: mixin.CategoryPlainText, Data: []byte("hello, bot")})
	require.NoError(t, err)
	eventually(t, "the join and the text", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= 2 })

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 2)
	join := got[0]
	assert.Equal(t, mixin.CategorySystemConversation, join.Category)
	assert.Equal(t, "", join.Text(), "a system message has no text")
	p, err := join.Payload()
	require.NoError(t, err)
	sp, ok := p.(mixin.SystemConversationPayload)
	require.True(t, ok, "payload %T", p)
	assert.Equal(t, mixin.SystemConversationActionAdd, sp.Action)
	assert.Equal(t, s.Bot().UserID, sp.ParticipantID)
	assert.ErrorIs(t, sp.Validate(), mixin.ErrInvalidInput, "it cannot be sent back")
	assert.Equal(t, "hello, bot", got[1].Text())
	eventually(t, "both acknowledged", func() bool { return s.Pending(s.Bot().UserID) == 0 })
}
