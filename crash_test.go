package mixin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/internal/pgtest"
	"github.com/gomixin/mixin/store"
	"github.com/gomixin/mixin/store/postgres"
	"github.com/gomixin/mixin/store/sqlite"
	"github.com/stretchr/testify/require"
)

// The crash, replica and fault tests run bots as child processes (this
// test binary, re-executed) against an emulator in the parent, and kill
// (SIGKILL), stop (SIGSTOP) and resume them by PID while users keep
// sending. What a handler did is counted by its committed effect: with Tx
// a row the handler wrote in the store's database in the message's
// transaction; without, a line in the calls log, synced to disk before the
// handler returned.

// childEnv names the variable that makes this binary a bot child; its value
// is the path of the child's JSON config.
const childEnv = "MIXIN_STATE_CHILD"

// childConfig is what a bot child needs.
type childConfig struct {
	Keystore json.RawMessage `json:"keystore"`
	BaseURL  string          `json:"base_url"`
	BlazeURL string          `json:"blaze_url"`
	SQLite   string          `json:"sqlite,omitempty"`   // the store's file, or
	Postgres string          `json:"postgres,omitempty"` // the store's URL
	Calls    string          `json:"calls,omitempty"`    // one line per finished handler call (none if empty)
	Tx       bool            `json:"tx"`                 // write the effect in the message's transaction
	Replica  string          `json:"replica,omitempty"`
	Lease    time.Duration   `json:"lease,omitempty"`
	Workers  int             `json:"workers,omitempty"`
	Delay    time.Duration   `json:"delay,omitempty"`         // each handler call takes this long
	Timeout  time.Duration   `json:"store_timeout,omitempty"` // WithStoreTimeout
	States   string          `json:"states,omitempty"`        // a line per store state event
	PauseOn  string          `json:"pause_on,omitempty"`      // a text whose handler, inside its transaction, writes Paused and waits a second
	Paused   string          `json:"paused,omitempty"`
}

// TestStateChild is the bot child; it does nothing in a normal run.
func TestStateChild(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("run by the crash, replica and fault tests as a child process")
	}
	if err := runChild(path); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
}

// effectsTable is the table of the handlers' effects: seq orders them by
// insertion (PostgreSQL assigns it as the row is written, so among the
// rows of one conversation, which one replica at a time writes, it is the
// order they were handled in).
func effectsTable(d store.Dialect) string {
	seq := "seq INTEGER PRIMARY KEY AUTOINCREMENT"
	if d == store.DialectPostgreSQL {
		seq = "seq BIGSERIAL PRIMARY KEY"
	}
	return `CREATE TABLE IF NOT EXISTS crash_effects (` + seq + `, msg TEXT NOT NULL, conv TEXT NOT NULL, replica TEXT NOT NULL, tx INTEGER NOT NULL)`
}

func openChildStore(ctx context.Context, cfg childConfig) (*store.DB, error) {
	if cfg.SQLite != "" {
		return sqlite.Open(ctx, cfg.SQLite)
	}
	return postgres.Open(ctx, cfg.Postgres)
}

