package mixin_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/gomixin/mixin/store"
	"github.com/gomixin/mixin/store/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestStoreOptions(t *testing.T) {
	s := mixintest.NewServer(t)
	c, err := s.Client()
	require.NoError(t, err)
	h := mixin.HandlerFunc(func(context.Context, *mixin.Message) error { return nil })
	for _, o := range []mixin.BlazeOption{
		mixin.WithStore(nil), mixin.WithHandledHorizon(time.Minute),
		mixin.WithReplica("", 0), mixin.WithReplica("r1", time.Millisecond),
	} {
		err := c.RunBlaze(t.Context(), h, o)
		var fe *mixin.FieldError
		require.ErrorAs(t, err, &fe)
	}
	_, err = mixin.Tx(t.Context())
	assert.ErrorIs(t, err, mixin.ErrNoStore, "outside a handler")
}

// TestStoreHandledOnceAcrossRuns: a message handled by one run but never
// acknowledged comes again in the next run's listing; the store has its
// record, so it is acknowledged without reaching the handler again.
func TestStoreHandledOnceAcrossRuns(t *testing.T) {
	s := mixintest.NewServer(t)
	db := openStore(t)
	c, err := s.Client()
	require.NoError(t, err)
	var calls atomic.Int64
	h := mixin.HandlerFunc(func(context.Context, *mixin.Message) error { calls.Add(1); return nil })
	alice := s.NewUser("Alice")
	m, err := alice.SendText(ctxT(t), s.Bot().UserID, "once")
	require.NoError(t, err)

	stop := runBlaze(t, c, h, mixin.WithStore(db), mixin.WithAckMode(mixin.AckModeManual))
	eventually(t, "handled and recorded", func() bool {
		got, err := db.Handled(t.Context(), []string{mixin.StoreKey(m.MessageID, m.CreatedAt)})
		return err == nil && got[0]
	})
	require.NoError(t, stop())
	require.Equal(t, 1, s.Pending(s.Bot().UserID), "not acknowledged: the server will deliver it again")

	stop = runBlaze(t, c, h, mixin.WithStore(db))
	eventually(t, "acknowledged by the second run", func() bool { return s.Pending(s.Bot().UserID) == 0 })
	require.NoError(t, stop())
	assert.Equal(t, int64(1), calls.Load(), "the handler saw it once")
}

