// Package postgres opens a [store.DB] on PostgreSQL through jackc/pgx (its
// database/sql driver, so handlers get a *sql.Tx as on SQLite), for bots
// that run on several machines: replicas sharing one database handle each
// message once between them.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gomixin/mixin/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Option configures [Open].
type Option interface {
	apply(*config) error
}

type option func(*config) error

func (f option) apply(c *config) error { return f(c) }

type config struct {
	maxConns int
	now      func() time.Time
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
	st, err := store.New(ctx, store.Config{Dialect: store.DialectPostgreSQL, DB: db, Now: cfg.now, CloseDB: true})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return st, nil
}
