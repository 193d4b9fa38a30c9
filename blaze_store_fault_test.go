package mixin_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/gomixin/mixin/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errDown is the fault a faultyStore injects: the database is unavailable.
var errDown = errors.New("database unavailable (injected)")

// faultyStore wraps a real store and fails or hangs the operations the
// test names ("handled", "mark", "begin", "marktx", "lease"), answers
// MarkHandled and MarkHandledTx as fenced while fence is set, and refuses
// every lease while refuse is (another replica holds them all).
type faultyStore struct {
	*store.DB
	mu     sync.Mutex
	fail   map[string]bool
	hang   map[string]bool
	calls  map[string]int
	fence  atomic.Bool
	refuse atomic.Bool
}

func newFaultyStore(db *store.DB) *faultyStore {
	return &faultyStore{DB: db, fail: map[string]bool{}, hang: map[string]bool{}, calls: map[string]int{}}
}

func (f *faultyStore) set(op string, fail, hang bool) {
	f.mu.Lock()
	f.fail[op], f.hang[op] = fail, hang
	f.mu.Unlock()
}

func (f *faultyStore) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// enter counts a call of op and fails or hangs it as set.
func (f *faultyStore) enter(ctx context.Context, op string) error {
	f.mu.Lock()
	f.calls[op]++
	fail, hang := f.fail[op], f.hang[op]
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return fmt.Errorf("%s: %w", op, ctx.Err())
	}
	if fail {
		return fmt.Errorf("%s: %w", op, errDown)
	}
	return nil
}

func (f *faultyStore) Handled(ctx context.Context, keys []string) ([]bool, error) {
	if err := f.enter(ctx, "handled"); err != nil {
		return nil, err
	}
	return f.DB.Handled(ctx, keys)
}

func (f *faultyStore) MarkHandled(ctx context.Context, recs []mixin.Record) ([]bool, error) {
	if err := f.enter(ctx, "mark"); err != nil {
		return nil, err
	}
	if f.fence.Load() {
		return make([]bool, len(recs)), nil
	}
	return f.DB.MarkHandled(ctx, recs)
}

func (f *faultyStore) BeginTx(ctx context.Context) (*sql.Tx, error) {
	if err := f.enter(ctx, "begin"); err != nil {
		return nil, err
	}
	return f.DB.BeginTx(ctx)
}

func (f *faultyStore) MarkHandledTx(ctx context.Context, tx *sql.Tx, rec mixin.Record) (mixin.Mark, error) {
	if err := f.enter(ctx, "marktx"); err != nil {
		return 0, err
	}
	if f.fence.Load() {
		return mixin.MarkFenced, nil
	}
	return f.DB.MarkHandledTx(ctx, tx, rec)
}

func (f *faultyStore) Lease(ctx context.Context, ls []mixin.Lease, ttl time.Duration) ([]int64, error) {
	if err := f.enter(ctx, "lease"); err != nil {
		return nil, err
	}
	if f.refuse.Load() {
		return make([]int64, len(ls)), nil
	}
	return f.DB.Lease(ctx, ls, ttl)
}

func (f *faultyStore) Unavailable(err error) bool {
	return errors.Is(err, errDown) || f.DB.Unavailable(err)
}

// storeStates records the state hook's store events.
type storeStates struct {
	mu     sync.Mutex
	events []mixin.StateEvent
}

func (s *storeStates) hook() mixin.BlazeOption {
	return mixin.WithStateHook(func(e mixin.StateEvent) {
		if e.State == mixin.ConnStateStoreFailed || e.State == mixin.ConnStateStoreRecovered {
			s.mu.Lock()
			s.events = append(s.events, e)
			s.mu.Unlock()
		}
	})
}

func (s *storeStates) list() []mixin.StateEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mixin.StateEvent(nil), s.events...)
}

// failedThenRecovered checks the hook heard one failure of op, whose
// cause matches cause, then one recovery.
func (s *storeStates) failedThenRecovered(t *testing.T, op string, cause error) {
	t.Helper()
	ev := s.list()
	require.Len(t, ev, 2, "one failure, one recovery: %v", ev)
	assert.Equal(t, mixin.ConnStateStoreFailed, ev[0].State)
	var se *mixin.StoreError
	require.ErrorAs(t, ev[0].Err, &se)
	assert.Equal(t, op, se.Op)
	assert.ErrorIs(t, ev[0].Err, cause)
	assert.Equal(t, mixin.ConnStateStoreRecovered, ev[1].State)
	assert.Positive(t, ev[1].Attempt, "the failures counted")
}

// effectsDB makes an SQLite store with an effects table for a handler.
func effectsDB(t *testing.T) *store.DB {
	db := openStore(t)
	_, err := db.Writer().ExecContext(t.Context(), `CREATE TABLE effects (msg TEXT NOT NULL)`)
	require.NoError(t, err)
	return db
}

