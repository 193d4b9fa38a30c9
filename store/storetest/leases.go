package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lease asks db for one lease and returns its token (0: refused).
func lease(t *testing.T, db *store.DB, key, owner string, token int64, ttl time.Duration) int64 {
	t.Helper()
	got, err := db.Lease(ctxT(t), []mixin.Lease{{Key: key, Owner: owner, Token: token}}, ttl)
	require.NoError(t, err)
	require.Len(t, got, 1)
	return got[0]
}

func testLeases(t *testing.T, open Opener) {
	ctx := ctxT(t)
	clock := NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	db := open(t, clock.Now)
	other := open(t, clock.Now)
	const ttl = 10 * time.Second

	got, err := db.Lease(ctx, []mixin.Lease{{Key: "k1", Owner: "A"}, {Key: "k2", Owner: "A"}}, ttl)
	require.NoError(t, err)
	require.Len(t, got, 2)
	a1, a2 := got[0], got[1]
	require.NotZero(t, a1)
	require.NotZero(t, a2)
	assert.NotEqual(t, a1, a2, "each holding has its own token")
	got, err = other.Lease(ctx, []mixin.Lease{{Key: "k1", Owner: "B"}, {Key: "k3", Owner: "B"}, {Key: "k3", Owner: "B"}}, ttl)
	require.NoError(t, err)
	assert.Zero(t, got[0], "k1 is A's")
	assert.NotZero(t, got[1])
	assert.Equal(t, got[1], got[2], "a key asked for twice is taken once")

	clock.Add(6 * time.Second)
	assert.Equal(t, a1, lease(t, db, "k1", "A", a1, ttl), "renewed until 16s under the same token")
	clock.Add(6 * time.Second) // 12s: k2 (until 10s) ended, k1 renewed
	assert.Zero(t, lease(t, other, "k1", "B", 0, ttl))
	b2 := lease(t, other, "k2", "B", 0, ttl)
	require.NotZero(t, b2, "an ended lease can be taken")
	assert.NotEqual(t, a2, b2, "under a new token")
	assert.Zero(t, lease(t, db, "k2", "A", a2, ttl), "and is lost to its old holder: its renewal is refused")
	assert.Zero(t, lease(t, db, "k2", "A", 0, ttl), "nor can it take it back while B holds it")

	require.NoError(t, other.Release(ctx, []mixin.Lease{{Key: "k1", Owner: "B", Token: a1}}), "releasing another's lease does nothing")
	assert.Zero(t, lease(t, other, "k1", "B", 0, ttl))
	require.NoError(t, db.Release(ctx, []mixin.Lease{{Key: "k1", Owner: "A", Token: a1 + 1}}), "nor does a wrong token")
	assert.Zero(t, lease(t, other, "k1", "B", 0, ttl))
	require.NoError(t, db.Release(ctx, []mixin.Lease{{Key: "k1", Owner: "A", Token: a1}}))
	b1 := lease(t, other, "k1", "B", 0, ttl)
	assert.NotZero(t, b1, "a released lease is free at once")
	assert.NotEqual(t, a1, b1)

	// A restarted process takes its own lease back at once, under a new
	// token; the old token no longer renews.
	b1again := lease(t, other, "k1", "B", 0, ttl)
	require.NotZero(t, b1again)
	assert.NotEqual(t, b1, b1again)
	assert.Zero(t, lease(t, other, "k1", "B", b1, ttl), "the old holding is over")
	assert.Equal(t, b1again, lease(t, other, "k1", "B", b1again, ttl))

	// A renewal never makes a lease that was deleted.
	require.NoError(t, other.Release(ctx, []mixin.Lease{{Key: "k1", Owner: "B", Token: b1again}}))
	assert.Zero(t, lease(t, other, "k1", "B", b1again, ttl), "a released lease is not renewed")

	_, err = db.Lease(ctx, []mixin.Lease{{Key: "k9"}}, ttl)
	assert.Error(t, err, "a lease needs an owner")
	got, err = db.Lease(ctx, nil, ttl)
	require.NoError(t, err)
	assert.Empty(t, got)
	require.NoError(t, db.Release(ctx, nil))
}

