package postgres_test

import (
	"testing"
	"time"

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
