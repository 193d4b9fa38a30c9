package mixintest

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// listed dials the bot and lists its pending messages; it returns the
// connection and the ids of the backlog pushed.
func listed(t *testing.T, s *Server, backlog int) (conn interface{ Close() error }, ids []string, recvID func() string) {
	t.Helper()
	c := dial(t, s, s.Bot())
	send(t, c, uuid.NewString(), "LIST_PENDING_MESSAGES", nil)
	mustRecv(t, c) // the reply
	next := func() string {
		f, err := recv(c, 3*time.Second)
		if err != nil {
			return ""
		}
		return f.msg(t).MessageID
	}
	for range backlog {
		ids = append(ids, next())
	}
	return c, ids, next
}

func TestFanoutAllIsTheDefault(t *testing.T) {
	s := NewServer(t)
	alice := s.NewUser("Alice")
	_, _, next1 := listed(t, s, 0)
	_, _, next2 := listed(t, s, 0)
	m, err := alice.SendText(ctxT(t), s.Bot().UserID, "to both")
	if err != nil {
		t.Fatal(err)
	}
	if a, b := next1(), next2(); a != m.MessageID || b != m.MessageID {
		t.Fatalf("each connection gets the message: %q %q want %q", a, b, m.MessageID)
	}
}

func TestFanoutOne(t *testing.T) {
	s := NewServer(t, WithFanout(FanoutOne))
	alice := s.NewUser("Alice")
	c1, _, next1 := listed(t, s, 0)
	_, _, next2 := listed(t, s, 0)
	var sent []string
	for i := range 4 {
		m, err := alice.SendText(ctxT(t), s.Bot().UserID, "round "+string(rune('a'+i)))
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m.MessageID)
	}
	// Round-robin: two each, none twice.
	got := map[string]int{}
	var on1 []string
	for range 2 {
		id := next1()
		on1 = append(on1, id)
		got[id]++
		got[next2()]++
	}
	for _, id := range sent {
		if got[id] != 1 {
			t.Fatalf("message %s delivered %d times: %v", id, got[id], got)
		}
	}
	// A third connection lists nothing: every message is held by a live one.
	c3 := dial(t, s, s.Bot())
	send(t, c3, uuid.NewString(), "LIST_PENDING_MESSAGES", nil)
	mustRecv(t, c3)
	if f, err := recv(c3, 200*time.Millisecond); err == nil {
		t.Fatalf("listed a message another connection holds: %s", f.Data)
	}
	_ = c3.Close() // its read timed out: unusable
	_, _, next4 := listed(t, s, 0)
	// The first closes without acknowledging: its messages go to the others.
	_ = c1.Close()
	handed := map[string]bool{next2(): true, next4(): true}
	for _, id := range on1 {
		if !handed[id] {
			t.Fatalf("%s not handed over: %v", id, handed)
		}
	}
}
