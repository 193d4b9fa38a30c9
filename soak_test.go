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
func soakMessages(t *testing.T) (n int, long bool) {
	v := os.Getenv("MIXIN_SOAK_MESSAGES")
	if v == "" {
		return 20000, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 200 {
		t.Fatalf("MIXIN_SOAK_MESSAGES=%q: want an integer of at least 200", v)
	}
	return n, true
}

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

// TestSoak pushes many messages from 200 simulated users through the blaze
// loop while the emulator drops the socket every 500 frames, fails 5% of
// acknowledgement requests and rate-limits 1% of all requests. Every
// message must reach the handler exactly once and in order per
// conversation, everything must end acknowledged, and shutdown must leave
// no goroutine behind.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test: skipped with -short")
	}
	total, long := soakMessages(t)
	const convs = 200
	budget := 60 * time.Second
	if long {
		budget = time.Duration(total/20000+1) * 5 * time.Minute
	}

	faults := mixintest.Faults{
		Seed:            20260101,
		DropAfterFrames: 500,
		ErrorRate:       0.05,
		ErrorPaths:      []string{"/acknowledgements"},
		RateLimitRate:   0.01,
		RetryAfter:      20 * time.Millisecond, // advertised as "1" (whole seconds)
		FrameJitter:     0,
	}
	s := mixintest.NewServer(t, mixintest.WithFaults(faults))
	c := botClient(t, s, mixin.WithRetry(mixin.Retry{Attempts: 6, Min: 2 * time.Millisecond, Max: 50 * time.Millisecond}), mixin.WithMaxRetryAfter(2*time.Second))
	bot := s.Bot().ID
	ctx, cancelSends := context.WithTimeout(context.Background(), budget+time.Minute)
	defer cancelSends()

	users := make([]*mixintest.User, convs)
	convIDs := make([]string, convs)
	for i := range users {
		users[i] = s.NewUser(fmt.Sprintf("soak-%03d", i))
		convIDs[i] = users[i].ContactConversationID(bot)
	}
	s.SetFaults(mixintest.Faults{}) // warm-up without faults
	_, err := c.Me(ctx)             // warm the HTTP pool: its goroutines count as baseline
	require.NoError(t, err)
	s.SetFaults(faults)
	runtime.GC()
	baseline := runtime.NumGoroutine()

	perConv := total / convs
	total = perConv * convs
	h := &soakHandler{next: map[string]int{}, seen: make(map[string]struct{}, total)}
	var sent atomic.Int64
	// send injects messages [from, to) of every conversation, from 4
	// goroutines that each own 50 conversations (so each conversation's
	// messages are sent in order). Users wait while more than window
	// messages are unhandled, as real traffic does not outrun its reader
	// forever.
	send := func(from, to int, window int64) error {
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for seq := from; seq < to; seq++ {
					for window > 0 && sent.Load()-h.total.Load() > window {
						time.Sleep(time.Millisecond)
					}
					for i := g; i < convs; i += 4 {
						var err error
						text := strconv.Itoa(i) + ":" + strconv.Itoa(seq)
						if seq == 0 {
							_, err = users[i].SendText(ctx, bot, text) // creates the contact conversation
						} else {
							_, err = users[i].Send(ctx, mixintest.MessageRequest{ConversationID: convIDs[i], RecipientID: bot,
								Category: "PLAIN_TEXT", Data: []byte(text)})
						}
						if err != nil {
							errs <- fmt.Errorf("send %s: %w", text, err)
							return
						}
						sent.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		return <-errs
	}

	start := time.Now()
	// Half waits as pending before the loop starts; half arrives live.
	early := perConv / 2
	require.NoError(t, send(0, early, 0))

	var connects, disconnects atomic.Int64
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- c.RunBlaze(runCtx, h,
			mixin.WithReconnect(mixin.Retry{Min: 2 * time.Millisecond, Max: 20 * time.Millisecond}),
			mixin.WithAckInterval(10*time.Millisecond),
			mixin.WithHandlerRetry(mixin.Retry{Attempts: 3, Min: time.Millisecond, Max: time.Millisecond}),
			mixin.WithShutdownTimeout(10*time.Second),
			mixin.WithStateHook(func(e mixin.StateEvent) {
				switch e.State {
				case mixin.StateConnected:
					connects.Add(1)
				case mixin.StateDisconnected:
					disconnects.Add(1)
				}
			}))
	}()
	var injected time.Duration
	sendErr := make(chan error, 1)
	go func() {
		err := send(early, perConv, 2000)
		injected = time.Since(start)
		sendErr <- err
	}()

	deadline := time.Now().Add(budget)
	for h.total.Load() < int64(total) || s.Pending(bot) != 0 {
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("after %v: handled %d of %d, %d unacknowledged, %d connections",
				budget, h.total.Load(), total, s.Pending(bot), connects.Load())
			msg += "; " + ackFigures(s)
			cancelSends()
			cancel()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				msg += "; RunBlaze did not return after cancel"
			}
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	require.NoError(t, <-sendErr)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("RunBlaze did not return after cancel")
	}

	h.mu.Lock()
	assert.Zero(t, h.dups, "messages handled twice")
	assert.Empty(t, h.disorder, "per-conversation order")
	assert.Len(t, h.seen, total)
	for i, id := range convIDs {
		assert.Equal(t, perConv, h.next[strconv.Itoa(i)], "conversation %s", id)
	}
	h.mu.Unlock()
	assert.Zero(t, s.Pending(bot), "everything acknowledged")
	assert.Greater(t, connects.Load(), int64(total/500/2), "the emulator dropped the socket every 500 frames")

	var ackRequests, serverErrors, rateLimited int
	for _, r := range s.Requests() {
		if r.Method == "POST" && r.Path == "/acknowledgements" {
			ackRequests++
		}
		switch r.Status {
		case 500:
			serverErrors++
		case 429:
			rateLimited++
		}
	}
	assert.Positive(t, serverErrors, "faults were injected")

	c.CloseIdleConnections()
	var now int
	leakDeadline := time.Now().Add(10 * time.Second)
	for {
		now = runtime.NumGoroutine()
		if now <= baseline || time.Now().After(leakDeadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if now > baseline {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d after shutdown, baseline %d\n%s", now, baseline, buf[:runtime.Stack(buf, true)])
	}

	t.Logf("soak: %d messages in %d conversations handled in %v (%.0f msg/s; injection took %v); %d connections, %d disconnects; "+
		"%d ack requests (%s); faults answered: %d HTTP 500, %d HTTP 429; goroutines %d -> %d",
		total, convs, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), injected.Round(time.Millisecond),
		connects.Load(), disconnects.Load(), ackRequests, ackFigures(s), serverErrors, rateLimited, baseline, now)
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
