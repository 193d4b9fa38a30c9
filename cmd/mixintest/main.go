// Command mixintest runs the Mixin API emulator (package mixintest) as a
// standalone server, for clients in other languages and manual runs.
//
//	mixintest -addr 127.0.0.1:0 -keystore bot.json [-users N] [-prefix /api]
//
// It writes the bot's keystore to the -keystore file (mode 0600), prints
//
//	mixintest: api http://127.0.0.1:PORT
//	mixintest: blaze ws://127.0.0.1:PORT/
//	mixintest: bot BOT_USER_ID
//
// and serves until SIGINT or SIGTERM. Simulated users are created and driven
// through the admin API under /_mixintest/ (see package mixintest).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gomixin/mixin/mixintest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mixintest:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// run parses args, starts the emulator, prints its addresses to stdout and
// serves until ctx ends.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("mixintest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", "127.0.0.1:7700", "listen address (port 0 picks a free port)")
	keystore := fs.String("keystore", "", "write the bot keystore JSON to this file (mode 0600)")
	users := fs.Int("users", 0, "create this many simulated users at start")
	prefix := fs.String("prefix", "", "serve everything under this path prefix")
	botID := fs.String("bot-id", "", "fixed bot user id (default random)")
	botName := fs.String("bot-name", "", "bot full name")
	ping := fs.Duration("ping", 10*time.Second, "blaze ping interval")
	maxBody := fs.Int("max-message-body", 128<<10, "largest POST /messages body in bytes")
	verbose := fs.Bool("v", false, "log decisions (rejected tokens, dropped sockets) to stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *users < 0 {
		return errors.New("-users must be >= 0")
	}
	opts := []mixintest.Option{mixintest.WithPathPrefix(*prefix), mixintest.WithPingInterval(*ping),
		mixintest.WithMaxMessageBody(*maxBody)}
	if *botID != "" {
		opts = append(opts, mixintest.WithBotID(*botID))
	}
	if *botName != "" {
		opts = append(opts, mixintest.WithBotName(*botName))
	}
	if *verbose {
		opts = append(opts, mixintest.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	s := mixintest.NewUnstartedServer(opts...)
	defer s.Close()
	for i := 1; i <= *users; i++ {
		s.NewUser(fmt.Sprintf("User %d", i))
	}
	if *keystore != "" {
		if err := writeKeystore(*keystore, s.KeystoreJSON()); err != nil {
			return err
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	host := ln.Addr().String()
	p := normalizePrefix(*prefix)
	fmt.Fprintf(stdout, "mixintest: api http://%s%s\n", host, p)
	fmt.Fprintf(stdout, "mixintest: blaze ws://%s%s/\n", host, p)
	fmt.Fprintf(stdout, "mixintest: bot %s\n", s.Bot().ID)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	s.Close()
	<-served
	return err
}

func normalizePrefix(p string) string {
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	if p != "" && p[0] != '/' {
		p = "/" + p
	}
	return p
}

// writeKeystore writes the keystore with mode 0600, tightening an existing
// file's mode too.
func writeKeystore(path string, data []byte) error {
	if err := os.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Chmod(path, 0o600)
}
