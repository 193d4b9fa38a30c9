package otelmixin_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/internal/loopbench"
	"github.com/gomixin/mixin/otelmixin"
)

// BenchmarkBlazeInboundObserved measures messages through the whole loop
// (see package internal/loopbench) without a tracer (off), with otelmixin
// recording metrics into the SDK with a manual reader and a no-op tracer
// provider (metrics), and with every message, REST attempt, commit and
// acknowledgement batch also traced through a batching span processor,
// always sampled (traces) or 1% of messages (traces-1pct). The figures are
// each one's cpu-ns/op over off's, in the same run.
func BenchmarkBlazeInboundObserved(b *testing.B) {
	b.Run("off", func(b *testing.B) { loopbench.Inbound(b) })
	b.Run("metrics", func(b *testing.B) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		defer func() { _ = mp.Shutdown(context.Background()) }()
		loopbench.Inbound(b, mixin.WithTracer(benchTracer(b, otelmixin.WithMeterProvider(mp),
			otelmixin.WithTracerProvider(tracenoop.NewTracerProvider()))))
	})
	b.Run("traces", func(b *testing.B) { benchTraces(b, sdktrace.AlwaysSample()) })
	b.Run("traces-1pct", func(b *testing.B) { benchTraces(b, sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))) })
}

// benchTraces measures the loop with metrics and spans sampled by s.
func benchTraces(b *testing.B, s sdktrace.Sampler) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(s), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	defer func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	}()
	loopbench.Inbound(b, mixin.WithTracer(benchTracer(b, otelmixin.WithMeterProvider(mp), otelmixin.WithTracerProvider(tp))))
}

func benchTracer(b *testing.B, opts ...otelmixin.Option) *otelmixin.Tracer {
	t, err := otelmixin.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	return t
}
