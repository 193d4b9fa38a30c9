package otelmixin

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/gomixin/mixin"
)

// run is the state of one RunBlaze, carried by the context
// TraceBlazeStart returns.
type run struct {
	replica  string
	stats    func() mixin.BlazeStats
	lastDrop mixin.DisconnectCause // cause of the last disconnection, until the next dial
}

type runKey struct{}

// TraceBlazeStart implements [mixin.BlazeTracer]: the run's gauges are
// observed from now on.
func (t *Tracer) TraceBlazeStart(ctx context.Context, d mixin.BlazeStart) context.Context {
	r := &run{replica: d.ReplicaID, stats: d.Stats}
	t.runsMu.Lock()
	t.runs[r] = struct{}{}
	t.runsMu.Unlock()
	return context.WithValue(ctx, runKey{}, r)
}

// TraceBlazeEnd implements [mixin.BlazeTracer]: the run's gauges are no
// longer observed; its lease counts are kept, so the counters do not fall.
func (t *Tracer) TraceBlazeEnd(ctx context.Context, _ error) {
	r, _ := ctx.Value(runKey{}).(*run)
	if r == nil {
		return
	}
	final := r.stats()
	t.runsMu.Lock()
	delete(t.runs, r)
	t.retired[r.replica] = t.retired[r.replica].add(final)
	t.runsMu.Unlock()
}

// TraceConn implements [mixin.BlazeTracer]: a dial after a disconnection
// counts as a reconnect with that disconnection's cause; a frame that did
// not decode counts as undecodable.
func (t *Tracer) TraceConn(ctx context.Context, e mixin.ConnEvent) {
	r, _ := ctx.Value(runKey{}).(*run)
	if r == nil {
		return
	}
	switch e.State {
	case mixin.ConnStateDisconnected:
		r.lastDrop = e.Cause
		if e.Cause == mixin.DisconnectCauseBadFrame {
			t.inst.undecodable.Add(ctx, 1, metric.WithAttributes(KeyFrameError.String("frame")))
		}
	case mixin.ConnStateConnecting:
		if r.lastDrop != "" {
			t.inst.reconnects.Add(ctx, 1, metric.WithAttributes(KeyDisconnectCause.String(string(r.lastDrop))))
			r.lastDrop = ""
		}
	}
}

// TraceReceive implements [mixin.BlazeTracer].
func (t *Tracer) TraceReceive(ctx context.Context, m mixin.Inbound) {
	a := t.catOf(m.Category, m.Kind)
	t.inst.received.Add(ctx, 1, a.receive...)
	if m.DecodeErr != nil {
		t.inst.undecodable.Add(ctx, 1, metric.WithAttributes(KeyFrameError.String("message_data")))
	}
}

// msgKey finds a message's state in its context.
type msgKey struct{}

// msgState is what a message's context carries.
type msgState struct {
	span    trace.Span
	cat     *catAttrs
	kind    mixin.InboundKind
	created time.Time
	settled time.Time // when the loop was done with it, for the ack delay
}

// msgCtx is a message's context: the span's context plus the state, in
// one allocation.
type msgCtx struct {
	context.Context
	st msgState
}

func (c *msgCtx) Value(key any) any {
	if key == (msgKey{}) {
		return &c.st
	}
	return c.Context.Value(key)
}

func stateOf(ctx context.Context) *msgState {
	if ctx == nil {
		return nil
	}
	st, _ := ctx.Value(msgKey{}).(*msgState)
	return st
}

// TraceMessageStart implements [mixin.BlazeTracer]: it starts the
// message's process span, a root (a message is its own trace).
func (t *Tracer) TraceMessageStart(ctx context.Context, m mixin.Inbound) context.Context {
	a := t.catOf(m.Category, m.Kind)
	span := noSpan()
	if t.tracing {
		ctx, span = t.tracer.Start(ctx, "process", t.process...)
	}
	if span.IsRecording() {
		span.SetAttributes(
			semconv.MessagingSystemKey.String(messagingSystem),
			semconv.MessagingOperationTypeProcess,
			semconv.MessagingOperationName("process"),
			semconv.MessagingMessageID(m.MessageID),
			semconv.MessagingMessageConversationID(m.ConversationID),
			a.category, a.kind)
	}
	return &msgCtx{Context: ctx, st: msgState{span: span, cat: a, kind: m.Kind, created: m.CreatedAt}}
}

