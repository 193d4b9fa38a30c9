package otelmixin

import (
	"context"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/gomixin/mixin"
)

// ScopeName is the instrumentation scope of the meter and tracer.
const ScopeName = "github.com/gomixin/mixin/otelmixin"

// Version is the version of this instrumentation, recorded with its scope.
const Version = "0.1.0"

// Tracer records a client's REST calls and its blaze loops with
// OpenTelemetry. It implements [mixin.Tracer] and [mixin.BlazeTracer]:
// install it with [mixin.WithTracer]. One Tracer may serve several clients
// and loops at once; it is safe for concurrent use.
type Tracer struct {
	tracer  trace.Tracer
	tracing bool                    // false when the tracer provider is a no-op: no span is started
	process []trace.SpanStartOption // options of a message's span
	inst    instruments
	cats    atomic.Pointer[map[catKey]*catAttrs] // copy on write, bounded by the known categories
	catsMu  sync.Mutex
	runsMu  sync.Mutex
	runs    map[*run]struct{}
	retired map[string]leaseTotals // lease counts of ended runs, by replica
	reg     metric.Registration
}

// Option configures a [Tracer].
type Option interface {
	apply(*config)
}

type config struct {
	mp metric.MeterProvider
	tp trace.TracerProvider
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithMeterProvider records metrics with mp instead of the global
// provider (otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.mp = mp })
}

// WithTracerProvider records spans with tp instead of the global provider
// (otel.GetTracerProvider). With a no-op provider (package
// go.opentelemetry.io/otel/trace/noop) no span is started at all, which
// is the cheapest way to record metrics only.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tp = tp })
}

// New returns a Tracer recording with the given providers (the global ones
// by default, which record nothing until the program sets them). It fails
// only if the meter provider refuses an instrument.
func New(opts ...Option) (*Tracer, error) {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if cfg.mp == nil {
		cfg.mp = otel.GetMeterProvider()
	}
	if cfg.tp == nil {
		cfg.tp = otel.GetTracerProvider()
	}
	_, noop := cfg.tp.(tracenoop.TracerProvider)
	t := &Tracer{
		tracer:  cfg.tp.Tracer(ScopeName, trace.WithInstrumentationVersion(Version)),
		tracing: !noop,
		process: []trace.SpanStartOption{trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindConsumer)},
		runs:    map[*run]struct{}{},
		retired: map[string]leaseTotals{},
	}
	meter := cfg.mp.Meter(ScopeName, metric.WithInstrumentationVersion(Version))
	if err := t.inst.init(meter); err != nil {
		return nil, err
	}
	reg, err := meter.RegisterCallback(t.observe, t.inst.observables()...)
	if err != nil {
		return nil, err
	}
	t.reg = reg
	empty := map[catKey]*catAttrs{}
	t.cats.Store(&empty)
	return t, nil
}

// Close stops the Tracer's gauges from being observed. Events reported
// after Close are still recorded.
func (t *Tracer) Close() error { return t.reg.Unregister() }

var (
	_ mixin.Tracer      = (*Tracer)(nil)
	_ mixin.BlazeTracer = (*Tracer)(nil)
)

// TraceRequestStart implements [mixin.Tracer]: it starts the attempt's
// client span.
func (t *Tracer) TraceRequestStart(ctx context.Context, d mixin.RequestStart) context.Context {
	return t.requestStart(ctx, d)
}

// TraceRequestEnd implements [mixin.Tracer]: it records the attempt's
// duration, retry and rate limit, and ends its span.
func (t *Tracer) TraceRequestEnd(ctx context.Context, d mixin.RequestEnd) {
	t.requestEnd(ctx, d)
}
