package mixin_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gomixin/mixin/internal/pgtest"
	"github.com/gomixin/mixin/mixintest"
	"github.com/gomixin/mixin/store/postgres"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReplicas runs three bot processes with one keystore on one
// PostgreSQL store, kills one with SIGKILL mid-stream while users keep
// sending (the one that handled most so far), and checks that every
// message's effect (written in the message's transaction) happened exactly
// once; the other two carry on.
// It runs with the emulator sending each message to every connection of
// the session, and to one.
func TestReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	for _, fan := range []struct {
		name string
		mode mixintest.Fanout
	}{{"all", mixintest.FanoutAll}, {"one", mixintest.FanoutOne}} {
		t.Run("fanout="+fan.name, func(t *testing.T) { replicaRun(t, fan.mode) })
	}
}

func replicaRun(t *testing.T, fan mixintest.Fanout) {
	url := pgtest.Fresh(t)
	s := mixintest.NewServer(t, mixintest.WithFanout(fan))
	dir := t.TempDir()
	cfgFor := func(i int) childConfig {
		return childConfig{
			Keystore: s.Bot().KeystoreJSON(), BaseURL: s.URL(), BlazeURL: s.BlazeURL(),
			Postgres: url, Log: filepath.Join(dir, fmt.Sprint("handled-", i, ".log")), Tx: true,
			Replica: fmt.Sprint("replica-", i), Lease: time.Second,
		}
	}
	users := make([]*mixintest.User, 6)
	for i := range users {
		users[i] = s.NewUser(fmt.Sprint("user ", i))
	}
	send := func(ctx context.Context, i int) (string, error) {
		m, err := users[i%len(users)].SendText(ctx, s.Bot().UserID, fmt.Sprint("message ", i))
		return m.MessageID, err
	}
	logs := func() map[string]int {
		all := map[string]int{}
		for i := range 3 {
			for id, n := range handledLog(t, cfgFor(i).Log) {
				all[id] += n
			}
		}
		return all
	}
	handled := func() int { return calls(logs()) }

	// The effects table, made once: concurrent CREATE TABLE IF NOT EXISTS
	// is not safe in PostgreSQL.
	setup, err := postgres.Open(t.Context(), url)
	require.NoError(t, err)
	_, err = setup.Writer().ExecContext(t.Context(), `CREATE TABLE crash_effects (msg TEXT NOT NULL)`)
	require.NoError(t, err)
	require.NoError(t, setup.Close())

	children := make([]*child, 3)
	for i := range children {
		children[i] = startChild(t, cfgFor(i))
	}
	snd := startSenders(t, send, 300)
	waitFor(t, "messages handled before the kill", handled, func() bool { return handled() >= 300 })
	// Kill the busiest: it holds conversations the others must take over.
	victim := 0
	for i := range children {
		if calls(handledLog(t, cfgFor(i).Log)) > calls(handledLog(t, cfgFor(victim).Log)) {
			victim = i
		}
	}
	children[victim].kill()
	base := handled()
	waitFor(t, "the others carrying on", handled, func() bool { return handled() >= base+300 })
	sent := snd.halt()

	db, err := postgres.Open(t.Context(), url)
	require.NoError(t, err)
	defer db.Close()
	effects := func() map[string]int {
		out := map[string]int{}
		rows, err := db.SQL().QueryContext(t.Context(), `SELECT msg FROM crash_effects`)
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var id string
			require.NoError(t, rows.Scan(&id))
			out[id]++
		}
		require.NoError(t, rows.Err())
		return out
	}
	waitFor(t, "every message's effect", func() int { return len(effects()) }, func() bool { return len(effects()) >= len(sent) })
	for i, c := range children {
		if i != victim {
			c.stop(t)
		}
	}

	got := effects()
	for _, id := range sent {
		require.Equal(t, 1, got[id], "effects of %s", id)
	}
	assert.Len(t, got, len(sent))
	per := make([]int, 3)
	for i := range 3 {
		per[i] = calls(handledLog(t, cfgFor(i).Log))
	}
	t.Logf("%d messages; handler calls per replica %v (replica-%d killed)", len(sent), per, victim)
	assert.Greater(t, per[0]+per[1]+per[2]-per[victim], 0, "the survivors handled messages")
	// Leases keep the replicas off each other's conversations: a handler
	// call repeats only for what the killed one was handling (its
	// transactions rolled back with it).
	assert.LessOrEqual(t, per[0]+per[1]+per[2]-len(sent), 25, "handler calls beyond one per message")
}
