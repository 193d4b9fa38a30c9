// Package storetest is the conformance suite every backend of package store
// passes: each backend's test calls [Run] with a function that makes a new,
// empty database. The suite runs its concurrent parts with 8 workers; run it
// under -race.
package storetest

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Workers is how many goroutines the concurrent tests run.
const Workers = 8

// Opener opens (again) one database; every call returns a new [*store.DB]
// on it, as another process would open it, with the given clock (nil:
// time.Now). The opener closes what it opened when the test ends.
type Opener func(t *testing.T, now func() time.Time) *store.DB

// Fresh makes a new, empty database and returns its opener.
type Fresh func(t *testing.T) Opener

// Clock is a settable clock for the tests.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var _ mixin.Store = (*store.DB)(nil)

// Run runs the suite.
func Run(t *testing.T, fresh Fresh) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"Schema", testSchema},
		{"MigrateUpgrades", testMigrateUpgrades},
		{"HandledAndMark", testHandledAndMark},
		{"Persists", testPersists},
		{"TxCommitsTogether", testTxCommitsTogether},
		{"TxArbiterConcurrent", testTxArbiterConcurrent},
		{"MarkConcurrent", testMarkConcurrent},
		{"Leases", testLeases},
		{"LeaseRace", testLeaseRace},
		{"Expire", testExpire},
		{"MarkFenced", testMarkFenced},
		{"TxFenced", testTxFenced},
		{"TakeoverWaitsForCommit", testTakeoverWaitsForCommit},
		{"UpgradeFromV2", testUpgradeFromV2},
		{"Unavailable", testUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, fresh(t)) })
	}
}

func ctxT(t *testing.T) context.Context { return t.Context() }

// recs makes records without leases.
func recs(keys ...string) []mixin.Record {
	out := make([]mixin.Record, len(keys))
	for i, k := range keys {
		out[i] = mixin.Record{Key: k}
	}
	return out
}

// mark records keys without leases, failing the test on error.
func mark(t *testing.T, db *store.DB, keys ...string) {
	t.Helper()
	got, err := db.MarkHandled(ctxT(t), recs(keys...))
	require.NoError(t, err)
	for i, ok := range got {
		require.True(t, ok, "record %s without a lease is always recorded", keys[i])
	}
}

func testSchema(t *testing.T, open Opener) {
	db := open(t, nil)
	v, err := db.SchemaVersion(ctxT(t), "mixin")
	require.NoError(t, err)
	assert.Equal(t, 3, v)
	db2 := open(t, nil) // opening again changes nothing
	v, err = db2.SchemaVersion(ctxT(t), "mixin")
	require.NoError(t, err)
	assert.Equal(t, 3, v)
	v, err = db2.SchemaVersion(ctxT(t), "nothing")
	require.NoError(t, err)
	assert.Zero(t, v)
}

//go:embed testdata
var testdata embed.FS

func sub(t *testing.T, dir string) fs.FS {
	f, err := fs.Sub(testdata, "testdata/"+dir)
	require.NoError(t, err)
	return f
}

