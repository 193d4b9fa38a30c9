package mixin

import (
	"context"
	"database/sql"
	"time"
)

// Store is durable state for [Client.RunBlaze] (see [WithStore]): the
// record of the messages handled, so that none is handed to a handler again
// after a crash, a restart or on another replica, and the leases that let
// replicas sharing a store split the conversations between them.
//
// Packages store/sqlite (embedded, one file) and store/postgres open one;
// the root package imports no database driver. A Store must be safe for
// concurrent use by several processes; package store/storetest checks an
// implementation.
type Store interface {
	// Handled reports, for each of ids, whether it is recorded as handled.
	Handled(ctx context.Context, ids []string) ([]bool, error)
	// MarkHandled records ids as handled, all in one transaction. An id
	// recorded before keeps its record.
	MarkHandled(ctx context.Context, ids []string) error
	// BeginTx starts a transaction in which a handler does its own writes
	// (see [Tx]).
	BeginTx(ctx context.Context) (*sql.Tx, error)
	// MarkHandledTx records id as handled in tx. False means id was
	// recorded already, by a transaction that committed first: tx must
	// then be rolled back.
	MarkHandledTx(ctx context.Context, tx *sql.Tx, id string) (bool, error)
	// Lease takes for owner, until ttl from now, each of keys that is free,
	// expired or owner's already (a renewal), and reports which of keys
	// owner holds.
	Lease(ctx context.Context, owner string, keys []string, ttl time.Duration) ([]bool, error)
	// Release gives up owner's leases on keys.
	Release(ctx context.Context, owner string, keys []string) error
	// Expire deletes the records older than horizon and ended leases.
	Expire(ctx context.Context, horizon time.Duration) error
}
