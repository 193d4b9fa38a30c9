// Package demo is the scaffolding the examples share: run a bot on the
// embedded mixintest emulator with a scripted conversation, or on the real
// Mixin API with -keystore, and print a readable transcript.
package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
)

// BotID is the bot's user id on the emulator, fixed for stable transcripts.
const BotID = "b0700000-0000-4000-8000-000000000000"

// Env is where an example runs. Server is nil against the real API.
type Env struct {
	Client *mixin.Client
	Server *mixintest.Server

	out     io.Writer
	mu      sync.Mutex
	names   map[string]string // user ids → names
	printed map[string]bool   // message ids already in the transcript
}

// Script drives the simulated side of the conversation on the emulator.
// When it returns, the bot is stopped.
type Script func(ctx context.Context, env *Env) error

// Main parses the flags, builds the environment and calls run with a ctx
// that ends on Ctrl-C. It exits 1 if run fails. Examples may define their
// own flags before calling it.
func Main(botName string, run func(ctx context.Context, env *Env) error) {
	keystore := flag.String("keystore", "", "a bot keystore JSON file: run against the real Mixin API instead of the embedded emulator")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run1(ctx, *keystore, botName, run)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// NewEnv wraps a client and, on the emulator, its server (nil otherwise).
func NewEnv(client *mixin.Client, srv *mixintest.Server) *Env {
	env := &Env{Client: client, Server: srv, out: os.Stdout, names: map[string]string{}, printed: map[string]bool{}}
	if srv != nil {
		env.SetName(srv.Bot().UserID, "bot")
	}
	return env
}

// SetOutput sends the transcript to w instead of standard output.
func (e *Env) SetOutput(w io.Writer) *Env {
	e.out = w
	return e
}

func run1(ctx context.Context, keystore, botName string, run func(context.Context, *Env) error) error {
	if keystore != "" {
		ks, err := mixin.LoadKeystore(keystore)
		if err != nil {
			return err
		}
		client, err := mixin.NewClient(ks)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s: serving bot %s on the Mixin API; Ctrl-C to stop\n", botName, ks.AppID)
		return run(ctx, NewEnv(client, nil))
	}
	return Emulate(ctx, botName, os.Stdout, run)
}

// Emulate runs a bot on a fresh emulator, printing the transcript to out.
func Emulate(ctx context.Context, botName string, out io.Writer, run func(context.Context, *Env) error) error {
	srv := mixintest.NewUnstartedServer(mixintest.WithBotName(botName), mixintest.WithBotID(BotID))
	srv.Start()
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		return err
	}
	env := NewEnv(client, srv)
	env.out = out
	return errors.Join(run(ctx, env), AppProblems(srv))
}

// AppProblems reports the messages of the run that the official apps would
// show broken, found by the emulator's app check (see mixintest.Problem);
// warnings and the docs' limits are not failures.
func AppProblems(srv *mixintest.Server) error {
	var errs []error
	for _, p := range srv.Problems() {
		if p.Kind == mixintest.ProblemKindBroken {
			errs = append(errs, fmt.Errorf("the official apps would show this message broken: %s", p))
		}
	}
	return errors.Join(errs...)
}

// Serve runs the blaze loop with h. On the emulator it also runs script and
// stops the loop once the script is done; on the real API it serves until
// ctx ends. The loop acknowledges every message its handler accepted.
func (e *Env) Serve(ctx context.Context, h mixin.Handler, script Script, opts ...mixin.BlazeOption) error {
	loopCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	if e.Server == nil {
		opts = append(opts, ConnectionLog())
	}
	go func() { done <- e.Client.RunBlaze(loopCtx, h, opts...) }()
	if e.Server == nil {
		return <-done
	}
	sctx, scancel := context.WithTimeout(loopCtx, 30*time.Second)
	serr := script(sctx, e)
	scancel()
	cancel()
	if ctx.Err() != nil {
		serr = nil // interrupted: not a failure
	}
	return errors.Join(serr, <-done)
}

// SetName names a user id in the transcript.
func (e *Env) SetName(id, name string) {
	e.mu.Lock()
	e.names[id] = name
	e.mu.Unlock()
}

