package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// A schema is a numbered list of SQL files per dialect, in the style of
// mautrix/go's sqlstatestore: fsys holds a directory per dialect ("sqlite",
// "postgres"), each with files named vNN-what.sql, numbered from 01 without
// gaps. The table mixin_schema remembers, per component, the number of the
// last file applied; Migrate applies the files after it, in order, in one
// transaction, so an old database upgrades itself and a new one is created
// from v01. A database whose number is higher than the last file (written by
// a newer program) is refused rather than guessed at.

type migration struct {
	version int
	name    string
	sql     string
}

// Migrate brings the schema of component (a name of the caller's choosing,
// e.g. "recent") up to the last file in fsys; see the package doc. Concurrent
// calls, from this process or another, apply each file once.
func (db *DB) Migrate(ctx context.Context, component string, fsys fs.FS) error {
	if component == "" {
		return errors.New("store: migrate: component is empty")
	}
	steps, err := readMigrations(fsys, db.d.dir())
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", component, err)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", component, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := db.migrateTx(ctx, tx, component, steps); err != nil {
		return fmt.Errorf("store: migrate %s: %w", component, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate %s: %w", component, err)
	}
	return nil
}

func (db *DB) migrateTx(ctx context.Context, tx *sql.Tx, component string, steps []migration) error {
	if db.d == PostgreSQL {
		// Serialise migrators: CREATE TABLE IF NOT EXISTS is not safe
		// against a concurrent one in PostgreSQL.
		h := fnv.New64a()
		_, _ = h.Write([]byte("gomixin-schema"))
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64()>>1)); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS mixin_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)`); err != nil {
		return err
	}
	current := 0
	err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT version FROM mixin_schema WHERE component = ?`), component).Scan(&current)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	latest := len(steps)
	if current > latest {
		return fmt.Errorf("the database is at schema version %d, newer than this program's %d: upgrade the program", current, latest)
	}
	for _, m := range steps[current:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
	}
	if current == latest {
		return nil
	}
	_, err = tx.ExecContext(ctx, db.d.rebind(`INSERT INTO mixin_schema (component, version) VALUES (?, ?)
		ON CONFLICT (component) DO UPDATE SET version = excluded.version`), component, latest)
	return err
}

// SchemaVersion returns the schema version of component: the number of its
// files applied, 0 for none.
func (db *DB) SchemaVersion(ctx context.Context, component string) (int, error) {
	var v int
	err := db.read.QueryRowContext(ctx, db.d.rebind(`SELECT version FROM mixin_schema WHERE component = ?`), component).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: schema version of %s: %w", component, err)
	}
	return v, nil
}

// readMigrations reads dir of fsys: vNN-name.sql files numbered 1..n.
func readMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(strings.TrimPrefix(name, "v"), "-")
		v, err := strconv.Atoi(num)
		if !strings.HasPrefix(name, "v") || !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("%s: not named vNN-what.sql", name)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("%s: expected version %d (no gaps, no repeats)", m.name, i+1)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no migrations in %s", dir)
	}
	return out, nil
}
