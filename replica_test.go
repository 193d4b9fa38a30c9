package mixin_test

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replicaBot is an emulator with users, a PostgreSQL store and the configs
// of n replica children.
type replicaBot struct {
	s     *mixintest.Server
	users []*mixintest.User
	db    stateDB
	cfgs  []childConfig
}

func newReplicaBot(t testing.TB, n, users int, lease time.Duration, tx bool, opts ...mixintest.Option) *replicaBot {
	s := mixintest.NewServer(t, opts...)
	dir := t.TempDir()
	db, base := newStateDB(t, "postgres", dir)
	b := &replicaBot{s: s, db: db}
	for i := range n {
		cfg := base
		cfg.Keystore, cfg.BaseURL, cfg.BlazeURL = s.Bot().KeystoreJSON(), s.URL(), s.BlazeURL()
		cfg.Calls, cfg.Tx = fmt.Sprintf("%s/calls-%d.log", dir, i), tx
		cfg.Replica, cfg.Lease = fmt.Sprint("replica-", i), lease
		b.cfgs = append(b.cfgs, cfg)
	}
	for i := range users {
		b.users = append(b.users, s.NewUser(fmt.Sprint("user ", i)))
	}
	return b
}

func (b *replicaBot) send(ctx context.Context, i int) (sentMsg, error) {
	m, err := b.users[i%len(b.users)].SendText(ctx, b.s.Bot().UserID, fmt.Sprint("message ", i))
	return sentMsg{ID: m.MessageID, Conv: m.ConversationID}, err
}

// calls counts the finished handler calls of replica i (-1: all).
func (b *replicaBot) calls(t testing.TB, i int) int {
	if i >= 0 {
		return len(callLog(t, b.cfgs[i].Calls))
	}
	n := 0
	for j := range b.cfgs {
		n += len(callLog(t, b.cfgs[j].Calls))
	}
	return n
}

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
	b := newReplicaBot(t, 3, 6, time.Second, true, mixintest.WithFanout(fan))
	children := make([]*child, 3)
	for i := range children {
		children[i] = startChild(t, b.cfgs[i])
	}
	snd := startSenders(t, b.send, 300)
	all := func() int { return b.calls(t, -1) }
	waitFor(t, "messages handled before the kill", all, func() bool { return all() >= 300 })
	// Kill the busiest: it holds conversations the others must take over.
	victim := 0
	for i := range children {
		if b.calls(t, i) > b.calls(t, victim) {
			victim = i
		}
	}
	children[victim].kill()
	base := all()
	waitFor(t, "the others carrying on", all, func() bool { return all() >= base+300 })
	sent := snd.halt()

	effects := func() map[string]int { return count(b.db.effects(t)) }
	waitFor(t, "every message's effect", func() int { return len(effects()) }, func() bool { return len(effects()) >= len(sent) })
	for i, c := range children {
		if i != victim {
			c.stop(t)
		}
	}

	got := effects()
	for _, m := range sent {
		require.Equal(t, 1, got[m.ID], "effects of %s", m.ID)
	}
	assert.Len(t, got, len(sent))
	per := make([]int, 3)
	for i := range 3 {
		per[i] = b.calls(t, i)
	}
	t.Logf("%d messages; handler calls per replica %v (replica-%d killed)", len(sent), per, victim)
	assert.Greater(t, per[0]+per[1]+per[2]-per[victim], 0, "the survivors handled messages")
	// Leases keep the replicas off each other's conversations: a handler
	// call repeats only for what the killed one was handling (its
	// transactions rolled back with it).
	assert.LessOrEqual(t, per[0]+per[1]+per[2]-len(sent), 25, "handler calls beyond one per message")
}

// TestReplicaFrozenIsFenced stops a replica (SIGSTOP) inside a handler's
// transaction, its effect written and not committed, for well past its
// lease. Another replica takes the conversation over and handles the same
// message; while that one is inside its own transaction, the first is
// resumed: its handler returns and its commit comes first, but it must
// fail the fence. So the message's effect is the new owner's, and the
// stopped replica commits nothing for the conversation after the takeover.
func TestReplicaFrozenIsFenced(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	b := newReplicaBot(t, 2, 1, time.Second, true)
	dir := t.TempDir()
	a, o := b.cfgs[0], b.cfgs[1]
	a.PauseOn, a.Paused = "freeze here", dir+"/paused-a"
	o.PauseOn, o.Paused = "freeze here", dir+"/paused-b"
	paused := func(path string) string { id, _ := os.ReadFile(path); return string(id) }
	first := startChild(t, a)
	var sent []sentMsg
	send := func(text string) {
		m, err := b.users[0].SendText(t.Context(), b.s.Bot().UserID, text)
		require.NoError(t, err)
		sent = append(sent, sentMsg{ID: m.MessageID, Conv: m.ConversationID})
	}
	for i := range 5 {
		send(fmt.Sprint("before ", i))
	}
	effects := func() int { return len(b.db.effects(t)) }
	waitFor(t, "the first replica handling", effects, func() bool { return effects() == 5 })
	send("freeze here")
	waitFor(t, "the first replica inside the transaction", effects, func() bool { return paused(a.Paused) != "" })
	first.signal(syscall.SIGSTOP)
	frozen := paused(a.Paused)
	for i := range 5 {
		send(fmt.Sprint("after ", i))
	}
	second := startChild(t, o)
	waitFor(t, "the second replica inside its transaction for the same message", effects, func() bool { return paused(o.Paused) != "" })
	require.Equal(t, frozen, paused(o.Paused))
	first.signal(syscall.SIGCONT) // commits while the second one waits in its transaction
	waitFor(t, "the second replica handling on", effects, func() bool { return effects() == 11 })
	send("last")
	waitFor(t, "the last message", effects, func() bool { return effects() == 12 })
	first.stop(t)
	second.stop(t)

	es := b.db.effects(t)
	require.Len(t, es, len(sent))
	for i, e := range es {
		assert.Equal(t, sent[i].ID, e.Msg, "effect %d in the order sent", i)
		if i >= 5 {
			assert.Equal(t, o.Replica, e.Replica, "%s committed after the takeover by the stopped replica", e.Msg)
		}
	}
	assert.Contains(t, callLog(t, a.Calls), frozen, "the stopped replica's handler returned after it resumed")
}
