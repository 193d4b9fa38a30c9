package mixin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
)

// ErrHandlerExited is the error a handler attempt counts as when the
// handler (or a hook standing for it) called runtime.Goexit, as t.FailNow
// does in a test: its goroutine ends, another worker carries on with the
// message per the retry policy, and its conversation goes on.
var ErrHandlerExited = errors.New("mixin: handler called runtime.Goexit")

// PanicError is what a panicking handler or hook turns into.
type PanicError struct {
	// Value is the panic value, formatted with %v.
	Value string
	// Err is the panic value when it was an error (Unwrap returns it), so
	// errors.Is and errors.As see through the panic.
	Err error
	// Stack is the goroutine's stack at the panic.
	Stack []byte
}

// Error returns "mixin: handler panicked: VALUE".
func (e *PanicError) Error() string { return "mixin: handler panicked: " + e.Value }

// Unwrap returns the panic value if it was an error.
func (e *PanicError) Unwrap() error { return e.Err }

// panicError makes the *PanicError for the panic value p.
func panicError(p any, stack []byte) *PanicError {
	err, _ := p.(error)
	return &PanicError{Value: fmt.Sprint(p), Err: err, Stack: stack}
}

// callUser is how the loop calls every user callback: a panic becomes a
// [*PanicError]. A runtime.Goexit cannot be stopped: it ends the calling
// goroutine after this returns through the deferred calls, and the
// callers' own deferred functions start another goroutine to carry on.
func callUser(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicError(p, debug.Stack())
		}
	}()
	return fn()
}

// worker handles lanes until the dispatcher stops. Started with a lane and
// an item, it first finishes that item (a worker that ended in
// runtime.Goexit hands them over) and goes on with the lane.
func (r *blazeRun) worker(l *lane, it *item) {
	clean := false
	defer func() {
		if !clean {
			go r.worker(l, it) // user code called runtime.Goexit: carry on in a new goroutine
			return
		}
		if r.live.Add(-1) == 0 {
			close(r.idle)
		}
	}()
	for {
		if l == nil {
			if l = r.disp.next(); l == nil {
				clean = true
				return
			}
		}
		for n := 0; ; n++ {
			if it == nil {
				var relist bool
				if it, relist = r.disp.take(l, n); relist {
					signal(r.relist)
				}
				if it == nil {
					break
				}
				signal(r.room) // its place in the queue is free
			}
			r.process(it)
			it = nil
		}
		l = nil
	}
}

// process runs the handler for it, with retries, and settles it.
func (r *blazeRun) process(it *item) {
	var err error
	switch it.phase {
	case phaseDeadLetter: // the dead-letter hook exited: it has seen the message
		it.phase = phaseNone
		r.settle(it, true)
		return
	case phaseHandler:
		it.phase = phaseNone
		err = ErrHandlerExited
	default:
		if r.gate(it) {
			return
		}
		if r.tr != nil {
			r.traceStart(it)
		}
		if err = r.prepare(it); err != nil {
			r.deadLetter(it, err)
			r.settle(it, true)
			return
		}
		err = r.attempt(it)
	}
	for err != nil && !IsPermanent(err) && !leftForLater(err) && it.attempt < r.cfg.handlerRetry.Attempts {
		r.log.LogAttrs(r.handlers, slog.LevelWarn, "mixin: blaze: handler failed, retrying",
			slog.String("message_id", it.msg.MessageID), slog.Int("attempt", it.attempt), slog.String("error", err.Error()))
		if r.stopping.Load() || sleepCtx(r.handlers, r.cfg.handlerRetry.wait(it.attempt)) != nil {
			r.settle(it, false) // shutting down: leave it for the next run
			return
		}
		err = r.attempt(it)
	}
	if err != nil {
		if r.handlers.Err() != nil || leftForLater(err) {
			r.settle(it, false) // cancelled by the shutdown, or left by the store: it comes again
			return
		}
		r.deadLetter(it, err)
	}
	r.settle(it, true)
}

// prepare readies a message for its handler. A failure cannot pass on
// retry: the message goes to the dead-letter hook and is acknowledged.
// ENCRYPTED_* messages are decrypted here (a *DecryptError otherwise), and
// SYSTEM_CONVERSATION events refresh the conversation cache.
func (r *blazeRun) prepare(it *item) error {
	if it.bad != nil || it.receipt || it.own {
		return it.bad
	}
	return r.c.prepareInbound(&it.msg)
}

// attempt makes one handler attempt, recording where a runtime.Goexit
// would leave the message.
func (r *blazeRun) attempt(it *item) error {
	it.attempt++
	it.phase = phaseHandler
	err := r.attemptStore(it) // the handler, with the store's transaction if any
	it.phase = phaseNone
	return err
}

