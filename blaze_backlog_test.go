package mixin_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/gomixin/mixin/store/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pushesPerMessage bounds what a deep backlog may cost the server, in
// pushes per message. A conversation whose backlog outgrows its queue is
// shed, and the listing that shed it pushes the whole backlog once; the
// listing after it caught up pushes what it left to the server, fewer than
// n, and the loop sheds it no more while it makes progress. That is under
// 2n, plus the frames in flight when the first connection closes for the
// new listing (the socket's buffers: here at most 256 writes of the
// pipe and the reader's 16 KiB), which 0.5n covers from n = 1,000 on. A
// loop that re-lists for every queueful pushes about n²/(2·queue) (for
// n = 5,000 with the default queue of 256, some 10n; with a queue of 16,
// some 100n).
const pushesPerMessage = 2.5

// TestBlazeDeepBacklogCostsLinearPushes: a backlog of n messages behind a
// slow handler is pushed at most pushesPerMessage·n times, whatever the
// settings, and handled once each, in order. Under the race detector
// (the CI's go test -race ./...) only the defaults run with n = 5,000,
// the rest with n = 1,000; .ci/run runs them all without it:
//
//	go test -count=1 -run '^TestBlazeDeepBacklogCostsLinearPushes$' .
func TestBlazeDeepBacklogCostsLinearPushes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		convs   int           // conversations the backlog is spread over
		handler time.Duration // what the handler takes per message
		store   bool
		opts    []mixin.BlazeOption
	}{
		{name: "defaults", convs: 1, handler: 10 * time.Millisecond},
		{name: "conversation queue 16", convs: 1, handler: 10 * time.Millisecond,
			opts: []mixin.BlazeOption{mixin.WithConversationQueue(16, 100*time.Millisecond)}},
		{name: "conversation queue 1, no wait", convs: 1, handler: 10 * time.Millisecond,
			opts: []mixin.BlazeOption{mixin.WithConversationQueue(1, 0)}},
		{name: "handler slower than the wait", convs: 1, handler: 3 * time.Second},
		{name: "one worker, queue 16", convs: 4, handler: 10 * time.Millisecond,
			opts: []mixin.BlazeOption{mixin.WithHandlerWorkers(1), mixin.WithHandlerQueueSize(16)}},
		{name: "four conversations", convs: 4, handler: 10 * time.Millisecond,
			opts: []mixin.BlazeOption{mixin.WithHandlerQueueSize(64), mixin.WithConversationQueue(32, 200*time.Millisecond)}},
		{name: "store", convs: 1, handler: 10 * time.Millisecond, store: true},
	} {
		for _, n := range []int{1000, 5000} {
			t.Run(fmt.Sprint(tc.name, "/", n), func(t *testing.T) {
				if mixin.RaceEnabled && n > 1000 && tc.name != "defaults" {
					t.Skip("slow under the race detector; .ci/run runs it without")
				}
				synctest.Test(t, func(t *testing.T) {
					opts := tc.opts
					if tc.store {
						db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
						require.NoError(t, err)
						defer func() { _ = db.Close() }()
						opts = append([]mixin.BlazeOption{mixin.WithStore(db)}, opts...)
					}
					connections := backlogPushes(t, n, tc.convs, tc.handler, opts...)
					assert.LessOrEqual(t, connections, 2, "connections: one shed the backlog, the next fetched what it left")
				})
			})
		}
	}
}

// backlogPushes has n messages, spread over convs conversations, wait for
// the loop, lets the handler take d per message, and checks that the
// server pushed at most pushesPerMessage·n times until every message was
// handled, once, in order, and acknowledged. It returns on how many
// connections.
func backlogPushes(t *testing.T, n, convs int, d time.Duration, opts ...mixin.BlazeOption) (connections int) {
	b := newBubble(t)
	defer b.close()
	bot := b.S.Bot().UserID
	users := make([]*mixintest.User, convs)
	for i := range users {
		users[i] = b.S.NewUser(fmt.Sprint("User", i))
	}
	for i := range n {
		_, err := users[i%convs].SendText(context.Background(), bot, fmt.Sprintf("%05d", i/convs))
		require.NoError(t, err)
	}
	var mu sync.Mutex
	got := map[string][]string{}
	h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		time.Sleep(d)
		mu.Lock()
		got[m.ConversationID] = append(got[m.ConversationID], m.Text())
		mu.Unlock()
		return nil
	})
	var st states
	// Acknowledgements in full batches: the test's work is the pushes.
	opts = append([]mixin.BlazeOption{mixin.WithAckInterval(time.Second), st.hook()}, opts...)
	stop := b.run(h, opts...)
	limit := int(pushesPerMessage * float64(n))
	waitFake(t, "the whole backlog handled and acknowledged", time.Duration(n)*d+time.Hour,
		func() bool { return b.S.Pending(bot) == 0 || b.S.Pushes(bot) > limit })
	require.NoError(t, stop())
	pushes := b.S.Pushes(bot)
	require.LessOrEqual(t, pushes, limit, "pushes for a backlog of %d, stopped when over the bound", n)
	t.Logf("%d messages in %d conversation(s), %v each: %d pushes (%.2f per message) on %d connection(s)",
		n, convs, d, pushes, float64(pushes)/float64(n), st.count(mixin.ConnStateConnected))
	mu.Lock()
	defer mu.Unlock()
	for _, u := range users {
		texts := got[u.ContactConversationID(bot)]
		require.Len(t, texts, (n+convs-1)/convs, "each message once")
		for i, txt := range texts {
			require.Equal(t, fmt.Sprintf("%05d", i), txt, "order")
		}
	}
	return st.count(mixin.ConnStateConnected)
}
