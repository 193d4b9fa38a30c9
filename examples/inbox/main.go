// Inbox is a bot that keeps a recent-conversation list (unread counts,
// sequences, the last messages, versioned sync) in an SQLite file, and
// serves it over HTTP as WuKongIM's recent-conversation API does (see
// recent.Tracker.Handler), as a support dashboard would read it.
//
//	go run ./examples/inbox                          # run the demo, print the sync
//	go run ./examples/inbox -serve 127.0.0.1:8080    # then keep serving the API
//
// On the embedded emulator, alice and bob write to the bot and in a group;
// the bot answers each message. Midway the bot is stopped and started again
// on the same database file, as a deploy would; the users go on writing.
// Then the program syncs the list through the HTTP API (a full sync, a
// mark-read, a delete, an incremental sync) and prints what it got. With -serve it
// keeps the API up on that address until Ctrl-C, so that it can be tried:
//
//	curl -i -H "Authorization: Bearer $TOKEN" -d '{"version":0}' http://127.0.0.1:8080/conversation/sync
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/examples/internal/demo"
	"github.com/gomixin/mixin/mixintest"
	"github.com/gomixin/mixin/recent"
	"github.com/gomixin/mixin/store"
	"github.com/gomixin/mixin/store/sqlite"
)

type options struct {
	db    string // the SQLite file; "" for a temporary one
	serve string // keep serving the API here after the demo
	token string // the API's bearer token; "" for a random one
}

func main() {
	var o options
	flag.StringVar(&o.db, "db", "", "the SQLite file holding the bot's state (default: a temporary file)")
	flag.StringVar(&o.serve, "serve", "", "after the demo, keep serving the HTTP API on this loopback address, e.g. 127.0.0.1:8080")
	flag.StringVar(&o.token, "token", "", "the API's bearer token (default: a random one, printed)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "inbox:", err)
		os.Exit(1)
	}
}

// bot is one run of the bot process: its store, tracker and loop.
type bot struct {
	db      *store.DB
	tracker *recent.Tracker
	cancel  context.CancelFunc
	done    chan error
}

// start opens the store and runs the loop until stop.
func start(ctx context.Context, srv *mixintest.Server, path string) (*bot, error) {
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	tracker, err := recent.New(ctx, db, recent.WithSelf(srv.Bot().UserID), recent.WithMessages(5))
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	client, err := srv.Client(mixin.WithSentHook(tracker.SentHook())) // what the bot sends is recorded
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	answer := mixin.HandlerFunc(func(ctx context.Context, msg *mixin.Message) error {
		if msg.Category != mixin.CategoryPlainText {
			return nil
		}
		_, err := client.Reply(ctx, msg, mixin.TextPayload("noted: "+msg.Text()))
		return err
	})
	loopCtx, cancel := context.WithCancel(ctx)
	b := &bot{db: db, tracker: tracker, cancel: cancel, done: make(chan error, 1)}
	// The middleware records what the handler accepted; the store makes
	// each message handled once across the restart.
	go func() { b.done <- client.RunBlaze(loopCtx, tracker.Middleware()(answer), mixin.WithStore(db)) }()
	return b, nil
}

// stop ends the loop (running handlers finish) and closes the store.
func (b *bot) stop() error {
	return errors.Join(b.stopLoop(), b.db.Close())
}

// stopLoop ends the loop and leaves the store open.
func (b *bot) stopLoop() error {
	if b.cancel == nil {
		return nil
	}
	b.cancel()
	b.cancel = nil
	return <-b.done
}

func run(ctx context.Context, o options, out io.Writer) error {
	if o.db == "" {
		dir, err := os.MkdirTemp("", "inbox-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.db = filepath.Join(dir, "inbox.db")
	}
	if o.token == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		o.token = hex.EncodeToString(b)
	}
	srv := mixintest.NewUnstartedServer(mixintest.WithBotName("Inbox Bot"), mixintest.WithBotID(demo.BotID))
	srv.Start()
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		return err
	}
	env := demo.NewEnv(client, srv).SetOutput(out)

	b, err := start(ctx, srv, o.db)
	if err != nil {
		return err
	}
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	defer scancel()
	alice := env.NewUser("a11ce000-0000-4000-8000-000000000001", "alice")
	bob := env.NewUser("b0b00000-0000-4000-8000-000000000002", "bob")
	group, err := alice.CreateGroup(sctx, "Team", bob.UserID, srv.Bot().UserID)
	if err != nil {
		return errors.Join(err, b.stop())
	}
	env.SetName(group.ConversationID, "Team")
	env.SetName(alice.ContactConversationID(srv.Bot().UserID), "alice")
	env.SetName(bob.ContactConversationID(srv.Bot().UserID), "bob")
	say := func(u *demo.User, text string) error {
		if err := u.Say(sctx, text); err != nil {
			return err
		}
		_, err := u.Until(sctx, func(m mixintest.Message) bool { return strings.HasSuffix(string(m.Data), text) })
		return err
	}
	inGroup := func(u *demo.User, text string) error {
		env.Printf("%s → Team: %s", u.Name, text)
		_, err := u.Send(sctx, mixintest.MessageRequest{ConversationID: group.ConversationID, Category: "PLAIN_TEXT", Data: []byte(text)})
		return err
	}

	steps := []func() error{
		func() error { return say(alice, "hi, my order has not arrived") },
		func() error { return say(bob, "how do I reset my password?") },
		func() error { return inGroup(alice, "standup at 10") },
		func() error { return say(alice, "order #1234") },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return errors.Join(err, b.stop())
		}
	}
	// The group message's answer goes to both members; wait for it.
	if _, err := bob.Until(sctx, func(m mixintest.Message) bool { return string(m.Data) == "noted: standup at 10" }); err != nil {
		return errors.Join(err, b.stop())
	}
	env.Printf("-- the bot restarts on %s", filepath.Base(o.db))
	if err := b.stop(); err != nil {
		return err
	}
	if err := inGroup(bob, "I'll be late"); err != nil { // sent while the bot is down
		return err
	}
	if b, err = start(ctx, srv, o.db); err != nil {
		return err
	}
	defer func() { _ = b.stop() }()
	// The restarted bot first handles what came while it was down.
	if _, err := bob.Until(sctx, func(m mixintest.Message) bool { return string(m.Data) == "noted: I'll be late" }); err != nil {
		return err
	}
	for _, step := range []func() error{
		func() error { return say(bob, "found it, thanks") },
		func() error { return say(alice, "any news?") },
	} {
		if err := step(); err != nil {
			return err
		}
	}

	// Stop the loop, so that every reply is recorded, and sync what the
	// bot kept.
	if err := b.stopLoop(); err != nil {
		return err
	}
	api, err := b.tracker.Handler(recent.WithBearerToken(o.token))
	if err != nil {
		return err
	}
	if err := show(ctx, api, o.token, env, alice.ContactConversationID(srv.Bot().UserID), bob.ContactConversationID(srv.Bot().UserID), out); err != nil {
		return err
	}
	if o.serve == "" {
		return nil
	}
	return serve(ctx, api, o, out)
}

