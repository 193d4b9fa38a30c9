package store_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gomixin/mixin/store"
	"github.com/gomixin/mixin/store/sqlite"
)

// notes is a component's schema in two steps, for both dialects; a program
// would embed a directory like it (//go:embed migrations).
var notes = fstest.MapFS{
	"sqlite/v01-notes.sql":          {Data: []byte(`CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL);`)},
	"sqlite/v02-notes-author.sql":   {Data: []byte(`ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT ''; CREATE INDEX notes_author ON notes (author);`)},
	"sqlite/README.txt":             {Data: []byte("not a migration: ignored")},
	"postgres/v01-notes.sql":        {Data: []byte(`CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL);`)},
	"postgres/v02-notes-author.sql": {Data: []byte(`ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT ''; CREATE INDEX notes_author ON notes (author);`)},
}

// A component keeps its own tables in the store: one directory of numbered
// SQL files per dialect, applied once, in order, and portable queries
// through Rebind.
func ExampleDB_Migrate() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "migrate-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	var db *store.DB // store/sqlite or store/postgres opens one
	db, err = sqlite.Open(ctx, filepath.Join(dir, "bot.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	if err := db.Migrate(ctx, "notes", notes); err != nil {
		log.Fatal(err)
	}
	insert := db.Dialect().Rebind(`INSERT INTO notes (id, body, author) VALUES (?, ?, ?)`) // $1, $2, $3 on PostgreSQL
	if _, err := db.Writer().ExecContext(ctx, insert, "n1", "remember the milk", "alice"); err != nil {
		log.Fatal(err)
	}
	v, err := db.SchemaVersion(ctx, "notes")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("notes schema version", v)
	// Output: notes schema version 2
}

func TestMigrateRefusesBeforeApplying(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cases := []struct {
		name      string
		component string
		fsys      fstest.MapFS
		want      string
	}{
		{"nil filesystem", "notes", nil, "fsys is nil"},
		{"no component", "", notes, "component is empty"},
		{"no directory of the dialect", "notes", fstest.MapFS{"postgres/v01-x.sql": {}}, "sqlite"},
		{"misnamed", "notes", fstest.MapFS{"sqlite/01-notes.sql": {}}, "not named vNN-what.sql"},
		{"gap", "notes", fstest.MapFS{"sqlite/v01-a.sql": {}, "sqlite/v03-c.sql": {}}, "no gaps"},
		{"repeat", "notes", fstest.MapFS{"sqlite/v1-a.sql": {}, "sqlite/v01-b.sql": {}}, "no repeats"},
	}
	for _, tc := range cases {
		var fsys fstest.MapFS = tc.fsys
		var err error
		if fsys == nil {
			err = db.Migrate(ctx, tc.component, nil) // an untyped nil, as a caller would pass
		} else {
			err = db.Migrate(ctx, tc.component, fsys)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	if v, err := db.SchemaVersion(ctx, "notes"); err != nil || v != 0 {
		t.Errorf("after refusals: schema version %d, %v; want 0", v, err)
	}
}

// A failing file leaves the database as it was, and its name is in the
// error; a database newer than the program's files is refused.
func TestMigrateAllOrNothing(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bad := fstest.MapFS{
		"sqlite/v01-notes.sql":  notes["sqlite/v01-notes.sql"],
		"sqlite/v02-broken.sql": {Data: []byte(`CREATE TABLE more (x TEXT); THIS IS NOT SQL;`)},
	}
	err = db.Migrate(ctx, "notes", bad)
	if err == nil || !strings.Contains(err.Error(), "v02-broken.sql") {
		t.Fatalf("got %v, want the failing file named", err)
	}
	if v, _ := db.SchemaVersion(ctx, "notes"); v != 0 {
		t.Errorf("schema version %d after a failed migration, want 0", v)
	}
	if _, err := db.SQL().ExecContext(ctx, `SELECT 1 FROM notes`); err == nil {
		t.Error("v01's table exists after its migration failed as a whole")
	}

	if err := db.Migrate(ctx, "notes", notes); err != nil {
		t.Fatal(err)
	}
	older := fstest.MapFS{"sqlite/v01-notes.sql": notes["sqlite/v01-notes.sql"]}
	if err := db.Migrate(ctx, "notes", older); err == nil || !strings.Contains(err.Error(), "newer than this program") {
		t.Errorf("an older program's files: got %v, want a refusal", err)
	}
}
