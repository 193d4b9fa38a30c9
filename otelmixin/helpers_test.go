package otelmixin_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/gomixin/mixin/otelmixin"
)

// rig is an emulator, a bot client instrumented with otelmixin, and the
// in-memory reader and span recorder the tests read.
type rig struct {
	srv    *mixintest.Server
	client *mixin.Client
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tracer *otelmixin.Tracer
}

func newRig(t *testing.T, srvOpts ...mixintest.Option) *rig {
	t.Helper()
	return newRigOwned(t, t, srvOpts...)
}

// brokenOK stands for the test as the emulator's owner where a test sends
// a message the app check rightly reports as broken: it keeps what the
// emulator reports instead of failing the test.
type brokenOK struct {
	testing.TB
	mu       sync.Mutex
	reported []string
}

func (b *brokenOK) Errorf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reported = append(b.reported, fmt.Sprintf(format, args...))
}

func (b *brokenOK) Helper() {}

// newRigOwned is newRig with the emulator reporting to owner.
func newRigOwned(t *testing.T, owner testing.TB, srvOpts ...mixintest.Option) *rig {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	t.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	tr, err := otelmixin.New(otelmixin.WithMeterProvider(mp), otelmixin.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	srv := mixintest.NewServer(owner, srvOpts...)
	c, err := srv.Client(mixin.WithTracer(tr),
		mixin.WithRequestRetry(mixin.Retry{Attempts: 4, Min: time.Millisecond, Max: 5 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	return &rig{srv: srv, client: c, reader: reader, spans: spans, tracer: tr}
}

// runLoop runs the bot's loop until the test ends.
func (g *rig) runLoop(t *testing.T, h mixin.Handler, opts ...mixin.BlazeOption) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	opts = append([]mixin.BlazeOption{mixin.WithAckInterval(5 * time.Millisecond),
		mixin.WithReconnect(mixin.Retry{Min: 5 * time.Millisecond, Max: 20 * time.Millisecond})}, opts...)
	go func() { done <- g.client.RunBlaze(ctx, h, opts...) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunBlaze: %v", err)
		}
	})
}

// stop ends the loop now (the deferred cleanup then finds it ended).
func (g *rig) collect(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := g.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

// eventually polls cond until it holds; it fails on a lack of progress,
// not on a wall-clock budget a slow machine would miss: the bound is far
// beyond what any run needs.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 6000; i++ {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("never happened: %s", what)
}

// point is one data point of a metric: its attributes and value (a sum's
// value or a histogram's count).
type point struct {
	attrs attribute.Set
	value int64
	sum   float64
}

func points(rm metricdata.ResourceMetrics, name string) []point {
	var out []point
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out = append(out, point{attrs: p.Attributes, value: p.Value})
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out = append(out, point{attrs: p.Attributes, value: p.Value})
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out = append(out, point{attrs: p.Attributes, value: int64(p.Count), sum: p.Sum})
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					out = append(out, point{attrs: p.Attributes, value: int64(p.Count), sum: float64(p.Sum)})
				}
			}
		}
	}
	return out
}

// total sums the points of name whose attributes include every one of want.
func total(rm metricdata.ResourceMetrics, name string, want ...attribute.KeyValue) int64 {
	var n int64
	for _, p := range points(rm, name) {
		if hasAll(p.attrs, want) {
			n += p.value
		}
	}
	return n
}

func hasAll(s attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		v, ok := s.Value(kv.Key)
		if !ok || v != kv.Value {
			return false
		}
	}
	return true
}

var errFail = errors.New("this message is refused")
