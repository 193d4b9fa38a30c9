package otelmixin

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/gomixin/mixin"
)

// requestKey finds a REST attempt's state in its context.
type requestKey struct{}

// requestState is what an attempt's context carries to its end.
type requestState struct {
	span  trace.Span
	start time.Time
}

// requestCtx is the context of a REST attempt: its parent plus its state,
// in one allocation.
type requestCtx struct {
	context.Context
	st requestState
}

func (c *requestCtx) Value(key any) any {
	if key == (requestKey{}) {
		return &c.st
	}
	return c.Context.Value(key)
}

func (t *Tracer) requestStart(ctx context.Context, d mixin.RequestStart) context.Context {
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(d.Method),
		semconv.URLTemplate(d.Route),
		semconv.ServerAddress(d.ServerAddress),
		semconv.ServerPort(d.ServerPort),
	}
	if d.Attempt > 1 {
		attrs = append(attrs, semconv.HTTPRequestResendCount(d.Attempt-1))
	}
	span := noSpan()
	if t.tracing {
		ctx, span = t.tracer.Start(ctx, d.Method+" "+d.Route, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attrs...))
	}
	return &requestCtx{Context: ctx, st: requestState{span: span, start: time.Now()}}
}

func (t *Tracer) requestEnd(ctx context.Context, d mixin.RequestEnd) {
	st, _ := ctx.Value(requestKey{}).(*requestState)
	if st == nil {
		return // not a context requestStart made
	}
	elapsed := time.Since(st.start)
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs,
		semconv.HTTPRequestMethodKey.String(d.Method),
		semconv.URLTemplate(d.Route),
		semconv.ServerAddress(d.ServerAddress),
		semconv.ServerPort(d.ServerPort))
	if d.Status != 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(d.Status))
	}
	et := errorType(d.Err)
	if et != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(et))
	}
	set := attribute.NewSet(attrs...)
	t.inst.reqDuration.Record(ctx, elapsed.Seconds(), metric.WithAttributeSet(set))
	route := metric.WithAttributeSet(attribute.NewSet(semconv.HTTPRequestMethodKey.String(d.Method), semconv.URLTemplate(d.Route)))
	if d.Attempt > 1 {
		t.inst.retries.Add(ctx, 1, route)
	}
	if d.Code == mixin.CodeTooManyRequests || d.Status == http.StatusTooManyRequests {
		t.inst.rateLimited.Add(ctx, 1, route)
	}
	t.endRequestSpan(st.span, d, et)
}

func (t *Tracer) endRequestSpan(span trace.Span, d mixin.RequestEnd, et string) {
	if !span.IsRecording() {
		span.End()
		return
	}
	if d.Status != 0 {
		span.SetAttributes(semconv.HTTPResponseStatusCode(d.Status))
	}
	if d.RequestID != "" {
		span.SetAttributes(KeyRequestID.String(d.RequestID))
	}
	if et != "" {
		span.SetAttributes(semconv.ErrorTypeKey.String(et))
		if d.Code != 0 {
			span.SetAttributes(KeyAPICode.Int(d.Code))
		}
		span.SetStatus(codes.Error, et)
	}
	span.End()
}
