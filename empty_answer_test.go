package mixin_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
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
	conv, err := bot.CreateContactConversation(ctxT(t), u.UserID)
	require.NoError(t, err)
	require.NoError(t, bot.SendMessages(ctxT(t), batchOf(250, conv.ConversationID, u.UserID)))
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
			acks[i] = mixin.AcknowledgementRequest{MessageID: mixin.NewUUID(), Status: mixin.AckStatusRead}
		}
		assert.NoError(t, c.SendAcknowledgements(ctxT(t), acks), "answer %q", body)
	}
}

func TestSingleSendAgainstEmptyJSONAnswer(t *testing.T) {
	s, bot, u := newSeedServer(t, mixintest.WithEmptySendAnswer())
	_, err := bot.CreateContactConversation(ctxT(t), u.UserID)
	require.NoError(t, err)
	m, err := bot.SendText(ctxT(t), mixin.ToUser(u.UserID), "hi")
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

// The blaze loop acknowledges over POST /acknowledgements, which the
// emulator answers {} as the docs show: every message ends acknowledged.
func TestBlazeAcknowledgesEverythingAgainstEmptyJSONAnswers(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	alice := s.NewUser("Alice")
	const n = 120
	var handled atomic.Int32
	all := make(chan struct{})
	h := mixin.HandlerFunc(func(context.Context, *mixin.Message) error {
		if handled.Add(1) == n {
			close(all)
		}
		return nil
	})
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	go func() { done <- c.RunBlaze(ctx, h) }()
	for i := range n {
		_, err := alice.SendText(ctx, s.Bot().UserID, "m"+strconv.Itoa(i))
		require.NoError(t, err)
	}
	select {
	case <-all:
	case <-ctx.Done():
		t.Fatalf("handled %d of %d", handled.Load(), n)
	}
	cancel() // shutdown flushes the last acknowledgements
	require.NoError(t, <-done)
	assert.Zero(t, s.Pending(s.Bot().UserID), "every message acknowledged")
	assert.EqualValues(t, n, handled.Load(), "none delivered twice")
	acks := 0
	for _, r := range s.Requests() {
		if r.Method == "POST" && r.Path == "/acknowledgements" {
			assert.Equal(t, 200, r.Status)
			acks++
		}
	}
	assert.Positive(t, acks)
}
