package main

import (
	"testing"

	"github.com/gomixin/mixin/examples/internal/demo"
)

// The example runs its scripted conversation to the end on the emulator.
func TestTranscript(t *testing.T) {
	demo.RunTranscript(t, "Group Bot", serve, "bot → Gophers: welcome, carol!", "bot → carol only, in Gophers: psst:", "bot → Gophers: goodbye, carol; 3 of us left")
}
