package mixin

import (
	"context"
	"sync"

	"github.com/google/uuid"
)

// dispatcher runs handlers on a fixed pool of workers. Messages of one
// conversation wait in that conversation's queue and are handled one at a
// time, in arrival order; different conversations run in parallel. The
// total queued is bounded: enqueue blocks (backpressure on the socket)
// while the pool is full.
type dispatcher struct {
	slots chan struct{}   // one per queued or running message
	ready chan *convQueue // conversations with work and no worker
	mu    sync.Mutex
	convs map[string]*convQueue
	seen  *dedupe
}

type convQueue struct {
	key  string
	msgs []*Message
}

// fairness is how many messages a worker handles for one conversation
// before giving others a turn.
const fairness = 32

func newDispatcher(queueSize, dedupeWindow int) *dispatcher {
	return &dispatcher{
		slots: make(chan struct{}, queueSize),
		// Every conversation in ready holds at least one slot, so ready
		// can never fill up.
		ready: make(chan *convQueue, queueSize),
		convs: make(map[string]*convQueue),
		seen:  newDedupe(dedupeWindow),
	}
}

// admit decides what to do with an inbound message: handle it (true), or
// drop it because it is queued, running or already handled (false, and
// handled reports the latter so the caller can acknowledge it again).
func (d *dispatcher) admit(key [16]byte) (ok, handled bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.seen.admit(key)
}

// enqueue queues m under its ordering key; false if ctx ended first.
func (d *dispatcher) enqueue(ctx context.Context, orderKey string, m *Message) bool {
	select {
	case d.slots <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	d.mu.Lock()
	q, active := d.convs[orderKey]
	if !active {
		q = &convQueue{key: orderKey}
		d.convs[orderKey] = q
	}
	q.msgs = append(q.msgs, m)
	d.mu.Unlock()
	if !active {
		d.ready <- q
	}
	return true
}

// work handles conversations until stop closes; a message being handled
// is finished first.
func (d *dispatcher) work(stop <-chan struct{}, handle func(*Message)) {
	for {
		select {
		case <-stop:
			return
		case q := <-d.ready:
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				d.mu.Lock()
				if len(q.msgs) == 0 {
					delete(d.convs, q.key)
					d.mu.Unlock()
					break
				}
				if i == fairness {
					d.mu.Unlock()
					d.ready <- q // still active: keeps its place in convs
					break
				}
				m := q.msgs[0]
				q.msgs[0] = nil
				q.msgs = q.msgs[1:]
				d.mu.Unlock()
				handle(m)
				<-d.slots
			}
		}
	}
}

// done records the outcome of a message: handled ones join the dedupe
// window; unhandled ones (shutdown) may come again.
func (d *dispatcher) done(key [16]byte, handled bool) {
	d.mu.Lock()
	d.seen.finish(key, handled)
	d.mu.Unlock()
}

// dedupe remembers the ids in flight and the last n handled.
type dedupe struct {
	inflight map[[16]byte]struct{}
	recent   map[[16]byte]struct{}
	ring     [][16]byte
	next     int
}

func newDedupe(n int) *dedupe {
	return &dedupe{inflight: make(map[[16]byte]struct{}), recent: make(map[[16]byte]struct{}, n), ring: make([][16]byte, n)}
}

func (s *dedupe) admit(k [16]byte) (ok, handled bool) {
	if _, dup := s.inflight[k]; dup {
		return false, false
	}
	if _, dup := s.recent[k]; dup {
		return false, true
	}
	s.inflight[k] = struct{}{}
	return true, false
}

func (s *dedupe) finish(k [16]byte, handled bool) {
	delete(s.inflight, k)
	if !handled || len(s.ring) == 0 {
		return
	}
	if old := s.ring[s.next]; old != ([16]byte{}) {
		delete(s.recent, old)
	}
	s.ring[s.next] = k
	s.recent[k] = struct{}{}
	s.next = (s.next + 1) % len(s.ring)
	if s.next == 0 {
		// Go maps keep their tables after deletes; rebuild once per turn of
		// the ring so constant turnover cannot grow memory.
		s.recent = make(map[[16]byte]struct{}, len(s.ring))
		for _, id := range s.ring {
			s.recent[id] = struct{}{}
		}
	}
}

// messageKey identifies an inbound item for deduplication: the message id,
// or id and status for receipts (DELIVERED and READ of one message are two
// events).
func messageKey(m *Message) [16]byte {
	if m.Source == sourceReceipt {
		return uuidBytes(UniqueObjectID(m.MessageID, string(m.Status)))
	}
	return uuidBytes(m.MessageID)
}

func uuidBytes(s string) [16]byte {
	if u, err := uuid.Parse(s); err == nil {
		return u
	}
	u, _ := uuid.Parse(nameUUID("mixin-id:" + s))
	return u
}
