package mixin

import (
	"testing"
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
