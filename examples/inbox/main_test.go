package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gomixin/mixin/examples/internal/demo"
)

// The demo runs on the emulator: the bot restarts midway on the same file
// and the sync shows every message once, with the counts kept across the
// restart.
func TestInbox(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	db := filepath.Join(t.TempDir(), "inbox.db")
	if err := run(ctx, options{db: db, token: "a-test-token-of-some-length"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log(out.String())
	demo.CheckTranscript(t, out.String(),
		"alice → bot: hi, my order has not arrived",
		"bot → alice: noted: hi, my order has not arrived",
		"-- the bot restarts on inbox.db",
		"bob → Team: I'll be late",
		"bot → Team: noted: I'll be late",
		"-- POST /conversation/sync {version: 0, msg_count: 3}: full sync, list version",
		"alice (contact): unread 3, last seq 6, version",
		"   #6 bot: noted: any news?",
		"bob (contact): unread 2, last seq 4, version",
		"Team (group): unread 2, last seq",
		"-- POST /conversations/setUnread {alice's conversation, unread: 0}",
		"-- POST /conversations/delete {bob's conversation}",
		": incremental sync, 2 changed",
		"alice (contact): unread 0, last seq 6, version",
		"bob (contact): deleted, version",
	)
}
