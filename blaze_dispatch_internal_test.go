package mixin

import (
	"testing"
	"testing/synctest"
	"time"
)

func dispatchItem(t *testing.T, lane string) *item {
	t.Helper()
	id := NewUUID()
	return &item{msg: Message{MessageID: id, ConversationID: lane}, key: itemKey(id, false, ""), lane: lane}
}

// The reader charges its wait to the lane it waited for. When that lane
// drained and was dropped (and kept for reuse) meanwhile, the wait must not
// stick to the dropped lane: the conversation that reuses it next would
// start with its budget spent and be shed at once.
func TestDispatcherWaitOnDroppedLaneIsNotCharged(t *testing.T) {
	const budget = time.Second
	d := newDispatcher(2, 100, 16, budget)
	for range 2 {
		if v, _ := d.offer(dispatchItem(t, "a"), false, true); v != admitted {
			t.Fatalf("offer: %v, want admitted", v)
		}
	}
	v, full := d.offer(dispatchItem(t, "a"), false, true)
	if v != laneFull {
		t.Fatalf("third offer: %v, want laneFull", v)
	}
	// A worker drains lane a while the reader waits for room in it.
	l := d.next()
	for n := 0; ; n++ {
		if it, _ := d.take(l, n); it == nil {
			break
		}
	}
	d.charge(full, budget)

	if v, _ := d.offer(dispatchItem(t, "b"), false, true); v != admitted {
		t.Fatalf("offer to b: %v, want admitted", v)
	}
	b := d.lanes["b"]
	if left := d.waitLeft(b); left != budget {
		t.Errorf("a new conversation starts with %v of its %v wait budget left", left, budget)
	}
	if b.shed {
		t.Error("a new conversation starts shed")
	}
}

// shedLane fills lane key of d (perLane 2) and charges it past its budget,
// leaving it shed with deferred messages left to the server.
func shedLane(t *testing.T, d *dispatcher, key string, deferredN int) *lane {
	t.Helper()
	for range 2 {
		if v, _ := d.offer(dispatchItem(t, key), false, true); v != admitted {
			t.Fatalf("offer: %v, want admitted", v)
		}
	}
	v, l := d.offer(dispatchItem(t, key), false, true)
	if v != laneFull {
		t.Fatalf("offer to a full lane: %v, want laneFull", v)
	}
	d.charge(l, d.wait)
	for range deferredN {
		if v, _ := d.offer(dispatchItem(t, key), false, true); v != deferred {
			t.Fatalf("offer to a shed lane: %v, want deferred", v)
		}
	}
	return l
}

// A conversation owes, on the next connection, what it left to the server;
// while it owes, a wait for it is not charged as slowness (only a stall
// sheds it). A debt whose messages never come (they were handled
// elsewhere) is forgotten after that connection, and the lane with it.
func TestDispatcherDebtLastsWhileItIsPaid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDispatcher(2, 100, 16, time.Second)
		l := shedLane(t, d, "a", 5)
		w := d.next()
		for n := 0; ; n++ { // the worker drains it
			if it, _ := d.take(w, n); it == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		d.newConnection()
		if l.owed != 5 {
			t.Fatalf("owed %d, want the 5 left to the server", l.owed)
		}
		for range 2 {
			if v, _ := d.offer(dispatchItem(t, "a"), false, true); v != admitted {
				t.Fatalf("offer: %v, want admitted", v)
			}
		}
		w = d.next()
		if it, _ := d.take(w, 0); it == nil {
			t.Fatal("no message to take")
		}
		if v, _ := d.offer(dispatchItem(t, "a"), false, true); v != admitted {
			t.Fatalf("offer after a take: %v, want admitted", v)
		}
		v, full := d.offer(dispatchItem(t, "a"), false, true)
		if v != laneFull {
			t.Fatalf("offer: %v, want laneFull", v)
		}
		d.charge(full, 10*time.Second) // far past its budget, but it runs for no time yet
		if l.shed {
			t.Fatal("a lane that owes messages was shed for being slow")
		}
		time.Sleep(2 * time.Second) // its message runs past its budget and twice its slowest
		d.charge(full, 0)
		if !l.shed {
			t.Fatal("a stalled lane that owes messages was not shed")
		}

		d2 := newDispatcher(2, 100, 16, time.Second)
		shedLane(t, d2, "b", 3)
		w = d2.next()
		for n := 0; ; n++ {
			if it, _ := d2.take(w, n); it == nil {
				break
			}
		}
		d2.newConnection() // owes 3; none of them comes
		d2.newConnection()
		if _, ok := d2.lanes["b"]; ok {
			t.Error("a debt whose messages never came is kept")
		}
	})
}
