package mixin

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ackEntry is one queued acknowledgement and the dedupe key it confirms.
type ackEntry struct {
	req AcknowledgementRequest
	key [16]byte
	ctx context.Context // of its message, for the tracer; nil without
}

// acker batches acknowledgements: up to 100 per request, sent when a batch
// is full or the interval passes, never dropped. A batch that fails for a
// reason that may pass (network, 5xx, 429) goes back to the front of the
// queue and is retried with backoff; a batch the server refuses is split
// until the refused acknowledgements are isolated, which are reported and
// given up, so the rest gets through.
type acker struct {
	interval time.Duration
	limit    int // the reader waits while this many are queued or in flight
	log      *slog.Logger
	send     func(ctx context.Context, batch []AcknowledgementRequest) error
	confirm  func(keys [][16]byte) // the server took them (or refused them for good)
	room     func()                // the queue shrank
	tr       BlazeTracer           // nil records nothing

	mu    sync.Mutex
	queue []ackEntry
	size  atomic.Int64  // queued plus in flight
	kick  chan struct{} // a full batch is waiting
	drain chan struct{} // send everything now (the connection dropped)

	requests atomic.Int64 // requests that succeeded
}

func newAcker(interval time.Duration, limit int, log *slog.Logger) *acker {
	return &acker{interval: interval, limit: limit, log: log, kick: make(chan struct{}, 1), drain: make(chan struct{}, 1)}
}

// add queues one acknowledgement. It never blocks and never drops: the
// reader keeps the queue bounded by waiting while full() holds.
func (a *acker) add(id string, status AckStatus, key [16]byte) {
	a.addEntry(ackEntry{req: AcknowledgementRequest{MessageID: id, Status: status}, key: key})
}

// addEntry queues e, as add does.
func (a *acker) addEntry(e ackEntry) {
	a.mu.Lock()
	a.queue = append(a.queue, e)
	full := len(a.queue) >= MaxMessagesPerRequest
	a.mu.Unlock()
	a.size.Add(1)
	if full {
		signal(a.kick)
	}
}

// full reports that the reader should stop admitting messages until
// acknowledgements are confirmed.
func (a *acker) full() bool { return a.size.Load() >= int64(a.limit) }

func (a *acker) pending() int { return int(a.size.Load()) }

// drainSoon asks for everything queued to be sent now, e.g. before the
// loop reconnects and the server lists what is unacknowledged.
func (a *acker) drainSoon() { signal(a.drain) }

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// run flushes until stop closes (a flush under way completes first, so an
// acknowledgement the server took is not sent again) or ctx ends; the
// caller does the final flush.
func (a *acker) run(ctx context.Context, stop <-chan struct{}) {
	t := time.NewTicker(a.interval)
	defer t.Stop()
	failures := 0
	for {
		var err error
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			err = a.flush(ctx, flushTick)
		case <-a.kick:
			err = a.flush(ctx, flushFull)
		case <-a.drain:
			err = a.flush(ctx, flushAll)
		}
		if err == nil {
			failures = 0
			continue
		}
		failures++
		a.log.LogAttrs(ctx, slog.LevelWarn, "mixin: blaze: acknowledgements not sent, will retry",
			slog.Int("queued", a.pending()), slog.String("error", err.Error()))
		if !pause(ctx, stop, Retry{Min: a.interval, Max: 10 * time.Second}.wait(failures)) {
			return
		}
	}
}

// pause waits d and reports true, or false as soon as stop closes or ctx
// ends: the retry wait of the loop's background workers.
func pause(ctx context.Context, stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
	case <-ctx.Done():
	}
	return false
}

// flushMode says how much of the queue a flush sends.
type flushMode int

const (
	flushFull flushMode = iota // only full batches: more are coming
	flushTick                  // full batches and one partial: the interval passed
	flushAll                   // everything: disconnected or shutting down
)

// flush sends queued acknowledgements as mode says. On a retryable error
// the unsent rest stays queued, in order, and the error is returned.
func (a *acker) flush(ctx context.Context, mode flushMode) error {
	for {
		a.mu.Lock()
		n := min(len(a.queue), MaxMessagesPerRequest)
		if n == 0 || (mode == flushFull && n < MaxMessagesPerRequest) {
			a.mu.Unlock()
			return nil
		}
		batch := make([]ackEntry, n)
		copy(batch, a.queue[:n])
		clear(a.queue[:n]) // drop the ids' strings with the batch
		a.queue = a.queue[n:]
		if len(a.queue) == 0 {
			a.queue = nil // don't keep a burst's backing array alive
		}
		a.mu.Unlock()

		if unsent, err := a.sendBatch(ctx, batch); err != nil {
			a.mu.Lock()
			a.queue = append(unsent, a.queue...)
			a.mu.Unlock()
			return err
		}
		if mode == flushTick && n < MaxMessagesPerRequest {
			return nil
		}
	}
}

// sendBatch sends batch; a refusal is narrowed down by halves so only the
// refused acknowledgements are given up. On a failure worth retrying it
// returns the error and the entries not confirmed, in order.
func (a *acker) sendBatch(ctx context.Context, batch []ackEntry) (unsent []ackEntry, err error) {
	reqs := make([]AcknowledgementRequest, len(batch))
	for i, e := range batch {
		reqs[i] = e.req
	}
	err = a.sendTraced(ctx, batch, reqs)
	switch {
	case err == nil:
		a.requests.Add(1)
		a.settle(batch)
		return nil, nil
	case !ackRefused(err):
		return batch, err
	case len(batch) == 1:
		a.log.LogAttrs(ctx, slog.LevelError, "mixin: blaze: acknowledgement refused; giving it up",
			slog.String("message_id", batch[0].req.MessageID), slog.String("status", string(batch[0].req.Status)),
			slog.String("error", err.Error()))
		a.settle(batch)
		return nil, nil
	}
	half := len(batch) / 2
	if rest, err := a.sendBatch(ctx, batch[:half]); err != nil {
		return append(append([]ackEntry(nil), rest...), batch[half:]...), err
	}
	return a.sendBatch(ctx, batch[half:])
}

// settle confirms what the server took or refused for good and frees room.
func (a *acker) settle(batch []ackEntry) {
	keys := make([][16]byte, len(batch))
	for i, e := range batch {
		keys[i] = e.key
	}
	if a.confirm != nil {
		a.confirm(keys)
	}
	a.size.Add(-int64(len(batch)))
	if a.room != nil {
		a.room()
	}
}

// ackRefused reports an answer that says the acknowledgements themselves
// are wrong, so sending them again cannot help.
func ackRefused(err error) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	return !e.Temporary() && e.Code != CodeUnauthorized
}
