package mixin

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// recorder commits handled records in groups: each commit takes every
// record queued while the previous one ran, so under load one transaction
// carries many records and when idle a record commits at once. A failed
// commit is retried with backoff; its messages are not acknowledged
// meanwhile.
type recorder struct {
	s     Store
	log   *slog.Logger
	ctx   context.Context // for commits made by add
	slots chan struct{}   // one per record queued or being committed
	stop  <-chan struct{} // closed at shutdown: add waits no more

	mu     sync.Mutex
	queue  []recordReq
	commMu sync.Mutex // one commit at a time
	kick   chan struct{}
	tr     BlazeTracer // nil records nothing
}

type recordReq struct {
	id   string
	done func()
	tctx context.Context // the message's, for the tracer
}

// maxGroup bounds one commit.
const maxGroup = 1000

// add queues a record. If no commit is under way, the caller commits the
// queue itself at once (it would wait for a goroutine to wake otherwise:
// the shorter the time from a handler's return to its record's commit, the
// fewer messages a crash can make repeat); else the running commit's
// follower picks it up.
func (r *recorder) add(tctx context.Context, id string, done func()) {
	// Bound the handled-but-uncommitted messages: they are what a crash
	// repeats. While a commit stalls, workers wait here.
	select {
	case r.slots <- struct{}{}:
	case <-r.stop:
	}
	release := func() {
		select {
		case <-r.slots:
		default:
		}
	}
	r.mu.Lock()
	r.queue = append(r.queue, recordReq{id: id, done: func() { release(); done() }, tctx: tctx})
	r.mu.Unlock()
	if r.commMu.TryLock() {
		err := r.commitOnce(r.ctx)
		r.commMu.Unlock()
		if err == nil && r.pending() == 0 {
			return
		}
	}
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *recorder) pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queue)
}

func (r *recorder) run(ctx context.Context, stop <-chan struct{}) {
	failures := 0
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-r.kick:
		}
		for {
			err := r.commit(ctx)
			if err == nil {
				failures = 0
				break
			}
			failures++
			r.log.LogAttrs(ctx, slog.LevelWarn, "mixin: blaze: handled records not committed, will retry",
				slog.Int("failures", failures), slog.String("error", err.Error()))
			wait := time.NewTimer(backoffDelay(failures))
			select {
			case <-wait.C:
			case <-stop:
				wait.Stop()
				return
			case <-ctx.Done():
				wait.Stop()
				return
			}
		}
	}
}

// backoffDelay is 10ms doubling to 2s.
func backoffDelay(failures int) time.Duration {
	d := 10 * time.Millisecond << min(failures-1, 8)
	return min(d, 2*time.Second)
}

// commit commits everything queued, in groups of at most maxGroup, and
// runs their done functions. On error the unsent rest stays queued.
func (r *recorder) commit(ctx context.Context) error {
	r.commMu.Lock()
	defer r.commMu.Unlock()
	for {
		if r.pending() == 0 {
			return nil
		}
		if err := r.commitOnce(ctx); err != nil {
			return err
		}
	}
}

// commitOnce commits one group of what is queued. r.commMu must be held.
func (r *recorder) commitOnce(ctx context.Context) error {
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

	ids := make([]string, n)
	for i, q := range group {
		ids[i] = q.id
	}
	if err := r.markHandled(ctx, group, ids); err != nil {
		r.mu.Lock()
		r.queue = append(group, r.queue...)
		r.mu.Unlock()
		return err
	}
	for _, q := range group {
		q.done()
	}
	return nil
}

// leaseBook holds this replica's conversation leases.
type leaseBook struct {
	s     Store
	owner string
	ttl   time.Duration
	moves leaseMoves // for BlazeStats

	mu   sync.Mutex
	held map[string]*leaseEntry
}

type leaseEntry struct {
	until time.Time // local estimate of the lease's end
	busy  int       // messages admitted and not settled
	used  time.Time // last settle
}

// acquire takes or keeps the lease on key for one message; true means this
// replica may handle it now. A lease with less than half its time left is
// renewed first.
func (b *leaseBook) acquire(ctx context.Context, key string) (bool, error) {
	now := time.Now()
	b.mu.Lock()
	if e := b.held[key]; e != nil && e.until.Sub(now) > b.ttl/2 {
		e.busy++
		b.mu.Unlock()
		return true, nil
	}
	b.mu.Unlock()
	got, err := b.s.Lease(ctx, b.owner, []string{key}, b.ttl)
	if err != nil {
		return false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !got[0] {
		if b.held[key] != nil {
			b.moves.lost.Add(1)
		}
		delete(b.held, key)
		return false, nil
	}
	e := b.held[key]
	if e == nil {
		e = &leaseEntry{}
		b.held[key] = e
		b.moves.acquired.Add(1)
	}
	e.until = now.Add(b.ttl)
	e.busy++
	return true, nil
}

func (b *leaseBook) done(key string) {
	b.mu.Lock()
	if e := b.held[key]; e != nil {
		e.busy--
		e.used = time.Now()
	}
	b.mu.Unlock()
}

// run renews the leases in use every third of the lease and releases the
// idle ones.
func (b *leaseBook) run(ctx context.Context, stop <-chan struct{}) {
	t := time.NewTicker(b.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			b.tick(ctx)
		}
	}
}

func (b *leaseBook) tick(ctx context.Context) {
	now := time.Now()
	var renew, release []string
	b.mu.Lock()
	for k, e := range b.held {
		if e.busy > 0 || now.Sub(e.used) < b.ttl/3 {
			renew = append(renew, k)
		} else {
			release = append(release, k)
			delete(b.held, k)
			b.moves.released.Add(1)
		}
	}
	if len(release) > 0 {
		// Under the lock, so that no acquire renews a lease that this
		// release then deletes. An unreleased lease just runs out.
		_ = b.s.Release(ctx, b.owner, release)
	}
	b.mu.Unlock()
	if len(renew) == 0 {
		return
	}
	got, err := b.s.Lease(ctx, b.owner, renew, b.ttl)
	if err != nil {
		return // kept until it runs out; acquire renews on demand
	}
	b.mu.Lock()
	for i, k := range renew {
		if e := b.held[k]; e != nil {
			if got[i] {
				e.until = now.Add(b.ttl)
			} else {
				delete(b.held, k) // lost: another replica took it after we stalled
				b.moves.lost.Add(1)
			}
		}
	}
	b.mu.Unlock()
}

func (b *leaseBook) releaseAll(ctx context.Context) {
	b.mu.Lock()
	keys := make([]string, 0, len(b.held))
	for k := range b.held {
		keys = append(keys, k)
	}
	clear(b.held)
	b.mu.Unlock()
	b.moves.released.Add(int64(len(keys)))
	if len(keys) > 0 {
		_ = b.s.Release(ctx, b.owner, keys)
	}
}