// testMigrateUpgrades takes a database through v1 then v2 of a toy schema:
// rows written at v1 survive, v2's column appears, and a program that knows
// only v1 refuses the database afterwards.
func testMigrateUpgrades(t *testing.T, open Opener) {
	ctx := ctxT(t)
	db := open(t, nil)
	require.NoError(t, db.Migrate(ctx, "storetest", sub(t, "v1")))
	_, err := db.Writer().ExecContext(ctx, db.Dialect().Rebind(`INSERT INTO storetest_notes (id, body) VALUES (?, ?)`), "n1", "kept")
	require.NoError(t, err)
	v, err := db.SchemaVersion(ctx, "storetest")
	require.NoError(t, err)
	require.Equal(t, 1, v)

	db2 := open(t, nil)
	require.NoError(t, db2.Migrate(ctx, "storetest", sub(t, "v2")))
	require.NoError(t, db2.Migrate(ctx, "storetest", sub(t, "v2")), "a second run applies nothing")
	var body string
	var stars int
	require.NoError(t, db2.SQL().QueryRowContext(ctx, `SELECT body, stars FROM storetest_notes WHERE id = 'n1'`).Scan(&body, &stars))
	assert.Equal(t, "kept", body)
	assert.Equal(t, 5, stars, "v2's column with its default")
	v, err = db2.SchemaVersion(ctx, "storetest")
	require.NoError(t, err)
	assert.Equal(t, 2, v)

	err = db.Migrate(ctx, "storetest", sub(t, "v1"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "newer than this program")
	assert.Error(t, db.Migrate(ctx, "storetest", sub(t, "gap")), "v01 then v03 is refused")
}

func testHandledAndMark(t *testing.T, open Opener) {
	ctx := ctxT(t)
	db := open(t, nil)
	got, err := db.Handled(ctx, nil)
	require.NoError(t, err)
	assert.Empty(t, got)
	none, err := db.MarkHandled(ctx, nil)
	require.NoError(t, err)
	assert.Empty(t, none)

	mark(t, db, "a", "b", "a")
	got, err = db.Handled(ctx, []string{"a", "b", "c", "a"})
	require.NoError(t, err)
	assert.Equal(t, []bool{true, true, false, true}, got)
	mark(t, db, "b", "c") // marking again is fine
	mark(t, db, "e")      // a group of one
	got, err = db.Handled(ctx, []string{"c", "d", "e"})
	require.NoError(t, err)
	assert.Equal(t, []bool{true, false, true}, got)
}

func testPersists(t *testing.T, open Opener) {
	ctx := ctxT(t)
	db := open(t, nil)
	ids := make([]string, 250)
	for i := range ids {
		ids[i] = mixin.NewUUID()
	}
	mark(t, db, ids...)
	require.NoError(t, db.Close())
	db2 := open(t, nil)
	got, err := db2.Handled(ctx, ids)
	require.NoError(t, err)
	for i, h := range got {
		require.True(t, h, ids[i])
	}
}

func createEffects(t *testing.T, db *store.DB) {
	_, err := db.Writer().ExecContext(ctxT(t), `CREATE TABLE IF NOT EXISTS storetest_effects (msg TEXT NOT NULL, worker INTEGER NOT NULL)`)
	require.NoError(t, err)
}

func countEffects(t *testing.T, db *store.DB, msg string) int {
	var n int
	require.NoError(t, db.SQL().QueryRowContext(ctxT(t), db.Dialect().Rebind(`SELECT count(*) FROM storetest_effects WHERE msg = ?`), msg).Scan(&n))
	return n
}

func testTxCommitsTogether(t *testing.T, open Opener) {
	ctx := ctxT(t)
	db := open(t, nil)
	createEffects(t, db)
	insert := db.Dialect().Rebind(`INSERT INTO storetest_effects (msg, worker) VALUES (?, 0)`)

	tx, err := db.BeginTx(ctx)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, insert, "x")
	require.NoError(t, err)
	m, err := db.MarkHandledTx(ctx, tx, mixin.Record{Key: "x"})
	require.NoError(t, err)
	require.Equal(t, mixin.MarkRecorded, m)
	require.NoError(t, tx.Commit())
	assert.Equal(t, 1, countEffects(t, db, "x"))
	got, err := db.Handled(ctx, []string{"x"})
	require.NoError(t, err)
	assert.True(t, got[0])

	tx, err = db.BeginTx(ctx)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, insert, "y")
	require.NoError(t, err)
	m, err = db.MarkHandledTx(ctx, tx, mixin.Record{Key: "y"})
	require.NoError(t, err)
	require.Equal(t, mixin.MarkRecorded, m)
	require.NoError(t, tx.Rollback())
	assert.Zero(t, countEffects(t, db, "y"), "rolled back with the record")
	got, err = db.Handled(ctx, []string{"y"})
	require.NoError(t, err)
	assert.False(t, got[0])

	tx, err = db.BeginTx(ctx)
	require.NoError(t, err)
	m, err = db.MarkHandledTx(ctx, tx, mixin.Record{Key: "x"})
	require.NoError(t, err)
	assert.Equal(t, mixin.MarkDuplicate, m, "x was recorded already")
	require.NoError(t, tx.Rollback())

	mark(t, db, "z")
	tx, err = db.BeginTx(ctx)
	require.NoError(t, err)
	m, err = db.MarkHandledTx(ctx, tx, mixin.Record{Key: "z"})
	require.NoError(t, err)
	assert.Equal(t, mixin.MarkDuplicate, m, "z was recorded by MarkHandled")
	require.NoError(t, tx.Rollback())
}

