package mixin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
)

// tagKey marks the contexts the recording tracer returns.
type tagKey struct{}

func tagOf(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	s, _ := ctx.Value(tagKey{}).(string)
	return s
}

// recTracer records every call of both tracer interfaces as a line.
type recTracer struct {
	mu     sync.Mutex
	events []string
	starts []BlazeStart
	ends   []MessageEnd
	conns  []ConnEvent
}

func (t *recTracer) add(format string, args ...any) {
	t.mu.Lock()
	t.events = append(t.events, fmt.Sprintf(format, args...))
	t.mu.Unlock()
}

func (t *recTracer) TraceRequestStart(ctx context.Context, d RequestStart) context.Context {
	t.add("request %s %s attempt=%d parent=%s", d.Method, d.Route, d.Attempt, tagOf(ctx))
	return ctx
}
func (t *recTracer) TraceRequestEnd(_ context.Context, d RequestEnd) {
	t.add("request end %s %s status=%d", d.Method, d.Route, d.Status)
}
func (t *recTracer) TraceBlazeStart(ctx context.Context, d BlazeStart) context.Context {
	t.mu.Lock()
	t.starts = append(t.starts, d)
	t.mu.Unlock()
	return context.WithValue(ctx, tagKey{}, "run")
}
func (t *recTracer) TraceBlazeEnd(ctx context.Context, err error) {
	t.add("blaze end %s err=%v", tagOf(ctx), err)
}
func (t *recTracer) TraceConn(ctx context.Context, e ConnEvent) {
	t.mu.Lock()
	t.conns = append(t.conns, e)
	t.mu.Unlock()
	t.add("conn %s %s %s", tagOf(ctx), e.State, e.Cause)
}
func (t *recTracer) TraceReceive(_ context.Context, m Inbound) {
	var de *MessageDecodeError
	t.add("receive %s %s %s bad=%v created=%v", m.MessageID, m.Category, m.Kind, errors.As(m.DecodeErr, &de), !m.CreatedAt.IsZero())
}
func (t *recTracer) TraceMessageStart(ctx context.Context, m Inbound) context.Context {
	t.add("start %s", m.MessageID)
	return context.WithValue(ctx, tagKey{}, "msg:"+m.MessageID)
}
func (t *recTracer) TraceAttempt(ctx context.Context, a Attempt) {
	t.add("attempt %s n=%d err=%v", tagOf(ctx), a.N, a.Err)
}
func (t *recTracer) TraceMessageEnd(ctx context.Context, e MessageEnd) {
	t.mu.Lock()
	t.ends = append(t.ends, e)
	t.mu.Unlock()
	t.add("end %s %s attempts=%d", tagOf(ctx), e.Outcome, e.Attempts)
}
func (t *recTracer) TraceBatchStart(ctx context.Context, b BatchStart) context.Context {
	tags := make([]string, len(b.Messages))
	for i, c := range b.Messages {
		tags[i] = tagOf(c)
	}
	t.add("batch %s size=%d messages=%s", b.Op, b.Size, strings.Join(tags, ","))
	return context.WithValue(ctx, tagKey{}, "batch:"+b.Op.String())
}
func (t *recTracer) TraceBatchEnd(ctx context.Context, b BatchEnd) {
	t.add("batch end %s %s size=%d err=%v", tagOf(ctx), b.Op, b.Size, b.Err)
}

func (t *recTracer) has(prefix string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.events {
		if strings.HasPrefix(e, prefix) {
			return true
		}
	}
	return false
}

func (t *recTracer) dump() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.events, "\n")
}

