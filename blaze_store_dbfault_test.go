package mixin_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/internal/pgtest"
	"github.com/gomixin/mixin/mixintest"
	"github.com/gomixin/mixin/store"
	"github.com/gomixin/mixin/store/postgres"
	"github.com/gomixin/mixin/store/sqlite"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The database itself fails under a loop running in this process: the
// SQLite file locked by another process, made read-only, out of space; the
// PostgreSQL server restarted, its connections terminated, unreachable.
// In each case the loop must acknowledge nothing whose record did not
// commit, wait and retry while the database is down, say so through the
// state hook, carry on by itself when it is back, lose nothing, and commit
// no Tx effect twice.

// liveBot is a loop in this process on a real store, handling the texts
// of four users with childHandler (its effect in crash_effects).
type liveBot struct {
	s     *mixintest.Server
	users []*mixintest.User
	db    *store.DB
	calls string // the handler's log: without Tx, its effects
	ss    storeStates
	stop  func() error

	mu   sync.Mutex
	sent []string
}

// startLiveBot runs the loop on db with h, or childHandler if h is nil.
func startLiveBot(t *testing.T, db *store.DB, tx bool, h mixin.Handler, opts ...mixin.BlazeOption) *liveBot {
	_, err := db.Writer().ExecContext(t.Context(), effectsTable(db.Dialect()))
	require.NoError(t, err)
	b := &liveBot{s: mixintest.NewServer(t), db: db, calls: filepath.Join(t.TempDir(), "calls.log")}
	for i := range 4 {
		b.users = append(b.users, b.s.NewUser(fmt.Sprint("user ", i)))
	}
	c, err := b.s.Client()
	require.NoError(t, err)
	if h == nil {
		f, err := os.OpenFile(b.calls, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		require.NoError(t, err)
		t.Cleanup(func() { _ = f.Close() })
		h = childHandler(db, childConfig{Tx: tx}, f)
	}
	b.stop = runBlaze(t, c, h, append([]mixin.BlazeOption{mixin.WithStore(db), b.ss.hook()}, opts...)...)
	return b
}

// send has the users send n texts, one every gap.
func (b *liveBot) send(t *testing.T, n int, gap time.Duration) {
	for i := range n {
		m, err := b.users[i%len(b.users)].SendText(t.Context(), b.s.Bot().UserID, fmt.Sprint("text ", i))
		require.NoError(t, err)
		b.mu.Lock()
		b.sent = append(b.sent, m.MessageID)
		b.mu.Unlock()
		time.Sleep(gap)
	}
}

func (b *liveBot) pending() int { return b.s.Pending(b.s.Bot().UserID) }

// effects counts each message's committed effects.
func (b *liveBot) effects(t *testing.T, tx bool) map[string]int {
	return effectCounts(t, stateDB{db: b.db}, tx, b.calls)
}

// settle waits until everything sent is acknowledged, stops the loop and
// checks the effects: one at least per message, exactly one with Tx.
func (b *liveBot) settle(t *testing.T, tx bool) {
	t.Helper()
	waitFor(t, "every message acknowledged", func() int { return -b.pending() }, func() bool { return b.pending() == 0 })
	require.NoError(t, b.stop())
	got := b.effects(t, tx)
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range b.sent {
		if tx {
			require.Equal(t, 1, got[id], "effects of %s", id)
		} else {
			require.Positive(t, got[id], "lost: %s", id)
		}
	}
}

// down checks the store is failing: the hook heard ConnStateStoreFailed, and
// what was sent meanwhile is neither handled nor acknowledged.
func (b *liveBot) down(t *testing.T, op string, newest int) {
	t.Helper()
	eventually(t, "the state hook hearing the store fail", func() bool { return len(b.ss.list()) >= 1 })
	ev := b.ss.list()[0]
	require.Equal(t, mixin.ConnStateStoreFailed, ev.State)
	var se *mixin.StoreError
	require.ErrorAs(t, ev.Err, &se)
	if op != "" {
		assert.Equal(t, op, se.Op, "%v", ev.Err)
	}
	assert.True(t, b.db.Unavailable(se.Err), "the cause is the database's: %v", se.Err)
	assert.GreaterOrEqual(t, b.pending(), newest, "no acknowledgement while the store fails")
}

// recovered checks the hook heard the store come back, last.
func (b *liveBot) recovered(t *testing.T) {
	t.Helper()
	eventually(t, "the state hook hearing the store recover", func() bool {
		ev := b.ss.list()
		return len(ev) >= 2 && ev[len(ev)-1].State == mixin.ConnStateStoreRecovered
	})
}

// lockerEnv makes this binary hold an SQLite file's write lock until its
// stdin closes.
const lockerEnv = "MIXIN_SQLITE_LOCKER"

// TestSQLiteLocker is the lock-holding child; it does nothing in a normal
// run.
func TestSQLiteLocker(t *testing.T) {
	path := os.Getenv(lockerEnv)
	if path == "" {
		t.Skip("run by TestSQLiteLockedByAnotherProcess as a child process")
	}
	db, err := sqlite.Open(context.Background(), path)
	require.NoError(t, err)
	tx, err := db.BeginTx(context.Background()) // BEGIN IMMEDIATE: the write lock
	require.NoError(t, err)
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = tx.Rollback()
	_ = db.Close()
}

// TestSQLiteLockedByAnotherProcess: another process holds the file's write
// lock for well past the busy timeout. Transactions cannot begin nor
// records commit; the loop waits, then carries on once the lock is free.
func TestSQLiteLockedByAnotherProcess(t *testing.T) {
	for _, tx := range []bool{false, true} {
		t.Run(fmt.Sprint("tx=", tx), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bot.db")
			db, err := sqlite.Open(t.Context(), path, sqlite.WithBusyTimeout(100*time.Millisecond))
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			b := startLiveBot(t, db, tx, nil)
			b.send(t, 20, 0)
			waitFor(t, "the first messages", func() int { return -b.pending() }, func() bool { return b.pending() == 0 })

			locker := exec.Command(os.Args[0], "-test.run=^TestSQLiteLocker$", "-test.count=1")
			locker.Env = append(os.Environ(), lockerEnv+"="+path)
			stdin, err := locker.StdinPipe()
			require.NoError(t, err)
			out, err := locker.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, locker.Start())
			t.Cleanup(func() { _ = locker.Process.Kill(); _ = locker.Wait() })
			line, err := bufio.NewReader(out).ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "locked\n", line)

			b.send(t, 20, 0)
			op := "record"
			if tx {
				op = "begin"
			}
			b.down(t, op, 20)
			time.Sleep(time.Second) // ten busy timeouts
			assert.Equal(t, 20, b.pending(), "nothing acknowledged while the file is locked")
			require.NoError(t, stdin.Close())
			_, _ = io.Copy(io.Discard, out)
			require.NoError(t, locker.Wait())
			b.recovered(t)
			b.settle(t, tx)
		})
	}
}

