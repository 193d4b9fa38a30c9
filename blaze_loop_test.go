package mixin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests in this file run the loop against the emulator on fake time
// (see bubble); each pins one promise of RunBlaze that an earlier version
// broke.

func sendTexts(t *testing.T, u *mixintest.User, to string, n int, format string) {
	t.Helper()
	for i := range n {
		_, err := u.SendText(context.Background(), to, fmt.Sprintf(format, i))
		require.NoError(t, err)
	}
}

func TestBubbleSmoke(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		defer b.close()
		u := b.S.NewUser("Alice")
		rec := newRecorder()
		stop := b.run(rec)
		sendTexts(t, u, b.S.Bot().UserID, 5, "%d")
		waitFake(t, "handled", time.Minute, func() bool { return rec.total.Load() == 5 })
		waitFake(t, "acked", time.Minute, func() bool { return b.S.Pending(b.S.Bot().UserID) == 0 })
		require.NoError(t, stop())
		assert.Zero(t, rec.duplicates())
	})
}

// One conversation's backlog, larger than the whole queue, behind a stuck
// handler: a message of another conversation that arrives after it is
// still handled, within the conversation's wait budget; once the handler
// is unstuck, the backlog is handled in full, in order, once each.
func TestBlazeConversationBacklogDoesNotBlockOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		defer b.close()
		bot := b.S.Bot().UserID
		alice, bob := b.S.NewUser("Alice"), b.S.NewUser("Bob")
		const backlog = 1100 // more than the default queue of 1024
		sendTexts(t, alice, bot, backlog, "%04d")
		sendTexts(t, bob, bot, 1, "hello %d")
		aliceConv := alice.ContactConversationID(bot)
		release := make(chan struct{})
		var mu sync.Mutex
		var aliceGot []string
		var bobAt time.Time
		h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
			if m.ConversationID != aliceConv {
				mu.Lock()
				bobAt = time.Now()
				mu.Unlock()
				return nil
			}
			<-release
			mu.Lock()
			aliceGot = append(aliceGot, m.Text())
			mu.Unlock()
			return nil
		})
		start := time.Now()
		var st states
		stop := b.run(h, st.hook())
		waitFake(t, "Bob's message while Alice's handler is stuck", time.Minute, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return !bobAt.IsZero()
		})
		mu.Lock()
		assert.LessOrEqual(t, bobAt.Sub(start), 2*time.Second, "Bob waited for Alice's backlog")
		mu.Unlock()
		close(release)
		waitFake(t, "Alice's backlog", 10*time.Minute, func() bool { mu.Lock(); defer mu.Unlock(); return len(aliceGot) >= backlog })
		waitFake(t, "acknowledgements", time.Minute, func() bool { return b.S.Pending(bot) == 0 })
		require.NoError(t, stop())
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, aliceGot, backlog, "each of Alice's messages once")
		for i, txt := range aliceGot {
			require.Equal(t, fmt.Sprintf("%04d", i), txt, "Alice's order")
		}
		assert.GreaterOrEqual(t, st.count(mixin.ConnStateConnected), 2, "the deferred messages came with a new listing")
	})
}

// Handlers and hooks that ignore ctx and never return: RunBlaze still
// returns within the shutdown timeout plus the flush bound, and what was
// not acknowledged stays pending for the next run.
func TestBlazeShutdownIsBoundedWhateverUserCodeDoes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		defer b.close()
		forever := make(chan struct{})
		defer close(forever)
		bot := b.S.Bot().UserID
		var entered atomic.Int32
		h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
			entered.Add(1)
			if m.Text() == "fail" {
				return mixin.Permanent(errors.New("no"))
			}
			<-forever // ignores ctx
			return nil
		})
		const grace = 3 * time.Second
		stop := b.run(h, mixin.WithShutdownTimeout(grace),
			mixin.WithDeadLetter(func(context.Context, *mixin.Message, error) { <-forever }),
			mixin.WithStateHook(func(e mixin.StateEvent) {
				if e.State == mixin.ConnStateDisconnected {
					<-forever
				}
			}))
		sendTexts(t, b.S.NewUser("Alice"), bot, 1, "stuck %d")
		_, err := b.S.NewUser("Bob").SendText(context.Background(), bot, "fail")
		require.NoError(t, err)
		waitFake(t, "both handlers", time.Minute, func() bool { return entered.Load() == 2 })
		synctest.Wait()
		start := time.Now()
		require.NoError(t, stop())
		assert.LessOrEqual(t, time.Since(start), 2*grace, "RunBlaze must return within the shutdown timeout plus the flush bound")
		assert.Equal(t, 2, b.S.Pending(bot), "neither message was acknowledged: both come again")
	})
}