// TestStoreTx: the handler's writes and the record commit together; a
// failed attempt's writes roll back and its retry commits once.
func TestStoreTx(t *testing.T) {
	s := mixintest.NewServer(t)
	db := openStore(t)
	_, err := db.Writer().ExecContext(t.Context(), `CREATE TABLE effects (msg TEXT NOT NULL, attempt INTEGER NOT NULL)`)
	require.NoError(t, err)
	c, err := s.Client()
	require.NoError(t, err)
	var mu sync.Mutex
	attempts := map[string]int{}
	keys := map[string]string{}
	h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		mu.Lock()
		keys[m.MessageID] = mixin.StoreKey(m.MessageID, m.CreatedAt)
		attempts[m.MessageID]++
		n := attempts[m.MessageID]
		mu.Unlock()
		tx, err := mixin.Tx(ctx)
		if err != nil {
			return err
		}
		again, err := mixin.Tx(ctx)
		if err != nil || again != tx {
			return errors.New("Tx must return the attempt's one transaction")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO effects (msg, attempt) VALUES (?, ?)`, m.MessageID, n); err != nil {
			return err
		}
		if m.Text() == "fail once" && n == 1 {
			return errors.New("first attempt fails after writing")
		}
		return nil
	})
	stop := runBlaze(t, c, h, mixin.WithStore(db))
	alice := s.NewUser("Alice")
	for _, text := range []string{"ok", "fail once"} {
		_, err := alice.SendText(ctxT(t), s.Bot().UserID, text)
		require.NoError(t, err)
	}
	eventually(t, "both acknowledged", func() bool { return s.Pending(s.Bot().UserID) == 0 })
	require.NoError(t, stop())

	rows, err := db.SQL().QueryContext(t.Context(), `SELECT msg, attempt FROM effects`)
	require.NoError(t, err)
	defer rows.Close()
	got := map[string][]int{}
	for rows.Next() {
		var id string
		var n int
		require.NoError(t, rows.Scan(&id, &n))
		got[id] = append(got[id], n)
	}
	require.Len(t, got, 2)
	for id, ns := range got {
		if attempts[id] == 2 {
			assert.Equal(t, []int{2}, ns, "the failed attempt's write rolled back")
		} else {
			assert.Equal(t, []int{1}, ns)
		}
		h, err := db.Handled(t.Context(), []string{keys[id]})
		require.NoError(t, err)
		assert.True(t, h[0], "recorded in the same transaction")
	}
}

// arbiterStore reports every id as recorded by someone else first, as a
// replica that committed first would make it.
type arbiterStore struct{ mixin.Store }

func (a arbiterStore) MarkHandledTx(context.Context, *sql.Tx, mixin.Record) (mixin.Mark, error) {
	return mixin.MarkDuplicate, nil
}

// TestStoreTxLosesToTheFirstCommit: when another replica recorded the
// message first, this attempt's writes roll back and the message counts
// as handled (acknowledged, not retried).
func TestStoreTxLosesToTheFirstCommit(t *testing.T) {
	s := mixintest.NewServer(t)
	db := openStore(t)
	_, err := db.Writer().ExecContext(t.Context(), `CREATE TABLE effects (msg TEXT NOT NULL)`)
	require.NoError(t, err)
	c, err := s.Client()
	require.NoError(t, err)
	var calls atomic.Int64
	h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		calls.Add(1)
		tx, err := mixin.Tx(ctx)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO effects (msg) VALUES (?)`, m.MessageID)
		return err
	})
	stop := runBlaze(t, c, h, mixin.WithStore(arbiterStore{db}))
	_, err = s.NewUser("Alice").SendText(ctxT(t), s.Bot().UserID, "race")
	require.NoError(t, err)
	eventually(t, "acknowledged", func() bool { return s.Pending(s.Bot().UserID) == 0 })
	require.NoError(t, stop())
	var n int
	require.NoError(t, db.SQL().QueryRowContext(t.Context(), `SELECT count(*) FROM effects`).Scan(&n))
	assert.Zero(t, n, "the loser's writes rolled back")
	assert.Equal(t, int64(1), calls.Load(), "not retried")
}

// TestStoreTxFromSeveralGoroutines: goroutines of one handler share its
// transaction (begun once, without a data race), and one left running
// after the handler returned gets an error instead of a transaction that
// is already committed.
func TestStoreTxFromSeveralGoroutines(t *testing.T) {
	s := mixintest.NewServer(t)
	db := openStore(t)
	c, err := s.Client()
	require.NoError(t, err)
	type result struct {
		txs []*sql.Tx
	}
	got := make(chan result, 1)
	late := make(chan context.Context, 1)
	h := mixin.HandlerFunc(func(ctx context.Context, _ *mixin.Message) error {
		var wg sync.WaitGroup
		txs := make([]*sql.Tx, 4)
		errs := make([]error, 4)
		for i := range txs {
			wg.Add(1)
			go func() { defer wg.Done(); txs[i], errs[i] = mixin.Tx(ctx) }()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		got <- result{txs: txs}
		late <- ctx
		return nil
	})
	alice := s.NewUser("Alice")
	_, err = alice.SendText(ctxT(t), s.Bot().UserID, "shared")
	require.NoError(t, err)
	stop := runBlaze(t, c, h, mixin.WithStore(db))
	defer func() { require.NoError(t, stop()) }()
	r := <-got
	for _, tx := range r.txs {
		require.NotNil(t, tx)
		assert.Same(t, r.txs[0], tx, "one transaction per attempt")
	}
	ctx := <-late
	eventually(t, "acknowledged", func() bool { return s.Pending(s.Bot().UserID) == 0 })
	tx, err := mixin.Tx(ctx)
	if tx != nil {
		_ = tx.Rollback() // a fresh transaction outside any attempt: don't hold the database
	}
	assert.Error(t, err, "the attempt is over: its transaction was committed")
	assert.NotErrorIs(t, err, mixin.ErrNoStore)
}
