package mixin_test

import (
	"context"
	"fmt"
	"log"

	"github.com/gomixin/mixin"
)

// A moderator asks the cache, not the API, whether a message's conversation
// is a group and whether its sender may post links.
func ExampleClient_LookupConversation() {
	s := exampleServer()
	defer s.Close()
	ctx := context.Background()
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}
	alice := s.NewUserWithID(exampleAliceID, "Alice")
	bob := s.NewUserWithID(exampleBobID, "Bob")
	group, err := client.CreateGroupConversation(ctx, mixin.GroupConversationRequest{Name: "club",
		Participants: []mixin.ParticipantRequest{{UserID: alice.UserID, Role: mixin.ParticipantRoleAdmin}, {UserID: bob.UserID}}})
	if err != nil {
		log.Fatal(err)
	}

	mayPostLinks := func(msg *mixin.Message) (bool, error) {
		info, err := client.LookupConversation(ctx, msg.ConversationID) // cached
		if err != nil {
			return false, err
		}
		return !info.IsGroup() || info.IsAdmin(msg.UserID), nil
	}
	for _, sender := range []string{alice.UserID, bob.UserID} {
		ok, err := mayPostLinks(&mixin.Message{ConversationID: group.ConversationID, UserID: sender})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(sender == alice.UserID, ok)
	}
	// Output:
	// true true
	// false false
}

// Encrypting a send takes one option; the user's app decrypts it.
func ExampleWithEncryption() {
	s := exampleServer()
	defer s.Close()
	ctx := context.Background()
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}
	alice := s.NewUserWithID(exampleAliceID, "Alice")
	alice.AddSession() // her desktop: the message is encrypted for both devices
	if _, err := client.CreateContactConversation(ctx, alice.UserID); err != nil {
		log.Fatal(err)
	}
	if _, err := client.SendText(ctx, mixin.ToUser(alice.UserID), "the code is 4711", mixin.WithEncryption()); err != nil {
		log.Fatal(err)
	}
	in, err := alice.WaitInbox(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(in[0].Category, string(in[0].Plaintext))
	// Output: ENCRYPTED_TEXT the code is 4711
}
