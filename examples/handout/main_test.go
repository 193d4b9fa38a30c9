package main

import (
	"testing"

	"github.com/gomixin/mixin/examples/internal/demo"
)

// The example runs its scripted conversation to the end on the emulator:
// the file reaches Bob alone, in the group, and he can download it.
func TestTranscript(t *testing.T) {
	demo.RunTranscript(t, "Handout Bot", serve,
		`bot → bob only, in Study group: [file "handout.md" text/markdown`,
		"bot → Study group: sent the handout privately",
		`bob downloads handout.md: "# Handout"`,
		"alice's inbox has no file",
	)
}
