package mixin_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomixin/mixin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIsPermanent(t *testing.T) {
	api := func(status, code int) error { return &mixin.APIError{Status: status, Code: code} }
	for _, c := range []struct {
		err  error
		want bool
	}{
		{mixin.Permanent(errors.New("no")), true},
		{fmt.Errorf("wrapped: %w", mixin.Permanent(errors.New("no"))), true},
		{api(http.StatusAccepted, mixin.CodeForbidden), true},
		{api(http.StatusAccepted, mixin.CodeNotFound), true},
		{api(http.StatusAccepted, mixin.CodeBadRequest), true},
		{api(http.StatusAccepted, mixin.CodeInvalidField), true},
		{api(http.StatusAccepted, mixin.CodeGroupChatFull), true},
		{api(http.StatusBadRequest, http.StatusBadRequest), true},
		{api(http.StatusAccepted, mixin.CodeTooManyRequests), false},
		{api(http.StatusTooManyRequests, http.StatusTooManyRequests), false},
		{api(http.StatusInternalServerError, mixin.CodeInternalServer), false},
		{api(http.StatusInternalServerError, mixin.CodeBlazeServer), false},
		{api(http.StatusBadGateway, http.StatusBadGateway), false},
		{api(http.StatusAccepted, mixin.CodeConversationChecksumFailed), false},
		{errors.New("connection reset"), false},
		{context.DeadlineExceeded, false},
		{nil, false},
	} {
		assert.Equal(t, c.want, mixin.IsPermanent(c.err), "%v", c.err)
	}
	assert.Nil(t, mixin.Permanent(nil))
	inner := errors.New("inner")
	assert.ErrorIs(t, mixin.Permanent(inner), inner)
}

// A permanent error, marked or an API refusal, goes to the dead letter
// after one attempt; a server failure is retried.
func TestBlazePermanentErrorsAreNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		defer b.close()
		bot := b.S.Bot().UserID
		stranger := b.S.NewUser("Stranger").UserID
		var calls = map[string]*atomic.Int32{"marked": {}, "refused": {}, "server": {}}
		h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
			calls[m.Text()].Add(1)
			switch m.Text() {
			case "marked":
				return mixin.Permanent(errors.New("cannot"))
			case "refused": // 403: the bot has no conversation with the stranger
				_, err := b.C.SendText(ctx, mixin.ToConversation(mixin.UniqueConversationID(bot, stranger)), "hi")
				return err
			}
			return &mixin.APIError{Status: 500, Code: mixin.CodeInternalServer}
		})
		var dead atomic.Int32
		stop := b.run(h, mixin.WithHandlerRetry(mixin.Retry{Attempts: 3, Min: time.Millisecond, Max: time.Millisecond}),
			mixin.WithDeadLetter(func(context.Context, *mixin.Message, error) { dead.Add(1) }))
		for _, text := range []string{"marked", "refused", "server"} {
			_, err := b.S.NewUser(text).SendText(context.Background(), bot, text)
			require.NoError(t, err)
		}
		waitFake(t, "dead letters", time.Minute, func() bool { return dead.Load() == 3 })
		waitFake(t, "acknowledgements", time.Minute, func() bool { return b.S.Pending(bot) == 0 })
		require.NoError(t, stop())
		assert.EqualValues(t, 1, calls["marked"].Load())
		assert.EqualValues(t, 1, calls["refused"].Load(), "a 403 cannot succeed on retry")
		assert.EqualValues(t, 3, calls["server"].Load(), "a 500 is retried")
	})
}
