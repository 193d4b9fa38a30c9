package mixin_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/gomixin/mixin/store/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// crashKills is how many times the bot is killed per run (the issue asks
// for at least 6; more make the average per kill steadier).
const crashKills = 12

// crashWorkers is the child bot's pool. A kill can repeat only messages
// whose handler finished and whose record was not committed yet: the loop
// holds at most one per worker queued for the recorder plus one per worker
// waiting to queue, so never more than 2×crashWorkers per kill, however
// slow the machine.
const crashWorkers = 4

// TestCrashHandledOnce kills a bot child with SIGKILL 12 times while users
// keep sending at about 500 messages a second, restarting it each time on
// the same SQLite file; each kill comes at a random moment of live traffic,
// after the restarted process caught up with the backlog of its downtime.
// No message is lost; a kill repeats only messages whose handler finished
// before their group of records committed: never more than 2×crashWorkers
// per kill, and on average at most one per kill at full speed (the average
// is a figure of the loop's speed, so it is asserted without the race
// detector, which slows the loop several times; .ci/run runs this test once
// without it). With the transactional handler no effect is duplicated.
func TestCrashHandledOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	for _, tx := range []bool{false, true} {
		t.Run(fmt.Sprintf("tx=%v", tx), func(t *testing.T) { crashRun(t, tx) })
	}
}

func crashRun(t *testing.T, tx bool) {
	s := mixintest.NewServer(t)
	dir := t.TempDir()
	cfg := childConfig{
		Keystore: s.Bot().KeystoreJSON(), BaseURL: s.URL(), BlazeURL: s.BlazeURL(),
		SQLite: filepath.Join(dir, "bot.db"), Log: filepath.Join(dir, "handled.log"), Tx: tx,
	}
	users := make([]*mixintest.User, 4)
	for i := range users {
		users[i] = s.NewUser(fmt.Sprint("user ", i))
	}
	send := func(ctx context.Context, i int) (string, error) {
		m, err := users[i%len(users)].SendText(ctx, s.Bot().UserID, fmt.Sprint("message ", i))
		return m.MessageID, err
	}
	handled := func() int { return calls(handledLog(t, cfg.Log)) }

	var kills []int
	snd := startSenders(t, send, 500)
	runs, live := crashKills, 100
	if tx {
		runs, live = 6, 50 // exact effects need no average; each commit is slower
	}
	for kill := range runs {
		// Killed in live traffic: after the new process caught up with what
		// came while it was down, and some more.
		backlog := int(snd.n.Load()) - len(handledLog(t, cfg.Log))
		c := startChild(t, cfg)
		base := handled()
		waitFor(t, fmt.Sprintf("handled messages before kill %d", kill+1), handled, func() bool { return handled() >= base+max(backlog, 0)+live })
		// A crash comes at any moment, not just as a handler finishes.
		time.Sleep(time.Duration(rand.Int64N(int64(50 * time.Millisecond))))
		c.kill()
		kills = append(kills, handled())
	}
	sent := snd.halt()
	last := startChild(t, cfg)
	waitFor(t, "every message handled", handled, func() bool {
		log := handledLog(t, cfg.Log)
		for _, id := range sent {
			if log[id] == 0 {
				return false
			}
		}
		return true
	})
	last.stop(t)

	log := handledLog(t, cfg.Log)
	dups := 0
	for _, id := range sent {
		require.Positive(t, log[id], "lost: %s", id)
		dups += log[id] - 1
	}
	perKill := repeatsPerKill(handledOrder(t, cfg.Log), kills)
	t.Logf("%d messages, %d kills, %d handler calls repeated (%.2f per kill; by kill %v)", len(sent), runs, dups, float64(dups)/float64(runs), perKill)
	for k, n := range perKill {
		assert.LessOrEqual(t, n, 2*crashWorkers, "repeats after kill %d: more than the loop can hold handled and unrecorded", k+1)
	}
	if mixin.RaceEnabled {
		t.Log("the average per kill is asserted without -race (see the test's doc)")
	} else {
		assert.LessOrEqual(t, float64(dups)/float64(runs), 1.0, "duplicates per kill")
	}
	if !tx {
		return
	}
	db, err := sqlite.Open(t.Context(), cfg.SQLite)
	require.NoError(t, err)
	defer db.Close()
	effects := map[string]int{}
	rows, err := db.SQL().QueryContext(t.Context(), `SELECT msg FROM crash_effects`)
	require.NoError(t, err)
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		effects[id]++
	}
	require.NoError(t, rows.Err())
	rows.Close()
	for _, id := range sent {
		require.Equal(t, 1, effects[id], "effects of %s", id)
	}
	assert.Len(t, effects, len(sent))
}

// repeatsPerKill counts, for each kill, the repeated handler calls of
// messages first handled before that kill (and after the one before):
// kills[k] is the number of handler calls logged when kill k+1 came.
func repeatsPerKill(order []string, kills []int) []int {
	first := map[string]int{}
	per := make([]int, len(kills))
	for i, id := range order {
		at, seen := first[id]
		if !seen {
			first[id] = i
			continue
		}
		k := 0
		for k < len(kills) && kills[k] <= at {
			k++
		}
		if k < len(kills) {
			per[k]++
		}
	}
	return per
}

// TestCrashWhileDraining kills the bot six times while it drains a
// 6,000-message backlog, the case that repeated 41–122 handler calls per
// kill without a store. Draining runs the pool flat out, so more handled
// messages wait for their record's commit at any moment than in live
// traffic; the loop's bound of 2×crashWorkers per kill still holds, and
// nothing is lost.
func TestCrashWhileDraining(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	const backlog, kills, step = 6000, 6, 400
	s := mixintest.NewServer(t)
	dir := t.TempDir()
	cfg := childConfig{
		Keystore: s.Bot().KeystoreJSON(), BaseURL: s.URL(), BlazeURL: s.BlazeURL(),
		SQLite: filepath.Join(dir, "bot.db"), Log: filepath.Join(dir, "handled.log"),
	}
	users := make([]*mixintest.User, 4)
	for i := range users {
		users[i] = s.NewUser(fmt.Sprint("user ", i))
	}
	sent := make([]string, 0, backlog)
	for i := range backlog {
		m, err := users[i%len(users)].SendText(t.Context(), s.Bot().UserID, fmt.Sprint("queued ", i))
		require.NoError(t, err)
		sent = append(sent, m.MessageID)
	}
	handled := func() int { return calls(handledLog(t, cfg.Log)) }
	var at []int
	for k := range kills {
		c := startChild(t, cfg)
		goal := handled() + step
		waitFor(t, fmt.Sprintf("draining before kill %d", k+1), handled, func() bool { return handled() >= goal })
		c.kill()
		at = append(at, handled())
	}
	require.Less(t, len(handledLog(t, cfg.Log)), backlog, "every kill must come while the backlog drains")
	last := startChild(t, cfg)
	waitFor(t, "every message handled", handled, func() bool { return len(handledLog(t, cfg.Log)) == backlog })
	last.stop(t)

	log := handledLog(t, cfg.Log)
	dups := 0
	for _, id := range sent {
		require.Positive(t, log[id], "lost: %s", id)
		dups += log[id] - 1
	}
	perKill := repeatsPerKill(handledOrder(t, cfg.Log), at)
	t.Logf("%d messages drained, %d kills, %d handler calls repeated (%.2f per kill; by kill %v)", backlog, kills, dups, float64(dups)/kills, perKill)
	for k, n := range perKill {
		assert.LessOrEqual(t, n, 2*crashWorkers, "repeats after kill %d: more than the loop can hold handled and unrecorded", k+1)
	}
}
