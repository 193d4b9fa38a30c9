package mixin_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fastBlaze keeps test reconnects and acks quick.
var fastBlaze = []mixin.BlazeOption{
	mixin.WithReconnect(mixin.Retry{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond}),
	mixin.WithAckInterval(20 * time.Millisecond),
	mixin.WithHandlerRetry(mixin.Retry{Attempts: 3, Min: 5 * time.Millisecond, Max: 5 * time.Millisecond}),
	mixin.WithShutdownTimeout(5 * time.Second),
}

// runBlaze starts the loop and returns a stop function that cancels it and
// returns its result.
func runBlaze(t *testing.T, c *mixin.Client, h mixin.Handler, opts ...mixin.BlazeOption) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.RunBlaze(ctx, h, append(append([]mixin.BlazeOption{}, fastBlaze...), opts...)...) }()
	var once sync.Once
	var result error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(15 * time.Second):
				result = errors.New("RunBlaze did not return after cancel")
			}
		})
		return result
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// recorder is a handler that records what it saw, per conversation.
type recorder struct {
	mu     sync.Mutex
	byConv map[string][]string
	count  map[string]int
	total  atomic.Int64
	delay  func() time.Duration
}

func newRecorder() *recorder {
	return &recorder{byConv: map[string][]string{}, count: map[string]int{}}
}

func (r *recorder) HandleMessage(ctx context.Context, m *mixin.Message) error {
	if r.delay != nil {
		time.Sleep(r.delay())
	}
	r.mu.Lock()
	r.byConv[m.ConversationID] = append(r.byConv[m.ConversationID], m.Text())
	r.count[m.MessageID]++
	r.mu.Unlock()
	r.total.Add(1)
	return nil
}

func (r *recorder) duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := 0
	for _, n := range r.count {
		d += n - 1
	}
	return d
}

func TestBlazeReceivesInOrderAndAcks(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	u := s.NewUser("Alice")
	ctx := ctxT(t)
	// Sent before the loop runs: delivered as pending.
	for i := range 3 {
		_, err := u.SendText(ctx, s.Bot().UserID, fmt.Sprintf("early %d", i))
		require.NoError(t, err)
	}
	rec := newRecorder()
	var states []mixin.ConnState
	var smu sync.Mutex
	stop := runBlaze(t, c, rec, mixin.WithStateHook(func(e mixin.StateEvent) {
		smu.Lock()
		states = append(states, e.State)
		smu.Unlock()
	}))
	eventually(t, "pending messages", func() bool { return rec.total.Load() == 3 })
	for i := range 3 {
		_, err := u.SendText(ctx, s.Bot().UserID, fmt.Sprintf("live %d", i))
		require.NoError(t, err)
	}
	eventually(t, "live messages", func() bool { return rec.total.Load() == 6 })
	eventually(t, "acks", func() bool { return s.Pending(s.Bot().UserID) == 0 })
	require.NoError(t, stop())
	conv := mixin.UniqueConversationID(u.UserID, s.Bot().UserID)
	assert.Equal(t, []string{"early 0", "early 1", "early 2", "live 0", "live 1", "live 2"}, rec.byConv[conv])
	smu.Lock()
	defer smu.Unlock()
	assert.Equal(t, []mixin.ConnState{mixin.ConnStateConnecting, mixin.ConnStateConnected, mixin.ConnStateDisconnected}, states)
}

func TestBlazeReconnectsAfterDropsWithNothingLost(t *testing.T) {
	s := mixintest.NewServer(t, mixintest.WithFaults(mixintest.Faults{Seed: 1, DropAfterFrames: 7}))
	c := botClient(t, s)
	ctx := ctxT(t)
	users := make([]*mixintest.User, 5)
	for i := range users {
		users[i] = s.NewUser(fmt.Sprintf("u%d", i))
	}
	rec := newRecorder()
	var connects atomic.Int32
	runBlaze(t, c, rec, mixin.WithStateHook(func(e mixin.StateEvent) {
		if e.State == mixin.ConnStateConnected {
			connects.Add(1)
		}
	}))
	const perUser = 20
	for i := range perUser {
		for _, u := range users {
			_, err := u.SendText(ctx, s.Bot().UserID, fmt.Sprintf("%03d", i))
			require.NoError(t, err)
		}
	}
	eventually(t, "all messages", func() bool { return rec.total.Load() >= int64(perUser*len(users)) })
	eventually(t, "all acked", func() bool { return s.Pending(s.Bot().UserID) == 0 })
	assert.Greater(t, connects.Load(), int32(3), "the emulator dropped the socket; the loop must have reconnected")
	assert.Zero(t, rec.duplicates(), "the dedupe window drops redeliveries")
	for _, u := range users {
		got := rec.byConv[mixin.UniqueConversationID(u.UserID, s.Bot().UserID)]
		require.Len(t, got, perUser)
		for i, txt := range got {
			assert.Equal(t, fmt.Sprintf("%03d", i), txt)
		}
	}
}

