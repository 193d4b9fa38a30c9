package mixin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
)

// blazeSubprotocol is the websocket subprotocol of the blaze endpoint.
const blazeSubprotocol = "Mixin-Blaze-1"

// writeTimeout bounds one websocket write.
const writeTimeout = 10 * time.Second

// RunBlaze receives messages over the blaze websocket and hands each to h,
// until ctx ends (it then returns nil) or the server rejects the session
// (it returns an [*APIError] for which [IsUnauthorized] is true; a 401 that
// a skewed clock explains, at the upgrade or in an ERROR frame, is retried
// once with the corrected clock, never more).
//
// The loop keeps these promises:
//   - at least once: a message is acknowledged only after its handler
//     returned nil, or after the dead-letter hook saw it (its error was
//     permanent, or every retry failed, or its data does not decode);
//     what is not acknowledged comes again. Every id stays known until the
//     server confirmed its acknowledgement, and a window of ids after
//     that, so repeats are dropped even across a long acknowledgement
//     outage;
//   - order per conversation: messages of one conversation are handled
//     one at a time, in order; conversations run in parallel on a fixed
//     pool. One conversation's backlog or stuck handler holds up only that
//     conversation, whatever the settings: it may hold the reader up for
//     its wait budget, or until its handler stalled, once per connection;
//     then its messages are left to the server until it caught up
//     ([WithConversationQueue]). Memory is bounded in total,
//     acknowledgements included, by slowing intake ([WithHandlerQueueSize]). A
//     deep backlog is pushed about twice in all;
//   - self-healing: dropped, silent or broken connections are replaced,
//     with jittered exponential backoff that starts again only after a
//     connection proved itself; keepalive measures the connection, not
//     the handlers;
//   - every user callback (handler, hooks) is called the same way: a
//     panic or a runtime.Goexit in it never ends the loop;
//   - on shutdown, running handlers may finish within the shutdown
//     timeout, acknowledgements are flushed within as long again, the
//     socket is closed, and no goroutine of the loop is left behind but
//     those still inside user code that ignores its ctx.
//
// What reaches h is listed on [Handler]: every inbound message, including
// SYSTEM_CONVERSATION events (joins, exits, adds, removes, role changes)
// and recalls unless [WithSystemConversationHook] and [WithRecallHook] take
// them. The handler does not see the bot's own messages. The server does
// not push a message back to the session that sent it; a CREATE_MESSAGE of
// the bot with an empty category is the status update of one of its sends,
// as the official apps read it, and is dropped, as are late replies to
// sends over the socket; a message of the bot from another of its sessions
// is acknowledged without reaching the handler. Receipts go to
// [WithReceiptHook] and are not acknowledged unless [WithReceiptAcks] says
// so.
//
// ENCRYPTED_* messages reach the handler decrypted (see
// [Client.DecryptMessage]: the PLAIN_* category and payload, with
// [Message].Encrypted set); one that cannot be decrypted goes to the
// dead-letter hook with a [*DecryptError] and is acknowledged, so it never
// comes back to stall its conversation. SYSTEM_CONVERSATION events drop the
// conversation from the cache behind [Client.LookupConversation].
func (c *Client) RunBlaze(ctx context.Context, h Handler, opts ...BlazeOption) error {
	if isNilHandler(h) {
		return &FieldError{Field: "handler", Reason: "is nil"}
	}
	if p, ok := h.(interface{ prepare() error }); ok { // a Router: its middleware chain
		if err := p.prepare(); err != nil {
			return err
		}
	}
	cfg := defaultBlazeConfig()
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyBlaze(&cfg); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	r := newBlazeRun(c, cfg, h)
	return r.runTraced(ctx)
}

// blazeRun is one call of RunBlaze.
type blazeRun struct {
	c   *Client
	cfg blazeConfig
	h   Handler
	log *slog.Logger

	disp     *dispatcher
	acks     *acker
	notify   *notifier
	handlers context.Context // handlers' ctx: outlives ctx by the shutdown grace
	stopping atomic.Bool
	room     chan struct{} // a message or acknowledgement left: the waiting reader may go on
	relist   chan struct{} // a shed conversation caught up: reconnect to fetch its messages
	live     atomic.Int32  // workers running
	idle     chan struct{} // closed when the last worker ended

	st     *storeRun // WithStore; nil without (see blaze_store.go)
	parked parked    // messages the store says to handle later

	tr        BlazeTracer     // the client's tracer, if it observes loops; nil records nothing
	trRun     context.Context // the run's context as the tracer returned it
	connState atomic.Int32    // the ConnState, for stats
}