// show syncs through the HTTP API as a dashboard would and prints it.
func show(ctx context.Context, api http.Handler, token string, env *demo.Env, aliceConv, bobConv string, out io.Writer) error {
	// call posts body to path and decodes the answer into v; it returns
	// the answer's headers.
	call := func(path, body string, v any) (http.Header, error) {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		api.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			return nil, fmt.Errorf("%s: %d %s", path, w.Code, w.Body.String())
		}
		if v == nil {
			return w.Header(), nil
		}
		return w.Header(), json.Unmarshal(w.Body.Bytes(), v)
	}
	var full []syncConv
	h, err := call("/conversation/sync", `{"version":0,"msg_count":3}`, &full)
	if err != nil {
		return err
	}
	// The list's version, to sync from next time.
	version := h.Get("X-Recent-Version")
	fmt.Fprintf(out, "-- POST /conversation/sync {version: 0, msg_count: 3}: %s sync, list version %s\n", h.Get("X-Recent-Sync"), version)
	for _, c := range full {
		printConv(out, env, c)
	}
	if _, err := call("/conversations/setUnread", fmt.Sprintf(`{"channel_id":%q,"channel_type":1,"unread":0}`, aliceConv), nil); err != nil {
		return err
	}
	fmt.Fprintln(out, "-- POST /conversations/setUnread {alice's conversation, unread: 0}")
	if _, err := call("/conversations/delete", fmt.Sprintf(`{"channel_id":%q,"channel_type":1}`, bobConv), nil); err != nil {
		return err
	}
	fmt.Fprintln(out, "-- POST /conversations/delete {bob's conversation}")
	var inc []syncConv
	h, err = call("/conversation/sync", fmt.Sprintf(`{"version":%s,"msg_count":3}`, version), &inc)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "-- POST /conversation/sync {version: %s}: %s sync, %d changed\n", version, h.Get("X-Recent-Sync"), len(inc))
	for _, c := range inc {
		printConv(out, env, c)
	}
	return nil
}

type syncConv struct {
	ChannelID   string `json:"channel_id"`
	ChannelType int    `json:"channel_type"`
	Unread      int    `json:"unread"`
	LastMsgSeq  uint64 `json:"last_msg_seq"`
	Version     uint64 `json:"version"`
	IsDeleted   int    `json:"is_deleted"` // 1: deleted since the version asked for
	Recents     []struct {
		MessageSeq uint64 `json:"message_seq"`
		FromUID    string `json:"from_uid"`
		Payload    string `json:"payload"`
	} `json:"recents"`
}

func printConv(out io.Writer, env *demo.Env, c syncConv) {
	kind := map[int]string{1: "contact", 2: "group"}[c.ChannelType]
	name := env.Name(c.ChannelID)
	if c.IsDeleted == 1 {
		fmt.Fprintf(out, "%s (%s): deleted, version %d\n", name, kind, c.Version)
		return
	}
	fmt.Fprintf(out, "%s (%s): unread %d, last seq %d, version %d\n", name, kind, c.Unread, c.LastMsgSeq, c.Version)
	for _, m := range c.Recents {
		text, _ := base64.StdEncoding.DecodeString(m.Payload)
		fmt.Fprintf(out, "   #%d %s: %s\n", m.MessageSeq, env.Name(m.FromUID), bytes.TrimSpace(text))
	}
}

// serve keeps the API up on a loopback address until ctx ends.
func serve(ctx context.Context, api http.Handler, o options, out io.Writer) error {
	host, _, err := net.SplitHostPort(o.serve)
	if err != nil {
		return fmt.Errorf("-serve %q: %w", o.serve, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-serve %q: give a loopback address (127.0.0.1:PORT or localhost:PORT)", o.serve)
	}
	ln, err := net.Listen("tcp", o.serve)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "-- serving the API on http://%s until Ctrl-C; token %s\n", ln.Addr(), o.token)
	fmt.Fprintf(out, "   curl -i -H 'Authorization: Bearer %s' -d '{\"version\":0}' http://%s/conversation/sync\n", o.token, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}