func TestBlazeHandlerErrorRetriesAndAcksOnlyAfterSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		defer b.close()
		u := b.S.NewUser("Alice")
		var calls atomic.Int32
		release := make(chan struct{})
		h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
			n := calls.Add(1)
			if n == 1 {
				return errors.New("database down")
			}
			if n == 2 {
				<-release // still failing: hold here to look at the server
				return errors.New("still down")
			}
			return nil
		})
		stop := b.run(h, mixin.WithHandlerRetry(mixin.Retry{Attempts: 5, Min: time.Millisecond, Max: time.Millisecond}))
		_, err := u.SendText(context.Background(), b.S.Bot().UserID, "hello")
		require.NoError(t, err)
		waitFake(t, "second attempt", time.Minute, func() bool { return calls.Load() == 2 })
		time.Sleep(10 * time.Second) // fake: many ack intervals
		assert.Equal(t, 1, b.S.Pending(b.S.Bot().UserID), "not acknowledged while the handler fails")
		close(release)
		waitFake(t, "ack after success", time.Minute, func() bool { return b.S.Pending(b.S.Bot().UserID) == 0 })
		require.NoError(t, stop())
		assert.EqualValues(t, 3, calls.Load())
	})
}

func TestBlazePanicAndDeadLetter(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	u := s.NewUser("Alice")
	var dead []string
	var dmu sync.Mutex
	rec := newRecorder()
	h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		if m.Text() == "boom" {
			panic("boom")
		}
		return rec.HandleMessage(ctx, m)
	})
	runBlaze(t, c, h, mixin.WithHandlerRetry(mixin.Retry{Attempts: 2, Min: time.Millisecond, Max: time.Millisecond}), mixin.WithDeadLetter(func(ctx context.Context, m *mixin.Message, err error) {
		var pe *mixin.PanicError
		if errors.As(err, &pe) {
			dmu.Lock()
			dead = append(dead, m.Text())
			dmu.Unlock()
		}
	}))
	ctx := ctxT(t)
	for _, txt := range []string{"a", "boom", "b"} {
		_, err := u.SendText(ctx, s.Bot().UserID, txt)
		require.NoError(t, err)
	}
	eventually(t, "loop survives the panic", func() bool { return rec.total.Load() == 2 })
	eventually(t, "everything acked", func() bool { return s.Pending(s.Bot().UserID) == 0 })
	dmu.Lock()
	defer dmu.Unlock()
	assert.Equal(t, []string{"boom"}, dead)
}

func TestBlazeOrderPerConversationWithParallelWorkers(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	ctx := ctxT(t)
	const convs, per = 50, 20
	users := make([]*mixintest.User, convs)
	for i := range users {
		users[i] = s.NewUser(fmt.Sprintf("u%d", i))
	}
	var running, maxRunning atomic.Int32
	rec := newRecorder()
	h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		n := running.Add(1)
		for {
			old := maxRunning.Load()
			if n <= old || maxRunning.CompareAndSwap(old, n) {
				break
			}
		}
		time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
		running.Add(-1)
		return rec.HandleMessage(ctx, m)
	})
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				_, err := u.SendText(ctx, s.Bot().UserID, fmt.Sprintf("%03d", i))
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	runBlaze(t, c, h, mixin.WithHandlerWorkers(8))
	eventually(t, "all handled", func() bool { return rec.total.Load() == convs*per })
	for _, u := range users {
		got := rec.byConv[mixin.UniqueConversationID(u.UserID, s.Bot().UserID)]
		require.Len(t, got, per)
		for i, txt := range got {
			require.Equal(t, fmt.Sprintf("%03d", i), txt, "conversation of %s out of order", u.FullName)
		}
	}
	assert.Greater(t, maxRunning.Load(), int32(1), "conversations must run in parallel")
	assert.LessOrEqual(t, maxRunning.Load(), int32(8), "never more than the worker pool")
}

