//go:build linux

package mixin_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// prlimitFSize sets the soft file-size limit (RLIMIT_FSIZE) of the process
// pid, as prlimit(1) does; the hard limit stays.
func prlimitFSize(t *testing.T, pid int, soft uint64) {
	var old syscall.Rlimit
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), syscall.RLIMIT_FSIZE, 0, uintptr(unsafe.Pointer(&old)), 0, 0); e != 0 {
		t.Skipf("prlimit: %v", e)
	}
	lim := syscall.Rlimit{Cur: min(soft, old.Max), Max: old.Max}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), syscall.RLIMIT_FSIZE, uintptr(unsafe.Pointer(&lim)), 0, 0, 0); e != 0 {
		t.Fatalf("prlimit: %v", e)
	}
}

// TestSQLiteFileSizeLimit: a bot child on SQLite whose file-size limit
// (RLIMIT_FSIZE, as a full disk or quota acts: writes past it fail, the
// Go runtime ignores SIGXFSZ) drops under its database's size. Its records
// and transactions fail; the state hook says so; nothing is acknowledged;
// once the limit is lifted it carries on by itself, each effect once.
func TestSQLiteFileSizeLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	b := newCrashBot(t, "sqlite", true)
	b.cfg.Calls = "" // every file the child writes but the database is under the limit
	b.cfg.States = filepath.Join(t.TempDir(), "states.log")
	states := func() string { s, _ := os.ReadFile(b.cfg.States); return string(s) }
	effects := func() int { return len(count(b.db.effects(t))) }
	pending := func() int { return b.s.Pending(b.s.Bot().UserID) }
	var sent []sentMsg
	sendN := func(n int) {
		for range n {
			m, err := b.send(t.Context(), len(sent))
			require.NoError(t, err)
			sent = append(sent, m)
		}
	}
	c := startChild(t, b.cfg)
	sendN(20)
	waitFor(t, "the first messages", effects, func() bool { return effects() == 20 && pending() == 0 })

	prlimitFSize(t, c.cmd.Process.Pid, 4096) // every write past the first 4 KiB of a file fails
	sendN(20)
	waitFor(t, "the store failing", effects, func() bool { return strings.Contains(states(), "store failed") })
	time.Sleep(500 * time.Millisecond)
	assert.Equal(t, 20, effects(), "nothing committed past the limit")
	assert.Equal(t, 20, pending(), "nothing acknowledged while the database cannot grow")

	prlimitFSize(t, c.cmd.Process.Pid, ^uint64(0))
	waitFor(t, "the store recovering", effects, func() bool { return strings.Contains(states(), "store recovered") })
	waitFor(t, "every message handled", effects, func() bool { return effects() == 40 && pending() == 0 })
	c.stop(t)
	got := count(b.db.effects(t))
	for _, m := range sent {
		require.Equal(t, 1, got[m.ID], "effects of %s", m.ID)
	}
	t.Logf("states:\n%s", states())
}
