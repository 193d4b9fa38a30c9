package mixin_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	"github.com/gomixin/mixin/store"
	"github.com/gomixin/mixin/store/postgres"
	"github.com/gomixin/mixin/store/sqlite"
	"github.com/stretchr/testify/require"
)

// The crash and replica tests run bots as child processes (this test
// binary, re-executed) against an emulator in the parent, and kill them
// with SIGKILL by PID while users keep sending.

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
	Log      string          `json:"log"`                // one line per finished handler call
	Tx       bool            `json:"tx"`                 // handle in the store's transaction
	Replica  string          `json:"replica,omitempty"`
	Lease    time.Duration   `json:"lease,omitempty"`
}

// TestStateChild is the bot child; it does nothing in a normal run.
func TestStateChild(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("run by the crash and replica tests as a child process")
	}
	if err := runChild(path); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
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
	var db *store.DB
	if cfg.SQLite != "" {
		db, err = sqlite.Open(ctx, cfg.SQLite)
	} else {
		db, err = postgres.Open(ctx, cfg.Postgres)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Writer().ExecContext(ctx, `CREATE TABLE IF NOT EXISTS crash_effects (msg TEXT NOT NULL)`); err != nil {
		return err
	}
	ks, err := mixin.ParseKeystore(cfg.Keystore)
	if err != nil {
		return err
	}
	c, err := mixin.NewClient(ks, mixin.WithBaseURL(cfg.BaseURL), mixin.WithBlazeURL(cfg.BlazeURL))
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(cfg.Log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	insert := db.Dialect().Rebind(`INSERT INTO crash_effects (msg) VALUES (?)`)
	h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		if m.Category != mixin.CategoryPlainText {
			return nil
		}
		if cfg.Tx {
			tx, err := mixin.Tx(ctx)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, insert, m.MessageID); err != nil {
				return err
			}
		}
		// One write per finished call: it reaches the file even if the
		// process is killed right after.
		_, err := logf.WriteString(m.MessageID + "\n")
		return err
	})
	opts := []mixin.BlazeOption{mixin.WithStore(db), mixin.WithHandlerWorkers(crashWorkers)}
	if cfg.Replica != "" {
		opts = append(opts, mixin.WithReplica(cfg.Replica, cfg.Lease))
	}
	return c.RunBlaze(ctx, h, opts...)
}

// child is a running bot child.
type child struct {
	cmd *exec.Cmd
	out *bytes.Buffer
}

func startChild(t *testing.T, cfg childConfig) *child {
	t.Helper()
	path := filepath.Join(t.TempDir(), "child.json")
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	cmd := exec.Command(os.Args[0], "-test.run=^TestStateChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	c := &child{cmd: cmd, out: out}
	t.Cleanup(func() { c.kill() })
	return c
}

// kill sends SIGKILL to the child's PID and reaps it.
func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = syscall.Kill(c.cmd.Process.Pid, syscall.SIGKILL)
	_ = c.cmd.Wait()
}

// stop asks the child to shut down (SIGTERM) and waits.
func (c *child) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, c.cmd.Wait(), c.out.String())
}

// handledLog reads a child log: how many calls finished per message id.
func handledLog(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]int{}
	}
	require.NoError(t, err)
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); len(line) == 36 {
			out[line]++
		}
	}
	return out
}

// handledOrder reads a child log in order.
func handledOrder(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); len(l) == 36 {
			out = append(out, l)
		}
	}
	return out
}

func calls(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// waitFor polls cond until it holds, failing when nothing changes (as
// progress() reports) for a long while: a slow machine is not a failure, a
// stuck one is.
func waitFor(t *testing.T, what string, progress func() int, cond func() bool) {
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
	sent []string
	stop chan struct{}
	wg   sync.WaitGroup
	n    atomic.Int64
}

func startSenders(t *testing.T, send func(ctx context.Context, i int) (string, error), rate int) *senders {
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
			id, err := send(t.Context(), i)
			if err != nil {
				if t.Context().Err() == nil {
					t.Errorf("send: %v", err)
				}
				return
			}
			s.mu.Lock()
			s.sent = append(s.sent, id)
			s.mu.Unlock()
			s.n.Add(1)
		}
	}()
	return s
}

func (s *senders) halt() []string {
	close(s.stop)
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sent...)
}
