package mixin

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// The loop's side of BlazeTracer. Every call site in the loop is guarded by
// a nil check of r.tr (or a.tr, rec.tr), so without a tracer the loop does
// no work and allocates nothing for it.

// itemTrace is what the loop keeps of a message for its tracer.
type itemTrace struct {
	ctx  context.Context // what TraceMessageStart returned; nil without a tracer
	dead error           // why the message was dead-lettered
}

// setTracer hands the client's tracer, if it observes loops, to the run
// and its parts.
func (r *blazeRun) setTracer() {
	bt, ok := r.c.cfg.tracer.(BlazeTracer)
	if !ok {
		return
	}
	r.tr = bt
	r.acks.tr = bt
	if r.st != nil {
		r.st.rec.tr = bt
	}
}

// runTraced is run, reported to the tracer.
func (r *blazeRun) runTraced(ctx context.Context) error {
	if r.tr == nil {
		return r.run(ctx)
	}
	start := BlazeStart{AppID: r.c.ks.AppID, ReplicaID: r.cfg.state.replica, Workers: r.cfg.workers, Stats: r.stats}
	r.trRun = r.tr.TraceBlazeStart(ctx, start)
	err := r.run(ctx)
	r.tr.TraceBlazeEnd(r.trRun, err)
	return err
}

// traceState records the connection state for stats and reports the
// change, with the cause of a disconnection. It runs on the connecting
// goroutine only.
func (r *blazeRun) traceState(e StateEvent) {
	prev := ConnState(r.connState.Swap(int32(e.State)))
	if r.tr == nil {
		return
	}
	ev := ConnEvent{StateEvent: e}
	if e.State == ConnStateDisconnected {
		ev.Cause = disconnectCause(e.Err, prev == ConnStateConnected)
	}
	r.tr.TraceConn(r.trRun, ev)
}

// disconnectCause classifies why a connection ended; connected says the
// dial had succeeded.
func disconnectCause(err error, connected bool) DisconnectCause {
	var apiErr *APIError
	var closeErr *websocket.CloseError
	var frameErr *FrameError
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return DisconnectCauseShutdown
	case errors.As(err, &apiErr):
		switch {
		case apiErr.Code == CodeUnauthorized:
			return DisconnectCauseUnauthorized
		case !connected:
			return DisconnectCauseUpgradeRefused
		}
		return DisconnectCauseServerError
	case !connected:
		return DisconnectCauseDialFailed
	case errors.Is(err, errRelist):
		return DisconnectCauseRelist
	case errors.Is(err, errNoListing):
		return DisconnectCauseNoListing
	case errors.As(err, &frameErr) || errors.Is(err, errNotBinary):
		return DisconnectCauseBadFrame
	case errors.As(err, &closeErr) && closeErr.Code != websocket.CloseAbnormalClosure:
		return DisconnectCauseServerClosed // 1006 is gorilla's word for a socket that ended without a close frame
	case isTimeout(err):
		return DisconnectCauseKeepalive
	}
	return DisconnectCauseConnLost
}

// inbound describes it to the tracer.
func inbound(it *item) Inbound {
	m := &it.msg
	in := Inbound{MessageID: m.MessageID, ConversationID: m.ConversationID, Category: m.Category,
		Listed: m.Source == actionListPending, CreatedAt: m.CreatedAt, DecodeErr: it.bad}
	switch {
	case it.receipt:
		in.Kind = InboundKindReceipt
	case it.own:
		in.Kind = InboundKindOwn
	}
	return in
}

// traceStart reports that the loop starts on it; its handler attempts run
// under the context the tracer returns. A message resumed after a
// runtime.Goexit has started already.
func (r *blazeRun) traceStart(it *item) {
	if it.tr.ctx == nil {
		it.tr.ctx = r.tr.TraceMessageStart(r.handlers, inbound(it))
	}
}

// handlerBase is the context a handler attempt derives from.
func (r *blazeRun) handlerBase(it *item) context.Context {
	if it.tr.ctx != nil {
		return it.tr.ctx
	}
	return r.handlers
}

// invokeTraced is invoke, timed for the tracer. An attempt whose goroutine
// ends in runtime.Goexit is reported too, with [ErrHandlerExited].
func (r *blazeRun) invokeTraced(ctx context.Context, it *item) (err error) {
	if r.tr == nil {
		return r.invoke(ctx, it)
	}
	start, returned := time.Now(), false
	defer func() {
		if !returned {
			err = ErrHandlerExited
		}
		r.tr.TraceAttempt(it.tr.ctx, Attempt{N: it.attempt, Duration: time.Since(start), Err: err})
	}()
	err = r.invoke(ctx, it)
	returned = true
	return err
}

