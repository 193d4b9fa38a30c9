package mixin

import (
	"sync"
	"time"
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

	tr itemTrace // for the tracer (WithTracer)
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
	key      string
	q        []*item
	head     int
	busy     bool          // a worker has it, or it waits in ready
	running  bool          // a worker has it (it is in dispatcher.running)
	shed     bool          // this connection leaves its further messages to the server
	waited   time.Duration // reader time spent waiting for room in it, this connection
	deferred int           // its messages left to the server on this connection
	owed     int           // messages to admit before it may be shed while it makes progress
	paid     bool          // it admitted a message it owed on this connection
	since    time.Time     // when its current message started, or it became ready
	slowest  time.Duration // the longest one of its messages took
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

// dropTail takes back the newest waiting message.
func (l *lane) dropTail() *item {
	n := len(l.q) - 1
	it := l.q[n]
	l.q[n] = nil
	l.q = l.q[:n]
	if l.head == n {
		l.q, l.head = l.q[:0], 0
	}
	return it
}

// dispatcher holds what waits for the workers: one lane per conversation,
// a FIFO of lanes that have work and no worker, the bounds, and the dedupe
// states, all under one mutex so admitting a message takes one lock. How
// it admits messages is in blaze_admit.go.
type dispatcher struct {
	perLane int           // most messages one conversation may have waiting
	total   int           // most messages waiting in all
	wait    time.Duration // how long the reader may wait for one conversation per connection

	mu       sync.Mutex
	cond     sync.Cond // workers wait here for a ready lane
	lanes    map[string]*lane
	ready    []*lane
	readyAt  int
	running  []*lane // the lanes workers have
	free     []*lane // emptied lanes, kept for reuse with their queues
	shedding []*lane // the lanes shed on this connection
	queued   int     // messages waiting for a worker
	stopped  bool    // workers take nothing more
	seen     dedupe
}

func newDispatcher(perLane, total, window int, wait time.Duration) *dispatcher {
	d := &dispatcher{perLane: min(perLane, total), total: total, wait: wait, lanes: make(map[string]*lane), seen: newDedupe(window)}
	d.cond.L = &d.mu
	return d
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

// newConnection starts the per-connection state of every lane afresh: a
// lane owes what it left to the server on the connection before, or what
// it still owed if it was taking it when the connection ended (a debt
// whose messages did not come at all is forgotten: they were handled
// elsewhere).
func (d *dispatcher) newConnection() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range d.lanes {
		if !l.paid {
			l.owed = 0
		}
		l.owed = max(l.owed, l.deferred)
		l.shed, l.waited, l.deferred, l.paid = false, 0, 0, false
		if !l.busy && l.len() == 0 && l.owed == 0 {
			d.dropLane(l)
		}
	}
	clear(d.shedding)
	d.shedding = d.shedding[:0]
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
// in this turn (n > 0: the one before is done), and frees its room; nil
// when the lane is empty (released, and relist reports that a shed lane
// drained) or its turn is over (queued again).
func (d *dispatcher) take(l *lane, n int) (it *item, relist bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return nil, false
	}
	now := time.Now()
	if n > 0 {
		l.slowest = max(l.slowest, now.Sub(l.since))
	}
	l.since = now
	if l.len() == 0 {
		d.setRunning(l, false)
		l.busy = false
		if l.shed {
			return nil, true
		}
		if l.waited == 0 && l.owed == 0 {
			d.dropLane(l)
		}
		return nil, false
	}
	if n >= fairness && d.readyAt < len(d.ready) {
		d.setRunning(l, false)
		d.ready = append(d.ready, l)
		d.cond.Signal()
		return nil, false
	}
	d.setRunning(l, true)
	d.queued--
	return l.pop(), false
}

// setRunning records whether a worker has l.
func (d *dispatcher) setRunning(l *lane, on bool) {
	if l.running == on {
		return
	}
	l.running = on
	if on {
		d.running = append(d.running, l)
		return
	}
	for i, x := range d.running {
		if x == l {
			last := len(d.running) - 1
			d.running[i] = d.running[last]
			d.running[last] = nil
			d.running = d.running[:last]
			return
		}
	}
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
