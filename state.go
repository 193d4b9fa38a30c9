package mixin

import (
	"context"
	"database/sql"
	"errors"
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
//
// Records are keyed by strings the loop makes: the time the message was
// created, as 12 lowercase hex digits of Unix milliseconds, a '-', and the
// message's id (a receipt's key stands for its message id and status). Keys
// sort by that time, so the records of live traffic are appended at the
// right edge of a B-tree, and expire by key range.
type Store interface {
	// Handled reports, for each of keys, whether it is recorded as handled.
	Handled(ctx context.Context, keys []string) ([]bool, error)
	// MarkHandled records recs as handled, all in one transaction, and
	// reports for each whether it is recorded now (by this call or
	// before). A record with a lease (Lease.Owner set) is recorded only if
	// its owner still holds the lease under its token, checked inside the
	// transaction: false means another replica took the conversation
	// meanwhile, and the message must not be acknowledged here.
	MarkHandled(ctx context.Context, recs []Record) ([]bool, error)
	// BeginTx starts a transaction in which a handler does its own writes
	// (see [Tx]). ctx bounds the transaction's life.
	BeginTx(ctx context.Context) (*sql.Tx, error)
	// MarkHandledTx records rec as handled in tx, checking its lease as
	// MarkHandled does, and says what became of it; on any result but
	// [MarkRecorded] tx must be rolled back.
	MarkHandledTx(ctx context.Context, tx *sql.Tx, rec Record) (Mark, error)
	// Lease takes or renews each of leases for its Owner, until ttl from
	// now. A lease with Token 0 asks to take Key: granted if it is free,
	// ended, or held by the same owner (a process restarted under its
	// id), with a new token. A lease with a Token asks to renew: granted
	// only if the owner still holds Key under that token, ended or not,
	// so a replica that stalled past its lease and lost the key cannot get
	// it back under the token it handled messages with. It returns the
	// token each lease is held under now, 0 where refused.
	Lease(ctx context.Context, leases []Lease, ttl time.Duration) ([]int64, error)
	// Release gives up each of leases that its owner still holds under its
	// token.
	Release(ctx context.Context, leases []Lease) error
	// Expire deletes the records of messages created more than horizon
	// ago (by their keys' time) and ended leases.
	Expire(ctx context.Context, horizon time.Duration) error
	// Unavailable reports whether err, returned by the store or by a
	// statement in one of its transactions, is a fault of the database
	// rather than of the work: it could not be reached, restarted, cut
	// the connection, stayed locked, or could not write (read-only, full).
	// The loop retries such a failure with backoff, as long as it takes,
	// instead of counting it as a failed handler attempt.
	Unavailable(err error) bool
}

// Record is a message to record as handled.
type Record struct {
	// Key is the loop's key of the message (see [Store]).
	Key string
	// Lease is the lease of its conversation it was handled under; the
	// zero Lease (no Owner) records it without a check.
	Lease Lease
}

// Lease is a replica's hold on a conversation (see [WithReplica]).
type Lease struct {
	// Key is what is leased: a conversation id.
	Key string
	// Owner is the replica's id.
	Owner string
	// Token tells one holding of Key from another: it changes whenever
	// Key is taken anew, never on renewal. 0 means none.
	Token int64
}

// Mark is what became of a record written in a transaction
// ([Store.MarkHandledTx]).
type Mark int

// The results of [Store.MarkHandledTx].
const (
	// MarkRecorded: recorded in the transaction; commit it.
	MarkRecorded Mark = iota + 1
	// MarkDuplicate: recorded already, by a transaction that committed
	// first (another replica, or an earlier attempt whose commit's outcome
	// was unknown). Its effects stand, this one's roll back; the message
	// is handled.
	MarkDuplicate
	// MarkFenced: the lease the message was handled under is no longer
	// its owner's (another replica took the conversation while this one
	// stalled). This one's effects roll back and the message is not
	// acknowledged: the new owner handles it.
	MarkFenced
)

// String names the result.
func (m Mark) String() string {
	switch m {
	case MarkRecorded:
		return "recorded"
	case MarkDuplicate:
		return "duplicate"
	case MarkFenced:
		return "fenced"
	}
	return "unknown"
}

// StoreError is a failure of the loop's store, reported to the state hook
// with [ConnStateStoreFailed] and in logs. Op names what failed: "lookup",
// "record", "lease", "begin", "statement" (a statement of the handler in
// [Tx]) or "commit".
type StoreError struct {
	Op  string
	Err error
}

// Error returns "mixin: store OP: CAUSE".
func (e *StoreError) Error() string { return "mixin: store " + e.Op + ": " + errString(e.Err) }

// Unwrap returns the cause.
func (e *StoreError) Unwrap() error { return e.Err }

// errStoreDown ends a handler attempt that waited for the store to come
// back and the loop stopped meanwhile: the message is left for next time.
var errStoreDown = errors.New("mixin: blaze: stopped while the store was failing")
