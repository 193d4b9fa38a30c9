package mixin

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
)

// DefaultHandledHorizon is how long a handled record is kept unless
// [WithHandledHorizon] says otherwise: the server keeps an unacknowledged
// message for 7 days, so none can come again after that.
const DefaultHandledHorizon = 7 * 24 * time.Hour

// DefaultLease is how long a replica holds a conversation without renewing
// it, unless [WithReplica] says otherwise.
const DefaultLease = 10 * time.Second

// ErrNoStore is the error of [Tx] outside a handler of a loop run
// [WithStore].
var ErrNoStore = errors.New("mixin: no store: run the blaze loop WithStore to use Tx")

type storeConfig struct {
	store   Store
	horizon time.Duration
	replica string
	lease   time.Duration
}

// WithStore makes the loop keep its state in s (see [Store]; packages
// store/sqlite and store/postgres):
//
//   - handled once across crashes: a message whose handler returned nil is
//     recorded in s before its acknowledgement is sent, and a recorded
//     message is never handed to a handler again, not after a crash or a
//     restart. Records are committed in groups (whatever finished while the
//     previous commit ran), so throughput stays high; only a message whose
//     handler finished but whose group had not committed when the process
//     died is handled again. Records expire after [WithHandledHorizon].
//   - exactly-once effects for database work: a handler that calls [Tx]
//     does its writes in a transaction of s that also records the message;
//     both commit or neither does, so after any crash its writes happened
//     exactly once. Calls to outside services (sending a message, an HTTP
//     request) cannot join the transaction: after a crash between such a
//     call and the commit the message is handled again and the call repeats;
//     make those idempotent (e.g. a reply id derived from the message id).
//   - replicas: see [WithReplica]. Without it, one process owns the store:
//     a message pushed live (source CREATE_MESSAGE, its first delivery) is
//     not looked up, only those listed as pending after a (re)connection
//     are, so two processes sharing a store without WithReplica would both
//     handle live messages.
//
// A store failure never loses a message: an unrecorded message is not
// acknowledged, and comes again; a failed lookup puts the message aside and
// tries again a second later.
func WithStore(s Store) BlazeOption {
	return blazeOption(func(c *blazeConfig) error {
		if s == nil {
			return &FieldError{Field: "store", Reason: "is nil"}
		}
		c.state.store = s
		return nil
	})
}

// WithHandledHorizon sets how long handled records are kept (default
// [DefaultHandledHorizon]); a message redelivered after its record expired
// would be handled again.
func WithHandledHorizon(d time.Duration) BlazeOption {
	return blazeOption(func(c *blazeConfig) error {
		if d < time.Hour {
			return &FieldError{Field: "handled horizon", Reason: "must be at least an hour"}
		}
		c.state.horizon = d
		return nil
	})
}

// WithReplica makes this process one of several that run the loop for the
// same bot on one store ([WithStore], e.g. PostgreSQL): each message is
// handled by one of them. A replica takes a lease on a conversation before
// handling its messages, renews it while it has work and releases it when
// idle, so one conversation is handled by one replica at a time, in order;
// the messages of a conversation another replica holds wait, and are
// handled here only if that replica stops renewing (it died) and its lease
// (default [DefaultLease] if lease is 0) ends. id names the replica; give
// it the same id after a restart (e.g. the host name) and it takes back its
// conversations at once instead of after the lease. Replicas' clocks must
// agree to well within the lease. Whether the server sends a message to one
// connection of the session or to all, each is handled once; a replica
// stalled for longer than its lease may see a message it was handling go
// to another (the transactional path of [Tx] still commits it once).
func WithReplica(id string, lease time.Duration) BlazeOption {
	return blazeOption(func(c *blazeConfig) error {
		if id == "" {
			return &FieldError{Field: "replica id", Reason: "is empty"}
		}
		if lease == 0 {
			lease = DefaultLease
		}
		if lease < 100*time.Millisecond {
			return &FieldError{Field: "replica lease", Reason: "must be at least 100ms"}
		}
		c.state.replica, c.state.lease = id, lease
		return nil
	})
}

// txKey is the context key of a handler's transaction slot.
type txKey struct{}

// txSlot is the transaction of one handler attempt, begun on demand. A
// handler may call Tx from several goroutines, and one it leaves running
// may call it after the attempt ended: mu orders them, and done refuses a
// transaction to an attempt that is over.
type txSlot struct {
	s   Store
	ctx context.Context

	mu   sync.Mutex
	tx   *sql.Tx
	err  error
	done bool
}