// TraceAttempt implements [mixin.BlazeTracer].
func (t *Tracer) TraceAttempt(ctx context.Context, at mixin.Attempt) {
	st := stateOf(ctx)
	if st == nil {
		return
	}
	if at.Err == nil {
		t.inst.process.Record(ctx, at.Duration.Seconds(), st.cat.process...)
		return
	}
	et := semconv.ErrorTypeKey.String(errorType(at.Err))
	sys := semconv.MessagingSystemKey.String(messagingSystem)
	t.inst.process.Record(ctx, at.Duration.Seconds(), metric.WithAttributes(sys,
		semconv.MessagingOperationName("process"), st.cat.category, st.cat.kind, et))
	t.inst.failed.Add(ctx, 1, metric.WithAttributes(st.cat.category, st.cat.kind, et))
	if st.span.IsRecording() {
		st.span.AddEvent("handler failed", trace.WithAttributes(KeyAttempt.Int(at.N), et))
	}
}

// TraceMessageEnd implements [mixin.BlazeTracer].
func (t *Tracer) TraceMessageEnd(ctx context.Context, e mixin.MessageEnd) {
	st := stateOf(ctx)
	if st == nil {
		return
	}
	now := time.Now()
	st.settled = now
	switch e.Outcome {
	case mixin.MessageOutcomeHandled:
		t.inst.handled.Add(ctx, 1, st.cat.count...)
		if st.kind == mixin.InboundKindMessage && !st.created.IsZero() {
			t.inst.lag.Record(ctx, now.Sub(st.created).Seconds(), st.cat.lagOpt...)
		}
	case mixin.MessageOutcomeDeadLettered:
		t.deadLettered(ctx, st, e.Err)
	}
	span := st.span
	if !span.IsRecording() {
		span.End()
		return
	}
	span.SetAttributes(KeyOutcome.String(e.Outcome.String()), KeyAttempts.Int(e.Attempts))
	if e.Outcome == mixin.MessageOutcomeDeadLettered {
		et := errorType(e.Err)
		span.SetAttributes(semconv.ErrorTypeKey.String(et), KeyDeadLetterReason.String(deadLetterReason(e.Err)))
		span.SetStatus(codes.Error, et)
	}
	span.End()
}

func (t *Tracer) deadLettered(ctx context.Context, st *msgState, err error) {
	reason := deadLetterReason(err)
	t.inst.deadLettered.Add(ctx, 1, metric.WithAttributes(st.cat.category, st.cat.kind, KeyDeadLetterReason.String(reason)))
	var de *mixin.DecryptError
	if errors.As(err, &de) {
		t.inst.decrypt.Add(ctx, 1, metric.WithAttributes(st.cat.category, KeyDecryptReason.String(de.Reason.String())))
	}
}

// deadLetterReason says why a message was given up on: its data does not
// decode, it cannot be decrypted, or its handler failed.
func deadLetterReason(err error) string {
	var de *mixin.DecryptError
	var me *mixin.MessageDecodeError
	switch {
	case errors.As(err, &de):
		return "decrypt"
	case errors.As(err, &me):
		return "decode"
	}
	return "handler"
}

// batchKey finds a batch's state in its context.
type batchKey struct{}

type batchState struct {
	span     trace.Span
	start    time.Time
	messages []context.Context
}

type batchCtx struct {
	context.Context
	st batchState
}

func (c *batchCtx) Value(key any) any {
	if key == (batchKey{}) {
		return &c.st
	}
	return c.Context.Value(key)
}

