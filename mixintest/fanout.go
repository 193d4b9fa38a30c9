package mixintest

import (
	"cmp"
	"slices"
)

// Fanout says how the emulator delivers a user's messages when the session
// has several blaze connections open (replicas of one bot). What the real
// server does is not documented; the SDK must be correct either way.
type Fanout int

const (
	// FanoutAll pushes every message to every connection that listed its
	// pending messages. The default: the pending queue belongs to the
	// session, not to a connection — the docs have every connection send
	// LIST_PENDING_MESSAGES and then stream "every undelivered or unacked
	// message" (developers.mixin.one, "Blaze" / LIST_PENDING_MESSAGES, as
	// protocol.md §7.4 quotes it), so a second connection of the session
	// sees what the first has not acknowledged; live pushes follow the
	// same rule here.
	FanoutAll Fanout = iota
	// FanoutOne pushes each message to one listed connection (chosen
	// round-robin). A LIST_PENDING_MESSAGES lists only the unacknowledged
	// messages no live connection holds; when a connection closes, the
	// unacknowledged messages it held go to another listed connection.
	FanoutOne
)

// WithFanout sets how messages reach several blaze connections of one
// session (default [FanoutAll]).
func WithFanout(f Fanout) Option {
	return serverOption(func(c *config) { c.fanout = f })
}

// pushLocked delivers a new pending entry live, as the fan-out says.
func (s *Server) pushLocked(mb *mailbox, e *pendingEntry) {
	if s.cfg.fanout != FanoutOne {
		for c := range mb.conns {
			if c.listed {
				c.send(outFrame{entry: e, source: sourceCreate})
			}
		}
		return
	}
	if c := mb.pick(); c != nil {
		e.holder = c
		c.send(outFrame{entry: e, source: sourceCreate})
	}
}

// pick returns the next listed connection, round-robin in the order they
// connected, or nil.
func (mb *mailbox) pick() *blazeConn {
	var listed []*blazeConn
	for c := range mb.conns {
		if c.listed {
			listed = append(listed, c)
		}
	}
	if len(listed) == 0 {
		return nil
	}
	slices.SortFunc(listed, func(a, b *blazeConn) int { return cmp.Compare(a.seq, b.seq) })
	mb.turn++
	return listed[mb.turn%uint64(len(listed))]
}

// backlogLocked is what a LIST_PENDING_MESSAGES from c lists: every
// unacknowledged entry, or with FanoutOne those no other live connection
// holds (c takes them).
func (s *Server) backlogLocked(mb *mailbox, c *blazeConn) []*pendingEntry {
	if s.cfg.fanout != FanoutOne {
		return mb.pending
	}
	var out []*pendingEntry
	for _, e := range mb.pending {
		if e.acked.Load() {
			continue
		}
		if h := e.holder; h != nil && h != c {
			if _, live := mb.conns[h]; live {
				continue
			}
		}
		e.holder = c
		out = append(out, e)
	}
	return out
}

// handOverLocked gives the unacknowledged entries held by a closed
// connection to another listed one (FanoutOne).
func (s *Server) handOverLocked(mb *mailbox, closed *blazeConn) {
	if s.cfg.fanout != FanoutOne {
		return
	}
	for _, e := range mb.pending {
		if e.holder != closed || e.acked.Load() {
			continue
		}
		e.holder = nil
		if c := mb.pick(); c != nil {
			e.holder = c
			c.send(outFrame{entry: e, source: sourceListPending})
		}
	}
}
