package main

import (
	"testing"

	"github.com/gomixin/mixin/examples/internal/demo"
)

// The example runs its scripted conversation to the end on the emulator.
func TestTranscript(t *testing.T) {
	demo.RunTranscript(t, "File Bot", serve, "bot → alice: [image 300×200 image/png", "bot → alice: [video 640×360 video/mp4", "bot → alice: downloaded your file \"notes.txt\": 927.7 KB")
}