func effectCount(t *testing.T, db *store.DB) map[string]int {
	rows, err := db.SQL().QueryContext(t.Context(), `SELECT msg FROM effects`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var m string
		require.NoError(t, rows.Scan(&m))
		out[m]++
	}
	require.NoError(t, rows.Err())
	return out
}

// txHandler writes each message's effect in its transaction.
func txHandler(calls *atomic.Int64) mixin.Handler {
	return mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		calls.Add(1)
		tx, err := mixin.Tx(ctx)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO effects (msg) VALUES (?)`, m.MessageID)
		return err
	})
}

// TestStoreRecordFailsHoldsTheAck: while records cannot commit the message
// is handled once and not acknowledged, the commit is retried with growing
// waits, and the state hook hears why; once the store is back the record
// commits, the message is acknowledged, and the hook hears that.
func TestStoreRecordFailsHoldsTheAck(t *testing.T) {
	s := mixintest.NewServer(t)
	st := newFaultyStore(openStore(t))
	st.set("mark", true, false)
	c, err := s.Client()
	require.NoError(t, err)
	var calls atomic.Int64
	var ss storeStates
	stop := runBlaze(t, c, mixin.HandlerFunc(func(context.Context, *mixin.Message) error { calls.Add(1); return nil }), mixin.WithStore(st), ss.hook())
	_, err = s.NewUser("Alice").SendText(ctxT(t), s.Bot().UserID, "hold on")
	require.NoError(t, err)
	eventually(t, "handled", func() bool { return calls.Load() == 1 })
	eventually(t, "the record retried", func() bool { return st.count("mark") >= 6 })
	started := time.Now()
	n := st.count("mark")
	time.Sleep(time.Second)
	// 10ms doubling: by the 6th failure the waits are 320ms and more.
	assert.LessOrEqual(t, st.count("mark")-n, 4, "retries back off")
	assert.Equal(t, 1, s.Pending(s.Bot().UserID), "no acknowledgement before the record (%v after the 6th failure)", time.Since(started))
	st.set("mark", false, false)
	eventually(t, "recorded and acknowledged", func() bool { return s.Pending(s.Bot().UserID) == 0 })
	require.NoError(t, stop())
	assert.Equal(t, int64(1), calls.Load())
	ss.failedThenRecovered(t, "record", errDown)
}

// TestStoreTxWaitsForTheStore: while the store cannot begin a transaction
// (or a statement in it fails as the store calls unavailable), the
// handler's attempts fail, but they are retried with backoff for as long
// as it lasts, beyond the handler retry policy, and never reach the
// dead-letter hook; the message is not acknowledged meanwhile. Once the
// store is back its effect commits once and it is acknowledged. A handler
// error the store does not call unavailable still follows the policy.
func TestStoreTxWaitsForTheStore(t *testing.T) {
	for _, fault := range []string{"begin", "statement", "marktx"} {
		t.Run(fault, func(t *testing.T) {
			s := mixintest.NewServer(t)
			db := effectsDB(t)
			st := newFaultyStore(db)
			var down atomic.Bool
			down.Store(true)
			if fault != "statement" {
				st.set(fault, true, false)
			}
			c, err := s.Client()
			require.NoError(t, err)
			var calls atomic.Int64
			var dead []error
			var mu sync.Mutex
			h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
				if fault == "statement" && down.Load() {
					calls.Add(1)
					if _, err := mixin.Tx(ctx); err != nil {
						return err
					}
					return fmt.Errorf("insert: %w", errDown) // as a driver reports a lost connection
				}
				return txHandler(&calls).HandleMessage(ctx, m)
			})
			var ss storeStates
			stop := runBlaze(t, c, h, mixin.WithStore(st), ss.hook(),
				mixin.WithHandlerRetry(mixin.Retry{Attempts: 2, Min: time.Millisecond, Max: time.Millisecond}),
				mixin.WithDeadLetter(func(_ context.Context, _ *mixin.Message, err error) { mu.Lock(); dead = append(dead, err); mu.Unlock() }))
			m, err := s.NewUser("Alice").SendText(ctxT(t), s.Bot().UserID, "needs the database")
			require.NoError(t, err)
			eventually(t, "attempts beyond the retry policy", func() bool { return calls.Load() >= 5 })
			assert.Equal(t, 1, s.Pending(s.Bot().UserID), "not acknowledged while the store is down")
			st.set(fault, false, false)
			down.Store(false)
			eventually(t, "acknowledged", func() bool { return s.Pending(s.Bot().UserID) == 0 })
			require.NoError(t, stop())
			mu.Lock()
			assert.Empty(t, dead, "a store fault never reaches the dead-letter hook")
			mu.Unlock()
			assert.Equal(t, map[string]int{m.MessageID: 1}, effectCount(t, db))
			op := map[string]string{"begin": "begin", "statement": "statement", "marktx": "record"}[fault]
			ss.failedThenRecovered(t, op, errDown)
		})
	}
	t.Run("handler error", func(t *testing.T) {
		s := mixintest.NewServer(t)
		st := newFaultyStore(effectsDB(t))
		c, err := s.Client()
		require.NoError(t, err)
		var calls atomic.Int64
		dead := make(chan error, 1)
		h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
			calls.Add(1)
			if _, err := mixin.Tx(ctx); err != nil {
				return err
			}
			return errors.New("the handler's own failure")
		})
		stop := runBlaze(t, c, h, mixin.WithStore(st),
			mixin.WithHandlerRetry(mixin.Retry{Attempts: 2, Min: time.Millisecond, Max: time.Millisecond}),
			mixin.WithDeadLetter(func(_ context.Context, _ *mixin.Message, err error) { dead <- err }))
		_, err = s.NewUser("Alice").SendText(ctxT(t), s.Bot().UserID, "bad")
		require.NoError(t, err)
		require.EqualError(t, <-dead, "the handler's own failure")
		eventually(t, "acknowledged after the dead letter", func() bool { return s.Pending(s.Bot().UserID) == 0 })
		require.NoError(t, stop())
		assert.Equal(t, int64(2), calls.Load(), "the retry policy's attempts, no more")
	})
}

// TestStoreLookupFailsDefers: messages listed as pending after a
// (re)connection are looked up before they are handled; while lookups
// fail they wait, and are handled once the store answers.
func TestStoreLookupFailsDefers(t *testing.T) {
	s := mixintest.NewServer(t)
	st := newFaultyStore(openStore(t))
	st.set("handled", true, false)
	c, err := s.Client()
	require.NoError(t, err)
	alice := s.NewUser("Alice")
	for i := range 3 {
		_, err := alice.SendText(ctxT(t), s.Bot().UserID, fmt.Sprint("pending ", i))
		require.NoError(t, err)
	}
	var calls atomic.Int64
	var ss storeStates
	stop := runBlaze(t, c, mixin.HandlerFunc(func(context.Context, *mixin.Message) error { calls.Add(1); return nil }), mixin.WithStore(st), ss.hook())
	eventually(t, "lookups retried", func() bool { return st.count("handled") >= 6 })
	assert.Zero(t, calls.Load(), "not handled without a lookup")
	assert.Equal(t, 3, s.Pending(s.Bot().UserID))
	st.set("handled", false, false)
	eventually(t, "handled and acknowledged", func() bool { return s.Pending(s.Bot().UserID) == 0 })
	require.NoError(t, stop())
	assert.Equal(t, int64(3), calls.Load())
	ss.failedThenRecovered(t, "lookup", errDown)
}

// TestStoreCallTimeout: a store that stops answering (a call that hangs)
// holds the loop up for the store timeout, then counts as a failure and is
// retried; when it answers again the loop goes on.
func TestStoreCallTimeout(t *testing.T) {
	s := mixintest.NewServer(t)
	st := newFaultyStore(openStore(t))
	st.set("mark", false, true)
	c, err := s.Client()
	require.NoError(t, err)
	var calls atomic.Int64
	var ss storeStates
	stop := runBlaze(t, c, mixin.HandlerFunc(func(context.Context, *mixin.Message) error { calls.Add(1); return nil }),
		mixin.WithStore(st), mixin.WithStoreTimeout(50*time.Millisecond), ss.hook())
	_, err = s.NewUser("Alice").SendText(ctxT(t), s.Bot().UserID, "hang")
	require.NoError(t, err)
	eventually(t, "the hung record given up and retried", func() bool { return st.count("mark") >= 3 })
	assert.Equal(t, 1, s.Pending(s.Bot().UserID))
	st.set("mark", false, false)
	eventually(t, "acknowledged", func() bool { return s.Pending(s.Bot().UserID) == 0 })
	require.NoError(t, stop())
	ss.failedThenRecovered(t, "record", context.DeadlineExceeded)
}

// TestStoreFenced: a replica whose record or transaction is fenced (it lost
// the conversation's lease while it handled the message) rolls its effects
// back, does not acknowledge the message and does not dead-letter it; it
// keeps it aside, and once the replica that took the conversation recorded
// it, acknowledges it without handling it again.
func TestStoreFenced(t *testing.T) {
	for _, tx := range []bool{false, true} {
		t.Run(fmt.Sprint("tx=", tx), func(t *testing.T) {
			s := mixintest.NewServer(t)
			db := effectsDB(t)
			st := newFaultyStore(db)
			st.fence.Store(true)
			c, err := s.Client()
			require.NoError(t, err)
			var calls atomic.Int64
			var h mixin.Handler = mixin.HandlerFunc(func(context.Context, *mixin.Message) error { calls.Add(1); return nil })
			if tx {
				h = txHandler(&calls)
			}
			// Another replica takes the conversation while this one handles
			// the message.
			takeover := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
				st.refuse.Store(true)
				return h.HandleMessage(ctx, m)
			})
			dead := make(chan error, 1)
			stop := runBlaze(t, c, takeover, mixin.WithStore(st), mixin.WithReplica("r1", 200*time.Millisecond),
				mixin.WithDeadLetter(func(_ context.Context, _ *mixin.Message, err error) { dead <- err }))
			m, err := s.NewUser("Alice").SendText(ctxT(t), s.Bot().UserID, "taken over")
			require.NoError(t, err)
			eventually(t, "handled and fenced", func() bool {
				return calls.Load() == 1 && st.count(map[bool]string{false: "mark", true: "marktx"}[tx]) >= 1
			})
			time.Sleep(300 * time.Millisecond) // sweeps come and go: still not handled here
			assert.Equal(t, 1, s.Pending(s.Bot().UserID), "a fenced message is not acknowledged")
			assert.Empty(t, effectCount(t, db), "the fenced transaction rolled back")
			// The new owner records it.
			_, err = db.MarkHandled(t.Context(), []mixin.Record{{Key: mixin.StoreKey(m.MessageID, m.CreatedAt)}})
			require.NoError(t, err)
			eventually(t, "acknowledged once recorded elsewhere", func() bool { return s.Pending(s.Bot().UserID) == 0 })
			require.NoError(t, stop())
			select {
			case err := <-dead:
				t.Fatalf("dead-lettered: %v", err)
			default:
			}
			assert.Equal(t, int64(1), calls.Load(), "not handled again")
		})
	}
}

// TestStoreDownAtShutdown: a loop stopped while the store is down leaves
// the messages it could not handle to the next run: not acknowledged, not
// dead-lettered, and RunBlaze returns in time.
func TestStoreDownAtShutdown(t *testing.T) {
	s := mixintest.NewServer(t)
	st := newFaultyStore(effectsDB(t))
	st.set("begin", true, false)
	c, err := s.Client()
	require.NoError(t, err)
	var calls atomic.Int64
	dead := make(chan error, 1)
	stop := runBlaze(t, c, txHandler(&calls), mixin.WithStore(st),
		mixin.WithHandlerRetry(mixin.Retry{Attempts: 1}),
		mixin.WithDeadLetter(func(_ context.Context, _ *mixin.Message, err error) { dead <- err }))
	_, err = s.NewUser("Alice").SendText(ctxT(t), s.Bot().UserID, "not now")
	require.NoError(t, err)
	eventually(t, "attempts failing", func() bool { return calls.Load() >= 3 })
	require.NoError(t, stop())
	select {
	case err := <-dead:
		t.Fatalf("dead-lettered at shutdown: %v", err)
	default:
	}
	assert.Equal(t, 1, s.Pending(s.Bot().UserID), "left for the next run")
}

// TestStoreParkedKeepOrder: messages parked while another replica holds
// their conversation are not overtaken by a later message that arrives
// once the conversation is free again: it parks behind them, and all are
// handled in the order sent.
func TestStoreParkedKeepOrder(t *testing.T) {
	s := mixintest.NewServer(t)
	st := newFaultyStore(openStore(t))
	st.refuse.Store(true)
	c, err := s.Client()
	require.NoError(t, err)
	var mu sync.Mutex
	var order []string
	h := mixin.HandlerFunc(func(_ context.Context, m *mixin.Message) error {
		mu.Lock()
		order = append(order, m.Text())
		mu.Unlock()
		return nil
	})
	stop := runBlaze(t, c, h, mixin.WithStore(st), mixin.WithReplica("r1", 4*time.Second)) // sweeps every second
	alice := s.NewUser("Alice")
	for _, text := range []string{"one", "two"} {
		_, err := alice.SendText(ctxT(t), s.Bot().UserID, text)
		require.NoError(t, err)
	}
	eventually(t, "both refused a lease", func() bool { return st.count("lease") >= 2 })
	st.refuse.Store(false) // the other replica let the conversation go
	_, err = alice.SendText(ctxT(t), s.Bot().UserID, "three")
	require.NoError(t, err)
	eventually(t, "all handled", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 3 })
	require.NoError(t, stop())
	assert.Equal(t, []string{"one", "two", "three"}, order)
}