// refuseAcksOf makes the emulator refuse, with error 10002, every
// acknowledgement request that carries id.
func refuseAcksOf(id string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/acknowledgements") {
				body, _ := io.ReadAll(r.Body)
				if bytes.Contains(body, []byte(id)) {
					w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
					w.WriteHeader(http.StatusAccepted)
					_, _ = io.WriteString(w, `{"error":{"status":202,"code":10002,"description":"The request data has invalid field."}}`)
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// logRecords captures what a client logs.
type logRecords struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	var sb strings.Builder
	sb.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { sb.WriteString(" " + a.Key + "=" + a.Value.String()); return true })
	l.mu.Lock()
	l.msgs = append(l.msgs, sb.String())
	l.mu.Unlock()
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }

func (l *logRecords) find(substr string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, m := range l.msgs {
		if strings.Contains(m, substr) {
			out = append(out, m)
		}
	}
	return out
}

// An acknowledgement the server refuses is isolated and reported; the 20
// good ones batched with it get through.
func TestBlazeRefusedAcknowledgementIsIsolated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		defer b.close()
		bot := b.S.Bot().UserID
		u := b.S.NewUser("Alice")
		poison, err := u.SendText(context.Background(), bot, "poison")
		require.NoError(t, err)
		sendTexts(t, u, bot, 20, "good %d")
		b.setWrap(refuseAcksOf(poison.MessageID))
		logs := &logRecords{}
		c := b.client(mixin.WithLogger(slog.New(logs)))
		rec := newRecorder()
		stop := b.runClient(c, rec)
		waitFake(t, "the good acknowledgements", time.Minute, func() bool { return b.S.Pending(bot) == 1 })
		synctest.Wait()
		require.NoError(t, stop())
		assert.Equal(t, 1, b.S.Pending(bot), "only the refused one is left")
		refused := logs.find("acknowledgement refused")
		require.Len(t, refused, 1, "the refusal is reported once")
		assert.Contains(t, refused[0], poison.MessageID)
		assert.EqualValues(t, 21, rec.total.Load())
	})
}

// An acknowledgement outage far longer than the dedupe window, with the
// socket dropping all along: no message is handled twice, and per
// conversation order holds; when acknowledgements work again, everything
// is acknowledged.
func TestBlazeAckOutageCausesNoDuplicates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		outage := mixintest.Faults{ErrorRate: 1, ErrorPaths: []string{"/acknowledgements"}}
		b := newBubble(t, mixintest.WithFaults(outage))
		defer b.close()
		bot := b.S.Bot().UserID
		users := []*mixintest.User{b.S.NewUser("A"), b.S.NewUser("B"), b.S.NewUser("C")}
		for _, u := range users {
			sendTexts(t, u, bot, 20, "%02d")
		}
		c := b.client(mixin.WithRequestRetry(mixin.Retry{Attempts: 1}))
		rec := newRecorder()
		var st states
		stop := b.runClient(c, rec, mixin.WithDedupeWindow(5), st.hook(),
			mixin.WithReconnect(mixin.Retry{Min: 200 * time.Millisecond, Max: time.Second}))
		waitFake(t, "all handled", time.Minute, func() bool { return rec.total.Load() >= 60 })
		// The outage goes on, and now the socket drops after every 7
		// pushes: each new listing pushes the oldest unacknowledged
		// messages again, handled long ago, far out of the window.
		outage.DropAfterFrames = 7
		b.S.SetFaults(outage)
		sendTexts(t, users[0], bot, 3, "more %d") // pushes 61-63: the current socket drops at 63
		time.Sleep(20 * time.Second)
		assert.Greater(t, st.count(mixin.ConnStateConnected), 5, "the socket dropped during the outage")
		b.S.SetFaults(mixintest.Faults{})
		waitFake(t, "acknowledgements after the outage", 2*time.Minute, func() bool { return b.S.Pending(bot) == 0 })
		require.NoError(t, stop())
		assert.Zero(t, rec.duplicates(), "handled twice during the outage")
		for _, u := range users {
			got := rec.byConv[u.ContactConversationID(bot)]
			require.GreaterOrEqual(t, len(got), 20)
			got = got[:20] // then Alice's "more" messages
			for i, txt := range got {
				assert.Equal(t, fmt.Sprintf("%02d", i), txt)
			}
		}
	})
}

