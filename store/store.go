// Package store keeps durable state on an SQL database: the blaze loop's
// record of handled messages and its replica leases (a [*DB] is a
// [github.com/gomixin/mixin.Store]), and the tables of other components such as the
// recent-conversation tracker (package recent) or your own program, each
// with its own numbered schema (see [DB.Migrate]).
//
// Open a database with the package of its backend: store/sqlite (embedded,
// one file, no server; the default) or store/postgres (for bots that run on
// several machines). Both build on [New], which also takes a *sql.DB of your
// own. This package imports no driver, and the root package mixin imports
// neither this package nor a backend.
//
// # What a record promises
//
// The loop records a message as handled, in this database, before it
// acknowledges it, and hands no recorded message to a handler again: not
// after a crash, a restart, or on another replica sharing the database. A
// record is kept for the expiry horizon (default 7 days, the longest the
// server keeps an unacknowledged message), then deleted.
//
// A handler that does its own database work in the message's transaction
// ([github.com/gomixin/mixin.Tx]) gets exactly-once effects for that work: its writes and the
// record commit together or not at all. Calls to other services (sending a
// message, an HTTP request) cannot join a transaction: after a crash between
// such a call and the commit, the message is handled again and the call is
// made again. Make such calls idempotent (a message id derived from the
// inbound one, an idempotency key) where repeating them matters.
package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Dialect names the SQL dialect of a database.
type Dialect int

// The dialects [New] supports.
const (
	DialectSQLite Dialect = iota + 1
	DialectPostgreSQL
)

