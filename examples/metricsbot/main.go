// Metricsbot is a bot measured with OpenTelemetry: the client and its blaze
// loop report through otelmixin to an OpenTelemetry MeterProvider whose
// reader is the OpenTelemetry Prometheus exporter, and -metrics serves what
// it gathered for Prometheus to scrape.
//
//	go run ./examples/metricsbot                                    # on the embedded emulator
//	go run ./examples/metricsbot -metrics localhost:9464            # the same, serving /metrics until Ctrl-C
//	curl -s localhost:9464/metrics | grep -E '^(mixin|messaging|http)_'
//	go run ./examples/metricsbot -keystore bot.json -metrics :9464  # on the real Mixin API
//
// The bot answers every text with its length, and refuses "boom" for good
// (its handler returns a permanent error, so the message is dead-lettered):
// the metrics show both. On the emulator, Alice and Bob talk to it; without
// -metrics the program then prints the series that answer "is it keeping
// up, is it losing anything, is the API refusing it?" and stops; with
// -metrics they go on talking, one message a second, until Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/examples/internal/demo"
	"github.com/gomixin/mixin/otelmixin"
)

func main() {
	addr := flag.String("metrics", "", "serve Prometheus metrics on this address (e.g. localhost:9464) under /metrics, until Ctrl-C")
	demo.Main("Metrics Bot", func(ctx context.Context, env *demo.Env) error {
		var ln net.Listener
		if *addr != "" {
			var err error
			if ln, err = net.Listen("tcp", *addr); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "metricsbot: metrics at http://%s/metrics\n", ln.Addr())
		}
		return run(ctx, env, ln)
	})
}

// run serves the bot with its metrics on ln (none if nil). On the emulator
// without ln it runs the scripted conversation, prints the key series and
// returns; with ln the users talk on until ctx ends.
func run(ctx context.Context, env *demo.Env, ln net.Listener) error {
	// The Prometheus exporter is a reader of an OpenTelemetry MeterProvider;
	// it registers on a registry of our own, not Prometheus' global one.
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	// Metrics only: a no-op tracer provider starts no span. Give a real one
	// (an OTLP exporter's) to trace each message and REST call too.
	tracer, err := otelmixin.New(otelmixin.WithMeterProvider(mp), otelmixin.WithTracerProvider(tracenoop.NewTracerProvider()))
	if err != nil {
		return err
	}
	defer func() { _ = tracer.Close() }()
	if env.Client, err = instrumented(env, tracer); err != nil {
		return err
	}
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	if ln != nil {
		srv := &http.Server{Handler: mux(metrics), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer func() { _ = srv.Close() }()
	}
	return serve(ctx, env, metrics, ln != nil)
}

func mux(metrics http.Handler) http.Handler {
	m := http.NewServeMux()
	m.Handle("/metrics", metrics)
	return m
}

// instrumented returns the environment's client rebuilt with the tracer:
// one option is all it takes.
func instrumented(env *demo.Env, tracer *otelmixin.Tracer) (*mixin.Client, error) {
	if env.Server != nil {
		return env.Server.Client(mixin.WithTracer(tracer))
	}
	return mixin.NewClient(env.Client.Keystore(), mixin.WithTracer(tracer))
}

// errBoom is the handler's answer to "boom": permanent, so not retried.
var errBoom = errors.New("boom is not a word this bot takes")

func serve(ctx context.Context, env *demo.Env, metrics http.Handler, forever bool) error {
	h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		p, err := m.Payload()
		if err != nil {
			return mixin.Permanent(err)
		}
		text, ok := p.(mixin.TextPayload)
		if !ok {
			return nil // not a text: nothing to count
		}
		if strings.TrimSpace(string(text)) == "boom" {
			return mixin.Permanent(errBoom)
		}
		_, err = env.Client.Reply(ctx, m, mixin.TextPayload(fmt.Sprintf("%d characters", len([]rune(string(text))))))
		return err
	})
	if env.Server == nil {
		return env.Serve(ctx, h, nil, mixin.WithDeadLetter(func(context.Context, *mixin.Message, error) {}))
	}
	loopCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- env.Client.RunBlaze(loopCtx, h, mixin.WithDeadLetter(func(context.Context, *mixin.Message, error) {}))
	}()
	err := script(loopCtx, env, metrics, forever)
	if ctx.Err() != nil {
		err = nil // interrupted: not a failure
	}
	cancel()
	return errors.Join(err, <-done)
}

