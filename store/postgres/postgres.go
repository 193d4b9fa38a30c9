// Package postgres opens a [store.DB] on PostgreSQL through jackc/pgx (its
// database/sql driver, so handlers get a *sql.Tx as on SQLite), for bots
// that run on several machines: replicas sharing one database handle each
// message once between them.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gomixin/mixin/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// Option configures [Open].
type Option interface {
	apply(*config) error
}

type option func(*config) error

func (f option) apply(c *config) error { return f(c) }

type config struct {
	maxConns  int
	now       func() time.Time
	fenceHold time.Duration
}

// WithMaxConns bounds the connections to the server (default 16).
func WithMaxConns(n int) Option {
	return option(func(c *config) error {
		if n < 1 {
			return errors.New("postgres: max conns must be at least 1")
		}
		c.maxConns = n
		return nil
	})
}

// WithFenceHold bounds how long a replica's transaction may sit idle
// between the check of its record against its lease and its commit
// (default 5s; see [store.Config.FenceHold]): a replica stopped in that
// moment keeps the conversation's new owner waiting no longer.
func WithFenceHold(d time.Duration) Option {
	return option(func(c *config) error {
		if d < time.Millisecond {
			return errors.New("postgres: fence hold must be at least 1ms")
		}
		c.fenceHold = d
		return nil
	})
}

// WithClock sets the store's clock (see [store.Config.Now]).
func WithClock(now func() time.Time) Option {
	return option(func(c *config) error {
		if now == nil {
			return errors.New("postgres: clock is nil")
		}
		c.now = now
		return nil
	})
}

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string, as libpq takes them) and brings its schema up to
// date. Close the returned store when done. The URL's password never
// appears in an error.
func Open(ctx context.Context, url string, opts ...Option) (*store.DB, error) {
	cfg := config{maxConns: 16}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	cc, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's parse errors quote the connection string with its
		// password masked; say no more than that it does not parse.
		return nil, errors.New("postgres: the connection URL does not parse")
	}
	db := stdlib.OpenDB(*cc)
	db.SetMaxOpenConns(cfg.maxConns)
	db.SetMaxIdleConns(cfg.maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: connect to %s:%d/%s: %w", cc.Host, cc.Port, cc.Database, err)
	}
	st, err := store.New(ctx, store.Config{Dialect: store.DialectPostgreSQL, DB: db, Now: cfg.now, CloseDB: true, Unavailable: unavailable,
		FenceHold: cfg.fenceHold})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return st, nil
}

// unavailable recognises pgx's errors that say the server could not be
// used: no connection, a connection lost or cut (pg_terminate_backend, a
// restart), the server starting or stopping, out of resources, or a
// transaction that lost a serialization conflict or a deadlock (SQLSTATE
// classes from https://www.postgresql.org/docs/current/errcodes-appendix.html).
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"),  // insufficient resources: disk full, out of memory, too many connections
			strings.HasPrefix(pe.Code, "57P"), // admin shutdown, crash shutdown, cannot connect now, database dropped
			strings.HasPrefix(pe.Code, "58"),  // system error: I/O
			pe.Code == "57014",                // query canceled (statement_timeout, a cancel request)
			pe.Code == "40001",                // serialization failure
			pe.Code == "40P01",                // deadlock detected
			pe.Code == "55P03",                // lock not available (lock_timeout)
			pe.Code == "25006",                // read-only transaction: a standby, during a failover
			pe.Code == "25P03":                // idle-in-transaction timeout ended the session
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) || errors.Is(err, pgconn.ErrConnClosed)
}