func newBlazeRun(c *Client, cfg blazeConfig, h Handler) *blazeRun {
	r := &blazeRun{c: c, cfg: cfg, h: h, log: c.cfg.logger,
		room: make(chan struct{}, 1), relist: make(chan struct{}, 1), idle: make(chan struct{})}
	r.disp = newDispatcher(cfg.laneSize, cfg.queueSize, cfg.dedupeWindow, cfg.laneWait)
	r.acks = newAcker(cfg.ackInterval, cfg.ackLimit(), r.log)
	r.acks.send = r.sendAcks
	r.acks.confirm = r.disp.confirmed
	r.acks.room = func() { signal(r.room) }
	r.notify = newNotifier(cfg.onState, r.log)
	if cfg.state.store != nil {
		r.st = newStoreRun(cfg.state, r.log, cfg.workers, r.state)
	}
	r.setTracer()
	return r
}

func (r *blazeRun) run(ctx context.Context) error {
	var cancelHandlers context.CancelFunc
	r.handlers, cancelHandlers = context.WithCancel(withLogger(context.WithoutCancel(ctx), r.log))
	defer cancelHandlers()

	// The ack loop outlives ctx: it stops at shutdown after its current
	// request, within the flush bound.
	ackCtx, cancelAcks := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAcks()
	stopAcks, ackDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(ackDone); r.acks.run(ackCtx, stopAcks) }()
	r.live.Store(int32(r.cfg.workers))
	for range r.cfg.workers {
		go r.worker(nil, nil)
	}
	r.startState(r.handlers)

	err := r.connectLoop(ctx)

	// Shutdown: no new messages; running handlers get the grace period,
	// then their ctx ends and the loop stops waiting for them.
	r.stopping.Store(true)
	r.disp.stop()
	grace := time.NewTimer(r.cfg.shutdownTimeout)
	select {
	case <-r.idle:
	case <-grace.C:
		r.log.LogAttrs(context.Background(), slog.LevelWarn, "mixin: blaze: handlers still running at shutdown; cancelling them and leaving them behind")
	}
	grace.Stop()
	cancelHandlers()

	// Then what they acknowledged is flushed, within the same bound again.
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.shutdownTimeout)
	defer cancel()
	r.stopState(flushCtx) // records commit before the acknowledgements go
	close(stopAcks)
	stopAckLoop := context.AfterFunc(flushCtx, cancelAcks)
	<-ackDone
	stopAckLoop()
	if ferr := r.acks.flush(flushCtx, flushAll); ferr != nil {
		r.log.LogAttrs(flushCtx, slog.LevelWarn, "mixin: blaze: acknowledgements not flushed at shutdown; the messages will be delivered again",
			slog.Int("unacknowledged", r.acks.pending()), slog.String("error", ferr.Error()))
	}
	r.notify.close(flushCtx)
	return err
}

// errRelist ends a connection on purpose: a conversation whose messages
// were left to the server caught up, and a new listing fetches them.
var errRelist = errors.New("mixin: blaze: reconnecting to fetch deferred messages")

