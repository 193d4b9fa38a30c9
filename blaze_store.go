package mixin

import (
	"context"
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

// DefaultStoreTimeout bounds each call the loop makes to its store, unless
// [WithStoreTimeout] says otherwise.
const DefaultStoreTimeout = 10 * time.Second

// ErrNoStore is the error of [Tx] outside a handler of a loop run
// [WithStore].
var ErrNoStore = errors.New("mixin: no store: run the blaze loop WithStore to use Tx")

type storeConfig struct {
	store   Store
	horizon time.Duration
	replica string
	lease   time.Duration
	timeout time.Duration
}

// WithStore makes the loop keep its state in s (see [Store]; packages
// store/sqlite and store/postgres):
//
//   - handled once across crashes: a message whose handler returned nil is
//     recorded in s before its acknowledgement is sent, and a recorded
//     message is never handed to a handler again, not after a crash or a
//     restart. Records are committed in groups (under load, what finished
//     within two milliseconds or while the previous commit ran; when idle,
//     at once), so throughput stays high; only a message whose handler
//     finished but whose group had not committed when the process died is
//     handled again: in live traffic those handled in the last few
//     milliseconds, never more than 256 (or the pool's size if larger) per
//     crash. Records expire after [WithHandledHorizon], counted from the
//     messages' creation.
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
//   - the store failing: an unrecorded message is never acknowledged. A
//     failed record, lookup or lease is retried with backoff, and so is a
//     handler attempt that failed because of the store (its transaction
//     could not begin or commit, or a statement in it failed as
//     [Store.Unavailable] says): such an attempt does not count against
//     [WithHandlerRetry] and never goes to the dead-letter hook. Handling
//     waits while the store is down and goes on by itself when it is back;
//     the state hook hears [ConnStateStoreFailed] and [ConnStateStoreRecovered].
//     Each call to the store is bounded by [WithStoreTimeout].
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

// WithStoreTimeout bounds each call the loop makes to its store (default
// [DefaultStoreTimeout]): a lookup, a group of records, a lease, the begin,
// record and commit of a handler's transaction. A call that takes longer
// counts as a store failure and is retried, so a database that stopped
// answering (a network partition, a server that hangs) holds the loop up
// no longer than that. It does not bound the handler's own statements: give
// them ctx, which is cancelled at shutdown.
func WithStoreTimeout(d time.Duration) BlazeOption {
	return blazeOption(func(c *blazeConfig) error {
		if d < 10*time.Millisecond {
			return &FieldError{Field: "store timeout", Reason: "must be at least 10ms"}
		}
		c.state.timeout = d
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
// conversations at once instead of after the lease; two live processes must
// not share an id. Replicas' clocks must agree to well within the lease.
// Whether the server sends a message to one connection of the session or
// to all, each is handled once.
//
// A replica that stalls past its lease (stopped, paused, starved) is
// fenced: each lease carries a token that changes when another replica
// takes the conversation, and a record or a [Tx] commits only while the
// lease it was handled under still holds, checked inside the commit. So a
// replica that wakes up after another took its conversation commits
// nothing for it: its transactions roll back, its messages are not
// acknowledged here, and the new owner handles them (a handler without
// [Tx] may have run twice, the at-least-once case).
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

// storeRun is the loop's use of its store during one RunBlaze.
type storeRun struct {
	cfg    storeConfig
	log    *slog.Logger
	health *storeHealth
	rec    *recorder
	leases *leaseBook // nil without WithReplica

	mu     sync.Mutex
	admits map[[16]byte]admission // WithReplica: the messages admitted under a lease

	stop chan struct{}
	wg   sync.WaitGroup
}

// admission is what a replica keeps about a message it admitted: the lease
// token it handles it under, and whether a commit was fenced.
type admission struct {
	token  int64
	fenced bool
}

// newStoreRun prepares the store's part of a run; uncommitted bounds the
// messages handled and not yet recorded (the pool's size), emit reports
// the store's state.
func newStoreRun(cfg storeConfig, log *slog.Logger, uncommitted int, emit func(StateEvent)) *storeRun {
	if cfg.horizon == 0 {
		cfg.horizon = DefaultHandledHorizon
	}
	if cfg.timeout == 0 {
		cfg.timeout = DefaultStoreTimeout
	}
	s := &storeRun{cfg: cfg, log: log, stop: make(chan struct{}), health: &storeHealth{emit: emit, log: log}}
	s.rec = newRecorder(s, uncommitted)
	if cfg.replica != "" {
		s.leases = &leaseBook{s: s, owner: cfg.replica, ttl: cfg.lease, held: map[string]*leaseEntry{}}
		s.admits = map[[16]byte]admission{}
	}
	return s
}

// call runs one store operation under the store timeout.
func (s *storeRun) call(ctx context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	return fn(ctx)
}

// start runs the recorder, the expiry and the lease renewal.
func (s *storeRun) start(ctx context.Context) {
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.rec.run(ctx) }()
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
	if err := s.rec.drain(ctx); err != nil {
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
			// Not bounded by the store timeout: it deletes in batches, and
			// nothing waits for it.
			if err := s.cfg.store.Expire(ctx, s.cfg.horizon); err != nil && ctx.Err() == nil {
				s.log.LogAttrs(ctx, slog.LevelWarn, "mixin: blaze: expiring handled records failed", slog.String("error", err.Error()))
			}
			t.Reset(expireEvery)
		}
	}
}

// storeKey is the key a message is recorded under: the time the server
// created it (12 hex digits of Unix milliseconds), then its dedupe key.
// created_at is the server's time of the message, which it keeps with the
// message and sends with every delivery (the apps take it as the message's
// time and store it with the first delivery of an id: android-app
// job/DecryptMessage.kt onRun, createMessage(..., data.createdAt, ...);
// the emulator keeps it too), so the key is stable; and records of live
// traffic land at the right edge of the store's index instead of at random
// pages, which makes a group commit write a few pages instead of one per
// record. A receipt without created_at uses updated_at.
func storeKey(it *item) string {
	t := it.msg.CreatedAt
	if t.IsZero() {
		t = it.msg.UpdatedAt
	}
	const digits = "0123456789abcdef"
	var b [12 + 1 + 36]byte
	ms := uint64(max(t.UnixMilli(), 0))
	for i := 11; i >= 0; i-- {
		b[i] = digits[ms&0xf]
		ms >>= 4
	}
	b[12] = '-'
	j := 13
	for i, c := range it.key {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = digits[c>>4], digits[c&0xf]
		j += 2
	}
	return string(b[:])
}

// legacyKey is the key a message was recorded under before schema v3 (its
// dedupe key alone): lookups check it too, so records written before an
// upgrade still count.
func legacyKey(it *item) string { return uuid.UUID(it.key).String() }

// gate is what the loop does with a message before its handler runs.
type gate int

const (
	gateHandle  gate = iota // handle it
	gateHandled             // recorded already: acknowledge, do not handle
	gateDefer               // not now: another replica holds its conversation, or the store failed
)

// check decides whether it may be handled. A message pushed as it was sent
// (source CREATE_MESSAGE, not listed as pending) is its first delivery,
// which cannot have been handled before, so a single process skips the
// lookup (replicas cannot: another may have handled it).
func (s *storeRun) check(ctx context.Context, it *item) gate {
	if s.leases != nil {
		token, err := s.leases.acquire(ctx, it.lane)
		if err != nil {
			s.health.failed(ctx, "lease", err)
			return gateDefer
		}
		if token == 0 {
			return gateDefer
		}
		s.mu.Lock()
		s.admits[it.key] = admission{token: token}
		s.mu.Unlock()
	} else if it.msg.Source == sourceLive {
		return gateHandle
	}
	var got []bool
	err := s.call(ctx, func(ctx context.Context) (err error) {
		got, err = s.cfg.store.Handled(ctx, []string{storeKey(it), legacyKey(it)})
		return err
	})
	if err == nil && len(got) != 2 {
		err = errShortAnswer
	}
	if err != nil {
		s.health.failed(ctx, "lookup", err)
		s.forget(it)
		return gateDefer
	}
	if got[0] || got[1] {
		s.forget(it)
		return gateHandled
	}
	return gateHandle
}

// record is the record of it, with the lease it was admitted under.
func (s *storeRun) record(it *item) Record {
	rec := Record{Key: storeKey(it)}
	if s.leases != nil {
		s.mu.Lock()
		a := s.admits[it.key]
		s.mu.Unlock()
		rec.Lease = Lease{Key: it.lane, Owner: s.cfg.replica, Token: a.token}
	}
	return rec
}

// fence notes that it's commit was fenced: its lease is lost, and it is
// parked when settled.
func (s *storeRun) fence(it *item) {
	if s.leases == nil {
		return
	}
	s.mu.Lock()
	a, ok := s.admits[it.key]
	if ok {
		a.fenced = true
		s.admits[it.key] = a
	}
	s.mu.Unlock()
	if ok {
		s.leases.lost(it.lane, a.token)
	}
}

// forget ends what check began for it: the lease is free of it once idle.
// It reports whether a commit of it was fenced.
func (s *storeRun) forget(it *item) (fenced bool) {
	if s.leases == nil {
		return false
	}
	s.mu.Lock()
	a, ok := s.admits[it.key]
	delete(s.admits, it.key)
	s.mu.Unlock()
	if ok {
		s.leases.done(it.lane, a.token)
	}
	return a.fenced
}

// sourceLive is the source of a message pushed as it was sent.
const sourceLive = "CREATE_MESSAGE"

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
	if !r.parked.pass(it) { // behind earlier messages of its conversation
		r.settleNow(it, false)
		return true
	}
	switch r.st.check(r.handlers, it) {
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

// leftForLater says a handler attempt ended without handling the message
// and without an error of the handler's: the store was down when the loop
// stopped, or the commit was fenced. The message is settled unhandled, not
// retried and not dead-lettered.
func leftForLater(err error) bool { return errors.Is(err, errStoreDown) || errors.Is(err, errFenced) }

// settleState is settle's first step: a handled message not recorded yet is
// recorded, and settled once its group committed. True means it will be,
// or was settled here.
func (r *blazeRun) settleState(it *item, wasHandled bool) bool {
	if !it.gated {
		return false
	}
	if !wasHandled || it.recorded {
		if r.st.forget(it) && !r.stopping.Load() {
			// Fenced: another replica holds the conversation now. Parked,
			// it is acknowledged once that one recorded it, or handled
			// here if the conversation comes back.
			r.settleNow(it, false)
			r.parked.add(it)
			return true
		}
		return false
	}
	r.st.rec.add(it.tr.ctx, r.st.record(it), func(recorded bool) {
		it.recorded = recorded
		if !recorded {
			r.st.fence(it)
		}
		r.st.forget(it)
		if !recorded && !r.stopping.Load() {
			r.settleNow(it, false)
			r.parked.add(it)
			return
		}
		r.settleNow(it, recorded)
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
