// Groupbot runs a group: on "/group [identity numbers…]" it creates a group
// with the sender, adds the named users, makes the sender an admin, sets the
// announcement and rotates the invite link; then it greets members who join
// and says goodbye to those who leave.
//
//	go run ./examples/groupbot                      # on the embedded emulator
//	go run ./examples/groupbot -keystore bot.json   # on the real Mixin API
//
// On the emulator Alice asks for a group with Bob, Carol joins by the invite
// link and leaves again; the program prints the conversation and stops.
package main

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/examples/internal/demo"
	"github.com/gomixin/mixin/mixintest"
)

const announcement = "Be kind. The invite link changes every time someone asks for a new one."

type bot struct{ client *mixin.Client }

func main() {
	demo.Main("Group Bot", serve)
}

// serve runs the bot; on the emulator, with the scripted users.
func serve(ctx context.Context, env *demo.Env) error {
	b := &bot{client: env.Client}
	router := mixin.NewRouter().
		Command("/group", mixin.HandlerFunc(b.createGroup)).
		Default(mixin.HandlerFunc(func(ctx context.Context, msg *mixin.Message) error {
			_, err := b.client.Reply(ctx, msg, mixin.TextPayload("send /group [identity numbers…] and I make you a group"))
			return err
		}))
	return env.Serve(ctx, router, script, mixin.WithSystemConversationHook(b.onSystem))
}

// createGroup handles "/group 7000101 7000102".
func (b *bot) createGroup(ctx context.Context, msg *mixin.Message) error {
	var members []string
	for _, number := range strings.Fields(msg.Text())[1:] {
		u, err := b.client.ReadUser(ctx, number)
		if err != nil {
			_, err = b.client.Reply(ctx, msg, mixin.TextPayload("I don't know user "+number))
			return err
		}
		members = append(members, u.UserID)
	}
	// A random id derived from the request: if this message is delivered
	// again, CreateGroupConversation returns the same group.
	g, err := b.client.CreateGroupConversation(ctx, mixin.GroupConversationRequest{
		RandomID:     mixin.UniqueObjectID(msg.MessageID, "group"),
		Name:         "Gophers",
		Participants: []mixin.ParticipantRequest{{UserID: msg.UserID}},
	})
	if err != nil {
		return err
	}
	id := g.ConversationID
	if len(members) > 0 {
		if _, err = b.client.AddParticipants(ctx, id, members...); err != nil {
			return err
		}
	}
	if _, err = b.client.AdminParticipants(ctx, id, msg.UserID); err != nil {
		return err
	}
	if _, err = b.client.UpdateConversation(ctx, id, mixin.ConversationUpdate{Announcement: announcement}); err != nil {
		return err
	}
	// The link in the creation answer may have been shared already; hand
	// out a fresh one.
	if g, err = b.client.RotateConversation(ctx, id); err != nil {
		return err
	}
	_, err = b.client.Reply(ctx, msg, mixin.TextPayload(fmt.Sprintf("created %s with %d members; invite link: %s",
		g.Name, len(g.Participants), g.CodeURL)))
	return err
}

// onSystem receives membership changes instead of the handler.
func (b *bot) onSystem(ctx context.Context, msg *mixin.Message, p mixin.SystemConversationPayload) error {
	group := mixin.ToConversation(msg.ConversationID)
	// Deterministic ids: a redelivered event sends nothing twice.
	once := mixin.WithMessageID(mixin.UniqueObjectID(msg.MessageID, "greeting"))
	switch p.Action {
	case mixin.SystemConversationActionJoin, mixin.SystemConversationActionAdd:
		u, err := b.client.ReadUser(ctx, p.ParticipantID)
		if err != nil {
			return err
		}
		if _, err = b.client.SendText(ctx, group, "welcome, "+u.FullName+"!", once); err != nil {
			return err
		}
		// Only the newcomer sees this one.
		_, err = b.client.SendText(ctx, mixin.ToMember(msg.ConversationID, u.UserID), "psst: "+announcement,
			mixin.WithMessageID(mixin.UniqueObjectID(msg.MessageID, "announcement")))
		return err
	case mixin.SystemConversationActionExit, mixin.SystemConversationActionRemove:
		g, err := b.client.ReadConversation(ctx, msg.ConversationID)
		if err != nil {
			return err
		}
		u, err := b.client.ReadUser(ctx, p.ParticipantID)
		if err != nil {
			return err
		}
		_, err = b.client.SendText(ctx, group, fmt.Sprintf("goodbye, %s; %d of us left", u.FullName, len(g.Participants)), once)
		return err
	}
	return nil // CREATE, UPDATE, ROLE…: nothing to say
}

// script is the users' side on the emulator.
func script(ctx context.Context, env *demo.Env) error {
	alice := env.NewUser("a11ce000-0000-4000-8000-000000000001", "alice")
	bob := env.NewUser("b0b00000-0000-4000-8000-000000000002", "bob")
	carol := env.NewUser("ca201000-0000-4000-8000-000000000003", "carol")

	if err := alice.Say(ctx, "/group "+bob.IdentityNumber); err != nil {
		return err
	}
	answer, err := alice.Until(ctx, func(m mixintest.Message) bool { return m.Category == "PLAIN_TEXT" })
	if err != nil {
		return err
	}
	link := strings.Fields(string(answer.Data))
	code := path.Base(link[len(link)-1]) // https://mixin.one/codes/CODE_ID

	env.Printf("-- carol opens the invite link")
	g, err := carol.JoinByCode(ctx, code)
	if err != nil {
		return err
	}
	if _, err = alice.Until(ctx, isText("welcome")); err != nil {
		return err
	}
	if _, err = carol.Until(ctx, isText("psst")); err != nil {
		return err
	}
	env.Printf("-- carol leaves")
	if err = carol.Exit(ctx, g.ConversationID); err != nil {
		return err
	}
	_, err = alice.Until(ctx, isText("goodbye"))
	return err
}

func isText(prefix string) func(mixintest.Message) bool {
	return func(m mixintest.Message) bool {
		return m.Category == "PLAIN_TEXT" && strings.HasPrefix(string(m.Data), prefix)
	}
}
