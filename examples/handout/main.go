// Handout uploads a file and sends it to one member of a group: a member
// who posts /handout in the group gets today's handout privately, and the
// group is told it went out.
//
//	go run ./examples/handout                      # on the embedded emulator
//	go run ./examples/handout -keystore bot.json   # on the real Mixin API
//
// On the emulator Alice creates a group with Bob and the bot, Bob asks for
// the handout and downloads it, and Alice never sees it; the program prints
// the conversation and stops.
package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/examples/internal/demo"
	"github.com/gomixin/mixin/mixintest"
)

type bot struct{ client *mixin.Client }

func main() {
	demo.Main("Handout Bot", serve)
}

// serve runs the bot; on the emulator, with the scripted users.
func serve(ctx context.Context, env *demo.Env) error {
	b := &bot{client: env.Client}
	router := mixin.NewRouter().
		Command("/handout", mixin.HandlerFunc(b.handout)).
		Default(mixin.HandlerFunc(func(context.Context, *mixin.Message) error { return nil }))
	return env.Serve(ctx, router, script,
		mixin.WithSystemConversationHook(func(context.Context, *mixin.Message, mixin.SystemConversationPayload) error { return nil }))
}

// handout uploads the file and sends it to the member who asked, in the
// group, where only they see it.
func (b *bot) handout(ctx context.Context, msg *mixin.Message) error {
	conv, err := b.client.LookupConversation(ctx, msg.ConversationID)
	if err != nil {
		return err
	}
	if !conv.IsGroup() {
		_, err := b.client.Reply(ctx, msg, mixin.TextPayload("ask for the handout in a group: I send it to you alone"))
		return err
	}
	file := handoutFor(msg.UserID)
	// UploadFile streams the reader; its size comes from the reader
	// (mixin.WithUploadSize for readers that don't tell).
	att, err := b.client.UploadFile(ctx, bytes.NewReader(file), mixin.WithUploadMimeType("text/markdown"))
	if err != nil {
		return err
	}
	// ToMember: a group message only this member receives. The message id
	// comes from the request, so a retry after a failure sends it once.
	_, err = b.client.SendData(ctx, mixin.ToMember(msg.ConversationID, msg.UserID), att.DataPayload("handout.md"),
		mixin.WithMessageID(mixin.UniqueObjectID(msg.MessageID, "handout")))
	if err != nil {
		return err
	}
	_, err = b.client.Reply(ctx, msg, mixin.TextPayload("sent the handout privately"))
	return err
}

// handoutFor writes the file a member gets.
func handoutFor(userID string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Handout\n\nFor member %s.\n\n", userID)
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&b, "%d. Read chapter %d.\n", i, i)
	}
	return []byte(b.String())
}

// script is the group's side on the emulator.
func script(ctx context.Context, env *demo.Env) error {
	alice := env.NewUser("a11ce000-0000-4000-8000-000000000001", "alice")
	bob := env.NewUser("b0b00000-0000-4000-8000-000000000002", "bob")
	bot := env.Server.Bot().UserID
	g, err := alice.CreateGroup(ctx, "Study group", bob.UserID, bot)
	if err != nil {
		return err
	}
	if err := bob.Expect(ctx, 1); err != nil { // the group was created
		return err
	}
	if err := bob.SayIn(ctx, g.ConversationID, "/handout"); err != nil {
		return err
	}
	file, err := bob.Until(ctx, func(m mixintest.Message) bool { return m.Category == mixin.CategoryPlainData })
	if err != nil {
		return err
	}
	if _, err := bob.Until(ctx, func(m mixintest.Message) bool { return m.UserID == bot && m.Category == mixin.CategoryPlainText }); err != nil {
		return err
	}
	// Bob fetches the file with his own client, as his app would.
	p, err := mixin.DecodePayload(file.Category, file.Data)
	if err != nil {
		return err
	}
	var got bytes.Buffer
	if _, err := bob.Client.DownloadAttachment(ctx, p.(mixin.DataPayload).AttachmentID, &got); err != nil {
		return err
	}
	first, _, _ := strings.Cut(got.String(), "\n")
	env.Printf("bob downloads handout.md: %q, %d bytes", first, got.Len())
	// Alice saw Bob's request and the bot's answer, not the file.
	for _, m := range alice.Inbox() {
		if m.Category == mixin.CategoryPlainData {
			return fmt.Errorf("alice received the handout too")
		}
	}
	env.Printf("alice's inbox has no file")
	return nil
}
