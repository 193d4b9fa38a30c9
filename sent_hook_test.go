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

func TestSentHook(t *testing.T) {
	_, err := mixin.NewClient(nil, mixin.WithSentHook(nil))
	assert.ErrorIs(t, err, mixin.ErrInvalidInput)

	s := mixintest.NewServer(t)
	type key struct{}
	var mu sync.Mutex
	var calls [][]string
	c := botClient(t, s, mixin.WithSentHook(func(ctx context.Context, sent []*mixin.Message) {
		assert.Equal(t, "mine", ctx.Value(key{}), "the send's ctx")
		var ids []string
		for _, m := range sent {
			assert.NotEmpty(t, m.ConversationID)
			ids = append(ids, m.MessageID)
		}
		mu.Lock()
		calls = append(calls, ids)
		mu.Unlock()
	}))
	ctx := context.WithValue(ctxT(t), key{}, "mine")
	u := s.NewUser("Hooked")
	_, err = u.SendText(ctx, s.Bot().UserID, "hi") // opens the contact conversation
	require.NoError(t, err)
	m, err := c.SendText(ctx, mixin.ToUser(u.UserID), "one")
	require.NoError(t, err)
	conv := mixin.UniqueConversationID(u.UserID, s.Bot().UserID)
	batch := make([]mixin.MessageRequest, 3)
	for i := range batch {
		batch[i] = mixin.MessageRequest{ConversationID: conv, RecipientID: u.UserID, Category: mixin.CategoryPlainText, DataBase64: mixin.EncodeBase64Data([]byte("b"))}
	}
	require.NoError(t, c.SendMessages(ctx, batch))
	_, err = c.SendText(ctx, mixin.ToUser(""), "refused before the network")
	require.Error(t, err)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, calls, 2, "one call per send, one per batch request; none for a refused send")
	assert.Equal(t, []string{m.MessageID}, calls[0])
	assert.Equal(t, []string{batch[0].MessageID, batch[1].MessageID, batch[2].MessageID}, calls[1])
}