// testTxArbiterConcurrent has Workers workers, on two connections to the
// database as two processes would have, each try to handle every one of
// the same messages in a transaction: each message's effect must commit
// exactly once.
func testTxArbiterConcurrent(t *testing.T, open Opener) {
	ctx := ctxT(t)
	dbs := []*store.DB{open(t, nil), open(t, nil)}
	createEffects(t, dbs[0])
	const msgs = 40
	var wins atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, Workers)
	for w := range Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := dbs[w%2]
			insert := db.Dialect().Rebind(`INSERT INTO storetest_effects (msg, worker) VALUES (?, ?)`)
			for i := range msgs {
				msg := fmt.Sprint("m", (i+w*5)%msgs)
				won, err := handleOnce(ctx, db, msg, func(tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, insert, msg, w)
					return err
				})
				if err != nil {
					errs <- err
					return
				}
				if won {
					wins.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int64(msgs), wins.Load())
	for i := range msgs {
		assert.Equal(t, 1, countEffects(t, dbs[0], fmt.Sprint("m", i)), "m%d", i)
	}
}

// handleOnce is what the loop does for a transactional handler.
func handleOnce(ctx context.Context, db *store.DB, id string, effect func(*sql.Tx) error) (bool, error) {
	tx, err := db.BeginTx(ctx)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback() }()
	if err := effect(tx); err != nil {
		return false, err
	}
	m, err := db.MarkHandledTx(ctx, tx, mixin.Record{Key: id})
	if err != nil || m != mixin.MarkRecorded {
		return false, err
	}
	return true, tx.Commit()
}

func testMarkConcurrent(t *testing.T, open Opener) {
	ctx := ctxT(t)
	dbs := []*store.DB{open(t, nil), open(t, nil)}
	ids := make([]string, 400)
	for i := range ids {
		ids[i] = mixin.NewUUID()
	}
	var wg sync.WaitGroup
	errs := make(chan error, Workers)
	for w := range Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := dbs[w%2]
			for i := w * 10; i < len(ids); i += 50 { // overlapping batches
				batch := ids[i:min(i+60, len(ids))]
				if _, err := db.MarkHandled(ctx, recs(batch...)); err != nil {
					errs <- err
					return
				}
				got, err := db.Handled(ctx, batch)
				if err != nil {
					errs <- err
					return
				}
				for j, h := range got {
					if !h {
						errs <- fmt.Errorf("%s not handled right after marking", batch[j])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got, err := dbs[0].Handled(ctx, ids)
	require.NoError(t, err)
	for i, h := range got {
		require.True(t, h, ids[i])
	}
}

// Key is a record key as the loop makes them: the message's creation time
// (12 hex digits of Unix milliseconds), '-', an id.
func Key(created time.Time, id string) string {
	return fmt.Sprintf("%012x-%s", created.UnixMilli(), id)
}

// testExpire: records of messages created before the horizon go, in
// batches; younger ones and ended leases... stay and go respectively.
func testExpire(t *testing.T, open Opener) {
	ctx := ctxT(t)
	clock := NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	db := open(t, clock.Now)
	start := clock.Now()
	old := make([]string, 2500) // more than one delete batch
	for i := range old {
		old[i] = Key(start.Add(time.Duration(i)*time.Millisecond), fmt.Sprint("old-", i))
	}
	mark(t, db, old...)
	_, err := db.Lease(ctx, []mixin.Lease{{Key: "k", Owner: "A"}}, time.Hour)
	require.NoError(t, err)
	clock.Add(24 * time.Hour)
	young := Key(clock.Now(), "young")
	edge := Key(start.Add(24*time.Hour), "edge") // created exactly at the horizon: kept
	mark(t, db, young, edge, old[0], "not-a-time-key")
	clock.Add(7 * 24 * time.Hour) // old: 8 days ago, young: 7 days ago

	require.NoError(t, db.Expire(ctx, 7*24*time.Hour))
	got, err := db.Handled(ctx, []string{old[0], old[1], old[2499], young, edge, "not-a-time-key"})
	require.NoError(t, err)
	assert.Equal(t, []bool{false, false, false, true, true, true}, got)
	var n int
	require.NoError(t, db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM mixin_handled`).Scan(&n))
	assert.Equal(t, 3, n)
	require.NoError(t, db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM mixin_leases`).Scan(&n))
	assert.Zero(t, n, "ended leases are deleted")
}
