package mixin

import "github.com/google/uuid"

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