// Name returns the transcript name of an id, or a short form of it.
func (e *Env) Name(id string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n, ok := e.names[id]; ok {
		return n
	}
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// Printf prints a line of the transcript.
func (e *Env) Printf(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fmt.Fprintf(e.out, format+"\n", args...)
}

// User is a simulated user on the emulator, printing what it sends and
// receives.
type User struct {
	*mixintest.User
	Name string
	// Client is a mixin.Client acting as the user, for what the simulated
	// user API does not cover (uploads, creating a contact conversation).
	Client *mixin.Client
	env    *Env
	seen   int
}

// NewUser registers a simulated user (with a fixed id, for stable output).
func (e *Env) NewUser(id, name string) *User {
	u := e.Server.NewUserWithID(id, name)
	e.SetName(u.UserID, name)
	ks, err := mixin.ParseKeystore(u.KeystoreJSON())
	if err != nil {
		panic(err) // the emulator's own keystore: cannot fail
	}
	c, err := mixin.NewClient(ks, mixin.WithBaseURL(e.Server.URL()), mixin.WithBlazeURL(e.Server.BlazeURL()))
	if err != nil {
		panic(err)
	}
	return &User{User: u, Name: name, Client: c, env: e}
}

// Say sends text to the bot in their contact conversation.
func (u *User) Say(ctx context.Context, text string) error {
	u.env.Printf("%s → bot: %s", u.Name, text)
	_, err := u.SendText(ctx, u.env.Server.Bot().UserID, text)
	return err
}

// SayIn posts text to a group the user is in.
func (u *User) SayIn(ctx context.Context, conversationID, text string) error {
	name := conversationID
	if c, ok := u.env.Server.Conversation(conversationID); ok {
		name = c.Name
	}
	u.env.Printf("%s → %s: %s", u.Name, name, text)
	m, err := u.Send(ctx, mixintest.MessageRequest{ConversationID: conversationID,
		Category: mixin.CategoryPlainText, Data: []byte(text)})
	if err == nil { // the other members see it; it is in the transcript already
		u.env.mu.Lock()
		u.env.printed[m.MessageID] = true
		u.env.mu.Unlock()
	}
	return err
}

// SendPayload sends any payload to the bot in their contact conversation.
func (u *User) SendPayload(ctx context.Context, p mixin.Payload) error {
	data, err := mixin.EncodePayload(p)
	if err != nil {
		return err
	}
	bot := u.env.Server.Bot().UserID
	if _, err := u.Client.CreateContactConversation(ctx, bot); err != nil {
		return err
	}
	u.env.Printf("%s → bot: %s", u.Name, u.env.Render(string(p.Category()), data))
	_, err = u.Send(ctx, mixintest.MessageRequest{ConversationID: u.ContactConversationID(bot),
		Category: p.Category(), Data: data})
	return err
}

// Next waits for the next message in the user's inbox, prints it and
// acknowledges it as READ.
func (u *User) Next(ctx context.Context) (mixintest.Message, error) {
	in, err := u.WaitInbox(ctx, u.seen+1)
	if err != nil {
		return mixintest.Message{}, fmt.Errorf("%s waiting for message %d: %w", u.Name, u.seen+1, err)
	}
	m := in[u.seen]
	u.seen++
	to := u.Name
	if c, ok := u.env.Server.Conversation(m.ConversationID); ok && c.Category == "GROUP" {
		to = c.Name
		if m.RecipientID != "" {
			to = u.Name + " only, in " + c.Name
		}
	}
	u.env.mu.Lock()
	again := u.env.printed[m.MessageID] // a group message someone else saw
	u.env.printed[m.MessageID] = true
	u.env.mu.Unlock()
	if !again {
		content := u.env.Render(string(m.Category), m.Data)
		if m.Plaintext != nil { // an ENCRYPTED_* message, as the user's app decrypted it
			content = "🔒 " + u.env.Render(string(m.Category.Plain()), m.Plaintext)
		}
		u.env.Printf("%s → %s: %s", u.env.Name(m.UserID), to, content)
	}
	return m, u.Ack(ctx, m.MessageID, mixin.AckStatusRead)
}

// Until prints and acknowledges messages until one matches ok.
func (u *User) Until(ctx context.Context, ok func(mixintest.Message) bool) (mixintest.Message, error) {
	for {
		m, err := u.Next(ctx)
		if err != nil || ok(m) {
			return m, err
		}
	}
}

// Expect waits until n more messages arrived, then prints and acknowledges
// them.
func (u *User) Expect(ctx context.Context, n int) error {
	if _, err := u.WaitInbox(ctx, u.seen+n); err != nil {
		return fmt.Errorf("%s waiting for %d messages: %w", u.Name, u.seen+n, err)
	}
	for range n {
		if _, err := u.Next(ctx); err != nil {
			return err
		}
	}
	return nil
}

// ConnectionLog reports the blaze connection's state on stderr, so that a
// bot serving real users says when it is connected and why it is not.
func ConnectionLog() mixin.BlazeOption {
	return mixin.WithStateHook(func(e mixin.StateEvent) {
		switch {
		case e.State == mixin.ConnStateConnected:
			fmt.Fprintln(os.Stderr, "blaze: connected")
		case e.State == mixin.ConnStateDisconnected && e.Err != nil:
			fmt.Fprintf(os.Stderr, "blaze: %v; retrying in %s\n", e.Err, e.Delay.Round(time.Millisecond))
		}
	})
}