// String returns "sqlite" or "postgres".
func (d Dialect) String() string {
	switch d {
	case DialectSQLite:
		return "sqlite"
	case DialectPostgreSQL:
		return "postgres"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// dir is the directory of d's migration files.
func (d Dialect) dir() string { return d.String() }

// rebind turns ? placeholders into $1, $2, … for PostgreSQL.
func (d Dialect) rebind(q string) string {
	if d != DialectPostgreSQL {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Rebind returns q with its ? placeholders in the dialect's syntax ($1, $2,
// … for PostgreSQL), for components writing portable queries.
func (d Dialect) Rebind(q string) string { return d.rebind(q) }

// Config is what [New] needs.
type Config struct {
	// Dialect of the database.
	Dialect Dialect
	// DB runs the reads.
	DB *sql.DB
	// Writer runs every write and every transaction. Unset, DB does. For
	// SQLite, a *sql.DB limited to one connection whose transactions begin
	// IMMEDIATE makes writers queue in Go rather than in SQLite's busy
	// loop, and never fail to upgrade a read lock.
	Writer *sql.DB
	// Now is the clock for record times and leases; unset, time.Now.
	// Replicas on several machines need clocks that agree to well within
	// a lease.
	Now func() time.Time
	// CloseDB makes [DB.Close] close DB and Writer.
	CloseDB bool
	// OnClose, if set, runs first in [DB.Close] (a backend stopping its
	// own goroutines).
	OnClose func()
}

// DB is a database holding the loop's state; it implements [github.com/gomixin/mixin.Store]
// and is safe for concurrent use.
type DB struct {
	d         Dialect
	read      *sql.DB
	write     *sql.DB
	now       func() time.Time
	closeDB   bool
	onClose   func()
	handled   *sql.Stmt
	mark      *sql.Stmt
	markOne   *sql.Stmt
	lease     *sql.Stmt
	release   *sql.Stmt
	expire    *sql.Stmt
	expireLea *sql.Stmt
}

//go:embed migrations
var migrations embed.FS

// component is the name of the loop's schema in mixin_schema.
const component = "mixin"

// New checks cfg, brings the loop's schema up to date (see [DB.Migrate])
// and prepares its statements.
func New(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Dialect != DialectSQLite && cfg.Dialect != DialectPostgreSQL {
		return nil, fmt.Errorf("store: unknown dialect %v", cfg.Dialect)
	}
	if cfg.DB == nil {
		return nil, errors.New("store: Config.DB is nil")
	}
	db := &DB{d: cfg.Dialect, read: cfg.DB, write: cfg.Writer, now: cfg.Now, closeDB: cfg.CloseDB, onClose: cfg.OnClose}
	if db.write == nil {
		db.write = db.read
	}
	if db.now == nil {
		db.now = time.Now
	}
	sub, err := fsSub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, component, sub); err != nil {
		return nil, err
	}
	if err := db.prepare(ctx); err != nil {
		_ = db.closeStmts()
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	return db, nil
}

func (db *DB) prepare(ctx context.Context) error {
	q := sqliteQueries
	if db.d == DialectPostgreSQL {
		q = postgresQueries
	}
	var err error
	prep := func(on *sql.DB, s string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = on.PrepareContext(ctx, s)
		return st
	}
	db.handled = prep(db.read, q.handled)
	db.mark = prep(db.write, q.mark)
	db.markOne = prep(db.write, q.markOne)
	db.lease = prep(db.write, q.lease)
	db.release = prep(db.write, q.release)
	db.expire = prep(db.write, q.expire)
	db.expireLea = prep(db.write, q.expireLeases)
	return err
}

// Dialect returns the database's dialect.
func (db *DB) Dialect() Dialect { return db.d }

// SQL returns the database for queries of your own (reads; writes go
// through [DB.Writer]).
func (db *DB) SQL() *sql.DB { return db.read }

// Writer returns the database that runs writes and transactions.
func (db *DB) Writer() *sql.DB { return db.write }

// Now returns the store's clock reading.
func (db *DB) Now() time.Time { return db.now() }

// Close releases the prepared statements and, if [Config.CloseDB] was set,
// the databases.
func (db *DB) Close() error {
	if db.onClose != nil {
		db.onClose()
		db.onClose = nil
	}
	err := db.closeStmts()
	if db.closeDB {
		if db.write != db.read {
			err = errors.Join(err, db.write.Close())
		}
		err = errors.Join(err, db.read.Close())
	}
	return err
}

func (db *DB) closeStmts() error {
	var err error
	for _, st := range []*sql.Stmt{db.handled, db.mark, db.markOne, db.lease, db.release, db.expire, db.expireLea} {
		if st != nil {
			err = errors.Join(err, st.Close())
		}
	}
	return err
}

// ids turns a list into the one argument the queries take: a JSON array
// for SQLite's json_each, a text[] for PostgreSQL.
//
// For PostgreSQL the list is sorted and without repeats: concurrent
// statements (replicas) then take their row locks in one order, and cannot
// deadlock on each other.
func (db *DB) ids(ids []string) (any, error) {
	if db.d == DialectPostgreSQL {
		return slices.Compact(slices.Sorted(slices.Values(ids))), nil
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// Handled reports, for each of ids, whether it is recorded as handled.
func (db *DB) Handled(ctx context.Context, ids []string) ([]bool, error) {
	out := make([]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	arg, err := db.ids(ids)
	if err != nil {
		return nil, err
	}
	rows, err := db.handled.QueryContext(ctx, arg)
	if err != nil {
		return nil, fmt.Errorf("store: handled: %w", err)
	}
	defer rows.Close()
	found := make(map[string]struct{}, 8)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: handled: %w", err)
		}
		found[id] = struct{}{}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: handled: %w", err)
	}
	for i, id := range ids {
		_, out[i] = found[id]
	}
	return out, nil
}

// MarkHandled records ids as handled, in one transaction; ids recorded
// before keep their first record.
func (db *DB) MarkHandled(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if len(ids) == 1 { // the usual group when the loop is not busy
		if _, err := db.markOne.ExecContext(ctx, ids[0], ms(db.now())); err != nil {
			return fmt.Errorf("store: mark handled: %w", err)
		}
		return nil
	}
	arg, err := db.ids(ids)
	if err != nil {
		return err
	}
	if _, err := db.mark.ExecContext(ctx, ms(db.now()), arg); err != nil {
		return fmt.Errorf("store: mark handled: %w", err)
	}
	return nil
}

// BeginTx starts a transaction on the writer, for a handler's own writes
// and [DB.MarkHandledTx]. On SQLite it holds the database's write lock
// until it ends: keep it short.
func (db *DB) BeginTx(ctx context.Context) (*sql.Tx, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: begin: %w", err)
	}
	return tx, nil
}

// MarkHandledTx records id as handled in tx. It returns false if id was
// recorded already (by a transaction that committed first, e.g. on another
// replica): the caller should roll tx back. On PostgreSQL it waits for a
// concurrent transaction recording the same id to end.
func (db *DB) MarkHandledTx(ctx context.Context, tx *sql.Tx, id string) (bool, error) {
	res, err := tx.StmtContext(ctx, db.markOne).ExecContext(ctx, id, ms(db.now()))
	if err != nil {
		return false, fmt.Errorf("store: mark handled: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: mark handled: %w", err)
	}
	return n == 1, nil
}

// Lease takes for owner, until ttl from now, each of keys that is free,
// expired or owner's already (a renewal), and reports which of keys owner
// holds now.
func (db *DB) Lease(ctx context.Context, owner string, keys []string, ttl time.Duration) ([]bool, error) {
	out := make([]bool, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	if owner == "" {
		return nil, errors.New("store: lease: owner is empty")
	}
	arg, err := db.ids(keys)
	if err != nil {
		return nil, err
	}
	now := db.now()
	rows, err := db.lease.QueryContext(ctx, owner, ms(now.Add(ttl)), arg, ms(now))
	if err != nil {
		return nil, fmt.Errorf("store: lease: %w", err)
	}
	defer rows.Close()
	held := make(map[string]struct{}, len(keys))
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("store: lease: %w", err)
		}
		held[k] = struct{}{}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: lease: %w", err)
	}
	for i, k := range keys {
		_, out[i] = held[k]
	}
	return out, nil
}

// Release gives up owner's leases on keys; others' are left alone.
func (db *DB) Release(ctx context.Context, owner string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	arg, err := db.ids(keys)
	if err != nil {
		return err
	}
	if _, err := db.release.ExecContext(ctx, owner, arg); err != nil {
		return fmt.Errorf("store: release: %w", err)
	}
	return nil
}

// expireBatch bounds one delete, so that expiry never holds the write lock
// for long.
const expireBatch = 1000

// Expire deletes the handled records older than horizon and the leases
// that ended before now, in batches.
func (db *DB) Expire(ctx context.Context, horizon time.Duration) error {
	now := db.now()
	for {
		res, err := db.expire.ExecContext(ctx, ms(now.Add(-horizon)), expireBatch)
		if err != nil {
			return fmt.Errorf("store: expire: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: expire: %w", err)
		}
		if n < expireBatch {
			break
		}
	}
	if _, err := db.expireLea.ExecContext(ctx, ms(now)); err != nil {
		return fmt.Errorf("store: expire leases: %w", err)
	}
	return nil
}
