package mixin

import (
	"context"
	"slices"
	"sync"
	"time"
)

// leaseBook holds this replica's conversation leases.
type leaseBook struct {
	s     *storeRun
	owner string
	ttl   time.Duration

	moves leaseMoves // for BlazeStats

	mu      sync.Mutex
	held    map[string]*leaseEntry
	refused map[string]time.Time // keys another replica held when last asked
}

// refusedFor is how long a refusal is trusted: a message of a conversation
// another replica holds is parked without asking the store again within
// it (half the time between sweeps, which ask again).
func (b *leaseBook) refusedFor() time.Duration { return max(b.ttl/8, 10*time.Millisecond) }

type leaseEntry struct {
	token int64     // the holding's fencing token
	until time.Time // local estimate of the lease's end
	busy  int       // messages admitted under token and not settled
	used  time.Time // last settle
}

// acquire takes or keeps the lease on key for one message and returns the
// token it holds the lease under, 0 if another replica holds it. A lease
// with less than half its time left is renewed first; one whose renewal is
// refused is lost (another took it after this one stalled) and is taken
// anew only by a later call, under a new token.
func (b *leaseBook) acquire(ctx context.Context, key string) (int64, error) {
	now := time.Now()
	b.mu.Lock()
	e := b.held[key]
	if e != nil && e.until.Sub(now) > b.ttl/2 {
		e.busy++
		b.mu.Unlock()
		return e.token, nil
	}
	var token int64
	if e != nil {
		token = e.token
	} else if at, ok := b.refused[key]; ok && now.Sub(at) < b.refusedFor() {
		b.mu.Unlock()
		return 0, nil
	}
	b.mu.Unlock()
	var got []int64
	err := b.s.call(ctx, func(ctx context.Context) (err error) {
		got, err = b.s.cfg.store.Lease(ctx, []Lease{{Key: key, Owner: b.owner, Token: token}}, b.ttl)
		return err
	})
	if err == nil && len(got) != 1 {
		err = errShortAnswer
	}
	if err != nil {
		return 0, err
	}
	b.s.health.worked()
	b.mu.Lock()
	defer b.mu.Unlock()
	e = b.held[key]
	if got[0] == 0 {
		if e != nil && e.token == token {
			delete(b.held, key)
			b.moves.lost.Add(1)
		}
		if b.refused == nil {
			b.refused = map[string]time.Time{}
		}
		b.refused[key] = now
		return 0, nil
	}
	delete(b.refused, key)
	if e == nil || e.token != got[0] {
		e = &leaseEntry{token: got[0]}
		b.held[key] = e
		b.moves.acquired.Add(1)
	}
	e.until = now.Add(b.ttl)
	e.busy++
	return e.token, nil
}

// done says a message admitted under token is settled.
func (b *leaseBook) done(key string, token int64) {
	b.mu.Lock()
	if e := b.held[key]; e != nil && e.token == token {
		e.busy--
		e.used = time.Now()
	}
	b.mu.Unlock()
}

