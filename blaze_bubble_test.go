package mixin_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/require"
)

// pipeListener is an in-memory net.Listener: dial hands one end of a
// buffered pipe to Accept. Inside a synctest bubble every read and write on it
// blocks durably, so the emulator, the HTTP client and the blaze loop all
// run on fake time.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "mixin.test:80" }

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := bufferedPipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// bubble is the emulator and a bot client wired together over pipes,
// made inside synctest.Test. Upgrade, when set, serves websocket upgrades
// instead of the emulator (a scripted blaze server beside the emulator's
// REST API); Wrap, when set, wraps the emulator's handler.
type bubble struct {
	t   *testing.T
	S   *mixintest.Server
	C   *mixin.Client
	l   *pipeListener
	srv *http.Server

	mu      sync.Mutex
	upgrade http.Handler
	wrap    func(http.Handler) http.Handler
	stops   []func() error // loops still to stop when the bubble closes
}

func newBubble(t *testing.T, opts ...mixintest.Option) *bubble {
	t.Helper()
	b := &bubble{t: t, S: mixintest.NewUnstartedServer(opts...), l: &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}}
	b.srv = &http.Server{Handler: http.HandlerFunc(b.serve)}
	go func() { _ = b.srv.Serve(b.l) }()
	b.C = b.client()
	return b
}

// client returns another client of the bot, wired to the bubble.
func (b *bubble) client(opts ...mixin.Option) *mixin.Client {
	ks, err := mixin.ParseKeystore(b.S.KeystoreJSON())
	require.NoError(b.t, err)
	all := append([]mixin.Option{mixin.WithBaseURL("http://mixin.test"), mixin.WithBlazeURL("ws://mixin.test/"),
		mixin.WithHTTPClient(&http.Client{Transport: &http.Transport{DialContext: b.l.dial}})}, opts...)
	c, err := mixin.NewClient(ks, all...)
	require.NoError(b.t, err)
	return c
}

func (b *bubble) serve(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	up, wrap := b.upgrade, b.wrap
	b.mu.Unlock()
	if up != nil && r.Header.Get("Upgrade") != "" {
		up.ServeHTTP(w, r)
		return
	}
	var h http.Handler = b.S.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	h.ServeHTTP(w, r)
}

func (b *bubble) setUpgrade(h http.Handler) { b.mu.Lock(); b.upgrade = h; b.mu.Unlock() }

func (b *bubble) setWrap(w func(http.Handler) http.Handler) { b.mu.Lock(); b.wrap = w; b.mu.Unlock() }

// close stops everything the bubble started, loops that a failed test
// left running included.
func (b *bubble) close() {
	b.mu.Lock()
	stops := b.stops
	b.mu.Unlock()
	for _, stop := range stops {
		_ = stop()
	}
	b.C.CloseIdleConnections()
	b.S.Close()
	_ = b.srv.Close()
	_ = b.l.Close()
}

// run starts RunBlaze with fastBlaze plus opts; stop cancels it and returns
// its result (it fails the test if RunBlaze does not return within a fake
// minute).
func (b *bubble) run(h mixin.Handler, opts ...mixin.BlazeOption) (stop func() error) {
	return b.runClient(b.C, h, opts...)
}

func (b *bubble) runClient(c *mixin.Client, h mixin.Handler, opts ...mixin.BlazeOption) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.RunBlaze(ctx, h, append(append([]mixin.BlazeOption{}, fastBlaze...), opts...)...) }()
	var once sync.Once
	var result error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(time.Minute):
				result = errors.New("RunBlaze did not return within a minute of cancel")
			}
		})
		return result
	}
	b.mu.Lock()
	b.stops = append(b.stops, stop)
	b.mu.Unlock()
	return stop
}

// waitFake advances fake time until cond holds, failing after limit of fake
// time: on fake time that is a lack of progress, not a slow machine.
func waitFake(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v of fake time", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// states records the state hook's events.
type states struct {
	mu     sync.Mutex
	events []mixin.StateEvent
	at     []time.Time
}

func (s *states) hook() mixin.BlazeOption {
	return mixin.WithStateHook(func(e mixin.StateEvent) {
		s.mu.Lock()
		s.events = append(s.events, e)
		s.at = append(s.at, time.Now())
		s.mu.Unlock()
	})
}

func (s *states) count(st mixin.ConnState) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.events {
		if e.State == st {
			n++
		}
	}
	return n
}

