// Menubot shows a menu of app buttons and an app card, and routes commands
// with a mixin.Router: /start shows the menu, /pin pins it, /recall sends a
// message and takes it back, /help answers in Markdown. Every message
// handled is logged (on stderr) by the mixin.Logging middleware.
//
//	go run ./examples/menubot                      # on the embedded emulator
//	go run ./examples/menubot -keystore bot.json   # on the real Mixin API
package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/examples/internal/demo"
	"github.com/gomixin/mixin/mixintest"
)

type bot struct {
	client *mixin.Client
	mu     sync.Mutex
	menus  map[string]string // conversation id → message id of its menu card
}

func main() {
	demo.Main("Menu Bot", serve)
}

// serve runs the bot; on the emulator, with the scripted users.
func serve(ctx context.Context, env *demo.Env) error {
	b := &bot{client: env.Client, menus: map[string]string{}}
	router := mixin.NewRouter().
		Use(mixin.Logging()). // through the client's WithLogger, if it has one
		Command("/start", mixin.HandlerFunc(b.start)).
		Command("/pin", mixin.HandlerFunc(b.pin)).
		Command("/recall", mixin.HandlerFunc(b.recall)).
		Command("/help", mixin.HandlerFunc(b.help)).
		Category(mixin.CategoryPlainSticker, mixin.HandlerFunc(func(ctx context.Context, msg *mixin.Message) error {
			_, err := b.client.Reply(ctx, msg, mixin.TextPayload("nice sticker!"))
			return err
		})).
		Default(mixin.HandlerFunc(func(ctx context.Context, msg *mixin.Message) error {
			if msg.Category.Plain() != mixin.CategoryPlainText {
				return nil // e.g. SYSTEM_CONVERSATION in a group: nothing to say
			}
			_, err := b.client.Reply(ctx, msg, mixin.TextPayload(fmt.Sprintf("I don't know %q; send /start", msg.Text())))
			return err
		}))
	return env.Serve(ctx, router, script)
}

// start sends the menu: an app card and a group of buttons. An "input:"
// action makes the user's app send that text, i.e. the command.
func (b *bot) start(ctx context.Context, msg *mixin.Message) error {
	card, err := b.client.Reply(ctx, msg, mixin.AppCardPayload{
		AppID:       b.client.AppID(),
		Title:       "Menu Bot",
		Description: "Tap a button below, or send /help.",
		Actions: []mixin.Button{
			{Label: "Help", Color: "#2F80ED", Action: "input:/help"},
			{Label: "Docs", Color: "#27AE60", Action: "https://pkg.go.dev/github.com/gomixin/mixin"},
		},
		Shareable: true,
	})
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.menus[msg.ConversationID] = card.MessageID
	b.mu.Unlock()
	_, err = b.client.Reply(ctx, msg, mixin.ButtonGroupPayload{
		{Label: "Pin the menu", Color: "#2F80ED", Action: "input:/pin"},
		{Label: "Recall demo", Color: "#EB5757", Action: "input:/recall"},
		{Label: "Help", Color: "#27AE60", Action: "input:/help"},
	})
	return err
}

// pin pins the conversation's menu card.
func (b *bot) pin(ctx context.Context, msg *mixin.Message) error {
	b.mu.Lock()
	menu, ok := b.menus[msg.ConversationID]
	b.mu.Unlock()
	if !ok {
		_, err := b.client.Reply(ctx, msg, mixin.TextPayload("no menu yet: send /start first"))
		return err
	}
	to := mixin.ToConversation(msg.ConversationID)
	if _, err := b.client.PinMessages(ctx, to, []string{menu}); err != nil {
		return err
	}
	_, err := b.client.Reply(ctx, msg, mixin.TextPayload("pinned the menu"))
	return err
}

// recall sends a message, then recalls it: it disappears for everyone.
func (b *bot) recall(ctx context.Context, msg *mixin.Message) error {
	to := mixin.ToConversation(msg.ConversationID)
	gone, err := b.client.SendText(ctx, to, "this message will self-destruct",
		mixin.WithMessageID(mixin.UniqueObjectID(msg.MessageID, "doomed")))
	if err != nil {
		return err
	}
	select { // a moment to read it
	case <-time.After(100 * time.Millisecond):
	case <-ctx.Done():
		return ctx.Err()
	}
	_, err = b.client.SendRecall(ctx, to, gone.MessageID,
		mixin.WithMessageID(mixin.UniqueObjectID(msg.MessageID, "recall")))
	return err
}

// help answers in Markdown.
func (b *bot) help(ctx context.Context, msg *mixin.Message) error {
	_, err := b.client.Reply(ctx, msg, mixin.PostPayload("**Commands**\n- /start: the menu\n- /pin: pin it\n- /recall: watch a message vanish"))
	return err
}

// script is Alice's side on the emulator: she taps the buttons she gets.
func script(ctx context.Context, env *demo.Env) error {
	alice := env.NewUser("a11ce000-0000-4000-8000-000000000001", "alice")
	if err := alice.Say(ctx, "/start"); err != nil {
		return err
	}
	if err := alice.Expect(ctx, 2); err != nil { // card and buttons
		return err
	}
	var buttons mixin.ButtonGroupPayload
	for _, m := range alice.Inbox() {
		if p, err := mixin.DecodePayload(mixin.Category(m.Category), m.Data); err == nil && m.Category == "APP_BUTTON_GROUP" {
			buttons = p.(mixin.ButtonGroupPayload)
		}
	}
	for _, tap := range []struct {
		button  int
		replies int
	}{{0, 2}, {1, 2}, {2, 1}} { // pin: pin + text; recall: text + recall; help: post
		b := buttons[tap.button]
		env.Printf("-- alice taps (%s)", b.Label)
		if err := alice.Say(ctx, b.Action[len("input:"):]); err != nil {
			return err
		}
		if err := alice.Expect(ctx, tap.replies); err != nil {
			return err
		}
	}
	sticker := mixin.StickerPayload{StickerID: mixintest.BuiltinStickers()[0].StickerID} // one the emulator knows
	if err := alice.SendPayload(ctx, sticker); err != nil {
		return err
	}
	if err := alice.Expect(ctx, 1); err != nil {
		return err
	}
	if err := alice.Say(ctx, "/weather"); err != nil {
		return err
	}
	return alice.Expect(ctx, 1)
}
