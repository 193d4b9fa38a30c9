package mixin_test

import (
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The docs answer a batch POST /messages with empty JSON (api/messages/
// send.md) and POST /acknowledgements with { }: both are successes.

func batchOf(n int, conv, to string) []mixin.MessageRequest {
	ms := make([]mixin.MessageRequest, n)
	for i := range ms {
		ms[i] = mixin.MessageRequest{ConversationID: conv, RecipientID: to, MessageID: mixin.NewUUID(),
			Category: mixin.CategoryPlainText, DataBase64: mixin.EncodeBase64Data([]byte("hello"))}
	}
	return ms
}

func TestSendMessagesAgainstEmptyJSONAnswers(t *testing.T) {
	// An independent server that answers exactly what the docs show.
	var posts atomic.Int32
	c := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		posts.Add(1)
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
		_, _ = io.WriteString(w, "{}")
	})
	err := c.SendMessages(ctxT(t), batchOf(250, seedUserID, seedBotID))
	require.NoError(t, err)
	assert.EqualValues(t, 3, posts.Load(), "250 messages go in 3 requests of at most 100")

	// And the emulator, which answers the same shape.
	s, bot, u := newSeedServer(t)
	conv, err := bot.CreateContactConversation(ctxT(t), u.ID)
	require.NoError(t, err)
	require.NoError(t, bot.SendMessages(ctxT(t), batchOf(250, conv.ConversationID, u.ID)))
	assert.Len(t, u.Inbox(), 250)
	assert.Equal(t, 3, countRequests(s, "POST", "/messages"))
}

func TestAcknowledgementsAgainstEmptyJSONAnswers(t *testing.T) {
	for _, body := range []string{"{}", "", `{"data":null}`, "{ }\n"} {
		c := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
			_, _ = io.WriteString(w, body)
		})
		acks := make([]mixin.AcknowledgementRequest, 150)
		for i := range acks {
			acks[i] = mixin.AcknowledgementRequest{MessageID: mixin.NewUUID(), Status: mixin.AckRead}
		}
		assert.NoError(t, c.SendAcknowledgements(ctxT(t), acks), "answer %q", body)
	}
}

func TestSingleSendAgainstEmptyJSONAnswer(t *testing.T) {
	s, bot, u := newSeedServer(t, mixintest.WithEmptySendAnswer())
	_, err := bot.CreateContactConversation(ctxT(t), u.ID)
	require.NoError(t, err)
	m, err := bot.SendText(ctxT(t), mixin.ToUser(u.ID), "hi")
	require.NoError(t, err)
	assert.NotEmpty(t, m.MessageID)
	in := u.Inbox()
	require.Len(t, in, 1)
	assert.Equal(t, in[0].MessageID, m.MessageID)
	assert.Equal(t, 1, countRequests(s, "POST", "/messages"))
}

func TestCallThatNeedsAResultNamesItself(t *testing.T) {
	c := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
		_, _ = io.WriteString(w, "{}")
	})
	_, err := c.ReadConversation(ctxT(t), seedUserID)
	require.ErrorIs(t, err, mixin.ErrNoData)
	assert.Contains(t, err.Error(), "GET /conversations/"+seedUserID)
	assert.False(t, mixin.IsNotFound(err))
}
