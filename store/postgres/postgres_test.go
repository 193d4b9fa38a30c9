package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/internal/pgtest"
	"github.com/gomixin/mixin/store"
	"github.com/gomixin/mixin/store/postgres"
	"github.com/gomixin/mixin/store/storetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fresh(t *testing.T) storetest.Opener {
	url := pgtest.Fresh(t)
	return func(t *testing.T, now func() time.Time) *store.DB {
		var opts []postgres.Option
		if now != nil {
			opts = append(opts, postgres.WithClock(now))
		}
		db, err := postgres.Open(t.Context(), url, opts...)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, fresh) }

func TestOpenErrorsHidePassword(t *testing.T) {
	_, err := postgres.Open(t.Context(), "postgres://u:s3cretpw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cretpw")
	_, err = postgres.Open(t.Context(), "postgres://u:s3cretpw@[::1/db")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cretpw")
	_, err = postgres.Open(t.Context(), "postgres://x@127.0.0.1/db", postgres.WithMaxConns(0))
	require.Error(t, err)
}

// TestFenceHoldEndsAStalledCommit: a transaction that checked its record
// against its lease and then stalls (its process stopped) past the fence
// hold loses its session: the lease's row is free for the new owner, and
// the stalled commit fails as a database fault, committing nothing.
func TestFenceHoldEndsAStalledCommit(t *testing.T) {
	url := pgtest.Fresh(t)
	ctx := t.Context()
	db, err := postgres.Open(ctx, url, postgres.WithFenceHold(200*time.Millisecond))
	require.NoError(t, err)
	defer db.Close()
	other, err := postgres.Open(ctx, url)
	require.NoError(t, err)
	defer other.Close()
	got, err := db.Lease(ctx, []mixin.Lease{{Key: "conv", Owner: "A"}}, 100*time.Millisecond)
	require.NoError(t, err)
	tx, err := db.BeginTx(ctx)
	require.NoError(t, err)
	m, err := db.MarkHandledTx(ctx, tx, mixin.Record{Key: "k", Lease: mixin.Lease{Key: "conv", Owner: "A", Token: got[0]}})
	require.NoError(t, err)
	require.Equal(t, mixin.MarkRecorded, m)
	time.Sleep(500 * time.Millisecond) // stalled past the lease and the hold

	// The new owner is not kept waiting by the stalled transaction's lock.
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	took, err := other.Lease(wait, []mixin.Lease{{Key: "conv", Owner: "B"}}, time.Minute)
	require.NoError(t, err, "the takeover waits for the stalled transaction")
	assert.NotZero(t, took[0])
	err = tx.Commit()
	require.Error(t, err, "the stalled transaction must not commit")
	assert.True(t, db.Unavailable(err), "a lost session is a database fault: %v", err)
	h, err := other.Handled(ctx, []string{"k"})
	require.NoError(t, err)
	assert.False(t, h[0])
}
