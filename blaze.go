package mixin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
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
// (it returns an [*APIError] for which [IsUnauthorized] is true; it is never
// retried).
//
// The loop keeps these promises:
//   - at least once: a message is acknowledged only after its handler
//     returned nil (or, after every retry failed, after the dead-letter
//     hook saw it); unacknowledged messages come again after a reconnect,
//     and a window of recently handled ids drops the repeats;
//   - order per conversation: messages of one conversation are handled one
//     at a time, in order; conversations run in parallel on a fixed pool;
//   - self-healing: dropped, silent or broken connections are replaced,
//     with jittered exponential backoff reset after a healthy connection;
//   - a handler error or panic never ends the loop;
//   - on shutdown, running handlers may finish (bounded), acknowledgements
//     are flushed, the socket is closed and no goroutine is left behind.
func (c *Client) RunBlaze(ctx context.Context, h Handler, opts ...BlazeOption) error {
	if h == nil {
		return &FieldError{Field: "handler", Reason: "is nil"}
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
	r := &blazeRun{c: c, cfg: cfg, h: h, log: c.cfg.logger}
	return r.run(ctx)
}

// blazeRun is one call of RunBlaze.
type blazeRun struct {
	c   *Client
	cfg blazeConfig
	h   Handler
	log *slog.Logger

	disp     *dispatcher
	acks     *acker
	handlers context.Context // handlers' ctx: outlives ctx by the shutdown grace
	stopping atomic.Bool

	received atomic.Int64 // frames carrying a message or receipt
}

func (r *blazeRun) run(ctx context.Context) error {
	r.disp = newDispatcher(r.cfg.queueSize, r.cfg.dedupeWindow)
	r.acks = newAcker(r.c, r.cfg.ackInterval, r.log)
	var cancelHandlers context.CancelFunc
	r.handlers, cancelHandlers = context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()

	// The ack loop outlives ctx: it stops at shutdown after its current
	// request, bounded by the shutdown timeout.
	ackCtx, cancelAcks := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAcks()
	stopAcks := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.acks.run(ackCtx, stopAcks) }()
	stopWorkers := make(chan struct{})
	var workers sync.WaitGroup
	for range r.cfg.workers {
		workers.Add(1)
		go func() { defer workers.Done(); r.disp.work(stopWorkers, r.process) }()
	}

	err := r.connectLoop(ctx)

	// Shutdown: no new messages; let running handlers finish within the
	// grace period; then flush what they acknowledged.
	r.stopping.Store(true)
	close(stopWorkers)
	finished := make(chan struct{})
	go func() { workers.Wait(); close(finished) }()
	grace := time.NewTimer(r.cfg.shutdownTimeout)
	select {
	case <-finished:
	case <-grace.C:
		r.log.LogAttrs(context.Background(), slog.LevelWarn, "mixin: blaze: handlers still running at shutdown; cancelling them")
		cancelHandlers()
		<-finished
	}
	grace.Stop()
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.shutdownTimeout)
	defer cancel()
	close(stopAcks)
	stopAckLoop := context.AfterFunc(flushCtx, cancelAcks)
	wg.Wait()
	stopAckLoop()
	if ferr := r.acks.flush(flushCtx, flushAll); ferr != nil {
		r.log.LogAttrs(flushCtx, slog.LevelWarn, "mixin: blaze: acknowledgements not flushed at shutdown; the messages will be delivered again",
			slog.Int("unacknowledged", r.acks.pending()), slog.String("error", ferr.Error()))
	}
	return err
}