// testLeaseRace has Workers owners take the same keys at once: each key
// ends up held by exactly one.
func testLeaseRace(t *testing.T, open Opener) {
	ctx := ctxT(t)
	dbs := []*store.DB{open(t, nil), open(t, nil)}
	keys := make([]string, 30)
	for i := range keys {
		keys[i] = fmt.Sprint("conv-", i)
	}
	held := make([][]bool, Workers)
	var wg sync.WaitGroup
	errs := make(chan error, Workers)
	for w := range Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]bool, len(keys))
			for i := range 3 { // overlapping requests, in a different order each time
				part := make([]mixin.Lease, 0, len(keys))
				for j := range keys {
					part = append(part, mixin.Lease{Key: keys[(j+w*7+i*3)%len(keys)], Owner: fmt.Sprint("owner-", w)})
				}
				got, err := dbs[w%2].Lease(ctx, part, time.Minute)
				if err != nil {
					errs <- err
					return
				}
				for j, tok := range got {
					if tok != 0 {
						mine[(j+w*7+i*3)%len(keys)] = true
					}
				}
			}
			held[w] = mine
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for k := range keys {
		owners := 0
		for w := range Workers {
			if held[w][k] {
				owners++
			}
		}
		assert.Equal(t, 1, owners, "key %s", keys[k])
	}
}

// testMarkFenced: a record with a lease is recorded only while its owner
// holds the lease under the record's token, in a group with others.
func testMarkFenced(t *testing.T, open Opener) {
	ctx := ctxT(t)
	clock := NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	a, b := open(t, clock.Now), open(t, clock.Now)
	const ttl = 10 * time.Second
	ta := lease(t, a, "conv-1", "A", 0, ttl)
	tb := lease(t, b, "conv-2", "B", 0, ttl)
	require.NotZero(t, ta)
	require.NotZero(t, tb)

	held := mixin.Lease{Key: "conv-1", Owner: "A", Token: ta}
	got, err := a.MarkHandled(ctx, []mixin.Record{
		{Key: "m1", Lease: held},
		{Key: "m2", Lease: mixin.Lease{Key: "conv-2", Owner: "A", Token: tb}}, // B's conversation
		{Key: "m3", Lease: mixin.Lease{Key: "conv-1", Owner: "A", Token: ta + 1}},
		{Key: "m4", Lease: mixin.Lease{Key: "conv-9", Owner: "A", Token: 7}}, // never leased
		{Key: "m5"}, // no lease: unchecked
	})
	require.NoError(t, err)
	assert.Equal(t, []bool{true, false, false, false, true}, got)
	h, err := a.Handled(ctx, []string{"m1", "m2", "m3", "m4", "m5"})
	require.NoError(t, err)
	assert.Equal(t, []bool{true, false, false, false, true}, h, "fenced records are not written")

	// A stalls past its lease; B takes conv-1 over. A's later records of
	// conv-1 under its old token are fenced, one or many at once.
	clock.Add(11 * time.Second)
	tb1 := lease(t, b, "conv-1", "B", 0, ttl)
	require.NotZero(t, tb1)
	for _, group := range [][]string{{"m6"}, {"m7", "m8"}} {
		rs := make([]mixin.Record, len(group))
		for i, k := range group {
			rs[i] = mixin.Record{Key: k, Lease: held}
		}
		got, err = a.MarkHandled(ctx, rs)
		require.NoError(t, err)
		for i, ok := range got {
			assert.False(t, ok, "%s recorded under a lost lease", group[i])
		}
	}
	got, err = b.MarkHandled(ctx, []mixin.Record{{Key: "m6", Lease: mixin.Lease{Key: "conv-1", Owner: "B", Token: tb1}}, {Key: "m1", Lease: mixin.Lease{Key: "conv-1", Owner: "B", Token: tb1}}})
	require.NoError(t, err)
	assert.Equal(t, []bool{true, true}, got, "the new holder records; a key recorded before stays recorded")
	h, err = a.Handled(ctx, []string{"m6", "m7"})
	require.NoError(t, err)
	assert.Equal(t, []bool{true, false}, h)
}

