package mixin

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// recorder commits handled records in groups. When idle a record commits
// at once; under load a commit starts at most every groupEvery (sooner once
// groupLeast records wait), taking every record queued meanwhile, so one
// transaction carries tens or hundreds of records and the store's cost per
// message falls by as much. A failed commit is retried with backoff; its
// messages are not acknowledged meanwhile, and workers wait once
// uncommitted records reach the bound.
type recorder struct {
	st    *storeRun
	slots chan struct{} // one per record queued or being committed
	kick  chan struct{}

	mu    sync.Mutex
	queue []recordReq

	commMu sync.Mutex  // one commit at a time
	tr     BlazeTracer // nil records nothing
}

type recordReq struct {
	rec  Record
	done func(recorded bool)
	tctx context.Context // the message's, for the tracer
}

// groupEvery is the shortest time between the starts of two commits, unless
// groupLeast records wait: what is handled within it commits together.
const (
	groupEvery = 2 * time.Millisecond
	groupLeast = 32
)

// minUncommitted is the least bound on records handled and not committed
// (the pool's size if larger). It must leave room for the records that
// arrive while a group commits, or the workers wait on every commit: at
// 50,000 messages a second and 2ms a commit on a busy machine, 100. A
// crash repeats at most these; in live traffic far fewer (what was handled
// in the last commit's time).
const minUncommitted = 256

// maxGroup bounds one commit.
const maxGroup = 1000

func newRecorder(st *storeRun, uncommitted int) *recorder {
	return &recorder{st: st, slots: make(chan struct{}, max(uncommitted, minUncommitted)), kick: make(chan struct{}, 1)}
}

// add queues a record for the next group; done runs once its group
// committed, with false if the record was fenced (see [Store.MarkHandled]).
// It waits while the bound of uncommitted records is reached (a commit
// stalls, the store is down): those are what a crash repeats. tctx is the
// message's context for the tracer (nil without).
func (r *recorder) add(tctx context.Context, rec Record, done func(recorded bool)) {
	select {
	case r.slots <- struct{}{}:
	case <-r.st.stop:
	}
	r.mu.Lock()
	r.queue = append(r.queue, recordReq{rec: rec, done: done, tctx: tctx})
	r.mu.Unlock()
	signal(r.kick)
}

func (r *recorder) pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queue)
}

// run commits until the store run stops, retrying failed commits with
// backoff.
func (r *recorder) run(ctx context.Context) {
	var last time.Time
	failures := 0
	for {
		select {
		case <-r.st.stop:
			return
		case <-ctx.Done():
			return
		case <-r.kick:
		}
		for r.pending() > 0 {
			if wait := groupEvery - time.Since(last); wait > 0 && r.pending() < groupLeast {
				if !r.st.sleep(ctx, wait) {
					return
				}
			}
			last = time.Now()
			err := r.commitOnce(ctx)
			if err == nil {
				failures = 0
				continue
			}
			failures++
			r.st.health.failed(ctx, "record", err)
			r.st.log.LogAttrs(ctx, slog.LevelWarn, "mixin: blaze: handled records not committed, will retry",
				slog.Int("failures", failures), slog.String("error", err.Error()))
			if !r.st.pause(ctx, failures) {
				return
			}
		}
	}
}

// drain commits everything queued, at shutdown, until ctx ends.
func (r *recorder) drain(ctx context.Context) error {
	for r.pending() > 0 {
		if err := r.commitOnce(ctx); err != nil {
			return err
		}
	}
	return nil
}

// commitOnce commits one group of what is queued and runs the done
// functions; on error the group goes back to the front of the queue.
func (r *recorder) commitOnce(ctx context.Context) error {
	r.commMu.Lock()
	defer r.commMu.Unlock()
	r.mu.Lock()
	n := min(len(r.queue), maxGroup)
	if n == 0 {
		r.mu.Unlock()
		return nil
	}
	group := make([]recordReq, n)
	copy(group, r.queue[:n])
	clear(r.queue[:n])
	r.queue = r.queue[n:]
	if len(r.queue) == 0 {
		r.queue = nil
	}
	r.mu.Unlock()

	recs := make([]Record, n)
	for i, q := range group {
		recs[i] = q.rec
	}
	ok, err := r.markHandled(ctx, group, recs)
	if err != nil {
		r.mu.Lock()
		r.queue = append(group, r.queue...)
		r.mu.Unlock()
		return err
	}
	r.st.health.worked()
	for i, q := range group {
		select {
		case <-r.slots:
		default:
		}
		q.done(ok[i])
	}
	return nil
}

// errShortAnswer is a store's answer that does not cover what was asked.
var errShortAnswer = errors.New("the store's answer does not match the records asked for")

// sleep waits d unless the store run stops first.
func (s *storeRun) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stop:
	case <-ctx.Done():
	}
	return false
}

// storeHealth tells the state hook when the store starts failing and when
// it works again, once per change, not per failed call.
type storeHealth struct {
	emit func(StateEvent)
	log  *slog.Logger

	down     atomic.Bool
	mu       sync.Mutex
	failures int
}

// failed notes a failed call; the first of a run of failures is reported.
// A failure because ctx ended (the loop is stopping) is not the store's.
// Events are emitted under mu, so a recovery is never reported before the
// failure it ends.
func (h *storeHealth) failed(ctx context.Context, op string, err error) {
	if ctx.Err() != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failures++
	if h.down.Swap(true) {
		return
	}
	e := &StoreError{Op: op, Err: err}
	h.log.LogAttrs(ctx, slog.LevelWarn, "mixin: blaze: store failing; messages wait for it", slog.String("error", e.Error()))
	h.emit(StateEvent{State: ConnStateStoreFailed, Attempt: h.failures, Err: e})
}

// worked notes a write that succeeded: the store is back if it was down.
func (h *storeHealth) worked() {
	if !h.down.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down.Swap(false) {
		return
	}
	n := h.failures
	h.failures = 0
	h.log.LogAttrs(context.Background(), slog.LevelInfo, "mixin: blaze: store recovered", slog.Int("failures", n))
	h.emit(StateEvent{State: ConnStateStoreRecovered, Attempt: n})
}
