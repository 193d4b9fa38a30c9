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

// starveCase is one setting of the loop under which some conversations'
// handlers are stuck while another conversation's message arrives.
type starveCase struct {
	name    string
	stuck   int           // conversations whose handler blocks
	backlog int           // messages each of them has waiting
	wait    time.Duration // the conversation queue's wait budget in effect
	store   bool          // run WithStore (SQLite)
	manual  bool          // AckModeManual: the loop acknowledges nothing
	slow    time.Duration // if set, the handler is slow, not stuck: it takes this per message
	opts    []mixin.BlazeOption
}

// TestBlazeStuckConversationsHoldUpOnlyThemselves: whatever the settings,
// conversations whose handlers are stuck, with backlogs that fill the
// whole queue, keep another conversation's message waiting for no longer
// than their wait budgets (one each per connection), and the message is
// handled while they stay stuck. Nothing of theirs is acknowledged before
// it was handled; once they are released, every message of theirs is
// handled once, in order.
func TestBlazeStuckConversationsHoldUpOnlyThemselves(t *testing.T) {
	second := time.Second
	for _, tc := range []starveCase{
		{name: "8 workers, queue 16", stuck: 1, backlog: 40, wait: second,
			opts: []mixin.BlazeOption{mixin.WithHandlerWorkers(8), mixin.WithHandlerQueueSize(16)}},
		{name: "defaults, 4 stuck", stuck: 4, backlog: 300, wait: second},
		{name: "queue smaller than the pool", stuck: 3, backlog: 10, wait: second,
			opts: []mixin.BlazeOption{mixin.WithHandlerWorkers(8), mixin.WithHandlerQueueSize(2)}},
		{name: "conversation queue of the whole queue", stuck: 2, backlog: 80, wait: 300 * time.Millisecond,
			opts: []mixin.BlazeOption{mixin.WithHandlerQueueSize(64), mixin.WithConversationQueue(64, 300*time.Millisecond)}},
		{name: "no wait, 2 workers", stuck: 1, backlog: 20, wait: 0,
			opts: []mixin.BlazeOption{mixin.WithHandlerWorkers(2), mixin.WithHandlerQueueSize(4), mixin.WithConversationQueue(2, 0)}},
		{name: "delivered acks", stuck: 1, backlog: 40, wait: second,
			opts: []mixin.BlazeOption{mixin.WithHandlerQueueSize(16), mixin.WithAckMode(mixin.AckModeDelivered)}},
		{name: "manual acks", stuck: 2, backlog: 40, wait: second, manual: true,
			opts: []mixin.BlazeOption{mixin.WithHandlerQueueSize(16), mixin.WithAckMode(mixin.AckModeManual)}},
		{name: "socket acks", stuck: 1, backlog: 40, wait: second,
			opts: []mixin.BlazeOption{mixin.WithHandlerQueueSize(16), mixin.WithSocketAcks()}},
		{name: "slow, not stuck, queue 16", stuck: 1, backlog: 200, wait: second, slow: 100 * time.Millisecond,
			opts: []mixin.BlazeOption{mixin.WithHandlerQueueSize(16)}},
		{name: "store", stuck: 2, backlog: 40, wait: second, store: true,
			opts: []mixin.BlazeOption{mixin.WithHandlerWorkers(8), mixin.WithHandlerQueueSize(16)}},
	} {
		t.Run(tc.name, func(t *testing.T) { synctest.Test(t, func(t *testing.T) { tc.run(t) }) })
	}
}

func (tc starveCase) run(t *testing.T) {
	b := newBubble(t)
	defer b.close()
	bot := b.S.Bot().UserID
	stuck := map[string]int{} // conversation -> index
	users := make([]*mixintest.User, tc.stuck)
	for i := range users {
		users[i] = b.S.NewUser(fmt.Sprint("Stuck", i))
		stuck[users[i].ContactConversationID(bot)] = i
	}
	for _, u := range users {
		sendTexts(t, u, bot, tc.backlog, "%04d")
	}
	bob := b.S.NewUser("Bob")
	sendTexts(t, bob, bot, 1, "hello %d")

	release := make(chan struct{})
	var mu sync.Mutex
	got := make([][]string, tc.stuck)
	var bobAt time.Time
	h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		i, ok := stuck[m.ConversationID]
		if !ok {
			mu.Lock()
			bobAt = time.Now()
			mu.Unlock()
			return nil
		}
		if tc.slow > 0 {
			time.Sleep(tc.slow)
		} else {
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		mu.Lock()
		got[i] = append(got[i], m.Text())
		mu.Unlock()
		return nil
	})
	opts := tc.opts
	if tc.store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
		require.NoError(t, err)
		defer func() { _ = db.Close() }()
		opts = append([]mixin.BlazeOption{mixin.WithStore(db)}, opts...)
	}
	start := time.Now()
	stop := b.run(h, opts...)
	waitFake(t, "the other conversation's message while the others are stuck", 10*time.Minute, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !bobAt.IsZero()
	})
	mu.Lock()
	waited := bobAt.Sub(start)
	mu.Unlock()
	// Each stuck conversation may hold the reader for its wait budget, once
	// on this connection; nothing else may.
	assert.LessOrEqual(t, waited, time.Duration(tc.stuck)*tc.wait+time.Second, "the message waited for the stuck conversations")

	if tc.slow == 0 {
		unacked := tc.stuck * tc.backlog
		if tc.manual {
			unacked++
		}
		time.Sleep(time.Second) // acknowledgements of what was handled go out
		assert.Equal(t, unacked, b.S.Pending(bot), "a message of a stuck conversation acknowledged before it was handled")
	}

	close(release)
	waitFake(t, "the stuck conversations' backlogs", time.Hour, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, g := range got {
			if len(g) < tc.backlog {
				return false
			}
		}
		return true
	})
	if !tc.manual {
		waitFake(t, "every acknowledgement", time.Hour, func() bool { return b.S.Pending(bot) == 0 })
	}
	require.NoError(t, stop())
	mu.Lock()
	defer mu.Unlock()
	for i, g := range got {
		require.Len(t, g, tc.backlog, "conversation %d: each message once", i)
		for j, txt := range g {
			require.Equal(t, fmt.Sprintf("%04d", j), txt, "conversation %d: order", i)
		}
	}
}