// errAttemptOver is what Tx returns once the handler attempt it was asked
// for has returned.
var errAttemptOver = errors.New("mixin: Tx: the handler attempt this context belongs to has returned")

// Tx returns the transaction of the message being handled, beginning it on
// the first call (later calls in the same attempt return the same one). The
// loop records the message in it and commits it when the handler returns
// nil; it rolls it back when the handler fails (a retry gets a new one), or
// when another replica recorded the message first. Do not commit or roll it
// back yourself. On SQLite the transaction holds the database's write lock
// until the handler returns: keep the handler short, and do not wait in it
// for another write to the same database file (a recent.Tracker on the
// same store writes in this transaction instead; see [CurrentTx]). Outside a
// handler of a loop run [WithStore], Tx returns [ErrNoStore].
//
// The transaction is on the store's database, so it can write tables of
// your own: create them with the store's Migrate (numbered SQL files, one
// directory per dialect; see the example) and write portable queries with
// ? placeholders passed through the store's Dialect().Rebind.
func Tx(ctx context.Context) (*sql.Tx, error) {
	slot, _ := ctx.Value(txKey{}).(*txSlot)
	if slot == nil {
		return nil, ErrNoStore
	}
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if slot.done {
		return nil, errAttemptOver
	}
	if slot.tx == nil && slot.err == nil {
		slot.tx, slot.err = slot.s.BeginTx(slot.ctx)
	}
	return slot.tx, slot.err
}

// CurrentTx returns the transaction the handler attempt that ctx belongs to
// has begun with [Tx], and the store it is on; false if none was begun (it
// begins none). A component that writes to the same store from inside a
// handler (package recent, recording a message the handler sends) uses it
// to write in that transaction: on SQLite a second writer would wait for
// the handler's transaction, which waits for it.
func CurrentTx(ctx context.Context) (Store, *sql.Tx, bool) {
	slot, _ := ctx.Value(txKey{}).(*txSlot)
	if slot == nil {
		return nil, nil, false
	}
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if slot.tx == nil || slot.done {
		return nil, nil, false
	}
	return slot.s, slot.tx, true
}

// finish ends an attempt's transaction: on success it records id in it and
// commits. recorded reports that the message needs no other record (it was
// committed here, or by someone first).
func (slot *txSlot) finish(id string, handlerErr error) (recorded bool, err error) {
	slot.mu.Lock()
	defer slot.mu.Unlock()
	slot.done = true
	if slot.tx == nil {
		return false, handlerErr
	}
	if handlerErr != nil {
		_ = slot.tx.Rollback()
		return false, handlerErr
	}
	ok, err := slot.s.MarkHandledTx(slot.ctx, slot.tx, id)
	if err != nil {
		_ = slot.tx.Rollback()
		return false, err
	}
	if !ok {
		_ = slot.tx.Rollback() // recorded by another: its effects stand, ours go
		return true, nil
	}
	if err := slot.tx.Commit(); err != nil {
		return false, err
	}
	return true, nil
}

// storeRun is the loop's use of its store during one RunBlaze.
type storeRun struct {
	cfg    storeConfig
	log    *slog.Logger
	rec    *recorder
	leases *leaseBook // nil without WithReplica

	stop chan struct{}
	wg   sync.WaitGroup
}

// newStoreRun prepares the store's part of a run; uncommitted bounds the
// messages handled and not yet recorded (the pool's size).
func newStoreRun(cfg storeConfig, log *slog.Logger, uncommitted int) *storeRun {
	if cfg.horizon == 0 {
		cfg.horizon = DefaultHandledHorizon
	}
	s := &storeRun{cfg: cfg, log: log, stop: make(chan struct{})}
	s.rec = &recorder{s: cfg.store, log: log, kick: make(chan struct{}, 1), ctx: context.Background(),
		slots: make(chan struct{}, max(uncommitted, 1)), stop: s.stop}
	if cfg.replica != "" {
		s.leases = &leaseBook{s: cfg.store, owner: cfg.replica, ttl: cfg.lease, held: map[string]*leaseEntry{}}
	}
	return s
}

