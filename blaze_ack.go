package mixin

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// acker batches acknowledgements over REST: up to 100 per request, sent
// when a batch is full or the interval passes, never dropped — a failed
// batch goes back to the front of the queue.
type acker struct {
	c        *Client
	interval time.Duration
	log      *slog.Logger

	mu     sync.Mutex
	queue  []AcknowledgementRequest
	queued map[AcknowledgementRequest]struct{} // what queue holds or a flush is sending
	kick   chan struct{}                       // a full batch is waiting
	drain  chan struct{}                       // send everything now (the connection dropped)

	requests atomic.Int64 // POSTs that succeeded
	acked    atomic.Int64 // acknowledgements they carried
}

func newAcker(c *Client, interval time.Duration, log *slog.Logger) *acker {
	return &acker{c: c, interval: interval, log: log, queued: make(map[AcknowledgementRequest]struct{}), kick: make(chan struct{}, 1), drain: make(chan struct{}, 1)}
}

// add queues one acknowledgement.
func (a *acker) add(id string, status AckStatus) {
	ack := AcknowledgementRequest{MessageID: id, Status: status}
	a.mu.Lock()
	if _, dup := a.queued[ack]; dup {
		a.mu.Unlock()
		return // a redelivery of a message whose acknowledgement is already on its way
	}
	a.queued[ack] = struct{}{}
	a.queue = append(a.queue, ack)
	full := len(a.queue) >= MaxMessagesPerRequest
	a.mu.Unlock()
	if full {
		a.flushSoon()
	}
}

func (a *acker) flushSoon() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// drainSoon asks for everything queued to be sent now, e.g. before the
// loop reconnects and the server re-lists what is unacknowledged.
func (a *acker) drainSoon() {
	select {
	case a.drain <- struct{}{}:
	default:
	}
}

func (a *acker) pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.queue)
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
		if err != nil {
			failures++
			a.log.LogAttrs(ctx, slog.LevelWarn, "mixin: blaze: acknowledgements not sent, will retry",
				slog.Int("queued", a.pending()), slog.String("error", err.Error()))
			wait := time.NewTimer(Retry{Min: a.interval, Max: 10 * time.Second}.wait(failures))
			select {
			case <-wait.C:
			case <-stop:
				wait.Stop()
				return
			case <-ctx.Done():
				wait.Stop()
				return
			}
			continue
		}
		failures = 0
	}
}

// flushMode says how much of the queue a flush sends.
type flushMode int

const (
	flushFull flushMode = iota // only full batches: more are coming
	flushTick                  // full batches and one partial: the interval passed
	flushAll                   // everything: shutting down
)

// flush sends queued acknowledgements as mode says. On error the unsent
// rest stays queued, in order.
func (a *acker) flush(ctx context.Context, mode flushMode) error {
	for {
		a.mu.Lock()
		n := min(len(a.queue), MaxMessagesPerRequest)
		if n == 0 || (mode == flushFull && n < MaxMessagesPerRequest) {
			a.mu.Unlock()
			return nil
		}
		batch := make([]AcknowledgementRequest, n)
		copy(batch, a.queue[:n])
		clear(a.queue[:n]) // drop the ids' strings with the batch
		a.queue = a.queue[n:]
		if len(a.queue) == 0 {
			a.queue = nil // don't keep a burst's backing array alive
		}
		a.mu.Unlock()

		if err := a.c.postAcks(ctx, batch); err != nil {
			a.mu.Lock()
			a.queue = append(batch, a.queue...)
			a.mu.Unlock()
			return err
		}
		a.mu.Lock()
		for _, ack := range batch {
			delete(a.queued, ack)
		}
		if len(a.queued) == 0 {
			a.queued = make(map[AcknowledgementRequest]struct{}) // maps never shrink: drop a burst's table
		}
		a.mu.Unlock()
		a.requests.Add(1)
		a.acked.Add(int64(n))
		if mode == flushTick && n < MaxMessagesPerRequest {
			return nil
		}
	}
}