// connectLoop dials and serves connections until ctx ends or auth fails.
func (r *blazeRun) connectLoop(ctx context.Context) error {
	attempt := 0
	for {
		attempt++
		r.state(StateEvent{State: StateConnecting, Attempt: attempt})
		conn, err := r.dial(ctx)
		healthy := false
		if err == nil {
			r.state(StateEvent{State: StateConnected, Attempt: attempt})
			healthy, err = r.serve(ctx, conn)
		}
		if ctx.Err() != nil {
			r.state(StateEvent{State: StateDisconnected, Attempt: attempt, Err: ctx.Err()})
			return nil
		}
		r.acks.drainSoon()
		if IsUnauthorized(err) {
			r.state(StateEvent{State: StateDisconnected, Attempt: attempt, Err: err})
			return err
		}
		if healthy {
			attempt = 1
		} else if n := r.cfg.reconnect.Attempts; n > 0 && attempt >= n {
			r.state(StateEvent{State: StateDisconnected, Attempt: attempt, Err: err})
			return fmt.Errorf("mixin: blaze: gave up after %d failed connections: %w", attempt, err)
		}
		delay := r.cfg.reconnect.wait(attempt)
		r.state(StateEvent{State: StateDisconnected, Attempt: attempt, Err: err, Delay: delay})
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
	if r.cfg.onState != nil {
		r.cfg.onState(e)
	}
}

// dial opens a signed websocket; a 401 whose Date shows a skewed clock is
// retried once with the corrected clock.
func (r *blazeRun) dial(ctx context.Context) (*websocket.Conn, error) {
	u, err := url.Parse(r.c.cfg.blazeURL)
	if err != nil {
		return nil, &FieldError{Field: "blaze URL", Reason: "does not parse"}
	}
	// The network settings (TLS, proxy, dialer) are those of the client's
	// HTTP transport (WithHTTPClient), so REST and blaze go the same way.
	dialer := websocket.Dialer{
		HandshakeTimeout: 10 * time.Second,
		Proxy:            http.ProxyFromEnvironment,
		ReadBufferSize:   16 << 10,
		WriteBufferSize:  4 << 10,
	}
	if t, ok := r.c.cfg.httpClient.Transport.(*http.Transport); ok && t != nil {
		dialer.TLSClientConfig = t.TLSClientConfig
		dialer.Proxy = t.Proxy
		if t.DialContext != nil {
			dialer.NetDialContext = t.DialContext
		}
		if t.DialTLSContext != nil {
			dialer.NetDialTLSContext = t.DialTLSContext
		}
	}
	dialer.Subprotocols = []string{blazeSubprotocol}
	for try := 0; ; try++ {
		reqID := uuid.NewString()
		auth, err := r.c.ks.authorization("GET", u.RequestURI(), nil, reqID, r.c.now(), r.c.cfg.tokenLifetime)
		if err != nil {
			return nil, err
		}
		header := http.Header{"Authorization": {auth}, "X-Request-Id": {reqID}, "User-Agent": {r.c.cfg.userAgent}}
		conn, resp, err := dialer.DialContext(ctx, u.String(), header)
		if err == nil {
			return conn, nil
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

// serve runs one connection: LIST_PENDING_MESSAGES, then frames until an
// error. healthy reports that the server answered the listing.
func (r *blazeRun) serve(ctx context.Context, conn *websocket.Conn) (healthy bool, err error) {
	var closeOnce sync.Once
	closeConn := func() { closeOnce.Do(func() { _ = conn.Close() }) }
	defer closeConn()
	stopClose := context.AfterFunc(ctx, closeConn)
	defer stopClose()

	conn.SetReadLimit(r.cfg.maxFrameBytes)
	extend := func() { _ = conn.SetReadDeadline(time.Now().Add(r.cfg.readTimeout)) }
	extend()
	conn.SetPongHandler(func(string) error { extend(); return nil })
	conn.SetPingHandler(func(data string) error {
		extend()
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
		if errors.Is(err, websocket.ErrCloseSent) || isTimeout(err) {
			return nil
		}
		return err
	})

	// Keepalive: our pings make the server answer, which extends the read
	// deadline; a socket that stays silent past readTimeout fails the read.
	pingDone := make(chan struct{})
	var pinger sync.WaitGroup
	pinger.Add(1)
	go func() {
		defer pinger.Done()
		t := time.NewTicker(r.cfg.pingInterval)
		defer t.Stop()
		for {
			select {
			case <-pingDone:
				return
			case <-t.C:
				if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
					closeConn()
					return
				}
			}
		}
	}()
	defer func() { close(pingDone); pinger.Wait() }()

	sender := newBlazeSender(conn, r.cfg.replyTimeout)
	defer sender.close()
	defer r.c.blazeSend.CompareAndSwap(sender, nil) // published once listed, with WithBlazeSend
	listID := uuid.NewString()
	frame, err := encodeFrame(outFrame{ID: listID, Action: actionListPending})
	if err != nil {
		return false, err
	}
	if err := sender.write(frame); err != nil {
		return false, fmt.Errorf("mixin: blaze: send %s: %w", actionListPending, err)
	}
	var listed atomic.Bool
	replyTimer := time.AfterFunc(r.cfg.replyTimeout, func() {
		if !listed.Load() {
			closeConn()
		}
	})
	defer replyTimer.Stop()

	dec := frameDecoder{maxDecompressed: r.cfg.maxDecompressed}
	for {
		mt, rd, err := conn.NextReader()
		if err != nil {
			if !listed.Load() && ctx.Err() == nil {
				return false, fmt.Errorf("mixin: blaze: no answer to %s: %w", actionListPending, err)
			}
			return listed.Load(), fmt.Errorf("mixin: blaze: read: %w", err)
		}
		extend()
		if mt != websocket.BinaryMessage {
			return listed.Load(), errNotBinary
		}
		var f inFrame
		if err := dec.decode(rd, &f); err != nil {
			return listed.Load(), err
		}
		if f.ID != listID && sender.deliver(&f) {
			continue
		}
		if f.Error != nil {
			if f.Error.Code == CodeUnauthorized {
				return listed.Load(), &APIError{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Description: "blaze: " + f.Error.Description}
			}
			if f.ID == listID {
				return false, &APIError{Status: f.Error.Status, Code: f.Error.Code, Description: "blaze: " + actionListPending + ": " + f.Error.Description}
			}
			r.log.LogAttrs(ctx, slog.LevelWarn, "mixin: blaze: error frame", slog.String("action", f.Action), slog.Int("code", f.Error.Code), slog.String("description", f.Error.Description))
			continue
		}
		if f.ID == listID && f.Action == actionListPending {
			listed.Store(true)
			if r.cfg.blazeSend {
				r.c.blazeSend.Store(sender)
			}
			continue
		}
		if f.Data == nil || f.Data.MessageID == "" {
			continue // a reply without content, or a push we do not know
		}
		if f.Action == actionAckReceipt {
			f.Data.Source = sourceReceipt
		} else if f.Action != actionCreate {
			continue
		}
		r.received.Add(1)
		if !r.admit(ctx, f.Data) {
			return listed.Load(), ctx.Err()
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// admit queues a pushed message for its handler unless it is a repeat;
// false when ctx ended while waiting for room.
func (r *blazeRun) admit(ctx context.Context, m *Message) bool {
	key := messageKey(m)
	ok, handled := r.disp.admit(key)
	if !ok {
		if handled {
			r.ack(m) // handled before: its acknowledgement may have been lost
		}
		return true
	}
	order := m.ConversationID
	if m.Source == sourceReceipt || order == "" {
		order = "receipt:" + m.MessageID
	}
	if !r.disp.enqueue(ctx, order, m) {
		r.disp.done(key, false)
		return false
	}
	return true
}

func (r *blazeRun) ack(m *Message) {
	switch {
	case r.cfg.ackMode == AckModeManual && m.Source != sourceReceipt:
	case r.cfg.ackMode == AckModeDelivered && m.Source != sourceReceipt:
		r.acks.add(m.MessageID, AckDelivered)
	default:
		r.acks.add(m.MessageID, AckRead)
	}
}

// process runs the handler for m with retries, then acknowledges it.
func (r *blazeRun) process(m *Message) {
	key := messageKey(m)
	var err error
	for attempt := 1; ; attempt++ {
		err = r.invoke(m)
		if err == nil || attempt >= r.cfg.handlerRetry.Attempts {
			break
		}
		r.log.LogAttrs(r.handlers, slog.LevelWarn, "mixin: blaze: handler failed, retrying",
			slog.String("message_id", m.MessageID), slog.Int("attempt", attempt), slog.String("error", err.Error()))
		if r.stopping.Load() || sleepCtx(r.handlers, r.cfg.handlerRetry.wait(attempt)) != nil {
			r.disp.done(key, false) // shutting down: leave it for the next run
			return
		}
	}
	if err != nil {
		if r.handlers.Err() != nil {
			r.disp.done(key, false)
			return
		}
		r.log.LogAttrs(r.handlers, slog.LevelError, "mixin: blaze: handler gave up on message",
			slog.String("message_id", m.MessageID), slog.String("conversation_id", m.ConversationID), slog.String("error", err.Error()))
		if r.cfg.deadLetter != nil {
			func() {
				defer func() { _ = recover() }()
				r.cfg.deadLetter(r.handlers, m, err)
			}()
		}
	}
	r.disp.done(key, true)
	r.ack(m)
}

// invoke routes m to the hook or handler that takes it, turning a panic
// into an error.
func (r *blazeRun) invoke(m *Message) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	ctx := replyScope(r.handlers) // a fresh reply counter for this invocation
	switch {
	case m.Source == sourceReceipt:
		if r.cfg.onReceipt == nil {
			return nil
		}
		return r.cfg.onReceipt(ctx, Receipt{MessageID: m.MessageID, Status: AckStatus(m.Status), UpdatedAt: m.UpdatedAt})
	case m.Category == CategoryMessageRecall && r.cfg.onRecall != nil:
		p, err := m.Payload()
		if err != nil {
			return err
		}
		rp, _ := p.(RecallPayload)
		return r.cfg.onRecall(ctx, m, rp)
	case m.Category == CategorySystemConversation && r.cfg.onSystem != nil:
		p, err := m.Payload()
		if err != nil {
			return err
		}
		sp, _ := p.(SystemConversationPayload)
		return r.cfg.onSystem(ctx, m, sp)
	}
	return r.h.HandleMessage(ctx, m)
}

// PanicError is what a panicking handler turns into.
type PanicError struct {
	Value any
	Stack []byte
}

// Error returns "mixin: handler panicked: VALUE".
func (e *PanicError) Error() string { return fmt.Sprintf("mixin: handler panicked: %v", e.Value) }
