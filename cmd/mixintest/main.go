package main

import (
	"context"
	"crypto/tls"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gomixin/mixin/mixintest"
)

// usage is the reference printed by -h after the flags; doc.go holds the
// same text (TestDocMatchesUsage).
//
//go:embed usage.txt
var usage string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mixintest:", err)
		if errors.As(err, new(usageError)) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a bad command line; main exits 2 on it.
type usageError struct{ error }

// options are the parsed flags.
type options struct {
	addr, keystore, prefix, botID, botName, cert, tlsHosts string
	users, maxBody                                         int
	ping                                                   time.Duration
	verbose, tls, encrypted                                bool
}

func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("mixintest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:7700", "listen address (port 0 picks a free port)")
	fs.StringVar(&o.keystore, "keystore", "", "write the bot keystore JSON to this file (mode 0600)")
	fs.IntVar(&o.users, "users", 0, "create this many simulated users at start")
	fs.StringVar(&o.prefix, "prefix", "", "serve everything under this path prefix")
	fs.StringVar(&o.botID, "bot-id", "", "fixed bot user id (default random)")
	fs.StringVar(&o.botName, "bot-name", "", "bot full name")
	fs.DurationVar(&o.ping, "ping", 10*time.Second, "blaze ping interval")
	fs.IntVar(&o.maxBody, "max-message-body", 128<<10, "largest POST /messages body in bytes")
	fs.BoolVar(&o.verbose, "v", false, "log decisions (rejected tokens, dropped sockets) to stderr")
	fs.BoolVar(&o.encrypted, "encrypted", false, "give the bot's app the ENCRYPTED capability: simulated users send it ENCRYPTED_* messages")
	fs.BoolVar(&o.tls, "tls", false, "serve HTTPS and WSS with a generated self-signed certificate")
	fs.StringVar(&o.cert, "cert", "", "with -tls, write the certificate (PEM) here (default mixintest-cert.pem beside -keystore, or in the temp dir)")
	fs.StringVar(&o.tlsHosts, "tls-host", "", "with -tls, extra comma-separated DNS names or IPs for the certificate")
	return fs
}

// printUsage writes the flags and the reference to w.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "Usage: mixintest [flags]")
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprintln(w)
	fmt.Fprint(w, usage)
}

func parseArgs(args []string, stdout io.Writer) (options, bool, error) {
	var o options
	fs := newFlagSet(&o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs)
			return o, true, nil
		}
		return o, false, usageError{fmt.Errorf("%w (run mixintest -h for help)", err)}
	}
	switch {
	case fs.NArg() > 0:
		return o, false, usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	case o.users < 0:
		return o, false, usageError{errors.New("-users must be >= 0")}
	case !o.tls && (o.cert != "" || o.tlsHosts != ""):
		return o, false, usageError{errors.New("-cert and -tls-host need -tls")}
	}
	return o, false, nil
}

func (o options) serverOptions(log io.Writer) []mixintest.Option {
	opts := []mixintest.Option{mixintest.WithPathPrefix(o.prefix), mixintest.WithPingInterval(o.ping),
		mixintest.WithMaxMessageBody(o.maxBody),
		// The app check's findings, printed to log (standard output) and
		// served at GET /_mixintest/problems.
		mixintest.WithProblemHook(func(p mixintest.Problem) { fmt.Fprintf(log, "mixintest: problem: %s\n", p) })}
	if o.encrypted {
		opts = append(opts, mixintest.WithBotCapabilities("CONTACT", "GROUP", "ENCRYPTED"))
	}
	if o.botID != "" {
		opts = append(opts, mixintest.WithBotID(o.botID))
	}
	if o.botName != "" {
		opts = append(opts, mixintest.WithBotName(o.botName))
	}
	if o.verbose {
		opts = append(opts, mixintest.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	if o.tls {
		hosts := strings.Split(o.tlsHosts, ",")
		if h, _, err := net.SplitHostPort(o.addr); err == nil && h != "" && !net.ParseIP(h).IsUnspecified() {
			hosts = append(hosts, h)
		}
		opts = append(opts, mixintest.WithTLSHosts(hosts...))
	}
	return opts
}

// certPath is where -tls writes the certificate.
func (o options) certPath() string {
	switch {
	case o.cert != "":
		return o.cert
	case o.keystore != "":
		return filepath.Join(filepath.Dir(o.keystore), "mixintest-cert.pem")
	}
	return filepath.Join(os.TempDir(), "mixintest-cert.pem")
}

// run parses args, starts the emulator, prints its addresses to stdout and
// serves until ctx ends. With -h it prints the usage to stdout and returns
// nil.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, help, err := parseArgs(args, stdout)
	if help || err != nil {
		return err
	}
	stdout = &lockedWriter{w: stdout} // problems are logged from request goroutines
	s := mixintest.NewUnstartedServer(o.serverOptions(stdout)...)
	defer s.Close()
	for i := 1; i <= o.users; i++ {
		s.NewUser(fmt.Sprintf("User %d", i))
	}
	if o.keystore != "" {
		if err := writeKeystore(o.keystore, s.KeystoreJSON()); err != nil {
			return err
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", o.addr)
	if err != nil {
		return err
	}
	scheme, certPath := "http", ""
	if o.tls {
		certPath = o.certPath()
		if err := s.WriteCertificate(certPath); err != nil {
			ln.Close()
			return err
		}
		ln = tls.NewListener(ln, s.TLSConfig())
		scheme = "https"
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	host, p := ln.Addr().String(), normalizePrefix(o.prefix)
	fmt.Fprintf(stdout, "mixintest: api %s://%s%s\n", scheme, host, p)
	fmt.Fprintf(stdout, "mixintest: blaze %s://%s%s/\n", map[string]string{"http": "ws", "https": "wss"}[scheme], host, p)
	fmt.Fprintf(stdout, "mixintest: bot %s\n", s.Bot().UserID)
	if certPath != "" {
		fmt.Fprintf(stdout, "mixintest: cert %s\n", certPath)
	}

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

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
