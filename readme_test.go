package mixin_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
)

// TestGreeting is the README's mixintest snippet, character for character
// (TestReadmeSnippetIsATest checks it), so the snippet compiles and passes.
func TestGreeting(t *testing.T) {
	s := mixintest.NewServer(t) // REST + blaze on 127.0.0.1; closed by t.Cleanup
	client, err := s.Client()   // a *mixin.Client for the bot, wired to s
	if err != nil {
		t.Fatal(err)
	}
	greeter := mixin.HandlerFunc(func(ctx context.Context, msg *mixin.Message) error {
		_, err := client.Reply(ctx, msg, mixin.TextPayload("welcome!"))
		return err
	})
	alice := s.NewUser("Alice")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go client.RunBlaze(ctx, greeter) // your bot's handler

	if _, err := alice.SendText(ctx, s.Bot().UserID, "/start"); err != nil {
		t.Fatal(err)
	}
	inbox, err := alice.WaitInbox(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(inbox[0].Data); got != "welcome!" {
		t.Errorf("bot answered %q", got)
	}
}

// The README's "Testing a bot with mixintest" snippet is TestGreeting above.
func TestReadmeSnippetIsATest(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Testing a bot with mixintest\n")
	if !ok {
		t.Fatal("README has no mixintest section")
	}
	_, block, ok := strings.Cut(section, "```go\n")
	block, _, ok2 := strings.Cut(block, "```\n")
	if !ok || !ok2 {
		t.Fatal("the mixintest section has no Go block")
	}
	src, err := os.ReadFile("readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), block) {
		t.Errorf("README snippet differs from TestGreeting in readme_test.go:\n%s", block)
	}
}

// TestReadmeQuickStartCompiles builds the README's quick-start program as it
// is written, so a change of the API that breaks it fails here.
func TestReadmeQuickStartCompiles(t *testing.T) {
	buildReadmeProgram(t, "## Quick start\n")
}

// TestReadmeMixintestBotCompiles builds the README's bot for cmd/mixintest.
func TestReadmeMixintestBotCompiles(t *testing.T) {
	buildReadmeProgram(t, "### Your own bot against cmd/mixintest\n")
}

// buildReadmeProgram builds the first Go block after heading in the README,
// a whole program.
func buildReadmeProgram(t *testing.T, heading string) {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), heading)
	if !ok {
		t.Fatalf("README has no section %q", heading)
	}
	_, block, ok := strings.Cut(section, "```go\n")
	block, _, ok2 := strings.Cut(block, "```\n")
	if !ok || !ok2 || !strings.HasPrefix(block, "package main\n") {
		t.Fatalf("the section %q has no Go program", heading)
	}
	// Inside the module, so it builds against this checkout; a leading
	// underscore keeps the directory out of ./... patterns.
	dir, err := os.MkdirTemp(".", "_readme_program")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(block), 0o600); err != nil {
		t.Fatal(err)
	}
	// go test puts its own toolchain first on PATH.
	cmd := exec.Command("go", "build", "-o", os.DevNull, "./"+filepath.Base(dir))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's program under %q does not build: %v\n%s", heading, err, out)
	}
}
