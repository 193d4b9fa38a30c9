package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/gomixin/mixin/examples/internal/demo"
)

// Without -keystore the bot runs its scripted conversation on the emulator,
// echoes every message type as it came, and stops by itself.
func TestRunEndsOnItsOwn(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, "", false, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	demo.CheckTranscript(t, out.String(),
		"bot → alice: hello",
		"bot → alice: 你好，世界 👋",
		"bot → alice: [post] # Notes ⏎ - one ⏎ - two",
		"bot → alice: [image 300×200 image/png, 12.1 KB]",
		`bot → alice: [file "report.pdf" application/pdf, 1.2 MB]`,
		"bot → alice: [voice 3.2s]",
		"bot → alice: [location 48.8584, 2.2945 Eiffel Tower]",
		"bot → alice: [contact card]",
	)
}

// With -encrypted the same conversation runs end-to-end encrypted: the
// emulator's Alice encrypts, the bot decrypts and answers encrypted, and
// Alice reads the answers.
func TestRunEncrypted(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, "", true, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	demo.CheckTranscript(t, out.String(),
		"bot → alice: 🔒 hello",
		"bot → alice: 🔒 你好，世界 👋",
		"bot → alice: 🔒 [image 300×200 image/png, 12.1 KB]",
		"bot → alice: 🔒 [location 48.8584, 2.2945 Eiffel Tower]",
	)
}
