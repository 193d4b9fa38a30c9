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

type migration struct {
	version int
	name    string
	sql     string
}

// Migrate creates or upgrades the tables of component from the SQL files in
// fsys, so a program can keep tables of its own in the store, beside the
// loop's, and write them in a handler's transaction
// ([github.com/gomixin/mixin.Tx], whose example does all of it). component is a name of
// the caller's choosing, one per set of files: "mixin" (the loop's tables,
// applied by [New]) and "recent" (package recent) are taken.
//
// fsys holds one directory per dialect, named as [Dialect.String] returns
// them, "sqlite" and "postgres"; only the directory of the database's
// dialect is read, so a program that runs on one backend needs only that
// one. In it each step of the schema is one file named vNN-what.sql,
// numbered from 1 without gaps or repeats (v01-notes.sql,
// v02-notes-index.sql, …; v1-… and v001-… read the same); files not ending
// in .sql are ignored. A file may hold several statements, each ended by a
// semicolon, and is run as it is, in the dialect's SQL. A tree of files is
// usually embedded:
//
//	//go:embed migrations
//	var migrations embed.FS // migrations/sqlite/v01-notes.sql, migrations/postgres/v01-notes.sql
//
//	sub, _ := fs.Sub(migrations, "migrations")
//	err := db.Migrate(ctx, "notes", sub)
//
// The table mixin_schema records, per component, how many files have been
// applied ([DB.SchemaVersion]). Migrate applies the files after that
// number, in order, in one transaction with the new record: a new database
// is created from v01, an old one upgrades itself, and a file that fails
// leaves the database as it was and names the file in the error. The record
// counts files, not their content: never edit a released file, add the next
// one. A database recorded at a higher number than the last file (written
// by a newer program) is refused rather than guessed at. Concurrent calls,
// from this process or another, apply each file once.
//
// A nil fsys, an empty component, a directory without files and a file
// misnamed or out of sequence are errors before anything is applied.
// Queries in Go code that should run on both backends write ? placeholders
// and pass through [Dialect.Rebind].
func (db *DB) Migrate(ctx context.Context, component string, fsys fs.FS) error {
	if component == "" {
		return errors.New("store: migrate: component is empty")
	}
	if fsys == nil {
		return fmt.Errorf("store: migrate %s: fsys is nil: pass the fs.FS holding the sqlite and postgres directories", component)
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
	if db.d == DialectPostgreSQL {
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