func runChild(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg childConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	db, err := openChildStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	ks, err := mixin.ParseKeystore(cfg.Keystore)
	if err != nil {
		return err
	}
	c, err := mixin.NewClient(ks, mixin.WithBaseURL(cfg.BaseURL), mixin.WithBlazeURL(cfg.BlazeURL))
	if err != nil {
		return err
	}
	var calls *os.File // no log without a path
	if cfg.Calls != "" {
		if calls, err = os.OpenFile(cfg.Calls, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err != nil {
			return err
		}
		defer calls.Close()
	}
	h := childHandler(db, cfg, calls)
	workers := cfg.Workers
	if workers == 0 {
		workers = crashWorkers
	}
	opts := []mixin.BlazeOption{mixin.WithStore(db), mixin.WithHandlerWorkers(workers)}
	if cfg.Replica != "" {
		opts = append(opts, mixin.WithReplica(cfg.Replica, cfg.Lease))
	}
	if cfg.Timeout != 0 {
		opts = append(opts, mixin.WithStoreTimeout(cfg.Timeout))
	}
	if cfg.States != "" {
		f, err := os.OpenFile(cfg.States, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		opts = append(opts, mixin.WithStateHook(func(e mixin.StateEvent) {
			if e.State == mixin.ConnStateStoreFailed || e.State == mixin.ConnStateStoreRecovered {
				_, _ = fmt.Fprintf(f, "%s\t%v\n", e.State, e.Err)
			}
		}))
	}
	return c.RunBlaze(ctx, h, opts...)
}

// childHandler does each text message's effect: with Tx a row in
// crash_effects, written in the message's transaction; then, in every
// mode, a line in the calls log, synced to disk before the handler returns
// (without Tx that line is the effect).
func childHandler(db *store.DB, cfg childConfig, calls *os.File) mixin.Handler {
	insert := db.Dialect().Rebind(`INSERT INTO crash_effects (msg, conv, replica, tx) VALUES (?, ?, ?, 1)`)
	var mu sync.Mutex
	return mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		if m.Category != mixin.CategoryPlainText {
			return nil
		}
		if cfg.Delay > 0 {
			time.Sleep(cfg.Delay)
		}
		if cfg.Tx {
			tx, err := mixin.Tx(ctx)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, insert, m.MessageID, m.ConversationID, cfg.Replica); err != nil {
				return err
			}
			if cfg.PauseOn != "" && m.Text() == cfg.PauseOn {
				if err := os.WriteFile(cfg.Paused, []byte(m.MessageID), 0o600); err != nil {
					return err
				}
				time.Sleep(time.Second)
			}
		}
		if calls == nil {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if _, err := calls.WriteString(m.MessageID + "\n"); err != nil {
			return err
		}
		return calls.Sync()
	})
}

// child is a running bot child.
type child struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{} // closed once its output was read to the end
}

// lockedBuffer collects a child's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func startChild(t testing.TB, cfg childConfig) *child {
	t.Helper()
	path := filepath.Join(t.TempDir(), "child.json")
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	cmd := exec.Command(os.Args[0], "-test.run=^TestStateChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	pipe, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	c := &child{cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	go func() { // to the end, before Wait closes the pipe
		defer close(c.done)
		sc := bufio.NewReader(pipe)
		buf := make([]byte, 4096)
		for {
			n, err := sc.Read(buf)
			c.out.mu.Lock()
			c.out.b.Write(buf[:n])
			c.out.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { c.kill() })
	return c
}

// wait reads the child's output to its end, then reaps it.
func (c *child) wait() error {
	<-c.done
	return c.cmd.Wait()
}

// kill sends SIGKILL to the child's PID and reaps it.
func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = syscall.Kill(c.cmd.Process.Pid, syscall.SIGKILL)
	_ = c.wait()
}

// signal sends sig to the child's PID.
func (c *child) signal(sig syscall.Signal) { _ = syscall.Kill(c.cmd.Process.Pid, sig) }

// stop asks the child to shut down (SIGTERM) and waits. A child that had
// not yet set up its handling of SIGTERM (just started) dies of it, which
// is as good: it had not begun.
func (c *child) stop(t testing.TB) {
	t.Helper()
	c.signal(syscall.SIGCONT) // in case it was stopped
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
	err := c.wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return
		}
	}
	require.NoError(t, err, c.out.String())
}

// callLog reads a calls log: the message ids of the finished handler
// calls, in order.
func callLog(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var out []string
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF {
			return out // a line without its newline is still being written
		}
		require.NoError(t, err)
		if line = strings.TrimSpace(line); len(line) == 36 {
			out = append(out, line)
		}
	}
}

