package mixin

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// txKey is the context key of a handler's transaction slot.
type txKey struct{}

// txSlot is the transaction of one handler attempt, begun on demand. A
// handler may call Tx from several goroutines, and one it leaves running
// may call it after the attempt ended: mu orders them, and done refuses a
// transaction to an attempt that is over.
type txSlot struct {
	st  *storeRun
	ctx context.Context // the handler's

	mu       sync.Mutex
	tx       *sql.Tx
	cancel   context.CancelFunc // ends the transaction's ctx
	beginErr *StoreError
	done     bool
}

// errAttemptOver is what Tx returns once the handler attempt it was asked
// for has returned.
var errAttemptOver = errors.New("mixin: Tx: the handler attempt this context belongs to has returned")

// errFenced ends a handler attempt whose commit was fenced: another replica
// took the conversation (see [WithReplica]).
var errFenced = errors.New("mixin: blaze: the conversation's lease was taken over; the transaction rolled back")

// Tx returns the transaction of the message being handled, beginning it on
// the first call (later calls in the same attempt return the same one). The
// loop records the message in it and commits it when the handler returns
// nil; it rolls it back when the handler fails (a retry gets a new one), or
// when the message was recorded first elsewhere, or when this replica lost
// the conversation's lease meanwhile. Do not commit or roll it back
// yourself. If the store is down, Tx returns an error: return it (or any
// error) and the loop retries the message once the store is back, without
// counting the attempt. On SQLite the transaction holds the database's
// write lock until the handler returns: keep the handler short, and do not
// wait in it for another write to the same database file (a recent.Tracker
// on the same store writes in this transaction instead; see [CurrentTx]).
// Outside a handler of a loop run [WithStore], Tx returns [ErrNoStore].
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
	if slot.tx == nil && slot.beginErr == nil {
		slot.begin()
	}
	if slot.beginErr != nil {
		return nil, slot.beginErr
	}
	return slot.tx, nil
}

// begin begins the transaction on a ctx of its own, which the loop ends
// when a call on it outlasts the store timeout. slot.mu is held.
func (slot *txSlot) begin() {
	ctx, cancel := context.WithCancel(slot.ctx)
	timer := time.AfterFunc(slot.st.cfg.timeout, cancel)
	tx, err := slot.st.cfg.store.BeginTx(ctx)
	if !timer.Stop() && err != nil {
		err = fmt.Errorf("%w (the store timeout, %v): %w", context.DeadlineExceeded, slot.st.cfg.timeout, err)
	}
	if err != nil {
		cancel()
		slot.beginErr = &StoreError{Op: "begin", Err: err}
		return
	}
	slot.tx, slot.cancel = tx, cancel
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
	return slot.st.cfg.store, slot.tx, true
}

// begun reports whether the attempt began a transaction.
func (slot *txSlot) begun() bool {
	slot.mu.Lock()
	defer slot.mu.Unlock()
	return slot.tx != nil
}

// outcome is how a handler attempt with a store ended.
type outcome struct {
	err      error       // the handler's error, to retry per the policy
	fault    *StoreError // the store failed: retry when it is back
	recorded bool        // recorded in the transaction, or by another first
	fenced   bool        // the lease was lost: roll back, leave it
}

