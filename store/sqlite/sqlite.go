// Package sqlite opens a [store.DB] on an SQLite file through a pure-Go
// driver (modernc.org/sqlite): the embedded default, one file, no server.
//
// The file is in WAL mode, so readers never wait for the writer, and a
// background goroutine checkpoints the WAL into the file, so that commits
// never wait for it. Writes go
// through one connection whose transactions begin IMMEDIATE, so writers of
// this process queue in Go and a transaction never fails to upgrade its
// lock; other processes opening the same file wait for the lock (the busy
// timeout, [WithBusyTimeout]) instead of failing. Commits are durable across
// a crash of the process (synchronous=NORMAL in WAL mode); [WithSyncFull]
// makes them durable across a power cut too, at the cost of an fsync per
// commit.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gomixin/mixin/store"
	"modernc.org/sqlite" // registers the "sqlite" driver
)

// Option configures [Open].
type Option interface {
	apply(*config) error
}

type option func(*config) error

func (f option) apply(c *config) error { return f(c) }

type config struct {
	busy     time.Duration
	syncFull bool
	readers  int
	now      func() time.Time
}

// WithBusyTimeout sets how long a statement waits for another process's
// lock before failing (default 10s).
func WithBusyTimeout(d time.Duration) Option {
	return option(func(c *config) error {
		if d < 0 {
			return errors.New("sqlite: busy timeout is negative")
		}
		c.busy = d
		return nil
	})
}

// WithSyncFull makes every commit wait for an fsync, so that it survives a
// power cut, not only a crash of the process.
func WithSyncFull() Option {
	return option(func(c *config) error { c.syncFull = true; return nil })
}

// WithReaders sets how many connections serve reads (default: the number
// of CPUs, at least 2).
func WithReaders(n int) Option {
	return option(func(c *config) error {
		if n < 1 {
			return errors.New("sqlite: readers must be at least 1")
		}
		c.readers = n
		return nil
	})
}

// WithClock sets the store's clock (see [store.Config.Now]).
func WithClock(now func() time.Time) Option {
	return option(func(c *config) error {
		if now == nil {
			return errors.New("sqlite: clock is nil")
		}
		c.now = now
		return nil
	})
}

// Open opens (creating it if needed) the SQLite database in the file at
// path and brings its schema up to date. Close the returned store when done.
func Open(ctx context.Context, path string, opts ...Option) (*store.DB, error) {
	cfg := config{busy: 10 * time.Second, readers: max(2, runtime.NumCPU())}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: path must name a file, got %q", path)
	}
	sync := "NORMAL"
	if cfg.syncFull {
		sync = "FULL"
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", "foreign_keys(1)")
	// Commits never run a checkpoint (copying the WAL into the file and
	// syncing it): a goroutine does, in the background.
	q.Add("_pragma", "wal_autocheckpoint(0)")
	base := "file:" + (&url.URL{Path: path}).EscapedPath() + "?"

	w, err := sql.Open("sqlite", base+q.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	// The first connection sets WAL mode, which persists in the file.
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", base+q.Encode())
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	r.SetMaxOpenConns(cfg.readers)
	r.SetMaxIdleConns(cfg.readers)
	stop := startCheckpointer(r)
	db, err := store.New(ctx, store.Config{Dialect: store.DialectSQLite, DB: r, Writer: w, Now: cfg.now, CloseDB: true, OnClose: stop,
		Unavailable: unavailable})
	if err != nil {
		stop()
		_ = r.Close()
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// checkpointEvery is how often the background checkpointer runs.
const checkpointEvery = 200 * time.Millisecond

// startCheckpointer copies the WAL into the database file in the
// background (PASSIVE: it never waits for, nor blocks, a writer or reader),
// so that commits do not pay for it; stop ends it after a last checkpoint.
func startCheckpointer(db *sql.DB) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				_, _ = db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
				return
			case <-t.C:
				_, _ = db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// The primary result codes (https://sqlite.org/rescode.html) that mean the
// database could not be used rather than that the statement was wrong.
const (
	codeBusy      = 5  // another connection holds the lock past the busy timeout
	codeLocked    = 6  // a conflict inside this process's shared cache
	codeNoMem     = 7  // out of memory
	codeReadOnly  = 8  // the file or its directory may not be written
	codeInterrupt = 9  // interrupted: the statement's ctx ended
	codeIOErr     = 10 // an I/O error, e.g. a file whose writes the kernel refuses
	codeFull      = 13 // the disk, a quota or the file-size limit is full
	codeCantOpen  = 14 // a file (the journal, the WAL) cannot be opened
	codeProtocol  = 15 // a locking protocol error
)

// unavailable recognises SQLite's errors that say the database could not
// be used: waiting (for the lock, for space, for the file to be writable)
// may cure them.
func unavailable(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case codeBusy, codeLocked, codeNoMem, codeReadOnly, codeInterrupt, codeIOErr, codeFull, codeCantOpen, codeProtocol:
		return true
	}
	return false
}
