package main

import (
	"testing"

	"github.com/gomixin/mixin/examples/internal/demo"
)

// The example runs its scripted conversation to the end on the emulator:
// a warning only Bob sees, Bob removed, and the bot unable to remove Carol
// once it is no admin.
func TestTranscript(t *testing.T) {
	demo.RunTranscript(t, "Moderator", serve,
		"bot → bob only, in Gophers: no links here, please",
		"bot → Gophers: removed a member for posting links",
		"bot → Gophers: I could not remove the member who posted that link: the bot is not an admin of this group",
	)
}

func TestHasLink(t *testing.T) {
	for text, want := range map[string]bool{
		"see https://go.dev":     true,
		"http://x.example/a?b=c": true,
		"no link here":           false,
		"mailto:a@b.example":     false,
		"https:// broken":        false,
	} {
		if got := hasLink(text); got != want {
			t.Errorf("hasLink(%q) = %v", text, got)
		}
	}
}
