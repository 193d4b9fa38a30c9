package mixintest_test

import (
	"context"
	"fmt"
	"log"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
)

// A simulated user writes to the bot; the message waits in the bot's blaze
// queue until the bot acknowledges it, and the sender then gets a receipt.
func Example() {
	s := mixintest.NewUnstartedServer(mixintest.WithBotName("Echo"))
	s.Start()
	defer s.Close()
	ctx := context.Background()

	alice := s.NewUser("Alice")
	m, err := alice.SendText(ctx, s.Bot().UserID, "hello")
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Bot().Inbox()[0].Category, string(s.Bot().Inbox()[0].Data), s.Pending(s.Bot().UserID))

	// The bot (here acting directly, as its blaze loop would) reads it.
	if err := s.Bot().Ack(ctx, m.MessageID, "READ"); err != nil {
		panic(err)
	}
	fmt.Println(s.Pending(s.Bot().UserID), s.Pending(alice.UserID))
	// Output:
	// PLAIN_TEXT hello 1
	// 0 1
}

// In a test, NewServer starts the emulator and closes it through t.Cleanup.
// This example shows a whole test; it is compiled, not run.
func ExampleNewServer() {
	testGreeting := func(t *testing.T) {
		s := mixintest.NewServer(t)
		client, err := s.Client() // a *mixin.Client for the bot, wired to s
		if err != nil {
			t.Fatal(err)
		}
		alice := s.NewUser("Alice")
		ctx := t.Context()

		if _, err := client.CreateContactConversation(ctx, alice.UserID); err != nil {
			t.Fatal(err)
		}
		if _, err := client.SendText(ctx, mixin.ToUser(alice.UserID), "hello"); err != nil {
			t.Fatal(err)
		}
		inbox, err := alice.WaitInbox(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(inbox[0].Data); got != "hello" {
			t.Errorf("alice got %q", got)
		}
	}
	_ = testGreeting
}

// Outside tests (a main package, a demo), start and close the server
// yourself.
func ExampleNewUnstartedServer() {
	s := mixintest.NewUnstartedServer(
		mixintest.WithBotID("11efbb75-e7fe-44d7-a14f-698535289310"),
		mixintest.WithBotName("Demo Bot"),
	)
	s.Start()
	defer s.Close()

	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}
	me, err := client.ReadMe(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(me.UserID, me.FullName)
	// Output: 11efbb75-e7fe-44d7-a14f-698535289310 Demo Bot
}

// A simulated user waits for what the bot sends and acknowledges it; the
// bot gets a READ receipt.
func ExampleUser_WaitInbox() {
	s := mixintest.NewUnstartedServer()
	s.Start()
	defer s.Close()
	ctx := context.Background()
	alice := s.NewUser("Alice")
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}

	if _, err := client.CreateContactConversation(ctx, alice.UserID); err != nil {
		log.Fatal(err)
	}
	if _, err := client.SendText(ctx, mixin.ToUser(alice.UserID), "are you there?"); err != nil {
		log.Fatal(err)
	}
	inbox, err := alice.WaitInbox(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inbox[0].Category, string(inbox[0].Data))
	if err := alice.Ack(ctx, inbox[0].MessageID, "READ"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("receipts waiting for the bot:", s.Pending(s.Bot().UserID))
	// Output:
	// PLAIN_TEXT are you there?
	// receipts waiting for the bot: 1
}

// Simulated users join a bot's group by its invite code and leave it; the
// bot sees SYSTEM_CONVERSATION messages for both.
func ExampleUser_JoinByCode() {
	s := mixintest.NewUnstartedServer()
	s.Start()
	defer s.Close()
	ctx := context.Background()
	alice, carol := s.NewUser("Alice"), s.NewUser("Carol")
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}

	g, err := client.CreateGroupConversation(ctx, mixin.GroupConversationRequest{
		Name: "Gophers", Participants: []mixin.ParticipantRequest{{UserID: alice.UserID}},
	})
	if err != nil {
		log.Fatal(err)
	}
	joined, err := carol.JoinByCode(ctx, g.CodeID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(joined.Name, len(joined.Participants), "members")
	if err := carol.Exit(ctx, g.ConversationID); err != nil {
		log.Fatal(err)
	}
	conv, _ := s.Conversation(g.ConversationID)
	fmt.Println(len(conv.Participants), "members")
	for _, m := range s.Bot().Inbox() {
		fmt.Println(m.Category, string(m.Data) != "")
	}
	// Output:
	// Gophers 3 members
	// 2 members
	// SYSTEM_CONVERSATION true
	// SYSTEM_CONVERSATION true
}

// FailNext scripts failures: here two server errors, which the client
// retries with the same message id, so the message is created once.
func ExampleServer_FailNext() {
	s := mixintest.NewUnstartedServer()
	s.Start()
	defer s.Close()
	ctx := context.Background()
	alice := s.NewUser("Alice")
	client, err := s.Client(mixin.WithRequestRetry(mixin.Retry{Attempts: 4, Min: time.Millisecond, Max: 10 * time.Millisecond}))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.CreateContactConversation(ctx, alice.UserID); err != nil {
		log.Fatal(err)
	}

	s.ResetRequests()
	// Code and Status default to a server error (500, HTTP 500).
	if err := s.FailNext(mixintest.Failure{Method: "POST", Path: "/messages", Times: 2}); err != nil {
		log.Fatal(err)
	}
	if _, err := client.SendText(ctx, mixin.ToUser(alice.UserID), "once"); err != nil {
		log.Fatal(err)
	}
	for _, r := range s.Requests() {
		fmt.Println(r.Method, r.Path, r.Status, r.Code)
	}
	inbox, _ := alice.WaitInbox(ctx, 1)
	fmt.Println(len(inbox), "message delivered")
	// Output:
	// POST /messages 500 500
	// POST /messages 500 500
	// POST /messages 200 0
	// 1 message delivered
}

// Faults make the emulator hostile; the blaze loop reconnects and nothing is
// lost or handled twice.
func ExampleWithFaults() {
	s := mixintest.NewUnstartedServer(mixintest.WithFaults(mixintest.Faults{Seed: 1, DropAfterFrames: 3}))
	s.Start()
	defer s.Close()
	alice := s.NewUser("Alice")
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 100)
	done := make(chan error, 1)
	go func() {
		done <- client.RunBlaze(ctx, mixin.HandlerFunc(func(ctx context.Context, msg *mixin.Message) error {
			got <- msg.Text()
			return nil
		}), mixin.WithReconnect(mixin.Retry{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond}))
	}()
	for i := range 10 {
		if _, err := alice.SendText(ctx, s.Bot().UserID, fmt.Sprint(i)); err != nil {
			log.Fatal(err)
		}
	}
	var texts []string
	for len(texts) < 10 {
		texts = append(texts, <-got)
	}
	cancel()
	<-done
	fmt.Println(texts, "duplicates:", len(got))
	// Output: [0 1 2 3 4 5 6 7 8 9] duplicates: 0
}
