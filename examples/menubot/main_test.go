package main

import (
	"testing"

	"github.com/gomixin/mixin/examples/internal/demo"
)

// The example runs its scripted conversation to the end on the emulator.
func TestTranscript(t *testing.T) {
	demo.RunTranscript(t, "Menu Bot", serve, "bot → alice: [pin 1 message(s)]", "bot → alice: [recalled message", "bot → alice: I don't know \"/weather\"; send /start")
}