// testTxFenced: a transaction's record with a lease its owner lost is
// fenced, and its writes roll back.
func testTxFenced(t *testing.T, open Opener) {
	ctx := ctxT(t)
	clock := NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	a, b := open(t, clock.Now), open(t, clock.Now)
	createEffects(t, a)
	insert := a.Dialect().Rebind(`INSERT INTO storetest_effects (msg, worker) VALUES (?, 0)`)
	const ttl = 10 * time.Second
	ta := lease(t, a, "conv", "A", 0, ttl)
	heldA := mixin.Lease{Key: "conv", Owner: "A", Token: ta}

	tx, err := a.BeginTx(ctx)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, insert, "t1")
	require.NoError(t, err)
	m, err := a.MarkHandledTx(ctx, tx, mixin.Record{Key: "t1", Lease: heldA})
	require.NoError(t, err)
	require.Equal(t, mixin.MarkRecorded, m)
	require.NoError(t, tx.Commit())

	clock.Add(11 * time.Second) // A stalled; its lease ended, B takes over
	tb := lease(t, b, "conv", "B", 0, ttl)
	require.NotZero(t, tb)

	tx, err = a.BeginTx(ctx)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, insert, "t2")
	require.NoError(t, err)
	m, err = a.MarkHandledTx(ctx, tx, mixin.Record{Key: "t2", Lease: heldA})
	require.NoError(t, err)
	assert.Equal(t, mixin.MarkFenced, m)
	require.NoError(t, tx.Rollback())
	assert.Zero(t, countEffects(t, a, "t2"))

	tx, err = b.BeginTx(ctx)
	require.NoError(t, err)
	m, err = b.MarkHandledTx(ctx, tx, mixin.Record{Key: "t1", Lease: mixin.Lease{Key: "conv", Owner: "B", Token: tb}})
	require.NoError(t, err)
	assert.Equal(t, mixin.MarkDuplicate, m, "t1 was recorded under A's lease before it ended")
	require.NoError(t, tx.Rollback())

	// A lease that ended with no one taking it still fences nothing: its
	// holder's token is still the key's.
	clock.Add(11 * time.Second)
	tx, err = b.BeginTx(ctx)
	require.NoError(t, err)
	m, err = b.MarkHandledTx(ctx, tx, mixin.Record{Key: "t3", Lease: mixin.Lease{Key: "conv", Owner: "B", Token: tb}})
	require.NoError(t, err)
	assert.Equal(t, mixin.MarkRecorded, m)
	require.NoError(t, tx.Commit())
}

// testTakeoverWaitsForCommit: a transaction that checked its lease holds
// the lease until it ends; a replica taking the conversation over in that
// moment gets it only after the commit, so no record commits under a lease
// already taken.
func testTakeoverWaitsForCommit(t *testing.T, open Opener) {
	ctx := ctxT(t)
	clock := NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	a, b := open(t, clock.Now), open(t, clock.Now)
	const ttl = 10 * time.Second
	ta := lease(t, a, "conv", "A", 0, ttl)
	tx, err := a.BeginTx(ctx)
	require.NoError(t, err)
	m, err := a.MarkHandledTx(ctx, tx, mixin.Record{Key: "w1", Lease: mixin.Lease{Key: "conv", Owner: "A", Token: ta}})
	require.NoError(t, err)
	require.Equal(t, mixin.MarkRecorded, m)
	clock.Add(11 * time.Second) // A's lease ends while its commit is pending

	type result struct {
		token int64
		err   error
	}
	took := make(chan result, 1)
	go func() {
		got, err := b.Lease(context.WithoutCancel(ctx), []mixin.Lease{{Key: "conv", Owner: "B"}}, ttl)
		if err != nil {
			took <- result{err: err}
			return
		}
		took <- result{token: got[0]}
	}()
	select {
	case r := <-took:
		t.Fatalf("the lease was taken over while a record under it was being committed: %+v", r)
	case <-time.After(200 * time.Millisecond): // it waits (a slow machine only makes this check weaker)
	}
	require.NoError(t, tx.Commit())
	r := <-took
	require.NoError(t, r.err)
	assert.NotZero(t, r.token, "taken once the commit is through")
	h, err := b.Handled(ctx, []string{"w1"})
	require.NoError(t, err)
	assert.True(t, h[0])
}

