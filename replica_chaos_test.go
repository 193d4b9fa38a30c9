package mixin_test

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gomixin/mixin/store/postgres"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chaosEnv sets how long each run of TestReplicasChaos makes chaos (a Go
// duration, default 12s); chaosSeedEnv replays a run's choices.
const (
	chaosEnv     = "MIXIN_CHAOS"
	chaosSeedEnv = "MIXIN_CHAOS_SEED"
)

// TestReplicasChaos runs 5 replicas on one PostgreSQL store while users
// send across 30 conversations, and at random: kills one (SIGKILL) and
// starts it again, stops one (SIGSTOP) for up to 3 seconds, past its 1s
// lease, then resumes it (SIGCONT), or has the server end a replica's
// sessions (pg_terminate_backend). Then it lets them all drain and checks
// every message's effects: exactly once, in the order sent within each
// conversation, with Tx (rows in order of insertion); at least once, the
// first of each in the order sent, without (lines appended to one shared,
// synced log). A replica that wakes up after another took its
// conversation commits nothing for it: that is what the order and the
// exactly-once count check.
//
// In CI each run makes 12s of chaos; MIXIN_CHAOS=5m makes it longer:
//
//	MIXIN_CHAOS=5m MIXIN_TEST_POSTGRES=postgres://… go test -run TestReplicasChaos -v -timeout 30m .
func TestReplicasChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	d := 12 * time.Second
	if v := os.Getenv(chaosEnv); v != "" {
		var err error
		d, err = time.ParseDuration(v)
		require.NoError(t, err, chaosEnv)
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(chaosSeedEnv); v != "" {
		var err error
		seed, err = strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, chaosSeedEnv)
	}
	for _, tx := range []bool{true, false} {
		t.Run(fmt.Sprint("tx=", tx), func(t *testing.T) { replicaChaos(t, tx, d, seed) })
	}
}

// replica is one replica's slot: its config, its running process, and
// when a stopped one is to be resumed (zero: running).
type replica struct {
	cfg    childConfig
	c      *child
	wakeAt time.Time
}

func replicaChaos(t *testing.T, tx bool, d time.Duration, seed uint64) {
	t.Logf("seed %d (%s=%d replays the choices), %v of chaos", seed, chaosSeedEnv, seed, d)
	rng := rand.New(rand.NewPCG(seed, uint64(map[bool]int{false: 1, true: 2}[tx])))
	const n = 5
	b := newReplicaBot(t, n, 30, time.Second, tx)
	shared := t.TempDir() + "/calls.log" // one log for all: appends keep their order
	admin, err := postgres.Open(t.Context(), b.cfgs[0].Postgres)
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close() })
	reps := startReplicas(t, b, shared)
	resume := func(all bool) {
		for _, r := range reps {
			if !r.wakeAt.IsZero() && (all || time.Now().After(r.wakeAt)) {
				r.c.signal(syscall.SIGCONT)
				r.wakeAt = time.Time{}
			}
		}
	}
	snd := startSenders(t, b.send, 100)
	counts := map[string]int{}
	for end := time.Now().Add(d); time.Now().Before(end); {
		next := time.Now().Add(time.Duration(200+rng.IntN(400)) * time.Millisecond)
		for time.Now().Before(next) {
			resume(false)
			time.Sleep(20 * time.Millisecond)
		}
		r := reps[rng.IntN(n)]
		switch rng.IntN(3) {
		case 0: // kill (stopped or not), and start again a moment later
			r.c.kill()
			r.wakeAt = time.Time{}
			counts["SIGKILL"]++
			time.Sleep(time.Duration(100+rng.IntN(900)) * time.Millisecond)
			r.c = startChild(t, r.cfg)
		case 1: // stop for up to 3s, past the lease, then resume
			if r.wakeAt.IsZero() {
				r.c.signal(syscall.SIGSTOP)
				r.wakeAt = time.Now().Add(time.Duration(500+rng.IntN(2500)) * time.Millisecond)
				counts["SIGSTOP"]++
			}
		case 2: // the server ends the replica's sessions
			_, err := admin.Writer().ExecContext(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, r.cfg.Replica)
			require.NoError(t, err)
			counts["terminate"]++
		}
	}
	sent := snd.halt()
	resume(true)
	t.Logf("%d messages in 30 conversations; chaos: %v", len(sent), counts)

	effects := func() map[string]int { return effectCounts(t, b.db, tx, shared) }
	waitFor(t, "every message's effect", func() int { return len(effects()) }, func() bool {
		got := effects()
		for _, m := range sent {
			if got[m.ID] == 0 {
				return false
			}
		}
		return true
	})
	for _, r := range reps {
		r.c.stop(t)
	}
	checkChaos(t, b, tx, shared, sent)
}

// startReplicas starts b's replicas, logging to one shared calls log, each
// connecting under its id as application_name so its sessions can be
// terminated.
func startReplicas(t *testing.T, b *replicaBot, shared string) []*replica {
	reps := make([]*replica, len(b.cfgs))
	for i := range reps {
		cfg := b.cfgs[i]
		cfg.Calls, cfg.Timeout = shared, 2*time.Second
		u, err := url.Parse(cfg.Postgres)
		require.NoError(t, err)
		q := u.Query()
		q.Set("application_name", cfg.Replica)
		u.RawQuery = q.Encode()
		cfg.Postgres = u.String()
		reps[i] = &replica{cfg: cfg, c: startChild(t, cfg)}
	}
	return reps
}

// checkChaos checks each message's effects (exactly once with Tx, at least
// once without) and their order within each conversation.
func checkChaos(t *testing.T, b *replicaBot, tx bool, log string, sent []sentMsg) {
	var order []string // effects, first of each message, in the order they happened
	got := map[string]int{}
	if tx {
		for _, e := range b.db.effects(t) { // by seq
			got[e.Msg]++
			order = append(order, e.Msg)
		}
	} else {
		for _, id := range callLog(t, log) {
			if got[id] == 0 {
				order = append(order, id)
			}
			got[id]++
		}
	}
	repeats := 0
	for _, m := range sent {
		require.Positive(t, got[m.ID], "lost: %s", m.ID)
		if tx {
			require.Equal(t, 1, got[m.ID], "effects of %s", m.ID)
		}
		repeats += got[m.ID] - 1
	}
	if tx {
		assert.Len(t, got, len(sent), "effects of messages never sent")
	}
	convOf := map[string]string{}
	want := map[string][]string{}
	for _, m := range sent {
		convOf[m.ID] = m.Conv
		want[m.Conv] = append(want[m.Conv], m.ID)
	}
	have := map[string][]string{}
	for _, id := range order {
		have[convOf[id]] = append(have[convOf[id]], id)
	}
	for conv, ids := range want {
		require.Equal(t, ids, have[conv], "order in conversation %s", conv)
	}
	per := make([]int, len(b.cfgs))
	if tx {
		for _, e := range b.db.effects(t) {
			for i, c := range b.cfgs {
				if c.Replica == e.Replica {
					per[i]++
				}
			}
		}
	}
	t.Logf("every message's effect present, %d repeated (at least once without Tx), order kept in %d conversations; effects per replica %v", repeats, len(want), per)
}
