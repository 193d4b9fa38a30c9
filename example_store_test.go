package mixin_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"testing/fstest"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/store/sqlite"
)

// A bot keeps a table of its own in its store: created through a migration
// (one directory of numbered SQL files per dialect; a program embeds them
// with //go:embed), written in the message's transaction, so the row and
// the message's "handled" record commit together or not at all, and with
// ? placeholders made portable by Rebind.
func ExampleTx() {
	s := exampleServer()
	defer s.Close()
	alice := s.NewUserWithID(exampleAliceID, "Alice")
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	dir, err := os.MkdirTemp("", "example-tx")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "bot.db")) // or postgres.Open
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	schema := fstest.MapFS{
		"sqlite/v01-notes.sql":   {Data: []byte(`CREATE TABLE notes (message_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, body TEXT NOT NULL);`)},
		"postgres/v01-notes.sql": {Data: []byte(`CREATE TABLE notes (message_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, body TEXT NOT NULL);`)},
	}
	if err := db.Migrate(ctx, "notes", schema); err != nil {
		log.Fatal(err)
	}
	insert := db.Dialect().Rebind(`INSERT INTO notes (message_id, user_id, body) VALUES (?, ?, ?)`)

	handler := mixin.HandlerFunc(func(ctx context.Context, msg *mixin.Message) error {
		tx, err := mixin.Tx(ctx) // the message's transaction; the loop commits it
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, insert, msg.MessageID, msg.UserID, msg.Text())
		return err // nil: the row and the record commit; an error: both roll back
	})
	done := make(chan error, 1)
	go func() { done <- client.RunBlaze(ctx, handler, mixin.WithStore(db)) }()

	for _, text := range []string{"buy milk", "call Bob"} {
		if _, err := alice.SendText(ctx, exampleBotID, text); err != nil {
			log.Fatal(err)
		}
	}
	for s.Pending(exampleBotID) > 0 { // acknowledged once row and record committed
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		log.Fatal(err)
	}

	rows, err := db.SQL().QueryContext(context.Background(), `SELECT body FROM notes ORDER BY body`)
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			log.Fatal(err)
		}
		fmt.Println("note:", body)
	}
	// Output:
	// note: buy milk
	// note: call Bob
}