// testUpgradeFromV2: a database at schema v2 (records keyed by message
// id with a timestamp, leases without tokens) upgrades when opened: its
// records are still found until they expire, the old lease matches no
// holder and is taken over as it ends.
func testUpgradeFromV2(t *testing.T, open Opener) {
	ctx := ctxT(t)
	clock := NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	db := open(t, clock.Now)
	w := db.Writer()
	v2 := []string{
		`ALTER TABLE mixin_leases DROP COLUMN token`,
		`DROP TABLE mixin_handled`,
		`ALTER TABLE mixin_handled_v2 RENAME TO mixin_handled`,
		`UPDATE mixin_schema SET version = 2 WHERE component = 'mixin'`,
	}
	if db.Dialect() == store.DialectPostgreSQL {
		v2 = append(v2, `ALTER INDEX mixin_handled_v2_pkey RENAME TO mixin_handled_pkey`)
	}
	for _, q := range v2 {
		_, err := w.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
	at := clock.Now().UnixMilli()
	for _, q := range []string{
		`INSERT INTO mixin_handled (id, handled_at) VALUES ('legacy-1', ?)`,
		`INSERT INTO mixin_leases (key, owner, expires_at) VALUES ('old', 'A', ?)`,
	} {
		_, err := w.ExecContext(ctx, db.Dialect().Rebind(q), at+int64(time.Minute/time.Millisecond))
		require.NoError(t, err, q)
	}
	v, err := db.SchemaVersion(ctx, "mixin")
	require.NoError(t, err)
	require.Equal(t, 2, v)

	up := open(t, clock.Now)
	v, err = up.SchemaVersion(ctx, "mixin")
	require.NoError(t, err)
	assert.Equal(t, 3, v)
	h, err := up.Handled(ctx, []string{"legacy-1", "legacy-2"})
	require.NoError(t, err)
	assert.Equal(t, []bool{true, false}, h, "records from before the upgrade are found")
	assert.Zero(t, lease(t, up, "old", "B", 0, time.Minute), "the old lease still holds for its time")
	assert.NotZero(t, lease(t, up, "old", "A", 0, time.Minute), "its owner takes it, under a token")

	clock.Add(8 * 24 * time.Hour)
	require.NoError(t, up.Expire(ctx, 7*24*time.Hour))
	h, err = up.Handled(ctx, []string{"legacy-1"})
	require.NoError(t, err)
	assert.False(t, h[0], "and expire by their time")
}

// testUnavailable: the store tells database faults from faults of the work.
func testUnavailable(t *testing.T, open Opener) {
	db := open(t, nil)
	ctx := ctxT(t)
	_, err := db.Writer().ExecContext(ctx, `CREATE TABLE storetest_unique (k TEXT PRIMARY KEY)`)
	require.NoError(t, err)
	_, err = db.Writer().ExecContext(ctx, `INSERT INTO storetest_unique (k) VALUES ('x')`)
	require.NoError(t, err)
	_, dup := db.Writer().ExecContext(ctx, `INSERT INTO storetest_unique (k) VALUES ('x')`)
	require.Error(t, dup)
	assert.False(t, db.Unavailable(dup), "a constraint violation is the work's fault: %v", dup)
	_, bad := db.SQL().ExecContext(ctx, `SELECT no_such_column FROM storetest_unique`)
	require.Error(t, bad)
	assert.False(t, db.Unavailable(bad), "a bad statement is the work's fault: %v", bad)
	assert.False(t, db.Unavailable(nil))
	assert.False(t, db.Unavailable(errors.New("handler said no")))

	short, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	<-short.Done()
	_, late := db.Handled(short, []string{"x"})
	require.Error(t, late)
	assert.True(t, db.Unavailable(late), "a call that timed out: %v", late)
	assert.True(t, db.Unavailable(fmt.Errorf("wrapped: %w", context.DeadlineExceeded)))
}