// finishTraced ends a handler attempt's transaction (see txOnce),
// reporting the commit of a transaction the handler began as a batch.
func (r *blazeRun) finishTraced(it *item, slot *txSlot, handlerErr error) outcome {
	rec := r.st.record(it)
	if r.tr == nil || handlerErr != nil || !slot.begun() {
		return slot.finish(rec, handlerErr)
	}
	bctx := r.tr.TraceBatchStart(it.tr.ctx, BatchStart{Op: BatchOpCommitTx, Size: 1, Messages: []context.Context{it.tr.ctx}})
	o := slot.finish(rec, nil)
	var err error
	switch {
	case o.fault != nil:
		err = o.fault
	case o.fenced:
		err = errFenced
	}
	r.tr.TraceBatchEnd(bctx, BatchEnd{Op: BatchOpCommitTx, Size: 1, Err: err})
	return o
}

// traceEnd reports what became of a message the loop started on.
func (r *blazeRun) traceEnd(it *item, wasHandled bool) {
	if it.tr.ctx == nil {
		return
	}
	e := MessageEnd{Attempts: it.attempt}
	switch {
	case !wasHandled:
		e.Outcome = MessageOutcomeReleased
	case it.tr.dead != nil:
		e.Outcome, e.Err = MessageOutcomeDeadLettered, it.tr.dead
	}
	r.tr.TraceMessageEnd(it.tr.ctx, e)
}

// stats is the BlazeStats snapshot of the run.
func (r *blazeRun) stats() BlazeStats {
	s := BlazeStats{State: ConnState(r.connState.Load()), AcksPending: r.acks.pending()}
	d := r.disp
	d.mu.Lock()
	s.Queued, s.Conversations = d.queued+len(d.running), len(d.lanes)
	for _, l := range d.lanes {
		s.DeepestQueue = max(s.DeepestQueue, l.len())
		if l.shed {
			s.Deferred++
		}
	}
	d.mu.Unlock()
	r.parked.mu.Lock()
	s.Parked = r.parked.n
	r.parked.mu.Unlock()
	if r.st != nil && r.st.leases != nil {
		b := r.st.leases
		b.mu.Lock()
		s.LeasesHeld = len(b.held)
		b.mu.Unlock()
		s.LeasesAcquired, s.LeasesLost, s.LeasesReleased = b.moves.acquired.Load(), b.moves.lost.Load(), b.moves.released.Load()
	}
	return s
}

// leaseMoves counts a replica's lease changes for BlazeStats; they are
// rare, so they are counted with or without a tracer.
type leaseMoves struct {
	acquired, lost, released atomic.Int64
}

// traceBatch reports the start of a batch whose entries carry the contexts
// ctxs (of their messages) to tr.
func traceBatch(tr BlazeTracer, ctx context.Context, op BatchOp, ctxs []context.Context) context.Context {
	return tr.TraceBatchStart(ctx, BatchStart{Op: op, Size: len(ctxs), Messages: ctxs})
}

// sendTraced is send, reported to the tracer as a batch.
func (a *acker) sendTraced(ctx context.Context, batch []ackEntry, reqs []AcknowledgementRequest) error {
	if a.tr == nil {
		return a.send(ctx, reqs)
	}
	ctxs := make([]context.Context, len(batch))
	for i, e := range batch {
		ctxs[i] = e.ctx
	}
	bctx := traceBatch(a.tr, ctx, BatchOpAck, ctxs)
	err := a.send(bctx, reqs)
	a.tr.TraceBatchEnd(bctx, BatchEnd{Op: BatchOpAck, Size: len(batch), Err: err, Requeued: err != nil && !ackRefused(err)})
	return err
}

// markHandled commits recs, the records of group, under the store timeout,
// reported to the tracer as a batch.
func (r *recorder) markHandled(ctx context.Context, group []recordReq, recs []Record) ([]bool, error) {
	bctx := ctx
	if r.tr != nil {
		ctxs := make([]context.Context, len(group))
		for i, q := range group {
			ctxs[i] = q.tctx
		}
		bctx = traceBatch(r.tr, ctx, BatchOpCommit, ctxs)
	}
	var ok []bool
	err := r.st.call(bctx, func(ctx context.Context) (err error) {
		ok, err = r.st.cfg.store.MarkHandled(ctx, recs)
		return err
	})
	if err == nil && len(ok) != len(recs) {
		err = errShortAnswer
	}
	if r.tr != nil {
		r.tr.TraceBatchEnd(bctx, BatchEnd{Op: BatchOpCommit, Size: len(recs), Err: err, Requeued: err != nil})
	}
	return ok, err
}
