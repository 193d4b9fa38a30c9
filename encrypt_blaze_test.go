package mixin_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBlazeDecryptsAndAnswersEncrypted: an encrypted bot receives ENCRYPTED_*
// decrypted, answers encrypted, and a message it cannot decrypt goes to the
// dead-letter hook, is acknowledged and does not hold up what follows.
func TestBlazeDecryptsAndAnswersEncrypted(t *testing.T) {
	owner := &collectingTB{TB: t} // the emulator reports the two broken messages to it
	s := mixintest.NewServer(owner, mixintest.WithBotCapabilities("CONTACT", "GROUP", "ENCRYPTED"))
	c := botClient(t, s)
	alice := s.NewUser("Alice")
	var mu sync.Mutex
	var seen []string
	var dead []error
	h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		mu.Lock()
		seen = append(seen, m.Text())
		mu.Unlock()
		if !m.Encrypted || m.Category != mixin.CategoryPlainText {
			return mixin.Permanent(errors.New("not decrypted: " + string(m.Category)))
		}
		_, err := c.Reply(ctx, m, mixin.TextPayload("re: "+m.Text()), mixin.WithEncryption())
		return err
	})
	runBlaze(t, c, h, mixin.WithDeadLetter(func(ctx context.Context, m *mixin.Message, err error) {
		mu.Lock()
		dead = append(dead, err)
		mu.Unlock()
	}))
	ctx := ctxT(t)
	_, err := alice.SendText(ctx, s.Bot().UserID, "first")
	require.NoError(t, err)
	conv := alice.ContactConversationID(s.Bot().UserID)
	valid, err := alice.SendEncrypted(ctx, mixintest.MessageRequest{ConversationID: conv, Category: mixin.CategoryPlainText, Data: []byte("valid")})
	require.NoError(t, err)
	corrupted := append([]byte(nil), valid.Data...)
	corrupted[len(corrupted)-20] ^= 0x01 // one bit of the body
	_, err = alice.Send(ctx, mixintest.MessageRequest{ConversationID: conv, Category: mixin.CategoryEncryptedText, Data: corrupted})
	require.NoError(t, err)
	_, err = alice.Send(ctx, mixintest.MessageRequest{ConversationID: conv, Category: mixin.CategoryEncryptedText, Data: []byte("\x01garbage that is no envelope at all, not even close")})
	require.NoError(t, err)
	_, err = alice.SendText(ctx, s.Bot().UserID, "second")
	require.NoError(t, err)

	in, err := alice.WaitInbox(ctx, 3)
	require.NoError(t, err)
	eventually(t, "everything acknowledged", func() bool { return s.Pending(s.Bot().UserID) == 0 })
	for i, want := range []string{"re: first", "re: valid", "re: second"} {
		assert.Equal(t, mixin.CategoryEncryptedText, in[i].Category)
		assert.Equal(t, want, string(in[i].Plaintext))
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"first", "valid", "second"}, seen, "an undecryptable message reached the handler")
	require.Len(t, dead, 2)
	var de *mixin.DecryptError
	require.ErrorAs(t, dead[0], &de)
	assert.Equal(t, mixin.DecryptReasonAuthFailed, de.Reason)
	require.ErrorAs(t, dead[1], &de)
	assert.Equal(t, mixin.DecryptReasonMalformed, de.Reason)
	// The emulator's app check sees the same two messages as broken: the
	// apps could not decrypt them either.
	probs := s.Problems()
	require.Len(t, probs, 2)
	for _, p := range probs {
		assert.Equal(t, mixintest.ProblemKindBroken, p.Kind)
		assert.Equal(t, "data", p.Field)
		assert.Equal(t, mixin.CategoryEncryptedText, p.Category)
	}
	assert.Len(t, s.EncryptionProblems(), 2)
	assert.Len(t, owner.errors(), 2)
}

// collectingTB stands in for the test that owns an emulator expected to
// report problems: it collects them instead of failing.
type collectingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (c *collectingTB) Errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

func (c *collectingTB) errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errs...)
}

// TestBlazeSystemConversationRefreshesTheCache: a member added by someone
// else shows in the next lookup once the loop has seen the event.
func TestBlazeSystemConversationRefreshesTheCache(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	owner, carol := s.NewUser("Owner"), s.NewUser("Carol")
	ctx := ctxT(t)
	conv, err := owner.CreateGroup(ctx, "club", s.Bot().UserID)
	require.NoError(t, err)
	info, err := c.LookupConversation(ctx, conv.ConversationID)
	require.NoError(t, err)
	_, ok := info.Role(carol.UserID)
	require.False(t, ok)

	events := make(chan mixin.SystemConversationPayload, 8)
	runBlaze(t, c, mixin.HandlerFunc(func(context.Context, *mixin.Message) error { return nil }),
		mixin.WithSystemConversationHook(func(ctx context.Context, m *mixin.Message, p mixin.SystemConversationPayload) error {
			events <- p
			return nil
		}))
	_, err = owner.AddParticipants(ctx, conv.ConversationID, carol.UserID)
	require.NoError(t, err)
	for p := range events {
		if p.Action == mixin.SystemConversationActionAdd && p.ParticipantID == carol.UserID {
			break
		}
	}
	info, err = c.LookupConversation(ctx, conv.ConversationID)
	require.NoError(t, err)
	_, ok = info.Role(carol.UserID)
	assert.True(t, ok, "the cache still shows the group before the ADD")
}
