package main

import (
	"context"
	"testing"
	"time"
)

// Without -keystore the bot runs its scripted conversation on the emulator
// and stops by itself, quickly.
func TestRunEndsOnItsOwn(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	start := time.Now()
	if err := run(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}
