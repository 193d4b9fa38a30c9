package mixin_test

import (
	"context"
	"fmt"
	"log"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
)

// SYSTEM_CONVERSATION messages (joins, exits, adds, removes, role changes)
// reach the handler unless a hook takes them. Here the hook greets a group
// the bot is added to, and the handler sees only what users write, so its
// echo never answers an event.
func ExampleWithSystemConversationHook() {
	s := exampleServer()
	defer s.Close()
	alice := s.NewUserWithID(exampleAliceID, "Alice")
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	echo := mixin.HandlerFunc(func(ctx context.Context, msg *mixin.Message) error {
		_, err := client.Reply(ctx, msg, mixin.TextPayload("you said: "+msg.Text()))
		return err
	})
	greet := mixin.WithSystemConversationHook(func(ctx context.Context, msg *mixin.Message, p mixin.SystemConversationPayload) error {
		if p.Action != mixin.SystemConversationActionAdd || p.ParticipantID != client.AppID() {
			return nil // another member's event: acknowledged, nothing to do
		}
		_, err := client.Reply(ctx, msg, mixin.TextPayload("hello, group!"))
		return err
	})
	done := make(chan error, 1)
	go func() { done <- client.RunBlaze(ctx, echo, greet) }()

	group, err := alice.CreateGroup(ctx, "club")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := alice.AddParticipants(ctx, group.ConversationID, exampleBotID); err != nil {
		log.Fatal(err)
	}
	if _, err := alice.Send(ctx, mixintest.MessageRequest{ConversationID: group.ConversationID,
		Category: mixin.CategoryPlainText, Data: []byte("hi")}); err != nil {
		log.Fatal(err)
	}
	inbox, err := alice.WaitInbox(ctx, 2)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range inbox {
		fmt.Printf("%s: %s\n", m.Category, m.Data)
	}
	cancel()
	<-done
	// Output:
	// PLAIN_TEXT: hello, group!
	// PLAIN_TEXT: you said: hi
}
