package mixin

import "time"

// How the dispatcher admits inbound messages, and why no conversation
// holds up another.
//
// Room is held by waiting messages only (WithHandlerQueueSize counts those; a
// running one is bounded by the pool), so conversations whose handlers
// are stuck cannot take the room the idle workers need, and one
// conversation may hold at most all of it. The reader waits for room in
// two cases, never without a bound while a conversation is stuck:
//
//   - a conversation is full: the reader waits for it, for at most its
//     budget on this connection (WithConversationQueue's maxWait). Then
//     the conversation is shed: its further messages on this connection
//     are left to the server, unacknowledged.
//   - the queue is full, held by several conversations: the reader waits
//     as long as they make progress (legitimate back-pressure). A
//     conversation whose current message has run longer than it may (see
//     stallAfter) while messages of it wait is stalled, and is shed.
//
// When the queue is full and a shed conversation has messages waiting,
// the newest of them gives its room back: it is forgotten, not
// acknowledged, like the conversation's later messages. A shed
// conversation's messages come again, in order, with the next listing,
// which the loop asks for as soon as the conversation caught up.
//
// A listing pushes every unacknowledged message again, so a backlog shed
// on every connection would cost about n²/(2·handled per connection)
// pushes. A conversation that had messages left to the server on the
// connection before therefore owes as many: until it admitted them, it is
// shed only when it stalls, not because it is slow. A backlog is then
// pushed about twice: once with the listing that shed it, once with the
// listing that fetches what it left.

// verdict is what admission decided for one inbound item.
type verdict uint8

const (
	admitted  verdict = iota // queued for its handler
	repeat                   // queued, running or awaiting its ack: drop
	handled                  // handled and acknowledged before: acknowledge again
	deferred                 // its lane is shed on this connection: leave it to the server
	ackFull                  // no room for acknowledgements: wait until some are confirmed
	laneFull                 // its lane is full: wait (see waitLeft), then charge the lane
	queueFull                // the queue is full: wait for room, or until a lane may stall (stallIn)
)

// offer admits it if there is room; acksFull says the acknowledgement
// queue is at its bound, needAck whether it is acknowledged once handled.
// The lane returned is the one a laneFull verdict waits for.
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
			return ackFull, nil
		}
		d.seen.set(it.key, keyAwaiting)
		return handled, nil
	}
	l := d.lanes[it.lane]
	if acksFull && (l == nil || !l.shed) {
		return ackFull, nil
	}
	if l != nil && l.len() >= d.perLane && !l.shed {
		return laneFull, l
	}
	if !l.isShed() && d.queued >= d.total && !d.evict() {
		d.shedStalled(time.Now())
		if !l.isShed() && !d.evict() {
			return queueFull, nil
		}
	}
	if l.isShed() {
		l.deferred++
		return deferred, l
	}
	if l == nil {
		l = d.newLane(it.lane)
		d.lanes[it.lane] = l
	}
	d.seen.set(it.key, keyQueued)
	d.queued++
	if l.owed > 0 {
		l.owed--
		l.paid = true
	}
	l.push(it)
	if !l.busy {
		l.busy = true
		l.since = time.Now()
		d.ready = append(d.ready, l)
		d.cond.Signal()
	}
	return admitted, l
}

func (l *lane) isShed() bool { return l != nil && l.shed }

// shed leaves l's further messages on this connection to the server.
func (d *dispatcher) shed(l *lane) {
	l.shed = true
	d.shedding = append(d.shedding, l)
}

// evict makes room in a full queue: the shed lane with the most messages
// waiting gives back its newest, which is forgotten, not acknowledged, so
// the server pushes it again, in order, with the next listing. False if
// no shed lane has a message waiting.
func (d *dispatcher) evict() bool {
	var from *lane
	for _, l := range d.shedding {
		if l.len() > 0 && (from == nil || l.len() > from.len()) {
			from = l
		}
	}
	if from == nil {
		return false
	}
	it := from.dropTail()
	d.seen.forget(it.key)
	d.queued--
	from.deferred++
	return true
}

// stallAfter is how long l's current message may run before l counts as
// stalled: its budget, and at least twice its slowest message so far.
func (d *dispatcher) stallAfter(l *lane) time.Duration { return max(d.wait, 2*l.slowest) }

// stalled says l's current message has run longer than it may.
func (d *dispatcher) stalled(l *lane, now time.Time) bool {
	return l.running && now.Sub(l.since) >= d.stallAfter(l)
}

// shedStalled sheds the stalled lanes that hold room.
func (d *dispatcher) shedStalled(now time.Time) {
	for _, l := range d.running {
		if l.len() > 0 && !l.shed && d.stalled(l, now) {
			d.shed(l)
		}
	}
}

// stallIn is how long until a lane that holds room may count as stalled;
// -1 if none runs (a lane that holds room starts running only by taking
// a message, which frees room and wakes the reader).
func (d *dispatcher) stallIn() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	now, next := time.Now(), time.Duration(-1)
	for _, l := range d.running {
		if l.len() == 0 || l.shed {
			continue
		}
		if left := max(d.stallAfter(l)-now.Sub(l.since), 0); next < 0 || left < next {
			next = left
		}
	}
	return next
}

// waitLeft is how much longer the reader may wait for room in the full
// lane l: what is left of its budget on this connection or, while it
// owes messages, the time until it may count as stalled (-1: no limit
// while it waits for a worker).
func (d *dispatcher) waitLeft(l *lane) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	if l.owed > 0 {
		if !l.running {
			return -1
		}
		return max(d.stallAfter(l)-time.Since(l.since), 0)
	}
	return max(d.wait-l.waited, 0)
}

// charge adds a wait the reader spent for room in the full lane l. Once
// its budget is spent (or, while it owes messages, once it stalled) and
// it is still full, l is shed for the rest of the connection. A lane that
// drained and was dropped during the wait is not charged: it is kept for
// reuse by another conversation, which must start with its whole budget.
func (d *dispatcher) charge(l *lane, waited time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lanes[l.key] != l || l.shed {
		return
	}
	l.waited += waited
	if l.len() < d.perLane {
		return
	}
	if l.owed > 0 {
		if !d.stalled(l, time.Now()) {
			return
		}
	} else if l.waited < d.wait {
		return
	}
	d.shed(l)
}