// A state hook that panics, or calls runtime.Goexit, is recovered like a
// handler: the loop goes on and returns normally.
func TestBlazeStateHookPanicIsRecovered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		defer b.close()
		var calls atomic.Int32
		hook := mixin.WithStateHook(func(e mixin.StateEvent) {
			if calls.Add(1)%2 == 1 {
				panic("state hook")
			}
			runtime.Goexit()
		})
		rec := newRecorder()
		stop := b.run(rec, hook)
		sendTexts(t, b.S.NewUser("Alice"), b.S.Bot().UserID, 3, "%d")
		waitFake(t, "messages", time.Minute, func() bool { return rec.total.Load() == 3 })
		require.NoError(t, stop())
		assert.Equal(t, int32(3), calls.Load(), "connecting, connected, disconnected: each delivered")
		waitFake(t, "acknowledgements", time.Minute, func() bool { return b.S.Pending(b.S.Bot().UserID) == 0 })
	})
}

// A handler that calls runtime.Goexit (t.FailNow in a bot's test) does not
// stall its conversation: the attempt counts as failed, the retry
// succeeds, and the next messages follow in order.
func TestBlazeGoexitInHandlerDoesNotStallItsConversation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		defer b.close()
		var exited atomic.Bool
		rec := newRecorder()
		h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
			if m.Text() == "0" && !exited.Swap(true) {
				runtime.Goexit()
			}
			return rec.HandleMessage(ctx, m)
		})
		stop := b.run(h, mixin.WithHandlerWorkers(1))
		u := b.S.NewUser("Alice")
		sendTexts(t, u, b.S.Bot().UserID, 5, "%d")
		waitFake(t, "the conversation after the Goexit", time.Minute, func() bool { return rec.total.Load() == 5 })
		require.NoError(t, stop())
		assert.True(t, exited.Load())
		assert.Equal(t, []string{"0", "1", "2", "3", "4"}, rec.byConv[u.ContactConversationID(b.S.Bot().UserID)])
	})
}

// While the handlers hold the loop full for longer than the read timeout,
// the healthy connection is kept: keepalive measures the socket, not the
// handlers.
func TestBlazeBusyHandlersDoNotCostTheConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		defer b.close()
		bot := b.S.Bot().UserID
		var first atomic.Bool
		rec := newRecorder()
		h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
			if !first.Swap(true) {
				time.Sleep(30 * time.Second) // six read timeouts
			}
			return rec.HandleMessage(ctx, m)
		})
		var st states
		stop := b.run(h, mixin.WithHandlerQueueSize(1), mixin.WithKeepalive(2*time.Second, 5*time.Second), st.hook())
		for _, name := range []string{"A", "B", "C", "D"} {
			sendTexts(t, b.S.NewUser(name), bot, 1, "%d")
		}
		waitFake(t, "all handled", 2*time.Minute, func() bool { return rec.total.Load() == 4 })
		require.NoError(t, stop())
		assert.Empty(t, st.disconnects(), "the connection was dropped while the handlers were busy")
		assert.Equal(t, 1, st.count(mixin.ConnStateConnected))
	})
}