// TraceBatchStart implements [mixin.BlazeTracer]: an acknowledgement batch
// is a settle span and a group commit a commit span, each a root linked to
// the messages it carries; the commit of a handler's own transaction is a
// child of its message's span.
func (t *Tracer) TraceBatchStart(ctx context.Context, b mixin.BatchStart) context.Context {
	if !t.tracing {
		return &batchCtx{Context: ctx, st: batchState{span: noSpan(), start: time.Now(), messages: b.Messages}}
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}
	name := "commit"
	if b.Op != mixin.BatchOpCommitTx {
		opts = append(opts, trace.WithNewRoot(), trace.WithLinks(links(b.Messages)...))
	}
	attrs := []attribute.KeyValue{KeyCommitKind.String(commitKind(b.Op)), KeyCommitSize.Int(b.Size)}
	if b.Op == mixin.BatchOpAck {
		name = "settle"
		opts[0] = trace.WithSpanKind(trace.SpanKindClient)
		attrs = []attribute.KeyValue{semconv.MessagingSystemKey.String(messagingSystem),
			semconv.MessagingOperationTypeSettle, semconv.MessagingOperationName("ack"),
			semconv.MessagingBatchMessageCount(b.Size)}
	}
	ctx, span := t.tracer.Start(ctx, name, append(opts, trace.WithAttributes(attrs...))...)
	return &batchCtx{Context: ctx, st: batchState{span: span, start: time.Now(), messages: b.Messages}}
}

func links(ctxs []context.Context) []trace.Link {
	out := make([]trace.Link, 0, len(ctxs))
	for _, c := range ctxs {
		if st := stateOf(c); st != nil && st.span.SpanContext().IsValid() {
			out = append(out, trace.Link{SpanContext: st.span.SpanContext()})
		}
	}
	return out
}

func commitKind(op mixin.BatchOp) string {
	if op == mixin.BatchOpCommitTx {
		return "tx"
	}
	return "group"
}

// TraceBatchEnd implements [mixin.BlazeTracer].
func (t *Tracer) TraceBatchEnd(ctx context.Context, b mixin.BatchEnd) {
	st, _ := ctx.Value(batchKey{}).(*batchState)
	if st == nil {
		return
	}
	now := time.Now()
	if b.Op == mixin.BatchOpAck {
		t.ackEnded(ctx, st, b, now)
	} else {
		t.commitEnded(ctx, st, b, now)
	}
	if st.span.IsRecording() && b.Err != nil {
		et := errorType(b.Err)
		st.span.SetAttributes(semconv.ErrorTypeKey.String(et))
		st.span.SetStatus(codes.Error, et)
	}
	st.span.End()
}

func (t *Tracer) ackEnded(ctx context.Context, st *batchState, b mixin.BatchEnd, now time.Time) {
	switch {
	case b.Err == nil:
		t.inst.acks.Add(ctx, int64(b.Size), metric.WithAttributes(KeyAckResult.String("acked")))
		for _, c := range st.messages {
			if ms := stateOf(c); ms != nil && !ms.settled.IsZero() {
				t.inst.ackDelay.Record(ctx, now.Sub(ms.settled).Seconds())
			}
		}
	case !b.Requeued && b.Size == 1:
		t.inst.acks.Add(ctx, 1, metric.WithAttributes(KeyAckResult.String("refused")))
	}
}

func (t *Tracer) commitEnded(ctx context.Context, st *batchState, b mixin.BatchEnd, now time.Time) {
	kind := KeyCommitKind.String(commitKind(b.Op))
	if b.Err != nil {
		t.inst.commitTime.Record(ctx, now.Sub(st.start).Seconds(),
			metric.WithAttributes(kind, semconv.ErrorTypeKey.String(errorType(b.Err))))
		return
	}
	opt := metric.WithAttributes(kind)
	t.inst.commitTime.Record(ctx, now.Sub(st.start).Seconds(), opt)
	t.inst.commitSize.Record(ctx, int64(b.Size), opt)
	t.inst.records.Add(ctx, int64(b.Size), opt)
}

// noSpan is a span that records nothing: that of a context without one.
func noSpan() trace.Span { return trace.SpanFromContext(context.Background()) }