// lost drops the lease on key held under token: a commit under it was
// fenced, so another replica holds the key now.
func (b *leaseBook) lost(key string, token int64) {
	b.mu.Lock()
	if e := b.held[key]; e != nil && e.token == token {
		delete(b.held, key)
		b.moves.lost.Add(1)
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
	var renew, release []Lease
	b.mu.Lock()
	for k, at := range b.refused {
		if now.Sub(at) >= b.refusedFor() {
			delete(b.refused, k)
		}
	}
	for k, e := range b.held {
		l := Lease{Key: k, Owner: b.owner, Token: e.token}
		if e.busy > 0 || now.Sub(e.used) < b.ttl/3 {
			renew = append(renew, l)
		} else {
			release = append(release, l)
			delete(b.held, k)
			b.moves.released.Add(1)
		}
	}
	b.mu.Unlock()
	if len(release) > 0 {
		// By token: if this replica took a key again meanwhile, under a
		// new token, that holding stays. An unreleased lease runs out.
		_ = b.s.call(ctx, func(ctx context.Context) error { return b.s.cfg.store.Release(ctx, release) })
	}
	if len(renew) == 0 {
		return
	}
	var got []int64
	err := b.s.call(ctx, func(ctx context.Context) (err error) {
		got, err = b.s.cfg.store.Lease(ctx, renew, b.ttl)
		return err
	})
	if err == nil && len(got) != len(renew) {
		err = errShortAnswer
	}
	if err != nil {
		b.s.health.failed(ctx, "lease", err)
		return // kept until they run out; acquire renews on demand
	}
	b.s.health.worked()
	b.mu.Lock()
	for i, l := range renew {
		if e := b.held[l.Key]; e != nil && e.token == l.Token {
			if got[i] != 0 {
				e.until = now.Add(b.ttl)
			} else {
				delete(b.held, l.Key) // lost: another replica took it after this one stalled
				b.moves.lost.Add(1)
			}
		}
	}
	b.mu.Unlock()
}

func (b *leaseBook) releaseAll(ctx context.Context) {
	b.mu.Lock()
	ls := make([]Lease, 0, len(b.held))
	for k, e := range b.held {
		ls = append(ls, Lease{Key: k, Owner: b.owner, Token: e.token})
	}
	clear(b.held)
	b.mu.Unlock()
	b.moves.released.Add(int64(len(ls)))
	if len(ls) > 0 {
		_ = b.s.call(ctx, func(ctx context.Context) error { return b.s.cfg.store.Release(ctx, ls) })
	}
}

// parked holds the messages the loop may not handle yet (gateDefer): per
// conversation, in the order the server created them. While a conversation
// has parked messages, its later messages are parked behind them, so none
// overtakes another; a sweep releases a conversation's parked messages and
// offers them again in order, and only the earliest may then pass the gate.
type parked struct {
	mu    sync.Mutex
	lanes map[string]*parkedLane
	n     int
}

type parkedLane struct {
	items    []*item // by creation time, arrival order among equals
	released int     // the first released items were offered again by a sweep
}

// maxParked bounds the parked messages; past it the newest of the lane the
// message is parked in is dropped unacknowledged (the server keeps it and
// lists it again after a reconnection).
const maxParked = 10000

func (d *parked) find(l *parkedLane, key [16]byte) int {
	for i, p := range l.items {
		if p.key == key {
			return i
		}
	}
	return -1
}

// pass is the first step of the gate: true lets it on to the store's
// check, which it may do only if its conversation has nothing parked, or
// if it is the earliest parked message of it and a sweep released it. Else
// it is parked behind them.
func (d *parked) pass(it *item) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	l := d.lanes[it.lane]
	if l == nil {
		return true
	}
	if l.released > 0 && l.items[0].key == it.key {
		l.items = l.items[1:]
		l.released--
		d.n--
		if len(l.items) == 0 {
			delete(d.lanes, it.lane)
		}
		return true
	}
	d.insertLocked(it)
	return false
}

// add parks a fresh copy of it, as admission made it, in its place.
func (d *parked) add(it *item) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.insertLocked(it)
}

func (d *parked) insertLocked(it *item) {
	if d.lanes == nil {
		d.lanes = map[string]*parkedLane{}
	}
	l := d.lanes[it.lane]
	if l == nil {
		l = &parkedLane{}
		d.lanes[it.lane] = l
	}
	if d.find(l, it.key) >= 0 {
		return
	}
	at := len(l.items)
	for at > 0 && l.items[at-1].msg.CreatedAt.After(it.msg.CreatedAt) {
		at--
	}
	p := &item{msg: it.msg, key: it.key, lane: it.lane, receipt: it.receipt, bad: it.bad}
	l.items = slices.Insert(l.items, at, p)
	if at < l.released { // an earlier message came back: all must wait for the next sweep
		l.released = 0
	}
	d.n++
	if d.n > maxParked {
		l.items[len(l.items)-1] = nil
		l.items = l.items[:len(l.items)-1]
		l.released = min(l.released, len(l.items))
		d.n--
	}
}

// release marks every parked message released and returns them, per
// conversation in order.
func (d *parked) release() [][]*item {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([][]*item, 0, len(d.lanes))
	for _, l := range d.lanes {
		l.released = len(l.items)
		out = append(out, slices.Clone(l.items))
	}
	return out
}

// drop removes it (handled elsewhere) from the parked messages.
func (d *parked) drop(it *item) {
	d.mu.Lock()
	defer d.mu.Unlock()
	l := d.lanes[it.lane]
	if l == nil {
		return
	}
	if i := d.find(l, it.key); i >= 0 {
		l.items = slices.Delete(l.items, i, i+1)
		if i < l.released {
			l.released--
		}
		d.n--
		if len(l.items) == 0 {
			delete(d.lanes, it.lane)
		}
	}
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
// meanwhile are dropped and go to handled (to be acknowledged), the others
// are released and go to again (to be admitted anew), in order.
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
		lanes := d.release()
		if len(lanes) == 0 {
			continue
		}
		var keys []string
		for _, items := range lanes {
			for _, it := range items {
				keys = append(keys, storeKey(it), legacyKey(it))
			}
		}
		var got []bool
		err := s.call(ctx, func(ctx context.Context) (err error) {
			got, err = s.cfg.store.Handled(ctx, keys)
			return err
		})
		if err == nil && len(got) != len(keys) {
			err = errShortAnswer
		}
		if err != nil {
			s.health.failed(ctx, "lookup", err)
		}
		i := 0
		for _, items := range lanes {
			for _, it := range items {
				if err == nil && (got[2*i] || got[2*i+1]) {
					d.drop(it)
					handled(it)
				} else {
					again(it)
				}
				i++
			}
		}
	}
}