// invoke calls the hook or handler that takes the message, once.
func (r *blazeRun) invoke(ctx context.Context, it *item) error {
	// A fresh reply counter for this invocation: the first attempt's lives
	// in the item (no allocation); a retry gets its own, because what the
	// last attempt handed its ctx to (a database driver's goroutine
	// watching Done) may still read the old one.
	sc := &it.scope
	if it.attempt > 1 {
		sc = new(replyCtx)
	}
	*sc = replyCtx{Context: ctx}
	ctx = sc
	m := &it.msg
	switch {
	case it.own:
		return nil
	case it.receipt:
		if r.cfg.onReceipt == nil {
			return nil
		}
		rc := Receipt{MessageID: m.MessageID, Status: AckStatus(m.Status), UpdatedAt: m.UpdatedAt}
		return callUser(func() error { return r.cfg.onReceipt(ctx, rc) })
	case m.Category == CategoryMessageRecall && r.cfg.onRecall != nil:
		p, err := m.Payload()
		if err != nil {
			return Permanent(err)
		}
		rp, ok := asRecall(p)
		if !ok {
			return Permanent(&FieldError{Field: "data", Reason: "is not a recall payload"})
		}
		return callUser(func() error { return r.cfg.onRecall(ctx, m, rp) })
	case m.Category == CategorySystemConversation && r.cfg.onSystem != nil:
		p, err := m.Payload()
		if err != nil {
			return Permanent(err)
		}
		sp, ok := asSystem(p)
		if !ok {
			return Permanent(&FieldError{Field: "data", Reason: "is not a system conversation payload"})
		}
		return callUser(func() error { return r.cfg.onSystem(ctx, m, sp) })
	}
	return callUser(func() error { return r.h.HandleMessage(ctx, m) })
}

func asRecall(p any) (RecallPayload, bool) {
	switch v := p.(type) {
	case RecallPayload:
		return v, true
	case *RecallPayload:
		if v != nil {
			return *v, true
		}
	}
	return RecallPayload{}, false
}

func asSystem(p any) (SystemConversationPayload, bool) {
	switch v := p.(type) {
	case SystemConversationPayload:
		return v, true
	case *SystemConversationPayload:
		if v != nil {
			return *v, true
		}
	}
	return SystemConversationPayload{}, false
}

// deadLetter reports a message given up on to the dead-letter hook.
func (r *blazeRun) deadLetter(it *item, err error) {
	r.log.LogAttrs(r.handlers, slog.LevelError, "mixin: blaze: giving up on message",
		slog.String("message_id", it.msg.MessageID), slog.String("conversation_id", it.msg.ConversationID), slog.String("error", err.Error()))
	if r.tr != nil {
		it.tr.dead = err
	}
	if r.cfg.deadLetter == nil {
		return
	}
	it.phase = phaseDeadLetter
	if perr := callUser(func() error { r.cfg.deadLetter(r.handlers, &it.msg, err); return nil }); perr != nil {
		r.log.LogAttrs(r.handlers, slog.LevelError, "mixin: blaze: dead-letter hook panicked",
			slog.String("message_id", it.msg.MessageID), slog.String("error", perr.Error()))
	}
	it.phase = phaseNone
}

// settle is the one place a message leaves the loop: a handled one is
// recorded as such and acknowledged (or, needing no acknowledgement, joins
// the window of done ids); an unhandled one is forgotten, so it is handled
// when it comes again.
func (r *blazeRun) settle(it *item, wasHandled bool) {
	if r.tr != nil {
		r.traceEnd(it, wasHandled)
	}
	if r.settleState(it, wasHandled) {
		return // settled once its record committed
	}
	r.settleNow(it, wasHandled)
}

// settleNow acknowledges a handled item or forgets an unhandled one.
func (r *blazeRun) settleNow(it *item, wasHandled bool) {
	ack := wasHandled && r.needsAck(it)
	r.disp.resolve(it.key, wasHandled, ack)
	if ack {
		r.acks.addEntry(ackEntry{req: AcknowledgementRequest{MessageID: it.msg.MessageID, Status: r.ackStatus(it)}, key: it.key, ctx: it.tr.ctx})
	}
}

// needsAck says whether it is acknowledged once handled.
func (r *blazeRun) needsAck(it *item) bool {
	if it.receipt {
		return r.cfg.ackReceipts
	}
	return r.cfg.ackMode != AckModeManual
}

// ackStatus is the status it is acknowledged with: a message's, as the
// acknowledgement mode says; a receipt's, its own. A receipt is the event
// (message, status), and an acknowledgement names both: acknowledging a
// DELIVERED receipt as READ would, on a server that keys receipts that way
// (mixintest by default; no source says how the real one does), leave it
// to come again on every connection and retire the READ receipt, perhaps
// before it was pushed. The Node and Kotlin clients acknowledge every push
// as READ (bot-api-nodejs-client src/client/ws.ts, bot-api-kotlin-client
// blaze/BlazeClient.kt sendAckMsg); so does this for a receipt whose
// status is neither.
func (r *blazeRun) ackStatus(it *item) AckStatus {
	if it.receipt {
		if st := AckStatus(it.msg.Status); st == AckStatusDelivered || st == AckStatusRead {
			return st
		}
		return AckStatusRead
	}
	if r.cfg.ackMode == AckModeDelivered {
		return AckStatusDelivered
	}
	return AckStatusRead
}
