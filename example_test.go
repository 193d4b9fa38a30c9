package mixin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"log"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
)

// Fixed ids keep the examples' output stable.
const (
	exampleBotID   = "11efbb75-e7fe-44d7-a14f-698535289310"
	exampleAliceID = "e8e8cd79-cd40-4796-8c54-3a13cfe50115"
	exampleBobID   = "b0b00000-0000-4000-8000-000000000002"
)

// exampleServer starts an emulator with the example bot; the caller closes
// it. Tests use mixintest.NewServer(t), which closes itself.
func exampleServer() *mixintest.Server {
	s := mixintest.NewUnstartedServer(mixintest.WithBotID(exampleBotID), mixintest.WithBotName("Example Bot"))
	s.Start()
	return s
}

func ExampleNewClient() {
	s := exampleServer()
	defer s.Close()

	// In production: ks, err := mixin.LoadKeystore("keystore.json") and
	// mixin.NewClient(ks) with the default (real API) endpoints.
	ks, err := mixin.ParseKeystore(s.KeystoreJSON())
	if err != nil {
		log.Fatal(err)
	}
	client, err := mixin.NewClient(ks,
		mixin.WithBaseURL(s.URL()),
		mixin.WithBlazeURL(s.BlazeURL()),
		mixin.WithRequestTimeout(5*time.Second),
	)
	if err != nil {
		log.Fatal(err)
	}
	me, err := client.ReadMe(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(me.UserID, me.FullName)
	// Output: 11efbb75-e7fe-44d7-a14f-698535289310 Example Bot
}

func ExampleClient_CreateContactConversation() {
	s := exampleServer()
	defer s.Close()
	s.NewUserWithID(exampleAliceID, "Alice")
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}

	conv, err := client.CreateContactConversation(context.Background(), exampleAliceID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(conv.Category, conv.ConversationID)
	fmt.Println(conv.ConversationID == mixin.UniqueConversationID(exampleBotID, exampleAliceID))
	// Output:
	// CONTACT dd219235-e83a-3b85-a13f-d0f20fa0e833
	// true
}

func ExampleClient_CreateGroupConversation() {
	s := exampleServer()
	defer s.Close()
	s.NewUserWithID(exampleAliceID, "Alice")
	s.NewUserWithID(exampleBobID, "Bob")
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	g, err := client.CreateGroupConversation(ctx, mixin.GroupConversationRequest{
		RandomID: "00000000-0000-4000-8000-000000000001", // fixes the derived id
		Name:     "Gophers",
		Participants: []mixin.ParticipantRequest{
			{UserID: exampleAliceID, Role: mixin.ParticipantRoleAdmin},
			{UserID: exampleBobID},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(g.Category, g.Name, len(g.Participants), "members")
	alice, _ := g.Participant(exampleAliceID)
	fmt.Println("alice is", alice.Role)

	g, err = client.UpdateConversation(ctx, g.ConversationID, mixin.ConversationUpdate{Announcement: "Be kind."})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(g.Announcement)
	// Output:
	// GROUP Gophers 3 members
	// alice is ADMIN
	// Be kind.
}

func ExampleClient_SendText() {
	s := exampleServer()
	defer s.Close()
	alice := s.NewUserWithID(exampleAliceID, "Alice")
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// A contact conversation must exist before the bot writes to a user.
	if _, err := client.CreateContactConversation(ctx, alice.UserID); err != nil {
		log.Fatal(err)
	}
	// Reusing a message id on a retry makes the send happen once.
	id := mixin.UniqueObjectID("greeting", alice.UserID)
	m, err := client.SendText(ctx, mixin.ToUser(alice.UserID), "hello, Alice", mixin.WithMessageID(id))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Category, m.Text())

	inbox, err := alice.WaitInbox(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("alice got:", string(inbox[0].Data))
	// Output:
	// PLAIN_TEXT hello, Alice
	// alice got: hello, Alice
}

func ExampleClient_SendMessages() {
	s := exampleServer()
	defer s.Close()
	alice := s.NewUserWithID(exampleAliceID, "Alice")
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	conv, err := client.CreateContactConversation(ctx, alice.UserID)
	if err != nil {
		log.Fatal(err)
	}

	msgs := make([]mixin.MessageRequest, 250)
	for i := range msgs {
		msgs[i], err = client.NewMessageRequest(mixin.ToConversation(conv.ConversationID), mixin.TextPayload(fmt.Sprint("item ", i)))
		if err != nil {
			log.Fatal(err)
		}
	}
	s.ResetRequests()
	// 250 messages go out as 3 requests of at most 100.
	if err := client.SendMessages(ctx, msgs); err != nil {
		log.Fatal(err)
	}
	inbox, err := alice.WaitInbox(ctx, len(msgs))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(inbox), "messages in", len(s.Requests()), "requests")
	// Output: 250 messages in 3 requests
}

func ExampleClient_UploadFile() {
	s := exampleServer()
	defer s.Close()
	alice := s.NewUserWithID(exampleAliceID, "Alice")
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	var img bytes.Buffer
	if err := png.Encode(&img, image.NewGray(image.Rect(0, 0, 300, 200))); err != nil {
		log.Fatal(err)
	}
	size := int64(img.Len())
	att, err := client.UploadFile(ctx, &img, mixin.WithUploadSize(size), mixin.WithProgress(func(sent, total int64) {
		if sent == total {
			fmt.Println("uploaded", sent == size)
		}
	}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(att.MimeType, att.Width, "×", att.Height)

	// The attachment carries what the image payload needs.
	if _, err := client.CreateContactConversation(ctx, alice.UserID); err != nil {
		log.Fatal(err)
	}
	if _, err := client.SendImage(ctx, mixin.ToUser(alice.UserID), att.ImagePayload()); err != nil {
		log.Fatal(err)
	}
	inbox, err := alice.WaitInbox(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("alice got a", inbox[0].Category)
	// Output:
	// uploaded true
	// image/png 300 × 200
	// alice got a PLAIN_IMAGE
}

func ExampleClient_RunBlaze() {
	s := exampleServer()
	defer s.Close()
	alice := s.NewUserWithID(exampleAliceID, "Alice")
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		// Blocks until ctx ends; reconnects by itself. A message is
		// acknowledged once the handler returned nil.
		done <- client.RunBlaze(ctx, mixin.HandlerFunc(func(ctx context.Context, msg *mixin.Message) error {
			if msg.Text() == "ping" {
				_, err := client.Reply(ctx, msg, mixin.TextPayload("pong"))
				return err
			}
			return nil
		}))
	}()

	if _, err := alice.SendText(ctx, exampleBotID, "ping"); err != nil {
		log.Fatal(err)
	}
	inbox, err := alice.WaitInbox(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("alice got:", string(inbox[0].Data))

	cancel() // graceful shutdown: handlers finish, acknowledgements are flushed
	fmt.Println("RunBlaze returned", <-done)
	fmt.Println("unacknowledged:", s.Pending(exampleBotID))
	// Output:
	// alice got: pong
	// RunBlaze returned <nil>
	// unacknowledged: 0
}

func ExampleRouter() {
	s := exampleServer()
	defer s.Close()
	alice := s.NewUserWithID(exampleAliceID, "Alice")
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}

	reply := func(text string) mixin.HandlerFunc {
		return func(ctx context.Context, msg *mixin.Message) error {
			_, err := client.Reply(ctx, msg, mixin.TextPayload(text))
			return err
		}
	}
	router := mixin.NewRouter().
		Command("/start", reply("welcome!")).
		Category(mixin.CategoryPlainSticker, reply("nice sticker")).
		Default(reply("try /start"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- client.RunBlaze(ctx, router) }()

	for i, text := range []string{"/START now", "hello"} {
		if _, err := alice.SendText(ctx, exampleBotID, text); err != nil {
			log.Fatal(err)
		}
		inbox, err := alice.WaitInbox(ctx, i+1)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s → %s\n", text, inbox[i].Data)
	}
	cancel()
	<-done
	// Output:
	// /START now → welcome!
	// hello → try /start
}

func ExampleUniqueConversationID() {
	// Both sides compute the same id, in either order.
	fmt.Println(mixin.UniqueConversationID(exampleBotID, exampleAliceID))
	fmt.Println(mixin.UniqueConversationID(exampleAliceID, exampleBotID))
	// Output:
	// dd219235-e83a-3b85-a13f-d0f20fa0e833
	// dd219235-e83a-3b85-a13f-d0f20fa0e833
}

func ExampleGroupConversationID() {
	fmt.Println(mixin.GroupConversationID(exampleBotID, "test-group", []string{exampleAliceID}, "00000000-0000-4000-8000-000000000001"))
	// Output: 3afe01f8-d10b-3343-97c1-1c7b26f61981
}

func ExampleAPIError() {
	s := exampleServer()
	defer s.Close()
	s.NewUserWithID(exampleAliceID, "Alice")
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}

	// No contact conversation was created: the API refuses with 403.
	_, err = client.SendText(context.Background(), mixin.ToUser(exampleAliceID), "hi")
	var apiErr *mixin.APIError
	if errors.As(err, &apiErr) {
		fmt.Println("code", apiErr.Code, "forbidden:", mixin.IsForbidden(err))
	}

	// Bad input is refused before any request, naming the field.
	_, err = client.SendText(context.Background(), mixin.ToUser("not-a-uuid"), "hi")
	fmt.Println(errors.Is(err, mixin.ErrInvalidInput), err)
	// Output:
	// code 403 forbidden: true
	// true mixin: invalid recipient_id: must be a UUID (36 characters), got "not-a-uuid"
}

func ExampleCommandOf() {
	fmt.Printf("%q %q\n", mixin.CommandOf("/Help me"), mixin.CommandOf("help"))
	// Output: "/help" ""
}