// script is the users' side on the emulator. Once they have talked, it
// prints the key series, or, with forever, they go on talking (a message
// a second, one in five "boom") until ctx ends.
func script(ctx context.Context, env *demo.Env, metrics http.Handler, forever bool) error {
	alice := env.NewUser("a11ce000-0000-4000-8000-000000000001", "alice")
	bob := env.NewUser("b0b00000-0000-4000-8000-000000000002", "bob")
	for _, turn := range []struct {
		u    *demo.User
		text string
	}{{alice, "hello"}, {bob, "how long is this sentence?"}, {alice, "boom"}, {bob, "thanks"}} {
		if err := turn.u.Say(ctx, turn.text); err != nil {
			return err
		}
		if turn.text == "boom" {
			continue // refused: no answer comes
		}
		if _, err := turn.u.Next(ctx); err != nil {
			return err
		}
	}
	if err := settled(ctx, env, metrics); err != nil {
		return err
	}
	if !forever {
		printSeries(env, metrics)
		return nil
	}
	for i := 1; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
		text := fmt.Sprintf("message %d", i)
		if i%5 == 0 {
			text = "boom"
		}
		if err := alice.Say(ctx, text); err != nil {
			return err
		}
	}
}

// settled waits until the bot has acknowledged everything sent to it: the
// emulator holds nothing unacknowledged, and the bot's own metrics say the
// confirmations came back.
func settled(ctx context.Context, env *demo.Env, metrics http.Handler) error {
	for env.Server.Pending(env.Server.Bot().UserID) > 0 || seriesValue(scrape(metrics), "mixin_blaze_acks_pending") != 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// scrape returns what Prometheus would read from metrics.
func scrape(metrics http.Handler) string {
	rec := httptest.NewRecorder()
	metrics.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// seriesValue returns the value of the first series named name in page,
// or -1 if there is none.
func seriesValue(page, name string) float64 {
	for _, line := range strings.Split(page, "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
				return v
			}
		}
	}
	return -1
}

// keySeries are the series that answer the operator's three questions.
var keySeries = []string{
	"mixin_blaze_connected",                      // is it connected?
	"messaging_client_consumed_messages_total",   // keeping up: received…
	"mixin_blaze_messages_handled_total",         // …and handled
	"mixin_blaze_queue_messages",                 // …with nothing queued
	"mixin_blaze_lag_seconds_count",              // …how late
	"mixin_blaze_messages_dead_lettered_total",   // losing anything?
	"mixin_blaze_acks_pending",                   // …acknowledgements outstanding
	"mixin_blaze_acks_total",                     // …and confirmed
	"mixin_client_rate_limited_total",            // refused?
	"http_client_request_duration_seconds_count", // …every REST attempt, by route and error.type
}

// printSeries prints the key series as Prometheus would scrape them, less
// the instrumentation scope labels.
func printSeries(env *demo.Env, metrics http.Handler) {
	for _, line := range strings.Split(scrape(metrics), "\n") {
		for _, name := range keySeries {
			if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
				env.Printf("metric %s", dropScope(line))
			}
		}
	}
}

// dropScope removes the otel_scope_* labels the exporter adds to every
// series.
func dropScope(line string) string {
	open, end := strings.IndexByte(line, '{'), strings.LastIndexByte(line, '}')
	if open < 0 || end < open {
		return line
	}
	var kept []string
	for _, l := range strings.Split(line[open+1:end], ",") {
		if !strings.HasPrefix(l, "otel_scope_") {
			kept = append(kept, l)
		}
	}
	if len(kept) == 0 {
		return line[:open] + line[end+1:]
	}
	return line[:open] + "{" + strings.Join(kept, ",") + "}" + line[end+1:]
}