func TestBlazeSerialWithOneWorker(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	ctx := ctxT(t)
	var running, maxRunning atomic.Int32
	h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		n := running.Add(1)
		if n > maxRunning.Load() {
			maxRunning.Store(n)
		}
		time.Sleep(time.Millisecond)
		running.Add(-1)
		return nil
	})
	for i := range 10 {
		_, err := s.NewUser(fmt.Sprint(i)).SendText(ctx, s.Bot().UserID, "hi")
		require.NoError(t, err)
	}
	runBlaze(t, c, h, mixin.WithHandlerWorkers(1))
	eventually(t, "all acked", func() bool { return s.Pending(s.Bot().UserID) == 0 })
	assert.EqualValues(t, 1, maxRunning.Load())
}

func TestBlazeBatchesAcks(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	ctx := ctxT(t)
	u := s.NewUser("Alice")
	for i := range 250 {
		_, err := u.SendText(ctx, s.Bot().UserID, fmt.Sprint(i))
		require.NoError(t, err)
	}
	s.ResetRequests()
	rec := newRecorder()
	runBlaze(t, c, rec, mixin.WithAckInterval(time.Second))
	eventually(t, "all acked", func() bool { return s.Pending(s.Bot().UserID) == 0 })
	n := countRequests(s, "POST", "/acknowledgements")
	assert.GreaterOrEqual(t, n, 3)
	assert.LessOrEqual(t, n, 4, "250 acks go in full batches of 100")
}