// TestSQLiteFileTurnsReadOnly: the database file and its WAL become
// immutable (chattr +i, which the kernel enforces on open files too) under
// the running loop; writes fail until they are writable again.
func TestSQLiteFileTurnsReadOnly(t *testing.T) {
	chattr, err := exec.LookPath("chattr")
	if err != nil {
		t.Skip("needs chattr")
	}
	for _, tx := range []bool{false, true} {
		t.Run(fmt.Sprint("tx=", tx), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "bot.db")
			db, err := sqlite.Open(t.Context(), path)
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			b := startLiveBot(t, db, tx, nil)
			b.send(t, 20, 0)
			waitFor(t, "the first messages", func() int { return -b.pending() }, func() bool { return b.pending() == 0 })
			files := []string{path, path + "-wal"}
			if out, err := exec.Command(chattr, append([]string{"+i"}, files...)...).CombinedOutput(); err != nil {
				t.Skipf("cannot make the files immutable here (needs root on ext4 or the like): %v %s", err, out)
			}
			t.Cleanup(func() { _ = exec.Command(chattr, append([]string{"-i"}, files...)...).Run() })

			b.send(t, 20, 0)
			b.down(t, "", 20)
			time.Sleep(500 * time.Millisecond)
			assert.Equal(t, 20, b.pending(), "nothing acknowledged while the file is read-only")
			out, err := exec.Command(chattr, append([]string{"-i"}, files...)...).CombinedOutput()
			require.NoError(t, err, "%s", out)
			b.recovered(t)
			b.settle(t, tx)
		})
	}
}

// TestPostgresConnectionsTerminated: the server ends the bot's sessions
// (pg_terminate_backend) over and over while messages stream in, one of
// them while a handler is inside its transaction. Each message's effect
// commits once.
func TestPostgresConnectionsTerminated(t *testing.T) {
	app := "mixin-fault-" + uuid.NewString()[:8]
	u, err := url.Parse(pgtest.Fresh(t))
	require.NoError(t, err)
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	db, err := postgres.Open(t.Context(), u.String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	admin, err := postgres.Open(t.Context(), pgtest.URL(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close() })
	terminate := func() {
		_, err := admin.Writer().ExecContext(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, app)
		require.NoError(t, err)
	}

	// One handler is held inside its transaction while its session ends.
	inTx, resume := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hold := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		tx, err := mixin.Tx(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `SELECT 1`); err != nil {
			return err
		}
		once.Do(func() { close(inTx); <-resume })
		_, err = tx.ExecContext(ctx, `INSERT INTO crash_effects (msg, conv, replica, tx) VALUES ($1, $2, '', 1)`, m.MessageID, m.ConversationID)
		return err
	})
	b := startLiveBot(t, db, true, hold, mixin.WithStoreTimeout(2*time.Second))
	b.send(t, 1, 0)
	<-inTx
	terminate()
	close(resume)
	b.down(t, "statement", 1)
	b.recovered(t)

	// Then terminations every 50ms while 300 messages come at 300 a second.
	stopKilling := make(chan struct{})
	var killer sync.WaitGroup
	killer.Add(1)
	go func() {
		defer killer.Done()
		for {
			select {
			case <-stopKilling:
				return
			case <-time.After(50 * time.Millisecond):
				terminate()
			}
		}
	}()
	b.send(t, 300, 3*time.Millisecond)
	close(stopKilling)
	killer.Wait()
	b.settle(t, true)
	t.Logf("store events: %d", len(b.ss.list()))
}

// TestPostgresRestart: the server of a throwaway cluster is restarted
// (fast shutdown: every session ends) while messages stream in, then
// stopped for a while and started again.
func TestPostgresRestart(t *testing.T) {
	cl := pgtest.NewCluster(t)
	db, err := postgres.Open(t.Context(), cl.URL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	b := startLiveBot(t, db, true, nil, mixin.WithStoreTimeout(2*time.Second))
	var senders sync.WaitGroup
	senders.Add(1)
	go func() { defer senders.Done(); b.send(t, 400, 5*time.Millisecond) }()
	time.Sleep(300 * time.Millisecond)
	cl.Stop("fast")
	b.down(t, "", 0)
	time.Sleep(time.Second)
	cl.Start()
	b.recovered(t)
	time.Sleep(300 * time.Millisecond)
	cl.Stop("immediate") // as a crash of the server
	cl.Start()
	senders.Wait()
	b.settle(t, true)
	ev := b.ss.list()
	assert.GreaterOrEqual(t, len(ev), 2)
	t.Logf("store events: %d", len(ev))
}
