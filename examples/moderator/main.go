// Moderator keeps links out of the groups it administers: the first link a
// member posts earns a private warning (only they see it), the second gets
// them removed. Owners and admins may post links.
//
//	go run ./examples/moderator                      # on the embedded emulator
//	go run ./examples/moderator -keystore bot.json   # on the real Mixin API
//
// On the real API, add the bot to a group and make it an admin. On the
// emulator Alice creates a group with Bob, Carol and the bot, Bob posts
// links until he is removed, Alice takes the bot's admin role away, and the
// bot, asked to remove Carol, cannot: the program prints the conversation
// and stops.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/examples/internal/demo"
	"github.com/gomixin/mixin/mixintest"
)

type bot struct {
	client *mixin.Client
	mu     sync.Mutex
	// links counts, per group and member, the messages with a link they
	// posted. Keyed by message id, so a message handled twice counts once.
	links map[string]map[string]bool
}

func main() {
	demo.Main("Moderator", serve)
}

// serve runs the bot; on the emulator, with the scripted users.
func serve(ctx context.Context, env *demo.Env) error {
	b := &bot{client: env.Client, links: map[string]map[string]bool{}}
	return env.Serve(ctx, mixin.HandlerFunc(b.moderate), script,
		mixin.WithDeadLetter(b.giveUp),
		// Membership changes refresh the conversation cache; nothing to say.
		mixin.WithSystemConversationHook(func(context.Context, *mixin.Message, mixin.SystemConversationPayload) error { return nil }))
}

// moderate handles every message. An error it returns is retried, unless it
// is permanent: a refusal by the API (403, 404…) is, and so is anything
// wrapped in mixin.Permanent.
func (b *bot) moderate(ctx context.Context, msg *mixin.Message) error {
	if !hasLink(msg.Text()) {
		return nil
	}
	// The cache answers from memory; membership changes keep it fresh.
	conv, err := b.client.LookupConversation(ctx, msg.ConversationID)
	if err != nil {
		return err // a network error: retried
	}
	if !conv.IsGroup() || conv.IsAdmin(msg.UserID) {
		return nil
	}
	if b.strike(msg) == 1 {
		// ToMember: only the poster sees the warning. The id derived from
		// the message makes a retry send the same warning, not a second.
		_, err := b.client.SendText(ctx, mixin.ToMember(msg.ConversationID, msg.UserID),
			"no links here, please: post another and you are out",
			mixin.WithQuote(msg.MessageID), mixin.WithMessageID(mixin.UniqueObjectID(msg.MessageID, "warning")))
		return err
	}
	if !conv.IsAdmin(b.client.AppID()) {
		// Retrying will not make the bot an admin.
		return mixin.Permanent(errors.New("the bot is not an admin of this group"))
	}
	if _, err := b.client.RemoveParticipants(ctx, msg.ConversationID, msg.UserID); err != nil {
		return fmt.Errorf("remove %s: %w", msg.UserID, err) // a 403 is permanent as it is
	}
	_, err = b.client.Reply(ctx, msg, mixin.TextPayload("removed a member for posting links"))
	return err
}

// giveUp receives the messages moderate failed on for good and tells the
// group why nothing happened.
func (b *bot) giveUp(ctx context.Context, msg *mixin.Message, err error) {
	_, _ = b.client.SendText(ctx, mixin.ToConversation(msg.ConversationID),
		"I could not remove the member who posted that link: "+err.Error(),
		mixin.WithMessageID(mixin.UniqueObjectID(msg.MessageID, "gave up")))
}

// strike records a message with a link and returns how many its sender
// has posted in that group.
func (b *bot) strike(msg *mixin.Message) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := msg.ConversationID + "/" + msg.UserID
	if b.links[key] == nil {
		b.links[key] = map[string]bool{}
	}
	b.links[key][msg.MessageID] = true
	return len(b.links[key])
}

// hasLink reports whether text holds an http(s) URL.
func hasLink(text string) bool {
	for _, w := range strings.Fields(text) {
		if u, err := url.Parse(w); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			return true
		}
	}
	return false
}

// script is the group's side on the emulator.
func script(ctx context.Context, env *demo.Env) error {
	alice := env.NewUser("a11ce000-0000-4000-8000-000000000001", "alice")
	bob := env.NewUser("b0b00000-0000-4000-8000-000000000002", "bob")
	carol := env.NewUser("ca201000-0000-4000-8000-000000000003", "carol")
	bot := env.Server.Bot().UserID
	g, err := alice.CreateGroup(ctx, "Gophers", bob.UserID, carol.UserID, bot)
	if err != nil {
		return err
	}
	if _, err := alice.SetRole(ctx, g.ConversationID, mixin.ParticipantRoleAdmin, bot); err != nil {
		return err
	}
	if err := bob.Expect(ctx, 2); err != nil { // the group was created; the bot is an admin
		return err
	}
	says := func(text string) func(mixintest.Message) bool {
		return func(m mixintest.Message) bool {
			return m.UserID == bot && m.Category == mixin.CategoryPlainText && strings.Contains(string(m.Data), text)
		}
	}
	steps := []struct {
		who, text string
		watch     *demo.User // who waits for the bot's answer, if any
		answer    string
	}{
		{"bob", "hello, gophers", nil, ""},
		{"alice", "our site: https://go.dev", nil, ""}, // the owner may
		{"bob", "cheap watches at https://spam.example", bob, "no links"},
		{"bob", "last chance: https://spam.example/deal", alice, "removed"},
		{"carol", "try https://x.example", carol, "no links"},
	}
	users := map[string]*demo.User{"alice": alice, "bob": bob, "carol": carol}
	for _, s := range steps {
		if err := users[s.who].SayIn(ctx, g.ConversationID, s.text); err != nil {
			return err
		}
		if s.watch != nil {
			if _, err := s.watch.Until(ctx, says(s.answer)); err != nil {
				return err
			}
		}
	}
	// Alice takes the bot's admin role away; Carol posts another link.
	if _, err := alice.SetRole(ctx, g.ConversationID, mixin.ParticipantRoleMember, bot); err != nil {
		return err
	}
	if _, err := carol.Until(ctx, func(m mixintest.Message) bool { return m.Category == mixin.CategorySystemConversation }); err != nil {
		return err
	}
	if err := carol.SayIn(ctx, g.ConversationID, "and https://x.example/again"); err != nil {
		return err
	}
	_, err = alice.Until(ctx, says("could not"))
	return err
}