// The loop reports each message from the socket to its acknowledgement
// through the hook: received (with the decode error of one whose data is
// broken), started, attempted under the message's context, ended with its
// outcome, and acknowledged in a batch that carries the messages' contexts
// and whose REST request runs under the batch's. A frame that is not gzip
// ends the connection with DisconnectCauseBadFrame, and the next dial follows.
func TestTracerSeesTheLoop(t *testing.T) {
	good, bad := uuid.NewString(), uuid.NewString()
	badFrame := gzipBytes(t, []byte(`{"id":"`+uuid.NewString()+`","action":"CREATE_MESSAGE","data":{"type":"message","conversation_id":"`+uuid.NewString()+
		`","user_id":"`+uuid.NewString()+`","message_id":"`+bad+`","category":"PLAIN_TEXT","data_base64":"aGk","status":"SENT","source":"CREATE_MESSAGE","created_at":"not a time"}}`))
	var conns atomic.Int32
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn := acceptListed(w, r)
		if conn == nil {
			return
		}
		defer conn.Close()
		if conns.Add(1) == 1 {
			for _, f := range [][]byte{seedPushFrame(t, good), badFrame, []byte("not gzip")} {
				if conn.WriteMessage(websocket.BinaryMessage, f) != nil {
					return
				}
			}
		}
		<-r.Context().Done()
	}))
	defer ws.Close()
	acks := &ackServer{}
	rest := httptest.NewServer(acks)
	defer rest.Close()
	tr := &recTracer{}
	c, err := NewClient(benchKeystore(t), WithBaseURL(rest.URL), WithBlazeURL("ws"+strings.TrimPrefix(ws.URL, "http")+"/"), WithTracer(tr))
	if err != nil {
		t.Fatal(err)
	}
	var handlerTag atomic.Value
	h := HandlerFunc(func(ctx context.Context, m *Message) error { handlerTag.Store(tagOf(ctx)); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.RunBlaze(ctx, h, WithAckInterval(5*time.Millisecond), WithReconnect(Retry{Min: time.Millisecond, Max: 5 * time.Millisecond}))
	}()
	for i := 0; acks.acks.Load() < 2 || conns.Load() < 2 || !tr.has("conn run connected"); i++ {
		if i > 20000 {
			t.Fatalf("the loop made no progress:\n%s", tr.dump())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	events := tr.dump()
	for _, want := range []string{
		"receive " + good + " PLAIN_TEXT message bad=false created=true",
		"receive " + bad + " PLAIN_TEXT message bad=true",
		"start " + good, "start " + bad,
		"attempt msg:" + good + " n=1 err=<nil>",
		"end msg:" + good + " handled attempts=1",
		"end msg:" + bad + " dead_lettered attempts=0",
		"request POST /acknowledgements attempt=1 parent=batch:ack",
		"conn run disconnected bad_frame",
		"conn run disconnected shutdown",
		"blaze end run err=<nil>",
	} {
		if !strings.Contains(events, want) {
			t.Errorf("no event %q in:\n%s", want, events)
		}
	}
	for _, id := range []string{good, bad} {
		if !ackCarries(events, id) {
			t.Errorf("no acknowledgement batch carries the context of %s:\n%s", id, events)
		}
	}
	if got := handlerTag.Load(); got != "msg:"+good {
		t.Errorf("the handler's ctx does not derive from its message's: tag %v", got)
	}
	checkStartAndStats(t, tr)
}

func ackCarries(events, id string) bool {
	for _, l := range strings.Split(events, "\n") {
		if strings.HasPrefix(l, "batch ack ") && strings.Contains(l, "msg:"+id) {
			return true
		}
	}
	return false
}

func checkStartAndStats(t *testing.T, tr *recTracer) {
	t.Helper()
	if len(tr.starts) != 1 {
		t.Fatalf("TraceBlazeStart called %d times", len(tr.starts))
	}
	st := tr.starts[0]
	if st.AppID != testAppID || st.Workers != 8 || st.Stats == nil {
		t.Errorf("BlazeStart = %+v", st)
	}
	if s := st.Stats(); s.Queued != 0 || s.AcksPending != 0 || s.State != ConnStateDisconnected {
		t.Errorf("stats after the run: %+v", s)
	}
	var deadErr *MessageDecodeError
	for _, e := range tr.ends {
		if e.Outcome == MessageOutcomeDeadLettered && !errors.As(e.Err, &deadErr) {
			t.Errorf("dead-lettered with %v, want a *MessageDecodeError", e.Err)
		}
	}
}

// The causes the loop reports for the ways a connection ends.
func TestDisconnectCause(t *testing.T) {
	for _, c := range []struct {
		err       error
		connected bool
		want      DisconnectCause
	}{
		{context.Canceled, true, DisconnectCauseShutdown},
		{&APIError{Code: CodeUnauthorized}, false, DisconnectCauseUnauthorized},
		{&APIError{Code: CodeUnauthorized}, true, DisconnectCauseUnauthorized},
		{&APIError{Code: 503, Status: 503}, false, DisconnectCauseUpgradeRefused},
		{&APIError{Code: 7000}, true, DisconnectCauseServerError},
		{errors.New("dial tcp: connection refused"), false, DisconnectCauseDialFailed},
		{errRelist, true, DisconnectCauseRelist},
		{fmt.Errorf("%w: %w", errNoListing, errors.New("eof")), true, DisconnectCauseNoListing},
		{&FrameError{Reason: "not gzip"}, true, DisconnectCauseBadFrame},
		{errNotBinary, true, DisconnectCauseBadFrame},
		{fmt.Errorf("mixin: blaze: read: %w", &websocket.CloseError{Code: websocket.CloseGoingAway}), true, DisconnectCauseServerClosed},
		{fmt.Errorf("mixin: blaze: read: %w", &websocket.CloseError{Code: websocket.CloseAbnormalClosure}), true, DisconnectCauseConnLost},
		{fmt.Errorf("mixin: blaze: read: %w", timeoutErr{}), true, DisconnectCauseKeepalive},
		{errors.New("connection reset by peer"), true, DisconnectCauseConnLost},
	} {
		if got := disconnectCause(c.err, c.connected); got != c.want {
			t.Errorf("disconnectCause(%v, connected=%v) = %s, want %s", c.err, c.connected, got, c.want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// Every path the client builds has a template that hides its ids, numbers
// and query; a path no template knows keeps only its first segment.
func TestRouteTemplate(t *testing.T) {
	id := uuid.NewString()
	for path, want := range map[string]string{
		"/me":                  "/me",
		"/me/code":             "/me/code",
		"/acknowledgements":    "/acknowledgements",
		"/conversations/" + id: "/conversations/{conversation_id}",
		"/conversations/" + id + "/participants/ADD": "/conversations/{conversation_id}/participants/{action}",
		"/conversations/" + id + "/join":             "/conversations/{code_id}/join",
		"/conversations/" + id + "/circles":          "/conversations/{conversation_id}/circles",
		"/circles/" + id + "/conversations?limit=5":  "/circles/{circle_id}/conversations",
		"/users/fetch":               "/users/fetch",
		"/users/" + id:               "/users/{user_id}",
		"/users/7000":                "/users/{user_id}",
		"/search/%2B8613800138000":   "/search/{query}",
		"/messages/status/1234":      "/messages/status/{offset}",
		"/attachments/" + id:         "/attachments/{attachment_id}",
		"/unknown/" + id + "/deeper": "/unknown/{id}/{id}",
		"/unknown":                   "/unknown",
		"/conversations/" + id + "/participants/ADD/xx": "/conversations/{id}/{id}/{id}/{id}",
	} {
		if got := routeTemplate(path); got != want {
			t.Errorf("routeTemplate(%q) = %q, want %q", path, got, want)
		}
	}
}

// WithTracer refuses nil.
func TestWithTracerNil(t *testing.T) {
	var fe *FieldError
	if _, err := NewClient(benchKeystore(t), WithTracer(nil)); !errors.As(err, &fe) || fe.Field != "tracer" {
		t.Fatalf("WithTracer(nil): %v", err)
	}
}

// A handler attempt that ends its goroutine with runtime.Goexit is
// reported as an attempt that failed with ErrHandlerExited, and the retry
// that follows as attempt 2, under the same message context.
func TestTracerSeesAGoexit(t *testing.T) {
	id := uuid.NewString()
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn := acceptListed(w, r)
		if conn == nil {
			return
		}
		defer conn.Close()
		if conn.WriteMessage(websocket.BinaryMessage, seedPushFrame(t, id)) != nil {
			return
		}
		<-r.Context().Done()
	}))
	defer ws.Close()
	acks := &ackServer{}
	rest := httptest.NewServer(acks)
	defer rest.Close()
	tr := &recTracer{}
	c, err := NewClient(benchKeystore(t), WithBaseURL(rest.URL), WithBlazeURL("ws"+strings.TrimPrefix(ws.URL, "http")+"/"), WithTracer(tr))
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	h := HandlerFunc(func(context.Context, *Message) error {
		if calls.Add(1) == 1 {
			runtime.Goexit()
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.RunBlaze(ctx, h, WithAckInterval(5*time.Millisecond), WithHandlerRetry(Retry{Attempts: 3, Min: time.Millisecond, Max: time.Millisecond}))
	}()
	for i := 0; acks.acks.Load() < 1; i++ {
		if i > 20000 {
			t.Fatalf("the loop made no progress:\n%s", tr.dump())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	events := tr.dump()
	for _, want := range []string{
		"attempt msg:" + id + " n=1 err=" + ErrHandlerExited.Error(),
		"attempt msg:" + id + " n=2 err=<nil>",
		"end msg:" + id + " handled attempts=2",
	} {
		if !strings.Contains(events, want) {
			t.Errorf("no event %q in:\n%s", want, events)
		}
	}
	if n := strings.Count(events, "start "+id); n != 1 {
		t.Errorf("the message started %d times, want once:\n%s", n, events)
	}
}
