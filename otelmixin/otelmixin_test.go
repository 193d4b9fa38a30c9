package otelmixin_test

import (
	"context"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/gomixin/mixin/otelmixin"
)

var plainText = otelmixin.KeyCategory.String(string(mixin.CategoryPlainText))

// After N messages of which K fail for good, the counters say N received,
// N−K handled, K failed and K dead-lettered; every message has a process
// span, and each handled one is linked from the settle span of its
// acknowledgement, whose REST request is its child.
func TestMessagesAndFailuresCounted(t *testing.T) {
	const n, k = 12, 4
	g := newRig(t)
	alice := g.srv.NewUser("Alice")
	var dead atomic.Int64
	h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		if string(mustBytes(t, m)) == "fail" {
			return mixin.Permanent(errFail)
		}
		return nil
	})
	g.runLoop(t, h, mixin.WithDeadLetter(func(context.Context, *mixin.Message, error) { dead.Add(1) }))
	for i := range n {
		text := "ok"
		if i%3 == 0 {
			text = "fail"
		}
		if _, err := alice.SendText(t.Context(), g.srv.Bot().UserID, text); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "every message acknowledged", func() bool { return dead.Load() == k && g.srv.Pending(g.srv.Bot().UserID) == 0 })
	eventually(t, "the acknowledgements counted", func() bool {
		return total(g.collect(t), otelmixin.MetricAcks, otelmixin.KeyAckResult.String("acked")) >= n
	})
	rm := g.collect(t)
	for _, c := range []struct {
		name string
		want int64
		with []attribute.KeyValue
	}{
		{otelmixin.MetricReceived, n, []attribute.KeyValue{plainText, semconv.MessagingSystemKey.String("mixin"), otelmixin.KeyKind.String("message")}},
		{otelmixin.MetricHandled, n - k, []attribute.KeyValue{plainText}},
		{otelmixin.MetricFailed, k, []attribute.KeyValue{plainText, semconv.ErrorTypeKey.String("permanent")}},
		{otelmixin.MetricDeadLettered, k, []attribute.KeyValue{plainText, otelmixin.KeyDeadLetterReason.String("handler")}},
		{otelmixin.MetricProcessDuration, n, []attribute.KeyValue{plainText}},
		{otelmixin.MetricLag, n - k, []attribute.KeyValue{plainText}},
		{otelmixin.MetricAckDelay, n, nil},
		{otelmixin.MetricConnected, 1, nil},
		{otelmixin.MetricQueued, 0, nil},
	} {
		if got := total(rm, c.name, c.with...); got != c.want {
			t.Errorf("%s%v = %d, want %d", c.name, c.with, got, c.want)
		}
	}
	if got := total(rm, otelmixin.MetricRequestDuration, semconv.URLTemplate("/acknowledgements"), semconv.HTTPRequestMethodKey.String("POST")); got == 0 {
		t.Error("no POST /acknowledgements request recorded")
	}
	checkMessageSpans(t, g, n, k)
}

func mustBytes(t *testing.T, m *mixin.Message) []byte {
	b, err := m.Bytes()
	if err != nil {
		t.Error(err)
	}
	return b
}

func checkMessageSpans(t *testing.T, g *rig, n, k int) {
	t.Helper()
	process := map[trace.SpanID]string{} // span → outcome
	linked := map[trace.SpanID]bool{}
	settles := map[trace.SpanID]bool{}
	var ackRequests []trace.SpanID // parents of POST /acknowledgements spans
	for _, s := range g.spans.Ended() {
		attrs := attribute.NewSet(s.Attributes()...)
		switch s.Name() {
		case "process":
			if v, _ := attrs.Value(otelmixin.KeyCategory); v.AsString() != string(mixin.CategoryPlainText) {
				continue
			}
			if v, _ := attrs.Value(semconv.MessagingMessageIDKey); v.AsString() == "" {
				t.Error("a process span without messaging.message.id")
			}
			if v, _ := attrs.Value(semconv.MessagingMessageConversationIDKey); v.AsString() == "" {
				t.Error("a process span without messaging.message.conversation_id")
			}
			v, _ := attrs.Value(otelmixin.KeyOutcome)
			process[s.SpanContext().SpanID()] = v.AsString()
		case "settle":
			settles[s.SpanContext().SpanID()] = true
			for _, l := range s.Links() {
				linked[l.SpanContext.SpanID()] = true
			}
		case "POST /acknowledgements":
			ackRequests = append(ackRequests, s.Parent().SpanID())
		}
	}
	if len(process) != n {
		t.Fatalf("%d process spans, want %d", len(process), n)
	}
	outcomes := map[string]int{}
	for id, o := range process {
		outcomes[o]++
		if !linked[id] {
			t.Errorf("the process span of a %s message is linked from no settle span", o)
		}
	}
	if outcomes["handled"] != n-k || outcomes["dead_lettered"] != k {
		t.Errorf("outcomes %v, want %d handled and %d dead_lettered", outcomes, n-k, k)
	}
	if len(ackRequests) == 0 {
		t.Fatal("no POST /acknowledgements span")
	}
	for _, p := range ackRequests {
		if !settles[p] {
			t.Error("a POST /acknowledgements span is not the child of a settle span")
		}
	}
}

