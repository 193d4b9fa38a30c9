package mixin_test

import (
	"context"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/stretchr/testify/assert"
)

// One rule for empty batches (issue 20): a batch call given nothing makes
// no request and succeeds, with nil, or an empty (non-nil) slice where it
// returns one. A nil element inside a batch stays an error.
func TestEmptyBatchesAreNoRequests(t *testing.T) {
	s, c, _ := newSeedServer(t)
	ctx := ctxT(t)
	s.ResetRequests()
	calls := map[string]func(context.Context) (int, bool, error){
		"SendMessages nil": func(ctx context.Context) (int, bool, error) { return 0, false, c.SendMessages(ctx, nil) },
		"SendMessages empty": func(ctx context.Context) (int, bool, error) {
			return 0, false, c.SendMessages(ctx, []mixin.MessageRequest{})
		},
		"SendAcknowledgements nil": func(ctx context.Context) (int, bool, error) { return 0, false, c.SendAcknowledgements(ctx, nil) },
		"SendAcknowledgements none": func(ctx context.Context) (int, bool, error) {
			return 0, false, c.SendAcknowledgements(ctx, []mixin.AcknowledgementRequest{})
		},
		"ReadUsers": func(ctx context.Context) (int, bool, error) {
			us, err := c.ReadUsers(ctx)
			return len(us), us == nil, err
		},
		"ReadUsers empty slice": func(ctx context.Context) (int, bool, error) {
			us, err := c.ReadUsers(ctx, []string{}...)
			return len(us), us == nil, err
		},
		"ReadSessions": func(ctx context.Context) (int, bool, error) {
			ss, err := c.ReadSessions(ctx)
			return len(ss), ss == nil, err
		},
	}
	for name, call := range calls {
		n, isNil, err := call(ctx)
		assert.NoError(t, err, name)
		assert.Zero(t, n, name)
		assert.False(t, isNil, "%s: an empty result is an empty slice, not nil", name)
	}
	assert.Empty(t, s.Requests(), "an empty batch makes no request")
}