// connectLoop dials and serves connections until ctx ends or auth fails.
func (r *blazeRun) connectLoop(ctx context.Context) error {
	attempt, clockRetried := 0, false
	for {
		attempt++
		r.state(StateEvent{State: ConnStateConnecting, Attempt: attempt})
		cn, err := r.dial(ctx)
		if err == nil {
			r.state(StateEvent{State: ConnStateConnected, Attempt: attempt})
			err = r.serve(ctx, cn)
		}
		if ctx.Err() != nil {
			r.state(StateEvent{State: ConnStateDisconnected, Attempt: attempt, Err: ctx.Err()})
			return nil
		}
		r.acks.drainSoon()
		proven := cn != nil && cn.proven(r.cfg.readTimeout)
		if proven {
			attempt, clockRetried = 1, false
		}
		if IsUnauthorized(err) {
			if cn != nil && !clockRetried && r.c.learnClock(cn.header) {
				clockRetried = true // the ERROR frame's 401 came from a skewed clock: one more try
				attempt--
				continue
			}
			r.state(StateEvent{State: ConnStateDisconnected, Attempt: attempt, Err: err})
			return err
		}
		delay := r.cfg.reconnect.wait(attempt)
		if errors.Is(err, errRelist) {
			attempt--
			delay = 0
		} else if n := r.cfg.reconnect.Attempts; n > 0 && !proven && attempt >= n {
			r.state(StateEvent{State: ConnStateDisconnected, Attempt: attempt, Err: err})
			return fmt.Errorf("mixin: blaze: gave up after %d failed connections: %w", attempt, err)
		}
		r.state(StateEvent{State: ConnStateDisconnected, Attempt: attempt, Err: err, Delay: delay})
		r.log.LogAttrs(ctx, slog.LevelInfo, "mixin: blaze: disconnected", slog.String("error", errString(err)), slog.Duration("retry_in", delay))
		if sleepCtx(ctx, delay) != nil {
			return nil
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (r *blazeRun) state(e StateEvent) {
	r.notify.emit(e)
	r.traceState(e)
}

// dial opens a signed websocket; a 401 whose server time shows a skewed
// clock is retried once with the corrected clock.
func (r *blazeRun) dial(ctx context.Context) (*blazeConn, error) {
	u, err := url.Parse(r.c.cfg.blazeURL)
	if err != nil {
		return nil, &FieldError{Field: "blaze URL", Reason: "does not parse"}
	}
	dialer := r.dialer()
	for try := 0; ; try++ {
		reqID := uuid.NewString()
		auth, err := r.c.ks.authorization("GET", u.RequestURI(), nil, reqID, r.c.now(), r.c.cfg.tokenLifetime)
		if err != nil {
			return nil, err
		}
		header := http.Header{"Authorization": {auth}, "X-Request-Id": {reqID}, "User-Agent": {r.c.cfg.userAgent}}
		ws, resp, err := dialer.DialContext(ctx, u.String(), header)
		if err == nil {
			return newBlazeConn(ws, resp.Header, r.cfg), nil
		}
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			if try == 0 && r.c.learnClock(resp.Header) {
				continue
			}
			return nil, &APIError{Status: resp.StatusCode, Code: CodeUnauthorized, Description: "blaze: unauthorized", RequestID: reqID}
		}
		if resp != nil {
			return nil, &APIError{Status: resp.StatusCode, Code: resp.StatusCode, Description: "blaze: upgrade refused: " + http.StatusText(resp.StatusCode), RequestID: reqID}
		}
		return nil, fmt.Errorf("mixin: blaze: dial: %w", err)
	}
}

// dialer takes the network settings (TLS, proxy, dialer) of the client's
// HTTP transport (WithHTTPClient), so REST and blaze go the same way.
func (r *blazeRun) dialer() *websocket.Dialer {
	d := &websocket.Dialer{
		HandshakeTimeout: 10 * time.Second,
		Proxy:            http.ProxyFromEnvironment,
		ReadBufferSize:   16 << 10,
		WriteBufferSize:  4 << 10,
		Subprotocols:     []string{blazeSubprotocol},
	}
	if t, ok := r.c.cfg.httpClient.Transport.(*http.Transport); ok && t != nil {
		d.TLSClientConfig = t.TLSClientConfig
		d.Proxy = t.Proxy
		if t.DialContext != nil {
			d.NetDialContext = t.DialContext
		}
		if t.DialTLSContext != nil {
			d.NetDialTLSContext = t.DialTLSContext
		}
	}
	return d
}

// sendAcks sends one batch of acknowledgements: over the socket with
// [WithSocketAcks] while it is up and not busy, else over REST.
func (r *blazeRun) sendAcks(ctx context.Context, batch []AcknowledgementRequest) error {
	if r.cfg.socketAcks && !r.stopping.Load() {
		err := r.c.sendAcksOverBlaze(ctx, batch)
		if err == nil || blazeRefused(err) || ctx.Err() != nil {
			return err
		}
	}
	return r.c.postAcks(ctx, batch)
}

// notifier hands state events to the state hook in order, from one
// goroutine, so a slow or stuck hook cannot hold up the loop.
type notifier struct {
	fn   func(StateEvent)
	log  *slog.Logger
	mu   sync.Mutex
	cond sync.Cond
	q    []StateEvent
	shut bool
	done chan struct{}
}

func newNotifier(fn func(StateEvent), log *slog.Logger) *notifier {
	n := &notifier{fn: fn, log: log, done: make(chan struct{})}
	n.cond.L = &n.mu
	if fn == nil {
		close(n.done)
		return n
	}
	go n.loop()
	return n
}

func (n *notifier) emit(e StateEvent) {
	if n.fn == nil {
		return
	}
	n.mu.Lock()
	n.q = append(n.q, e)
	n.cond.Signal()
	n.mu.Unlock()
}

func (n *notifier) loop() {
	clean := false
	defer func() {
		if !clean {
			go n.loop() // the hook called runtime.Goexit: carry on with the next event
		}
	}()
	for {
		n.mu.Lock()
		for len(n.q) == 0 && !n.shut {
			n.cond.Wait()
		}
		if len(n.q) == 0 {
			n.mu.Unlock()
			clean = true
			close(n.done)
			return
		}
		e := n.q[0]
		n.q = n.q[1:]
		n.mu.Unlock()
		if err := callUser(func() error { n.fn(e); return nil }); err != nil {
			n.log.LogAttrs(context.Background(), slog.LevelError, "mixin: blaze: state hook panicked", slog.String("error", err.Error()))
		}
	}
}

// close delivers the events still queued, waiting at most until ctx ends.
func (n *notifier) close(ctx context.Context) {
	n.mu.Lock()
	n.shut = true
	n.cond.Broadcast()
	n.mu.Unlock()
	select {
	case <-n.done:
	case <-ctx.Done():
	}
}
