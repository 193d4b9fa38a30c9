// Echobot sends every message back as it came: text, images, files, voice,
// stickers, locations, contacts, cards… The payload a message decodes to
// is sendable as it is, so the handler needs no type switch.
//
//	go run ./examples/echobot                      # on the embedded emulator
//	go run ./examples/echobot -encrypted           # the same, end-to-end encrypted
//	go run ./examples/echobot -keystore bot.json   # on the real Mixin API
//
// On the emulator a simulated user, Alice, sends one message of each kind
// and the program prints the conversation, then stops. On the real API the
// bot serves until Ctrl-C.
//
// With -encrypted the emulated bot's app declares the ENCRYPTED capability,
// so Alice's app sends ENCRYPTED_* messages as the Android app does; the loop
// decrypts them before the handler, and the bot answers an encrypted message
// encrypted (mixin.WithEncryption). On the real API the bot always answers
// encrypted messages encrypted; declare the capability in the dashboard.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/examples/internal/demo"
	"github.com/gomixin/mixin/mixintest"
)

func main() {
	keystore := flag.String("keystore", "", "a bot keystore JSON file: serve real users instead of the emulator")
	encrypted := flag.Bool("encrypted", false, "on the emulator: the bot declares the ENCRYPTED capability, so the conversation is end-to-end encrypted")
	flag.Parse()
	// Ctrl-C (or SIGTERM) cancels ctx: the loop finishes running handlers,
	// flushes its acknowledgements and returns.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, *keystore, *encrypted, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "echobot:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, keystore string, encrypted bool, out io.Writer) error {
	var client *mixin.Client
	var srv *mixintest.Server // the emulator; nil on the real API
	if keystore != "" {
		ks, err := mixin.LoadKeystore(keystore)
		if err != nil {
			return err
		}
		if client, err = mixin.NewClient(ks); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "echobot: serving", ks.AppID, "until Ctrl-C")
	} else {
		opts := []mixintest.Option{mixintest.WithBotID(demo.BotID), mixintest.WithBotName("Echo Bot")}
		if encrypted {
			opts = append(opts, mixintest.WithBotCapabilities("CONTACT", "GROUP", "ENCRYPTED"))
		}
		srv = mixintest.NewUnstartedServer(opts...)
		srv.Start()
		defer srv.Close()
		var err error
		if client, err = srv.Client(); err != nil {
			return err
		}
	}

	echo := mixin.HandlerFunc(func(ctx context.Context, msg *mixin.Message) error {
		p, err := msg.Payload()
		if err != nil {
			// Data that does not decode now never will: don't retry it.
			return mixin.Permanent(err)
		}
		// Reply answers in the message's conversation, with the inbound
		// payload as it is. Its message id is derived from the inbound one,
		// so a redelivery sends no duplicate. A message that came encrypted
		// (the loop decrypted it) is answered encrypted.
		var opts []mixin.SendOption
		if msg.Encrypted {
			opts = append(opts, mixin.WithEncryption())
		}
		_, err = client.Reply(ctx, msg, p, opts...)
		return err // nil: the loop acknowledges msg; an error: it retries
	})
	// System messages (a group was created, someone joined…) go to their
	// own hook; this bot has nothing to say to them.
	quiet := mixin.WithSystemConversationHook(func(context.Context, *mixin.Message, mixin.SystemConversationPayload) error {
		return nil
	})

	loopCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	opts := []mixin.BlazeOption{quiet}
	if srv == nil {
		opts = append(opts, demo.ConnectionLog()) // "connected", or why not
	}
	go func() { done <- client.RunBlaze(loopCtx, echo, opts...) }()
	if srv != nil {
		// On the emulator, Alice talks to the bot; then the bot stops.
		sctx, scancel := context.WithTimeout(loopCtx, 30*time.Second)
		err := script(sctx, demo.NewEnv(client, srv).SetOutput(out))
		scancel()
		cancel()
		if ctx.Err() != nil {
			err = nil // interrupted: not a failure
		}
		return errors.Join(err, <-done, demo.AppProblems(srv))
	}
	return <-done // nil once ctx is cancelled; an error if the session is revoked
}

// script is Alice's side of the conversation on the emulator.
func script(ctx context.Context, env *demo.Env) error {
	alice := env.NewUser("a11ce000-0000-4000-8000-000000000001", "alice")
	msgs := []mixin.Payload{
		mixin.TextPayload("hello"),
		mixin.TextPayload("你好，世界 👋"),
		mixin.PostPayload("# Notes\n- one\n- two"),
		mixin.ImagePayload{AttachmentID: mixin.NewUUID(), MimeType: "image/png", Width: 300, Height: 200, Size: 12_345},
		mixin.DataPayload{AttachmentID: mixin.NewUUID(), MimeType: "application/pdf", Size: 1_234_567, Name: "report.pdf"},
		mixin.AudioPayload{AttachmentID: mixin.NewUUID(), MimeType: "audio/ogg", Size: 9_000, Duration: 3_200},
		mixin.StickerPayload{StickerID: mixintest.BuiltinStickers()[0].StickerID}, // one the emulator knows
		mixin.LocationPayload{Latitude: 48.8584, Longitude: 2.2945, Name: "Eiffel Tower"},
		mixin.ContactPayload{UserID: env.Server.Bot().UserID},
	}
	for _, p := range msgs {
		if err := alice.SendPayload(ctx, p); err != nil {
			return err
		}
		if _, err := alice.Next(ctx); err != nil { // the bot's answer
			return err
		}
	}
	return nil
}
