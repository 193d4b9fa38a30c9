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
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, fresh(t)) })
	}
}

func ctxT(t *testing.T) context.Context { return t.Context() }

func testSchema(t *testing.T, open Opener) {
	db := open(t, nil)
	v, err := db.SchemaVersion(ctxT(t), "mixin")
	require.NoError(t, err)
	assert.Equal(t, 2, v)
	db2 := open(t, nil) // opening again changes nothing
	v, err = db2.SchemaVersion(ctxT(t), "mixin")
	require.NoError(t, err)
	assert.Equal(t, 2, v)
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
	require.NoError(t, db.MarkHandled(ctx, nil))

	require.NoError(t, db.MarkHandled(ctx, []string{"a", "b", "a"}))
	got, err = db.Handled(ctx, []string{"a", "b", "c", "a"})
	require.NoError(t, err)
	assert.Equal(t, []bool{true, true, false, true}, got)
	require.NoError(t, db.MarkHandled(ctx, []string{"b", "c"}), "marking again is fine")
	got, err = db.Handled(ctx, []string{"c", "d"})
	require.NoError(t, err)
	assert.Equal(t, []bool{true, false}, got)
}

func testPersists(t *testing.T, open Opener) {
	ctx := ctxT(t)
	db := open(t, nil)
	ids := make([]string, 250)
	for i := range ids {
		ids[i] = mixin.NewUUID()
	}
	require.NoError(t, db.MarkHandled(ctx, ids))
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
	ok, err := db.MarkHandledTx(ctx, tx, "x")
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, tx.Commit())
	assert.Equal(t, 1, countEffects(t, db, "x"))
	got, err := db.Handled(ctx, []string{"x"})
	require.NoError(t, err)
	assert.True(t, got[0])

	tx, err = db.BeginTx(ctx)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, insert, "y")
	require.NoError(t, err)
	ok, err = db.MarkHandledTx(ctx, tx, "y")
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, tx.Rollback())
	assert.Zero(t, countEffects(t, db, "y"), "rolled back with the record")
	got, err = db.Handled(ctx, []string{"y"})
	require.NoError(t, err)
	assert.False(t, got[0])

	tx, err = db.BeginTx(ctx)
	require.NoError(t, err)
	ok, err = db.MarkHandledTx(ctx, tx, "x")
	require.NoError(t, err)
	assert.False(t, ok, "x was recorded already")
	require.NoError(t, tx.Rollback())

	require.NoError(t, db.MarkHandled(ctx, []string{"z"}))
	tx, err = db.BeginTx(ctx)
	require.NoError(t, err)
	ok, err = db.MarkHandledTx(ctx, tx, "z")
	require.NoError(t, err)
	assert.False(t, ok, "z was recorded by MarkHandled")
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
	ok, err := db.MarkHandledTx(ctx, tx, id)
	if err != nil || !ok {
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
				if err := db.MarkHandled(ctx, batch); err != nil {
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

func testLeases(t *testing.T, open Opener) {
	ctx := ctxT(t)
	clock := NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	db := open(t, clock.Now)
	other := open(t, clock.Now)
	const ttl = 10 * time.Second

	got, err := db.Lease(ctx, "A", []string{"k1", "k2"}, ttl)
	require.NoError(t, err)
	assert.Equal(t, []bool{true, true}, got)
	got, err = other.Lease(ctx, "B", []string{"k1", "k3", "k3"}, ttl)
	require.NoError(t, err)
	assert.Equal(t, []bool{false, true, true}, got, "k1 is A's")

	clock.Add(6 * time.Second)
	got, err = db.Lease(ctx, "A", []string{"k1"}, ttl) // renewed until 16s
	require.NoError(t, err)
	assert.Equal(t, []bool{true}, got)
	clock.Add(6 * time.Second) // 12s: k2 (until 10s) ended, k1 renewed
	got, err = other.Lease(ctx, "B", []string{"k1", "k2"}, ttl)
	require.NoError(t, err)
	assert.Equal(t, []bool{false, true}, got, "an ended lease can be taken")
	got, err = db.Lease(ctx, "A", []string{"k2"}, ttl)
	require.NoError(t, err)
	assert.Equal(t, []bool{false}, got, "and is lost to its old owner")

	require.NoError(t, other.Release(ctx, "B", []string{"k1"}), "releasing another's lease does nothing")
	got, err = other.Lease(ctx, "B", []string{"k1"}, ttl)
	require.NoError(t, err)
	assert.Equal(t, []bool{false}, got)
	require.NoError(t, db.Release(ctx, "A", []string{"k1"}))
	got, err = other.Lease(ctx, "B", []string{"k1"}, ttl)
	require.NoError(t, err)
	assert.Equal(t, []bool{true}, got, "a released lease is free at once")

	_, err = db.Lease(ctx, "", []string{"k9"}, ttl)
	assert.Error(t, err)
	got, err = db.Lease(ctx, "A", nil, ttl)
	require.NoError(t, err)
	assert.Empty(t, got)
	require.NoError(t, db.Release(ctx, "A", nil))
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
				part := make([]string, 0, len(keys))
				for j := range keys {
					part = append(part, keys[(j+w*7+i*3)%len(keys)])
				}
				got, err := dbs[w%2].Lease(ctx, fmt.Sprint("owner-", w), part, time.Minute)
				if err != nil {
					errs <- err
					return
				}
				for j, ok := range got {
					if ok {
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

func testExpire(t *testing.T, open Opener) {
	ctx := ctxT(t)
	clock := NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	db := open(t, clock.Now)
	old := make([]string, 2500) // more than one delete batch
	for i := range old {
		old[i] = fmt.Sprint("old-", i)
	}
	require.NoError(t, db.MarkHandled(ctx, old))
	_, err := db.Lease(ctx, "A", []string{"k"}, time.Hour)
	require.NoError(t, err)
	clock.Add(24 * time.Hour)
	require.NoError(t, db.MarkHandled(ctx, []string{"new", "old-0"}))
	clock.Add(6*24*time.Hour + time.Minute) // old: 7 days and a minute ago

	require.NoError(t, db.Expire(ctx, 7*24*time.Hour))
	got, err := db.Handled(ctx, []string{"old-0", "old-1", "old-2499", "new"})
	require.NoError(t, err)
	assert.Equal(t, []bool{false, false, false, true}, got, "old-0 kept its first record")
	var n int
	require.NoError(t, db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM mixin_handled`).Scan(&n))
	assert.Equal(t, 1, n)
	require.NoError(t, db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM mixin_leases`).Scan(&n))
	assert.Zero(t, n, "ended leases are deleted")
}
