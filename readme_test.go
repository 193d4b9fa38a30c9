package mixin_test

import (
	"context"
	"os"
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
		_, err := client.Reply(ctx, msg, mixin.Text("welcome!"))
		return err
	})
	alice := s.NewUser("Alice")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go client.RunBlaze(ctx, greeter) // your bot's handler

	if _, err := alice.SendText(ctx, s.Bot().ID, "/start"); err != nil {
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
