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
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
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
	// Unavailable, if set, recognises the driver's errors that mean the
	// database could not be used (see [DB.Unavailable]); the errors of
	// database/sql itself and of the network are recognised without it.
	Unavailable func(error) bool
	// FenceHold bounds, on PostgreSQL, how long a transaction may sit idle
	// after its record was checked against its lease and before it
	// commits (idle_in_transaction_session_timeout, for the rest of that
	// transaction): a replica stopped in that moment (SIGSTOP, a VM
	// paused) holds the lease's row and so keeps the conversation's new
	// owner waiting; the server ends its session after FenceHold. Unset,
	// 5s.
	FenceHold time.Duration
}

// DB is a database holding the loop's state; it implements [github.com/gomixin/mixin.Store]
// and is safe for concurrent use.
type DB struct {
	d           Dialect
	read        *sql.DB
	write       *sql.DB
	now         func() time.Time
	closeDB     bool
	onClose     func()
	unavailable func(error) bool
	fenceHold   string // FenceHold in milliseconds, as set_config takes it
	st          stmts
	v2          atomic.Bool // records from before schema v3 are left
}

// stmts are the loop's prepared statements (see queries).
type stmts struct {
	handled, handledV2, mark, markOne, markLeased, fence, fenceTx *sql.Stmt
	take, renew, release, expire, expireV2, expireLeases          *sql.Stmt
}

func (s *stmts) all() []*sql.Stmt {
	return []*sql.Stmt{s.handled, s.handledV2, s.mark, s.markOne, s.markLeased, s.fence, s.fenceTx,
		s.take, s.renew, s.release, s.expire, s.expireV2, s.expireLeases}
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
	db := &DB{d: cfg.Dialect, read: cfg.DB, write: cfg.Writer, now: cfg.Now, closeDB: cfg.CloseDB, onClose: cfg.OnClose,
		unavailable: cfg.Unavailable}
	hold := cfg.FenceHold
	if hold <= 0 {
		hold = 5 * time.Second
	}
	db.fenceHold = strconv.FormatInt(max(hold.Milliseconds(), 1), 10)
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
	var v2 bool
	if err := db.read.QueryRowContext(ctx, db.queries().anyV2).Scan(&v2); err != nil {
		_ = db.closeStmts()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	db.v2.Store(v2)
	return db, nil
}

func (db *DB) queries() queries {
	if db.d == DialectPostgreSQL {
		return postgresQueries
	}
	return sqliteQueries
}

func (db *DB) prepare(ctx context.Context) error {
	q := db.queries()
	var err error
	prep := func(on *sql.DB, s string) *sql.Stmt {
		if err != nil || s == "" {
			return nil
		}
		var st *sql.Stmt
		st, err = on.PrepareContext(ctx, s)
		return st
	}
	db.st = stmts{
		handled:      prep(db.read, q.handled),
		handledV2:    prep(db.read, q.handledV2),
		mark:         prep(db.write, q.mark),
		markOne:      prep(db.write, q.markOne),
		markLeased:   prep(db.write, q.markLeased),
		fence:        prep(db.write, q.fence),
		fenceTx:      prep(db.write, q.fenceTx),
		take:         prep(db.write, q.take),
		renew:        prep(db.write, q.renew),
		release:      prep(db.write, q.release),
		expire:       prep(db.write, q.expire),
		expireV2:     prep(db.write, q.expireV2),
		expireLeases: prep(db.write, q.expireLeases),
	}
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
	for _, st := range db.st.all() {
		if st != nil {
			err = errors.Join(err, st.Close())
		}
	}
	return err
}