// start runs the recorder, the expiry and the lease renewal.
func (s *storeRun) start(ctx context.Context) {
	s.rec.ctx = ctx
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.rec.run(ctx, s.stop) }()
	go func() { defer s.wg.Done(); s.expire(ctx) }()
	if s.leases != nil {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.leases.run(ctx, s.stop) }()
	}
}

// shutdown commits what is queued (bounded by ctx) and releases the leases.
func (s *storeRun) shutdown(ctx context.Context) {
	close(s.stop)
	s.wg.Wait()
	if err := s.rec.commit(ctx); err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "mixin: blaze: handled records not committed at shutdown; those messages will be handled again",
			slog.String("error", err.Error()))
	}
	if s.leases != nil {
		s.leases.releaseAll(ctx)
	}
}

// expireEvery is how often old records are deleted.
const expireEvery = time.Hour

func (s *storeRun) expire(ctx context.Context) {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.cfg.store.Expire(ctx, s.cfg.horizon); err != nil && ctx.Err() == nil {
				s.log.LogAttrs(ctx, slog.LevelWarn, "mixin: blaze: expiring handled records failed", slog.String("error", err.Error()))
			}
			t.Reset(expireEvery)
		}
	}
}

// gate is what the loop does with a message before its handler runs.
type gate int

const (
	gateHandle  gate = iota // handle it
	gateHandled             // recorded already: acknowledge, do not handle
	gateDefer               // not now: another replica holds its conversation, or the store failed
)

// check decides whether the message keyed id in lane may be handled. live
// says it was pushed as it was sent (source CREATE_MESSAGE), not listed
// as pending: the first delivery of a message, which cannot have been
// handled before, so a single process skips the lookup (replicas cannot:
// another may have handled it).
func (s *storeRun) check(ctx context.Context, id, lane string, live bool) gate {
	if s.leases != nil {
		held, err := s.leases.acquire(ctx, lane)
		if err != nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "mixin: blaze: lease failed; message deferred", slog.String("error", err.Error()))
			return gateDefer
		}
		if !held {
			return gateDefer
		}
	} else if live {
		return gateHandle
	}
	got, err := s.cfg.store.Handled(ctx, []string{id})
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "mixin: blaze: store lookup failed; message deferred", slog.String("error", err.Error()))
		s.done(lane)
		return gateDefer
	}
	if got[0] {
		s.done(lane)
		return gateHandled
	}
	return gateHandle
}

// done says a message of lane admitted by check is settled (recorded, or
// given back), so its lease may be released once idle.
func (s *storeRun) done(lane string) {
	if s.leases != nil {
		s.leases.done(lane)
	}
}

// attempt returns the ctx for one handler attempt, with its transaction
// slot.
func (s *storeRun) attempt(ctx context.Context) (context.Context, *txSlot) {
	slot := &txSlot{s: s.cfg.store, ctx: ctx}
	return context.WithValue(ctx, txKey{}, slot), slot
}

// record queues id for the next group commit; done runs once it committed.
// tctx is the message's context for the tracer (nil without).
func (s *storeRun) record(tctx context.Context, id string, done func()) { s.rec.add(tctx, id, done) }

// sourceLive is the source of a message pushed as it was sent.
const sourceLive = "CREATE_MESSAGE"

// parked holds the messages the loop may not handle yet (gateDefer), in
// arrival order, until they were handled elsewhere or may be handled here.
type parked struct {
	mu    sync.Mutex
	items []*item
	ids   map[[16]byte]struct{}
}

// maxParked bounds the parked messages; past it the oldest are dropped
// unacknowledged (the server keeps them pending).
const maxParked = 10000

// add keeps a fresh copy of it, as admission made it.
func (d *parked) add(it *item) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ids == nil {
		d.ids = map[[16]byte]struct{}{}
	}
	if _, dup := d.ids[it.key]; dup {
		return
	}
	d.ids[it.key] = struct{}{}
	d.items = append(d.items, &item{msg: it.msg, key: it.key, lane: it.lane, receipt: it.receipt, bad: it.bad})
	if len(d.items) > maxParked {
		d.items = d.items[len(d.items)-maxParked:]
	}
}

func (d *parked) take() []*item {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.items
	d.items = nil
	clear(d.ids)
	return out
}

// sweepEvery is how often parked messages are looked at again: a quarter
// of the lease, or a second without replicas (a store that failed).
func (s *storeRun) sweepEvery() time.Duration {
	if s.leases != nil {
		return max(s.cfg.lease/4, 25*time.Millisecond)
	}
	return time.Second
}