// effectCounts counts each message's effects: rows of crash_effects with
// Tx, lines of the calls logs without.
func effectCounts(t testing.TB, db stateDB, tx bool, logs ...string) map[string]int {
	if tx {
		return count(db.effects(t))
	}
	out := map[string]int{}
	for _, l := range logs {
		for _, id := range callLog(t, l) {
			out[id]++
		}
	}
	return out
}

// effect is one row of crash_effects.
type effect struct {
	Seq                int64
	Msg, Conv, Replica string
	Tx                 bool
}

// stateDB is the parent's handle on a children's store.
type stateDB struct {
	db *store.DB
}

// newStateDB makes the store for children: an SQLite file in dir, or a
// fresh PostgreSQL schema; with the effects table.
func newStateDB(t testing.TB, kind, dir string) (stateDB, childConfig) {
	t.Helper()
	var cfg childConfig
	var db *store.DB
	var err error
	switch kind {
	case "sqlite":
		cfg.SQLite = filepath.Join(dir, "bot.db")
		db, err = sqlite.Open(t.Context(), cfg.SQLite)
	case "postgres":
		cfg.Postgres = pgtest.Fresh(t)
		db, err = postgres.Open(t.Context(), cfg.Postgres)
	default:
		t.Fatalf("unknown store %q", kind)
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.Writer().ExecContext(t.Context(), effectsTable(db.Dialect()))
	require.NoError(t, err)
	return stateDB{db: db}, cfg
}

// effects reads every committed effect, in seq order. A connection the
// pool kept from before a server restart fails its first query (the loop
// retries such faults; so does this read, a few times).
func (s stateDB) effects(t testing.TB) []effect {
	t.Helper()
	var out []effect
	var err error
	for range 5 {
		if out, err = s.readEffects(t.Context()); err == nil || !s.db.Unavailable(err) {
			break
		}
	}
	require.NoError(t, err)
	return out
}

func (s stateDB) readEffects(ctx context.Context) ([]effect, error) {
	rows, err := s.db.SQL().QueryContext(ctx, `SELECT seq, msg, conv, replica, tx FROM crash_effects ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []effect
	for rows.Next() {
		var e effect
		var tx int
		if err := rows.Scan(&e.Seq, &e.Msg, &e.Conv, &e.Replica, &tx); err != nil {
			return nil, err
		}
		e.Tx = tx == 1
		out = append(out, e)
	}
	return out, rows.Err()
}

// count returns how many committed effects each message has.
func count(es []effect) map[string]int {
	out := make(map[string]int, len(es))
	for _, e := range es {
		out[e.Msg]++
	}
	return out
}

// waitFor polls cond until it holds, failing when nothing changes (as
// progress() reports) for a long while: a slow machine is not a failure, a
// stuck one is.
func waitFor(t testing.TB, what string, progress func() int, cond func() bool) {
	t.Helper()
	last, since := progress(), time.Now()
	for !cond() {
		if p := progress(); p != last {
			last, since = p, time.Now()
		}
		if time.Since(since) > 60*time.Second {
			t.Fatalf("no progress for 60s waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// senders has users write to the bot until stopped, about rate messages a
// second in all, and remembers every id sent.
type senders struct {
	mu   sync.Mutex
	sent []sentMsg
	stop chan struct{}
	wg   sync.WaitGroup
	n    atomic.Int64
}

// sentMsg is a message a user sent, in its conversation.
type sentMsg struct{ ID, Conv string }

func startSenders(t *testing.T, send func(ctx context.Context, i int) (sentMsg, error), rate int) *senders {
	s := &senders{stop: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			m, err := send(t.Context(), i)
			if err != nil {
				if t.Context().Err() == nil {
					t.Errorf("send: %v", err)
				}
				return
			}
			s.mu.Lock()
			s.sent = append(s.sent, m)
			s.mu.Unlock()
			s.n.Add(1)
		}
	}()
	return s
}

func (s *senders) halt() []sentMsg {
	close(s.stop)
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sentMsg(nil), s.sent...)
}