// finish ends an attempt's transaction: on success it records rec in it
// and commits.
func (slot *txSlot) finish(rec Record, handlerErr error) outcome {
	slot.mu.Lock()
	defer slot.mu.Unlock()
	slot.done = true
	if slot.tx == nil {
		if slot.beginErr != nil && handlerErr != nil {
			return outcome{fault: slot.beginErr}
		}
		return outcome{err: handlerErr}
	}
	defer slot.cancel()
	if handlerErr != nil {
		_ = slot.tx.Rollback()
		if slot.st.cfg.store.Unavailable(handlerErr) || errors.Is(handlerErr, driver.ErrBadConn) || errors.Is(handlerErr, sql.ErrConnDone) {
			return outcome{fault: &StoreError{Op: "statement", Err: handlerErr}}
		}
		return outcome{err: handlerErr}
	}
	var mark Mark
	err := slot.st.call(slot.ctx, func(ctx context.Context) (err error) {
		mark, err = slot.st.cfg.store.MarkHandledTx(ctx, slot.tx, rec)
		return err
	})
	if err != nil {
		_ = slot.tx.Rollback()
		return outcome{fault: &StoreError{Op: "record", Err: err}}
	}
	switch mark {
	case MarkDuplicate: // recorded by another first: its effects stand, ours go
		_ = slot.tx.Rollback()
		return outcome{recorded: true}
	case MarkFenced:
		_ = slot.tx.Rollback()
		return outcome{fenced: true}
	case MarkRecorded:
	default:
		_ = slot.tx.Rollback()
		return outcome{fault: &StoreError{Op: "record", Err: fmt.Errorf("unknown result %d", mark)}}
	}
	// Commit takes no ctx: the transaction's own ends it if it hangs (a
	// server that stopped answering). Its outcome is then unknown; the
	// retry's record finds out (MarkDuplicate if it did commit).
	timer := time.AfterFunc(slot.st.cfg.timeout, slot.cancel)
	err = slot.tx.Commit()
	timer.Stop()
	if err != nil {
		return outcome{fault: &StoreError{Op: "commit", Err: err}}
	}
	return outcome{recorded: true}
}

// abort rolls back a transaction an attempt left open (it exited with
// runtime.Goexit).
func (slot *txSlot) abort() {
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if !slot.done && slot.tx != nil {
		slot.done = true
		_ = slot.tx.Rollback()
		slot.cancel()
	}
}

// attemptStore makes one handler attempt. With a store it gives the
// attempt its transaction slot and ends it; an attempt that failed because
// of the store is made again, with backoff, as long as the store fails,
// without counting as an attempt: the message waits for the store, it is
// not given up on.
func (r *blazeRun) attemptStore(it *item) error {
	if !r.tracked(it) {
		return r.invokeTraced(r.handlerBase(it), it)
	}
	first := it.attempt
	defer func() { it.attempt = first }()
	for failures := 1; ; failures++ {
		o := r.txOnce(it)
		if o.fault == nil {
			switch {
			case o.fenced:
				r.st.fence(it)
				return errFenced
			case o.recorded:
				it.recorded = true
				r.st.health.worked()
			}
			return o.err
		}
		r.st.health.failed(r.handlers, o.fault.Op, o.fault.Err)
		r.log.LogAttrs(r.handlers, slog.LevelWarn, "mixin: blaze: store failed during a handler attempt; retrying it when the store is back",
			slog.String("message_id", it.msg.MessageID), slog.String("error", o.fault.Error()))
		if r.stopping.Load() || !r.st.pause(r.handlers, failures) {
			return errStoreDown
		}
		it.attempt++ // the next call gets a fresh reply counter (see invoke)
	}
}

// txOnce calls the handler once with a transaction slot.
func (r *blazeRun) txOnce(it *item) outcome {
	slot := &txSlot{st: r.st, ctx: r.handlers}
	defer slot.abort()
	ctx := context.WithValue(r.handlerBase(it), txKey{}, slot)
	return r.finishTraced(it, slot, r.invokeTraced(ctx, it))
}

// pause waits before the next try at a failing store: backoff for the
// failures so far, cut short by the loop stopping. False means it stopped.
func (s *storeRun) pause(ctx context.Context, failures int) bool {
	t := time.NewTimer(storeBackoff(failures))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stop:
	case <-ctx.Done():
	}
	return false
}

// storeBackoff is the wait after failures failed calls to the store: 10ms
// doubling to 2s, jittered by up to a quarter.
func storeBackoff(failures int) time.Duration {
	d := min(10*time.Millisecond<<min(failures-1, 8), 2*time.Second)
	return d - rand.N(d/4+1)
}
