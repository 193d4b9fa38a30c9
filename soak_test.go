package mixin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// soakMessages is how many messages TestSoak pushes through the loop;
// MIXIN_SOAK_MESSAGES overrides it for long runs (e.g. 1000000).
func soakMessages(t *testing.T) int {
	v := os.Getenv("MIXIN_SOAK_MESSAGES")
	if v == "" {
		return 20000
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 200 {
		t.Fatalf("MIXIN_SOAK_MESSAGES=%q: want an integer of at least 200", v)
	}
	return n
}

// soakStall is how long the soak tolerates no progress at all (nothing
// handled, nothing acknowledged) before it fails: a slow machine makes
// slow progress and passes; a stalled loop fails.
const soakStall = 60 * time.Second

// soakHandler checks exactly-once and per-conversation order as messages
// arrive. Texts are "conv:seq".
type soakHandler struct {
	mu       sync.Mutex
	next     map[string]int      // conversation -> next expected seq
	seen     map[string]struct{} // message ids handled
	dups     int
	disorder []string
	total    atomic.Int64
}

func (h *soakHandler) HandleMessage(_ context.Context, m *mixin.Message) error {
	conv, seqText, ok := strings.Cut(m.Text(), ":")
	seq, err := strconv.Atoi(seqText)
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, dup := h.seen[m.MessageID]; dup {
		h.dups++
		return nil
	}
	h.seen[m.MessageID] = struct{}{}
	switch {
	case !ok || err != nil:
		h.disorder = append(h.disorder, "unparsable text "+strconv.Quote(m.Text()))
	case seq != h.next[conv]:
		if len(h.disorder) < 10 {
			h.disorder = append(h.disorder, fmt.Sprintf("conversation %s: got seq %d, want %d", conv, seq, h.next[conv]))
		}
		h.next[conv] = seq + 1
	default:
		h.next[conv] = seq + 1
	}
	h.total.Add(1)
	return nil
}

// soak is one soak run: simulated users sending to the bot through a
// faulty emulator, the bot's loop handling and acknowledging.
type soak struct {
	t                     *testing.T
	s                     *mixintest.Server
	c                     *mixin.Client
	bot                   string
	users                 []*mixintest.User
	convIDs               []string
	h                     *soakHandler
	sent                  atomic.Int64
	ctx                   context.Context
	connects, disconnects atomic.Int64
}

var soakFaults = mixintest.Faults{
	Seed:            20260101,
	DropAfterFrames: 500,
	ErrorRate:       0.05,
	ErrorPaths:      []string{"/acknowledgements"},
	RateLimitRate:   0.01,
	RetryAfter:      20 * time.Millisecond, // advertised as "1" (whole seconds)
}

func newSoak(t *testing.T, convs, total int) *soak {
	s := mixintest.NewServer(t, mixintest.WithFaults(soakFaults))
	sk := &soak{t: t, s: s, bot: s.Bot().UserID, ctx: context.Background(),
		c: botClient(t, s, mixin.WithRequestRetry(mixin.Retry{Attempts: 6, Min: 2 * time.Millisecond, Max: 50 * time.Millisecond}), mixin.WithMaxRequestRetryAfter(2*time.Second)),
		h: &soakHandler{next: map[string]int{}, seen: make(map[string]struct{}, total)}}
	sk.users = make([]*mixintest.User, convs)
	sk.convIDs = make([]string, convs)
	for i := range sk.users {
		sk.users[i] = s.NewUser(fmt.Sprintf("soak-%03d", i))
		sk.convIDs[i] = sk.users[i].ContactConversationID(sk.bot)
	}
	return sk
}

func (sk *soak) options() []mixin.BlazeOption {
	return []mixin.BlazeOption{
		mixin.WithReconnect(mixin.Retry{Min: 2 * time.Millisecond, Max: 20 * time.Millisecond}),
		mixin.WithAckInterval(10 * time.Millisecond),
		mixin.WithHandlerRetry(mixin.Retry{Attempts: 3, Min: time.Millisecond, Max: time.Millisecond}),
		mixin.WithShutdownTimeout(10 * time.Second),
		mixin.WithStateHook(func(e mixin.StateEvent) {
			switch e.State {
			case mixin.ConnStateConnected:
				sk.connects.Add(1)
			case mixin.ConnStateDisconnected:
				sk.disconnects.Add(1)
			}
		}),
	}
}

// send injects messages [from, to) of every conversation, from 4
// goroutines that each own a quarter of the conversations (so each
// conversation's messages are sent in order). Users wait while more than
// window messages are unhandled, as real traffic does not outrun its
// reader forever.
func (sk *soak) send(from, to int, window int64) error {
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := from; seq < to; seq++ {
				for window > 0 && sk.sent.Load()-sk.h.total.Load() > window {
					time.Sleep(time.Millisecond)
				}
				for i := g; i < len(sk.users); i += 4 {
					var err error
					text := strconv.Itoa(i) + ":" + strconv.Itoa(seq)
					if seq == 0 {
						_, err = sk.users[i].SendText(sk.ctx, sk.bot, text) // creates the contact conversation
					} else {
						_, err = sk.users[i].Send(sk.ctx, mixintest.MessageRequest{ConversationID: sk.convIDs[i], RecipientID: sk.bot,
							Category: "PLAIN_TEXT", Data: []byte(text)})
					}
					if err != nil {
						errs <- fmt.Errorf("send %s: %w", text, err)
						return
					}
					sk.sent.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// progress is a number that grows while the loop does anything useful.
func (sk *soak) progress() int64 { return 2*sk.h.total.Load() - int64(sk.s.Pending(sk.bot)) }

// waitProgress waits until cond holds, failing (with why) only after
// soakStall without any progress.
func (sk *soak) waitProgress(what string, cond func() bool) {
	sk.t.Helper()
	last, since := sk.progress(), time.Now()
	for !cond() {
		if p := sk.progress(); p != last {
			last, since = p, time.Now()
		} else if time.Since(since) > soakStall {
			sk.t.Fatalf("no progress for %v waiting for %s: handled %d of %d sent, %d unacknowledged, %d connections; %s",
				soakStall, what, sk.h.total.Load(), sk.sent.Load(), sk.s.Pending(sk.bot), sk.connects.Load(), ackFigures(sk.s))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runLoop starts RunBlaze; stop cancels it and checks it returned nil
// within its shutdown bound.
func (sk *soak) runLoop() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sk.c.RunBlaze(ctx, sk.h, sk.options()...) }()
	return func() {
		sk.t.Helper()
		cancel()
		select {
		case err := <-done:
			require.NoError(sk.t, err)
		case <-time.After(2*10*time.Second + soakStall):
			sk.t.Fatal("RunBlaze did not return after cancel")
		}
	}
}

// check asserts every message was handled exactly once, in order per
// conversation, and acknowledged.
func (sk *soak) check(perConv int) {
	sk.t.Helper()
	h := sk.h
	h.mu.Lock()
	defer h.mu.Unlock()
	assert.Zero(sk.t, h.dups, "messages handled twice")
	assert.Empty(sk.t, h.disorder, "per-conversation order")
	assert.Len(sk.t, h.seen, perConv*len(sk.users), "messages lost")
	for i, id := range sk.convIDs {
		assert.Equal(sk.t, perConv, h.next[strconv.Itoa(i)], "conversation %s", id)
	}
	assert.Zero(sk.t, sk.s.Pending(sk.bot), "everything acknowledged")
}

// TestSoak pushes many messages from 200 simulated users through the blaze
// loop while the emulator drops the socket every 500 frames, fails 5% of
// acknowledgement requests and rate-limits 1% of all requests. Every
// message must reach the handler exactly once and in order per
// conversation, everything must end acknowledged, and shutdown must leave
// no goroutine behind. It fails on a lack of progress, not on a deadline.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test: skipped with -short")
	}
	const convs = 200
	total := soakMessages(t)
	sk := newSoak(t, convs, total)
	sk.s.SetFaults(mixintest.Faults{}) // warm-up without faults
	_, err := sk.c.ReadMe(sk.ctx)      // warm the HTTP pool: its goroutines count as baseline
	require.NoError(t, err)
	sk.s.SetFaults(soakFaults)
	runtime.GC()
	baseline := runtime.NumGoroutine()

	perConv := total / convs
	total = perConv * convs
	start := time.Now()
	// Half waits as pending before the loop starts; half arrives live.
	early := perConv / 2
	require.NoError(t, sk.send(0, early, 0))
	stop := sk.runLoop()
	sendErr := make(chan error, 1)
	go func() { sendErr <- sk.send(early, perConv, 2000) }()
	sk.waitProgress("every message handled and acknowledged", func() bool {
		return sk.h.total.Load() >= int64(total) && sk.s.Pending(sk.bot) == 0
	})
	elapsed := time.Since(start)
	require.NoError(t, <-sendErr)
	stop()
	sk.check(perConv)
	assert.Greater(t, sk.connects.Load(), int64(total/500/2), "the emulator dropped the socket every 500 frames")
	var serverErrors, rateLimited int
	for _, r := range sk.s.Requests() {
		switch r.Status {
		case 500:
			serverErrors++
		case 429:
			rateLimited++
		}
	}
	assert.Positive(t, serverErrors, "faults were injected")

	sk.c.CloseIdleConnections()
	var now int
	for since := time.Now(); time.Since(since) < 10*time.Second; time.Sleep(20 * time.Millisecond) {
		if now = runtime.NumGoroutine(); now <= baseline {
			break
		}
	}
	if now > baseline {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d after shutdown, baseline %d\n%s", now, baseline, buf[:runtime.Stack(buf, true)])
	}
	t.Logf("soak: %d messages in %d conversations handled in %v (%.0f msg/s); %d connections, %d disconnects; %s; faults answered: %d HTTP 500, %d HTTP 429; goroutines %d -> %d",
		total, convs, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), sk.connects.Load(), sk.disconnects.Load(),
		ackFigures(sk.s), serverErrors, rateLimited, baseline, now)
}

// TestSoakRestarts stops the bot and starts a new RunBlaze on the same
// emulator several times while messages stream in, with the same faults
// as TestSoak: nothing is lost, nothing is handled twice (each shutdown
// flushed what was handled), order per conversation holds.
func TestSoakRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test: skipped with -short")
	}
	const convs, perConv, restarts = 50, 100, 6
	sk := newSoak(t, convs, convs*perConv)
	total := int64(convs * perConv)
	require.NoError(t, sk.send(0, perConv/4, 0))
	sendErr := make(chan error, 1)
	go func() { sendErr <- sk.send(perConv/4, perConv, 500) }()
	for run := 1; run <= restarts; run++ {
		stop := sk.runLoop()
		upTo := total * int64(run) / (restarts + 1)
		sk.waitProgress(fmt.Sprintf("run %d to handle %d", run, upTo), func() bool { return sk.h.total.Load() >= upTo })
		stop() // mid-stream: messages are queued, running and arriving
	}
	stop := sk.runLoop()
	sk.waitProgress("the rest after the restarts", func() bool {
		return sk.h.total.Load() >= total && sk.s.Pending(sk.bot) == 0
	})
	require.NoError(t, <-sendErr)
	stop()
	sk.check(perConv)
	t.Logf("restarts: %d runs, %d connections; %s", restarts+1, sk.connects.Load(), ackFigures(sk.s))
}

// ackFigures summarises the acknowledgement requests the emulator saw:
// requests, entries carried, distinct message ids.
func ackFigures(s *mixintest.Server) string {
	var reqs, entries int
	distinct := map[string]struct{}{}
	for _, r := range s.Requests() {
		if r.Method != "POST" || r.Path != "/acknowledgements" || r.Status != 200 {
			continue
		}
		var acks []struct {
			MessageID string `json:"message_id"`
		}
		_ = json.Unmarshal(r.Body, &acks)
		reqs++
		entries += len(acks)
		for _, a := range acks {
			distinct[a.MessageID] = struct{}{}
		}
	}
	return fmt.Sprintf("%d successful ack requests carrying %d acknowledgements of %d distinct messages", reqs, entries, len(distinct))
}
