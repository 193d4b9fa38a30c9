package mixin

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

// item is one inbound message or receipt on its way through the loop. The
// message is embedded so a frame decodes into its final place with one
// allocation; the handler gets &it.msg, a fresh value per delivery.
type item struct {
	msg      Message
	frame    inFrame  // the frame msg came in, decoded in place
	scope    replyCtx // the ctx of the current handler attempt (see replyCtx)
	key      [16]byte // dedupe key (see itemKey)
	lane     string   // ordering key: the conversation, or the message for receipts
	receipt  bool     // a DELIVERED/READ receipt of a message the bot sent
	own      bool     // a message of the bot itself: acknowledged, not handled
	bad      error    // the data did not decode: straight to the dead letter
	attempt  int      // handler attempts made
	phase    phase    // where a runtime.Goexit interrupted it
	gated    bool     // the store let it through (WithStore)
	recorded bool     // the store has it as handled
}

// phase records which user callback a message was in when its goroutine
// ended with runtime.Goexit, so a new worker can carry on from there.
type phase uint8

const (
	phaseNone       phase = iota
	phaseHandler          // the handler (or a hook standing for it) exited
	phaseDeadLetter       // the dead-letter hook exited
)

// lane holds the messages of one conversation that wait for a worker. A
// lane is served by at most one worker at a time, which keeps its order.
type lane struct {
	key    string
	q      []*item
	head   int
	busy   bool          // a worker has it, or it waits in ready
	shed   bool          // this connection defers its further messages
	waited time.Duration // reader time spent waiting for room here, this connection
}

func (l *lane) len() int { return len(l.q) - l.head }

func (l *lane) push(it *item) {
	if l.head > 32 && l.head*2 > len(l.q) {
		n := copy(l.q, l.q[l.head:])
		clear(l.q[n:])
		l.q, l.head = l.q[:n], 0
	}
	l.q = append(l.q, it)
}

func (l *lane) pop() *item {
	it := l.q[l.head]
	l.q[l.head] = nil
	l.head++
	if l.head == len(l.q) {
		l.q, l.head = l.q[:0], 0
	}
	return it
}

// dispatcher holds what waits for the workers: one lane per conversation,
// a FIFO of lanes that have work and no worker, the bounds, and the dedupe
// states, all under one mutex so admitting a message takes one lock.
type dispatcher struct {
	perLane int // most messages one conversation may have waiting
	total   int // most messages waiting or running in all

	mu      sync.Mutex
	cond    sync.Cond // workers wait here for a ready lane
	lanes   map[string]*lane
	ready   []*lane
	readyAt int
	free    []*lane // emptied lanes, kept for reuse with their queues
	count   int     // messages queued or running
	stopped bool    // workers take nothing more
	seen    dedupe
}

func newDispatcher(perLane, total, window int) *dispatcher {
	d := &dispatcher{perLane: perLane, total: total, lanes: make(map[string]*lane), seen: newDedupe(window)}
	d.cond.L = &d.mu
	return d
}

// verdict is what admission decided for one inbound item.
type verdict uint8

const (
	admitted verdict = iota // queued for its handler
	repeat                  // queued, running or awaiting its ack: drop
	handled                 // handled and acknowledged before: acknowledge again
	deferred                // its lane is shed on this connection: leave it to the server
	loopFull                // no room in total or for acknowledgements: wait
	laneFull                // its conversation is full: wait, within the lane's budget
)

// offer admits it if there is room; acksFull says the acknowledgement
// queue is at its bound, needAck whether it is acknowledged once handled.
// Nothing changes unless the verdict is admitted or handled.
func (d *dispatcher) offer(it *item, acksFull, needAck bool) (verdict, *lane) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch d.seen.get(it.key) {
	case keyQueued, keyAwaiting:
		return repeat, nil
	case keyDone:
		if !needAck {
			return repeat, nil
		}
		if acksFull {
			return loopFull, nil
		}
		d.seen.set(it.key, keyAwaiting)
		return handled, nil
	}
	l := d.lanes[it.lane]
	if l != nil && l.shed {
		return deferred, l
	}
	if acksFull || d.count >= d.total {
		return loopFull, l
	}
	if l != nil && l.len() >= d.perLane {
		return laneFull, l
	}
	if l == nil {
		l = d.newLane(it.lane)
		d.lanes[it.lane] = l
	}
	d.seen.set(it.key, keyQueued)
	d.count++
	l.push(it)
	if !l.busy {
		l.busy = true
		d.ready = append(d.ready, l)
		d.cond.Signal()
	}
	return admitted, l
}

// budgetLeft is how much longer the reader may wait for room in l on this
// connection.
func (d *dispatcher) budgetLeft(l *lane, budget time.Duration) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return budget - l.waited
}

// charge adds a wait the reader spent on l to its budget. Once the budget
// is spent and the lane is still full, the lane is shed for the rest of
// the connection: its further messages are left to the server, which
// pushes them again after a re-listing. A lane that drained and was
// dropped during the wait is not charged: it is kept for reuse by another
// conversation, which must start with its whole budget.
func (d *dispatcher) charge(l *lane, waited, budget time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lanes[l.key] != l {
		return
	}
	l.waited += waited
	if l.waited >= budget && l.len() >= d.perLane {
		l.shed = true
	}
}

// newLane returns an empty lane for key, reusing a dropped one.
func (d *dispatcher) newLane(key string) *lane {
	if n := len(d.free); n > 0 {
		l := d.free[n-1]
		d.free = d.free[:n-1]
		l.key = key
		return l
	}
	return &lane{key: key}
}

