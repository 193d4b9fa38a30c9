package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gomixin/mixin/examples/internal/demo"
)

// The example runs its scripted conversation to the end on the emulator.
func TestTranscript(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := demo.Emulate(ctx, "File Bot", &out, serve); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"bot → alice: [image 300×200 image/png", "bot → alice: [video 640×360 video/mp4", "bot → alice: downloaded your file \"notes.txt\": 927.7 KB"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("transcript lacks %q:\n%s", want, out.String())
		}
	}
}
