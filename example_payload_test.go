package mixin_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
)

// A received message is read with a type switch over its payload: every
// case is a value type, and a category the SDK has no type for comes as
// RawPayload.
func ExampleMessage_Payload() {
	describe := func(msg *mixin.Message) string {
		p, err := msg.Payload()
		if err != nil {
			return "unreadable: " + err.Error()
		}
		switch p := p.(type) {
		case mixin.TextPayload:
			return "text: " + string(p)
		case mixin.ImagePayload:
			return fmt.Sprintf("image %d×%d %s", p.Width, p.Height, p.MimeType)
		case mixin.VideoPayload:
			return fmt.Sprintf("video of %d s", p.Duration/1000) // milliseconds
		case mixin.StickerPayload:
			return "sticker " + p.StickerID
		case mixin.LocationPayload:
			return fmt.Sprintf("location %s (%.2f, %.2f)", p.Name, p.Latitude, p.Longitude)
		case mixin.SystemConversationPayload:
			return fmt.Sprintf("%s %s", p.Action, p.ParticipantID)
		case mixin.RawPayload:
			return fmt.Sprintf("%s: %d bytes this SDK has no type for", p.Kind, len(p.Data))
		}
		return "other: " + string(p.Category())
	}
	message := func(c mixin.Category, data string) *mixin.Message {
		return &mixin.Message{Category: c, DataBase64: mixin.EncodeBase64Data([]byte(data))}
	}
	for _, m := range []*mixin.Message{
		message(mixin.CategoryPlainText, "hi"),
		message(mixin.CategoryPlainImage, `{"attachment_id":"7404c815-0393-4ea3-b9f2-b08efe4c72da","mime_type":"image/webp","width":640,"height":480,"size":9000}`),
		message(mixin.CategoryPlainVideo, `{"attachment_id":"7404c815-0393-4ea3-b9f2-b08efe4c72da","mime_type":"video/mp4","width":1280,"height":720,"size":9000,"duration":60000}`),
		message(mixin.CategoryPlainSticker, `{"sticker_id":"a465ffdb-4441-4cb9-8b45-00cf79dfbc46"}`),
		message(mixin.CategoryPlainLocation, `{"latitude":48.8584,"longitude":2.2945,"name":"Eiffel Tower"}`),
		message(mixin.CategorySystemConversation, `{"action":"ADD","participant_id":"e8e8cd79-cd40-4796-8c54-3a13cfe50115"}`),
		message(mixin.CategoryAppButtonGroup, `[{"label":"Go","color":"#3D75E3","action":"https://go.dev"}]`),
		message("PLAIN_HOLOGRAM", `{"frames":3}`),
	} {
		fmt.Println(describe(m))
	}
	// Output:
	// text: hi
	// image 640×480 image/webp
	// video of 60 s
	// sticker a465ffdb-4441-4cb9-8b45-00cf79dfbc46
	// location Eiffel Tower (48.86, 2.29)
	// ADD e8e8cd79-cd40-4796-8c54-3a13cfe50115
	// other: APP_BUTTON_GROUP
	// PLAIN_HOLOGRAM: 12 bytes this SDK has no type for
}

// A moderator warns a member privately (ToMember) and then removes them
// (RemoveParticipants). Once the bot is no longer an admin, the removal
// cannot succeed however often it is retried: the 403 is permanent, so the
// loop hands the message to the dead-letter hook after one attempt.
func ExampleClient_RemoveParticipants() {
	s := exampleServer()
	defer s.Close()
	ctx := context.Background()
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}
	alice := s.NewUserWithID(exampleAliceID, "Alice")
	bob := s.NewUserWithID(exampleBobID, "Bob")
	group, err := alice.CreateGroup(ctx, "club", bob.UserID, exampleBotID)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := alice.SetRole(ctx, group.ConversationID, mixin.ParticipantRoleAdmin, exampleBotID); err != nil {
		log.Fatal(err)
	}

	attempts := 0
	moderate := mixin.HandlerFunc(func(ctx context.Context, msg *mixin.Message) error {
		if !strings.Contains(msg.Text(), "https://") {
			return nil
		}
		attempts++
		if msg.Text() == "https://spam.example" { // a first offence: a warning only Bob sees
			_, err := client.SendText(ctx, mixin.ToMember(msg.ConversationID, msg.UserID), "no links, please",
				mixin.WithMessageID(mixin.UniqueObjectID(msg.MessageID, "warning")))
			return err
		}
		_, err := client.RemoveParticipants(ctx, msg.ConversationID, msg.UserID)
		return err // a 403 or 404 is permanent as it is; mixin.Permanent marks any other error so
	})
	dead := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- client.RunBlaze(ctx, moderate,
			mixin.WithSystemConversationHook(func(context.Context, *mixin.Message, mixin.SystemConversationPayload) error { return nil }),
			mixin.WithDeadLetter(func(ctx context.Context, msg *mixin.Message, err error) { dead <- err }))
	}()

	say := func(u *mixintest.User, text string) {
		if _, err := u.Send(ctx, mixintest.MessageRequest{ConversationID: group.ConversationID,
			Category: mixin.CategoryPlainText, Data: []byte(text)}); err != nil {
			log.Fatal(err)
		}
	}
	say(bob, "https://spam.example")
	in, err := bob.WaitInbox(ctx, 3) // the group's creation, the bot's role, the warning
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Bob is warned: %s (only he got it: %v)\n", in[2].Data, in[2].RecipientID == bob.UserID)

	if _, err := alice.SetRole(ctx, group.ConversationID, mixin.ParticipantRoleMember, exampleBotID); err != nil {
		log.Fatal(err)
	}
	say(bob, "https://spam.example/again")
	err = <-dead
	fmt.Println("forbidden:", mixin.IsForbidden(err), "permanent:", mixin.IsPermanent(err), "attempts:", attempts)
	cancel()
	<-done
	g, _ := s.Conversation(group.ConversationID)
	fmt.Println("members:", len(g.Participants))
	// Output:
	// Bob is warned: no links, please (only he got it: true)
	// forbidden: true permanent: true attempts: 2
	// members: 3
}