// dropLane forgets an empty, idle lane and keeps it for reuse.
func (d *dispatcher) dropLane(l *lane) {
	delete(d.lanes, l.key)
	if len(d.free) < 64 && cap(l.q) <= 1024 {
		*l = lane{q: l.q[:0]}
		d.free = append(d.free, l)
	}
}

// newConnection forgets the per-connection state of every lane.
func (d *dispatcher) newConnection() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range d.lanes {
		l.shed, l.waited = false, 0
		if !l.busy && l.len() == 0 {
			d.dropLane(l)
		}
	}
}

// next returns a lane with work for a worker, blocking until there is one;
// nil once stopped.
func (d *dispatcher) next() *lane {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.readyAt == len(d.ready) && !d.stopped {
		d.cond.Wait()
	}
	if d.stopped {
		return nil
	}
	l := d.ready[d.readyAt]
	d.ready[d.readyAt] = nil
	d.readyAt++
	switch {
	case d.readyAt == len(d.ready):
		d.ready, d.readyAt = d.ready[:0], 0
	case d.readyAt > 64 && d.readyAt*2 > len(d.ready):
		n := copy(d.ready, d.ready[d.readyAt:])
		clear(d.ready[n:])
		d.ready, d.readyAt = d.ready[:n], 0
	}
	return l
}

// fairness is how many messages a worker handles for one conversation
// before giving the others a turn.
const fairness = 32

// take returns the next message of l for the worker that has it, its n-th
// in this turn; nil when the lane is empty (released, and relist reports
// that a shed lane drained) or its turn is over (queued again).
func (d *dispatcher) take(l *lane, n int) (it *item, relist bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return nil, false
	}
	if l.len() == 0 {
		l.busy = false
		if l.shed {
			return nil, true
		}
		if l.waited == 0 {
			d.dropLane(l)
		}
		return nil, false
	}
	if n >= fairness && d.readyAt < len(d.ready) {
		d.ready = append(d.ready, l)
		d.cond.Signal()
		return nil, false
	}
	return l.pop(), false
}

// finish releases the room a message held.
func (d *dispatcher) finish() {
	d.mu.Lock()
	d.count--
	d.mu.Unlock()
}

// stop makes workers take nothing more.
func (d *dispatcher) stop() {
	d.mu.Lock()
	d.stopped = true
	d.cond.Broadcast()
	d.mu.Unlock()
}

// resolve records what became of an admitted message: handled (awaiting
// its acknowledgement if ackNeeded, else done) or not handled (forgotten,
// so it is handled when it comes again).
func (d *dispatcher) resolve(key [16]byte, wasHandled, ackNeeded bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case !wasHandled:
		d.seen.forget(key)
	case ackNeeded:
		d.seen.set(key, keyAwaiting)
	default:
		d.seen.done(key)
	}
}

// confirmed records that the server took (or refused for good) the
// acknowledgements of keys: they move to the window of done ids.
func (d *dispatcher) confirmed(keys [][16]byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, k := range keys {
		d.seen.done(k)
	}
}

// keyState is what the loop knows about a message id.
type keyState uint8

const (
	keyUnknown  keyState = iota
	keyQueued            // waiting for or in its handler
	keyAwaiting          // handled; its acknowledgement is not confirmed yet
	keyDone              // handled and acknowledged (or needs no acknowledgement)
)

// dedupe knows every id that is queued, running or awaiting its
// acknowledgement, with no limit (their number is bounded by the queues),
// and the last window ids that are done.
type dedupe struct {
	ids  map[[16]byte]keyEntry
	ring [][16]byte // done ids, oldest first from next
	next int
}

type keyEntry struct {
	state keyState
	slot  int32 // ring slot of a done id
}

func newDedupe(window int) dedupe {
	return dedupe{ids: make(map[[16]byte]keyEntry), ring: make([][16]byte, window)}
}

func (s *dedupe) get(k [16]byte) keyState { return s.ids[k].state }

func (s *dedupe) set(k [16]byte, st keyState) { s.ids[k] = keyEntry{state: st, slot: -1} }

func (s *dedupe) forget(k [16]byte) { delete(s.ids, k) }

// done moves k into the window, evicting the oldest done id.
func (s *dedupe) done(k [16]byte) {
	if len(s.ring) == 0 {
		delete(s.ids, k)
		return
	}
	old := s.ring[s.next]
	if e, ok := s.ids[old]; ok && e.state == keyDone && int(e.slot) == s.next {
		delete(s.ids, old)
	}
	s.ring[s.next] = k
	s.ids[k] = keyEntry{state: keyDone, slot: int32(s.next)}
	s.next++
	if s.next == len(s.ring) {
		s.next = 0
		// Go maps keep their tables after deletes; rebuild once per turn
		// of the ring so constant turnover cannot grow memory.
		fresh := make(map[[16]byte]keyEntry, len(s.ids))
		for id, e := range s.ids {
			fresh[id] = e
		}
		s.ids = fresh
	}
}

// itemKey identifies an inbound item for deduplication: the message id, or
// id and status for receipts (DELIVERED and READ of one message are two
// events). It parses the id once; ids that are not UUIDs are hashed.
func itemKey(id string, receipt bool, status string) [16]byte {
	u, err := uuid.Parse(id)
	if err != nil {
		u, _ = uuid.Parse(nameUUID("mixin-id:" + id))
	}
	if receipt {
		u[0] ^= 0x80 // receipts never collide with messages
		switch status {
		case string(AckStatusRead):
			u[1] ^= 0x01
		case string(AckStatusDelivered):
			u[1] ^= 0x02
		default:
			h, _ := uuid.Parse(nameUUID("mixin-receipt:" + id + "/" + status))
			return h
		}
	}
	return u
}