// sweep runs every sweepEvery: parked messages recorded as handled
// meanwhile go to handled (to be acknowledged), the others to again (to be
// admitted anew), in order.
func (s *storeRun) sweep(ctx context.Context, d *parked, handled, again func(*item)) {
	t := time.NewTicker(s.sweepEvery())
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		items := d.take()
		if len(items) == 0 {
			continue
		}
		ids := make([]string, len(items))
		for i, it := range items {
			ids[i] = storeID(it.key)
		}
		got, err := s.cfg.store.Handled(ctx, ids)
		for i, it := range items {
			if err == nil && got[i] {
				handled(it)
			} else {
				again(it)
			}
		}
	}
}

// The seam between the loop and its store: each function below is called
// from one place in the loop (run, process, attempt, settle).

// startState starts the store's goroutines; a no-op without a store.
func (r *blazeRun) startState(ctx context.Context) {
	if r.st == nil {
		return
	}
	r.st.start(ctx)
	r.st.wg.Add(1)
	go func() {
		defer r.st.wg.Done()
		r.st.sweep(ctx, &r.parked,
			func(it *item) { // handled elsewhere meanwhile
				if r.needsAck(it) {
					r.acks.add(it.msg.MessageID, r.ackStatus(it), it.key)
				}
			},
			r.readmit)
	}()
}

// stopState commits the records queued, after the handlers finished and
// before the last acknowledgements are flushed.
func (r *blazeRun) stopState(ctx context.Context) {
	if r.st != nil {
		r.st.shutdown(ctx)
	}
}

// storeID is the id a message is recorded under: its dedupe key.
func storeID(key [16]byte) string { return uuid.UUID(key).String() }

// tracked says whether the store keeps a record of it: not of what no user
// code sees (the bot's own messages, receipts without a hook).
func (r *blazeRun) tracked(it *item) bool {
	return r.st != nil && !it.own && (!it.receipt || r.cfg.onReceipt != nil)
}

// gate runs before a message's first attempt; true means the store took
// care of it (handled before: acknowledged; or parked for later).
func (r *blazeRun) gate(it *item) bool {
	if !r.tracked(it) {
		return false
	}
	switch r.st.check(r.handlers, storeID(it.key), it.lane, it.msg.Source == sourceLive) {
	case gateHandled:
		it.recorded = true
		r.settleNow(it, true)
		return true
	case gateDefer:
		r.settleNow(it, false) // forgotten here: a redelivery may come in
		r.parked.add(it)
		return true
	}
	it.gated = true
	return false
}

// txAttempt gives a handler attempt its transaction slot (see [Tx]);
// finish ends the transaction with the attempt's error, abort rolls back
// one the attempt left behind (it exited with runtime.Goexit).
func (r *blazeRun) txAttempt(ctx context.Context, it *item) (context.Context, func(error) error, func()) {
	if !r.tracked(it) {
		return ctx, func(err error) error { return err }, func() {}
	}
	ctx, slot := r.st.attempt(ctx)
	finished := false
	finish := func(err error) error {
		finished = true
		recorded, err := slot.finish(storeID(it.key), err)
		if recorded {
			it.recorded = true
		}
		return err
	}
	abort := func() {
		if !finished && slot.tx != nil {
			_ = slot.tx.Rollback()
		}
	}
	return ctx, finish, abort
}

// settleState is settle's first step: a handled message not recorded yet is
// recorded, and settled once its group committed. True means it will be.
func (r *blazeRun) settleState(it *item, wasHandled bool) bool {
	if !it.gated {
		return false
	}
	if !wasHandled || it.recorded {
		r.st.done(it.lane)
		return false
	}
	r.st.record(it.tr.ctx, storeID(it.key), func() {
		it.recorded = true
		r.settleNow(it, true)
		r.st.done(it.lane)
	})
	return true
}

// readmit offers a parked message to the dispatcher again, waiting for room.
func (r *blazeRun) readmit(it *item) {
	ack := r.needsAck(it)
	for !r.stopping.Load() {
		v, _ := r.disp.offer(it, r.acks.full(), ack)
		switch v {
		case admitted, repeat, deferred:
			return
		case handled:
			r.acks.add(it.msg.MessageID, r.ackStatus(it), it.key)
			return
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-r.room:
		case <-r.st.stop:
		case <-t.C:
		}
		t.Stop()
	}
}