func TestBlazeShutdownFlushesAcksAndLeaksNothing(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	u := s.NewUser("Alice")
	ctx := ctxT(t)
	_, err := c.ReadMe(ctx) // warm the HTTP pool so its goroutines count as baseline
	require.NoError(t, err)
	before := runtime.NumGoroutine()

	rec := newRecorder()
	// A long ack interval: only the shutdown flush can send these.
	stop := runBlaze(t, c, rec, mixin.WithAckInterval(time.Hour))
	for i := range 5 {
		_, err := u.SendText(ctx, s.Bot().UserID, fmt.Sprint(i))
		require.NoError(t, err)
	}
	eventually(t, "handled", func() bool { return rec.total.Load() == 5 })
	assert.Equal(t, 5, s.Pending(s.Bot().UserID), "acks wait for the interval")
	require.NoError(t, stop())
	assert.Equal(t, 0, s.Pending(s.Bot().UserID), "shutdown flushes acks")

	c.CloseIdleConnections()
	eventually(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestBlazeUnauthorizedEndsTheLoop(t *testing.T) {
	s := mixintest.NewServer(t, mixintest.WithFaults(mixintest.Faults{UnauthorizedBlaze: true}))
	c := botClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.RunBlaze(ctx, newRecorder(), fastBlaze...)
	require.Error(t, err)
	assert.True(t, mixin.IsUnauthorized(err), "%v", err)
	assert.NoError(t, ctx.Err(), "must return at once, not retry until ctx ends")
}

func TestBlazeReconnectsWhenUpgradeRefused(t *testing.T) {
	s := mixintest.NewServer(t, mixintest.WithFaults(mixintest.Faults{RefuseUpgrade: true}))
	c := botClient(t, s)
	u := s.NewUser("Alice")
	_, err := u.SendText(ctxT(t), s.Bot().UserID, "waiting")
	require.NoError(t, err)
	var failures atomic.Int32
	rec := newRecorder()
	runBlaze(t, c, rec, mixin.WithStateHook(func(e mixin.StateEvent) {
		if e.State == mixin.ConnStateDisconnected && e.Err != nil && !errors.Is(e.Err, context.Canceled) {
			failures.Add(1)
			assert.Greater(t, e.Delay, time.Duration(0))
		}
	}))
	eventually(t, "refusals", func() bool { return failures.Load() >= 3 })
	s.SetFaults(mixintest.Faults{})
	eventually(t, "delivery after recovery", func() bool { return rec.total.Load() == 1 })
}

func TestBlazeReconnectGivesUpAfterAttempts(t *testing.T) {
	s := mixintest.NewServer(t, mixintest.WithFaults(mixintest.Faults{RefuseUpgrade: true}))
	c := botClient(t, s)
	var dials atomic.Int32
	err := c.RunBlaze(ctxT(t), newRecorder(),
		mixin.WithReconnect(mixin.Retry{Attempts: 3, Min: time.Millisecond, Max: time.Millisecond}),
		mixin.WithStateHook(func(e mixin.StateEvent) {
			if e.State == mixin.ConnStateConnecting {
				dials.Add(1)
			}
		}))
	require.Error(t, err, "three refused dials in a row must end the loop")
	assert.Contains(t, err.Error(), "gave up after 3")
	assert.Equal(t, int32(3), dials.Load())
}

func TestBlazeHooks(t *testing.T) {
	s, c, u := withContact(t)
	ctx := ctxT(t)

	var receipts []mixin.Receipt
	var systems []mixin.SystemConversationPayload
	var mu sync.Mutex
	rec := newRecorder()
	runBlaze(t, c, rec,
		mixin.WithReceiptHook(func(ctx context.Context, r mixin.Receipt) error {
			mu.Lock()
			receipts = append(receipts, r)
			mu.Unlock()
			return nil
		}),
		mixin.WithSystemConversationHook(func(ctx context.Context, m *mixin.Message, p mixin.SystemConversationPayload) error {
			mu.Lock()
			systems = append(systems, p)
			mu.Unlock()
			return nil
		}))
	sent, err := c.SendText(ctx, mixin.ToUser(u.UserID), "read me")
	require.NoError(t, err)
	_, err = u.WaitInbox(ctx, 1)
	require.NoError(t, err)
	require.NoError(t, u.Ack(ctx, sent.MessageID, "DELIVERED"))
	require.NoError(t, u.Ack(ctx, sent.MessageID, "READ"))
	eventually(t, "receipts", func() bool { mu.Lock(); defer mu.Unlock(); return len(receipts) == 2 })

	g, err := u.CreateGroup(ctx, "club")
	require.NoError(t, err)
	_, err = u.AddParticipants(ctx, g.ConversationID, s.Bot().UserID)
	require.NoError(t, err)
	eventually(t, "system message", func() bool { mu.Lock(); defer mu.Unlock(); return len(systems) >= 1 })
	eventually(t, "all acked", func() bool { return s.Pending(s.Bot().UserID) == 0 })
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, sent.MessageID, receipts[0].MessageID)
	assert.Equal(t, mixin.AckStatusDelivered, receipts[0].Status)
	assert.Equal(t, mixin.AckStatusRead, receipts[1].Status)
	assert.Equal(t, mixin.SystemConversationActionAdd, systems[0].Action)
	assert.Equal(t, s.Bot().UserID, systems[0].ParticipantID)
	assert.Zero(t, rec.total.Load(), "hooks take receipts and system messages from the handler")
}

func TestBlazeSendGoesOverTheSocket(t *testing.T) {
	s, c, u := withContact(t)
	ctx := ctxT(t)
	runBlaze(t, c, newRecorder())
	var m *mixin.Message
	var err error
	eventually(t, "a send over blaze", func() bool {
		s.ResetRequests()
		m, err = c.SendText(ctx, mixin.ToUser(u.UserID), "over the socket", mixin.OverBlaze())
		require.NoError(t, err)
		return countRequests(s, "POST", "/messages") == 0
	})
	in, err := u.WaitInbox(ctx, 1)
	require.NoError(t, err)
	eventually(t, "delivery", func() bool {
		for _, x := range u.Inbox() {
			if x.MessageID == m.MessageID && string(x.Data) == "over the socket" {
				return true
			}
		}
		return false
	})
	_ = in
	// A refused send over blaze is an API error, not a silent REST retry.
	_, err = c.SendText(ctx, mixin.ToUser(s.NewUser("Stranger").UserID), "no conversation", mixin.OverBlaze())
	assert.True(t, mixin.IsForbidden(err), "%v", err)
}