// An echo bot replying over the socket to a backlog of 1,200 messages:
// no reply waits behind the inbound messages (they fall back to REST at
// once while the loop is full), and every echo is sent once.
func TestBlazeSendsDoNotWaitBehindTheBacklog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		defer b.close()
		bot := b.S.Bot().UserID
		alice := b.S.NewUser("Alice")
		const backlog = 1200
		sendTexts(t, alice, bot, backlog, "%04d")
		var slowest atomic.Int64
		var echoed atomic.Int32
		h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
			start := time.Now()
			_, err := b.C.Reply(ctx, m, mixin.TextPayload("echo "+m.Text()), mixin.OverBlaze())
			if d := int64(time.Since(start)); d > slowest.Load() {
				slowest.Store(d)
			}
			if err == nil {
				echoed.Add(1)
			}
			return err
		})
		start := time.Now()
		stop := b.run(h)
		waitFake(t, "every echo", 10*time.Minute, func() bool { return echoed.Load() >= backlog })
		elapsed := time.Since(start)
		require.NoError(t, stop())
		assert.Less(t, time.Duration(slowest.Load()), time.Second, "a reply waited behind inbound messages")
		assert.Less(t, elapsed, time.Minute)
		distinct := map[string]bool{}
		for _, m := range alice.Inbox() {
			distinct[string(m.Data)] = true
		}
		assert.Len(t, distinct, backlog)
		assert.Len(t, alice.Inbox(), backlog, "each echo once")
	})
}

// A send over a socket that gives no reply falls back to REST after the
// configured reply timeout, with the same message id.
func TestBlazeReplyTimeoutOption(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		defer b.close()
		alice := b.S.NewUser("Alice")
		_, err := b.C.CreateContactConversation(context.Background(), alice.UserID)
		require.NoError(t, err)
		b.setUpgrade(scripted(t, func(_ int, conn *websocket.Conn, listID string) int {
			if conn != nil {
				_ = answerListing(conn, listID)
				drain(conn) // reads the CREATE_MESSAGE and never answers
			}
			return 0
		}))
		var st states
		stop := b.run(newRecorder(), st.hook(), mixin.WithSocketReplyTimeout(700*time.Millisecond))
		waitFake(t, "connected", time.Minute, func() bool { return st.count(mixin.ConnStateConnected) == 1 })
		time.Sleep(100 * time.Millisecond) // the listing's reply is in
		start := time.Now()
		m, err := b.C.SendText(context.Background(), mixin.ToUser(alice.UserID), "hi", mixin.OverBlaze())
		require.NoError(t, err)
		assert.Equal(t, 700*time.Millisecond, time.Since(start), "the reply timeout, then REST at once")
		in := alice.Inbox()
		require.Len(t, in, 1)
		assert.Equal(t, m.MessageID, in[0].MessageID)
		require.NoError(t, stop())
	})
}

// With acknowledgements failing, the loop stops taking messages once its
// acknowledgement queue is full instead of growing it: intake slows,
// nothing is dropped, and all is acknowledged once the server recovers.
func TestBlazeAckQueueBoundedBySlowingIntake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		outage := mixintest.Faults{ErrorRate: 1, ErrorPaths: []string{"/acknowledgements"}}
		b := newBubble(t, mixintest.WithFaults(outage))
		defer b.close()
		bot := b.S.Bot().UserID
		for i := range 30 {
			sendTexts(t, b.S.NewUser(fmt.Sprint("u", i)), bot, 100, "%03d")
		}
		c := b.client(mixin.WithRequestRetry(mixin.Retry{Attempts: 1}))
		rec := newRecorder()
		stop := b.runClient(c, rec, mixin.WithHandlerQueueSize(100))
		time.Sleep(time.Minute)
		assert.LessOrEqual(t, rec.total.Load(), int64(200+100), "handled beyond the acknowledgement bound during the outage")
		assert.Positive(t, rec.total.Load())
		b.S.SetFaults(mixintest.Faults{})
		waitFake(t, "everything, once acknowledgements work", 10*time.Minute, func() bool { return b.S.Pending(bot) == 0 })
		require.NoError(t, stop())
		assert.EqualValues(t, 3000, rec.total.Load())
		assert.Zero(t, rec.duplicates())
	})
}
