package mixin_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/otelmixin"
)

// BenchmarkBlazeInboundObserved is BenchmarkBlazeInbound without a tracer
// (off), with otelmixin recording metrics into the SDK with a manual
// reader (metrics), and with every message, commit and ack batch also
// traced, always sampled, through a batching span processor (traces). The
// figure is each one's x-decode over off's in the same run.
func BenchmarkBlazeInboundObserved(b *testing.B) {
	b.Run("off", func(b *testing.B) { mixin.BenchInbound(b) })
	b.Run("metrics", func(b *testing.B) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		defer func() { _ = mp.Shutdown(context.Background()) }()
		mixin.BenchInbound(b, mixin.WithTracer(newBenchTracer(b, otelmixin.WithMeterProvider(mp),
			otelmixin.WithTracerProvider(tracenoop.NewTracerProvider()))))
	})
	b.Run("traces", func(b *testing.B) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
			sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		defer func() {
			_ = mp.Shutdown(context.Background())
			_ = tp.Shutdown(context.Background())
		}()
		mixin.BenchInbound(b, mixin.WithTracer(newBenchTracer(b, otelmixin.WithMeterProvider(mp), otelmixin.WithTracerProvider(tp))))
	})
}

func newBenchTracer(b *testing.B, opts ...otelmixin.Option) *otelmixin.Tracer {
	t, err := otelmixin.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	return t
}
