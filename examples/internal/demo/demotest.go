package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// RunTranscript runs a bot's scripted conversation on a fresh emulator and
// fails t unless it ends by itself and its transcript holds every line of
// want. The examples' tests share it.
func RunTranscript(t testing.TB, botName string, run func(context.Context, *Env) error, want ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := Emulate(ctx, botName, &out, run); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	CheckTranscript(t, out.String(), want...)
}

// CheckTranscript fails t for every line of want the transcript lacks.
func CheckTranscript(t testing.TB, transcript string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(transcript, w) {
			t.Errorf("transcript lacks %q:\n%s", w, transcript)
		}
	}
}