// A socket the server drops is counted as a reconnect with its cause, and
// the connected gauge says 1 again afterwards.
func TestReconnectCountedWithCause(t *testing.T) {
	g := newRig(t, mixintest.WithFaults(mixintest.Faults{DropAfterFrames: 2}))
	alice := g.srv.NewUser("Alice")
	var handled atomic.Int64
	g.runLoop(t, mixin.HandlerFunc(func(context.Context, *mixin.Message) error { handled.Add(1); return nil }))
	for range 3 {
		if _, err := alice.SendText(t.Context(), g.srv.Bot().UserID, "hi"); err != nil {
			t.Fatal(err)
		}
	}
	lost := otelmixin.KeyDisconnectCause.String(string(mixin.DisconnectCauseConnLost))
	eventually(t, "a reconnect counted", func() bool { return total(g.collect(t), otelmixin.MetricReconnects, lost) >= 1 })
	g.srv.SetFaults(mixintest.Faults{})
	eventually(t, "all handled and connected", func() bool {
		return handled.Load() >= 3 && total(g.collect(t), otelmixin.MetricConnected) == 1
	})
	for _, p := range points(g.collect(t), otelmixin.MetricReconnects) {
		if v, _ := p.attrs.Value(otelmixin.KeyDisconnectCause); v.AsString() != string(mixin.DisconnectCauseConnLost) {
			t.Errorf("a reconnect counted with cause %q; the emulator only dropped sockets", v.AsString())
		}
	}
}

// A 429 is counted as rate limited, the retry after it as a retry, and each
// attempt's duration with its error.type.
func TestRateLimitCounted(t *testing.T) {
	g := newRig(t)
	if err := g.srv.FailNext(mixintest.Failure{Method: "GET", Path: "/me", Code: mixin.CodeTooManyRequests}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.client.ReadMe(t.Context()); err != nil {
		t.Fatal(err)
	}
	rm := g.collect(t)
	me := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String("GET"), semconv.URLTemplate("/me")}
	if got := total(rm, otelmixin.MetricRateLimited, me...); got != 1 {
		t.Errorf("rate limited = %d, want 1", got)
	}
	if got := total(rm, otelmixin.MetricRequestRetries, me...); got != 1 {
		t.Errorf("retries = %d, want 1", got)
	}
	if got := total(rm, otelmixin.MetricRequestDuration, append(me, semconv.ErrorTypeKey.String("429"))...); got != 1 {
		t.Errorf("attempts with error.type 429 = %d, want 1", got)
	}
	if got := total(rm, otelmixin.MetricRequestDuration, me...); got != 2 {
		t.Errorf("attempts = %d, want 2", got)
	}
	var resent bool
	for _, s := range g.spans.Ended() {
		if s.Name() == "GET /me" {
			attrs := attribute.NewSet(s.Attributes()...)
			if v, ok := attrs.Value(semconv.HTTPRequestResendCountKey); ok && v.AsInt64() == 1 {
				resent = true
			}
		}
	}
	if !resent {
		t.Error("the retried attempt's span lacks http.request.resend_count=1")
	}
}

// An API error is recorded by its Mixin code.
func TestErrorsByAPICode(t *testing.T) {
	g := newRig(t)
	if err := g.srv.FailNext(mixintest.Failure{Method: "GET", Path: "/me", Code: mixin.CodeForbidden}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.client.ReadMe(t.Context()); !mixin.IsForbidden(err) {
		t.Fatalf("Me: %v, want forbidden", err)
	}
	rm := g.collect(t)
	if got := total(rm, otelmixin.MetricRequestDuration, semconv.URLTemplate("/me"), semconv.ErrorTypeKey.String("403")); got != 1 {
		t.Errorf("attempts with error.type 403 = %d, want 1", got)
	}
}