// disconnects returns the Disconnected events that were not the shutdown.
func (s *states) disconnects() []mixin.StateEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []mixin.StateEvent
	for _, e := range s.events {
		if e.State == mixin.ConnStateDisconnected && !errors.Is(e.Err, context.Canceled) {
			out = append(out, e)
		}
	}
	return out
}

// bufferedPipe is net.Pipe with buffers, like a TCP socket: a write
// returns once its bytes are queued (up to 256 writes), so a peer that
// does not read for a while does not stall the writer at once. Every wait
// is on a channel, so it blocks durably inside a synctest bubble.
func bufferedPipe() (a, b net.Conn) {
	x := &pipeHalf{ch: make(chan []byte, 256), closed: make(chan struct{})}
	y := &pipeHalf{ch: make(chan []byte, 256), closed: make(chan struct{})}
	return &bufConn{in: x, out: y, self: make(chan struct{})}, &bufConn{in: y, out: x, self: make(chan struct{})}
}

type pipeHalf struct {
	ch     chan []byte
	closed chan struct{}
	once   sync.Once
}

func (h *pipeHalf) close() { h.once.Do(func() { close(h.closed) }) }

type bufConn struct {
	in, out  *pipeHalf
	rest     []byte
	self     chan struct{}
	once     sync.Once
	rdl, wrl deadline
}

// deadline is a settable deadline; changed is closed when it moves.
type deadline struct {
	mu      sync.Mutex
	t       time.Time
	changed chan struct{}
}

func (d *deadline) get() (time.Time, chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.changed == nil {
		d.changed = make(chan struct{})
	}
	return d.t, d.changed
}

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.t = t
	if d.changed != nil {
		close(d.changed)
	}
	d.changed = make(chan struct{})
}

// wait returns a channel that fires at the deadline (nil: none), and
// whether it already passed.
func (d *deadline) timer() (<-chan time.Time, func(), chan struct{}, bool) {
	t, changed := d.get()
	if t.IsZero() {
		return nil, func() {}, changed, false
	}
	left := time.Until(t)
	if left <= 0 {
		return nil, func() {}, changed, true
	}
	tm := time.NewTimer(left)
	return tm.C, func() { tm.Stop() }, changed, false
}

func (c *bufConn) Read(p []byte) (int, error) {
	for len(c.rest) == 0 {
		fire, stop, changed, passed := c.rdl.timer()
		if passed {
			return 0, os.ErrDeadlineExceeded
		}
		select {
		case b := <-c.in.ch:
			c.rest = b
		case <-c.self:
			stop()
			return 0, net.ErrClosed
		case <-c.in.closed:
			stop()
			select {
			case b := <-c.in.ch:
				c.rest = b
			default:
				return 0, io.EOF
			}
		case <-fire:
			return 0, os.ErrDeadlineExceeded
		case <-changed:
		}
		stop()
	}
	n := copy(p, c.rest)
	c.rest = c.rest[n:]
	return n, nil
}

func (c *bufConn) Write(p []byte) (int, error) {
	b := append([]byte(nil), p...)
	for {
		fire, stop, changed, passed := c.wrl.timer()
		if passed {
			return 0, os.ErrDeadlineExceeded
		}
		select {
		case <-c.self:
			stop()
			return 0, net.ErrClosed
		case <-c.out.closed:
			stop()
			return 0, io.ErrClosedPipe
		default:
		}
		select {
		case c.out.ch <- b:
			stop()
			return len(p), nil
		case <-c.self:
			stop()
			return 0, net.ErrClosed
		case <-c.out.closed:
			stop()
			return 0, io.ErrClosedPipe
		case <-fire:
			return 0, os.ErrDeadlineExceeded
		case <-changed:
		}
		stop()
	}
}

func (c *bufConn) Close() error {
	c.once.Do(func() {
		close(c.self)
		c.out.close()
		c.in.close()
	})
	return nil
}

func (c *bufConn) LocalAddr() net.Addr                { return pipeAddr{} }
func (c *bufConn) RemoteAddr() net.Addr               { return pipeAddr{} }
func (c *bufConn) SetDeadline(t time.Time) error      { c.rdl.set(t); c.wrl.set(t); return nil }
func (c *bufConn) SetReadDeadline(t time.Time) error  { c.rdl.set(t); return nil }
func (c *bufConn) SetWriteDeadline(t time.Time) error { c.wrl.set(t); return nil }
