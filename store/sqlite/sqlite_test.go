package sqlite_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/store"
	"github.com/gomixin/mixin/store/sqlite"
	"github.com/gomixin/mixin/store/storetest"
	"github.com/stretchr/testify/require"
)

func fresh(t *testing.T) storetest.Opener {
	path := filepath.Join(t.TempDir(), "state.db")
	return func(t *testing.T, now func() time.Time) *store.DB {
		var opts []sqlite.Option
		if now != nil {
			opts = append(opts, sqlite.WithClock(now))
		}
		db, err := sqlite.Open(t.Context(), path, opts...)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, fresh) }

func TestOpenRejects(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db"} {
		_, err := sqlite.Open(t.Context(), p)
		require.Error(t, err, p)
	}
	_, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "missing", "dir", "x.db"))
	require.Error(t, err)
	_, err = sqlite.Open(t.Context(), "x.db", sqlite.WithReaders(0))
	require.Error(t, err)
}

func TestWAL(t *testing.T) {
	db := fresh(t)(t, nil)
	var mode string
	require.NoError(t, db.SQL().QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode))
	require.Equal(t, "wal", mode)
	var busy int
	require.NoError(t, db.SQL().QueryRowContext(t.Context(), `PRAGMA busy_timeout`).Scan(&busy))
	require.Equal(t, 10000, busy)
}

// TestTwoProcesses has this test binary and a child copy of it write to one
// file at once, marks and transactions: neither fails, nothing is lost.
func TestTwoProcesses(t *testing.T) {
	const rounds = 150
	work := func(t *testing.T, path, who string) {
		db, err := sqlite.Open(t.Context(), path)
		require.NoError(t, err)
		defer db.Close()
		for i := range rounds {
			_, err := db.MarkHandled(t.Context(), []mixin.Record{{Key: fmt.Sprint(who, "-", i)}, {Key: "shared"}})
			require.NoError(t, err)
			tx, err := db.BeginTx(t.Context())
			require.NoError(t, err)
			_, err = db.MarkHandledTx(t.Context(), tx, mixin.Record{Key: fmt.Sprint(who, "-tx-", i)})
			require.NoError(t, err)
			require.NoError(t, tx.Commit())
		}
	}
	if p := os.Getenv("SQLITE_TWO_PROCESSES"); p != "" {
		work(t, p, "child")
		return
	}
	path := filepath.Join(t.TempDir(), "shared.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestTwoProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SQLITE_TWO_PROCESSES="+path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	work(t, path, "parent")
	require.NoError(t, cmd.Wait(), out.String())

	st, err := sqlite.Open(t.Context(), path)
	require.NoError(t, err)
	defer st.Close()
	var n int
	require.NoError(t, st.SQL().QueryRowContext(t.Context(), `SELECT count(*) FROM mixin_handled`).Scan(&n))
	require.Equal(t, 4*rounds+1, n)
}
