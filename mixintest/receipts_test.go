package mixintest

import (
	"testing"

	"github.com/gomixin/mixin"
)

// TestBlazeReceiptKeying: by default an acknowledgement retires only the
// receipt with its status; keyed by message it retires both receipts of
// the message, the one not pushed yet included.
func TestBlazeReceiptKeying(t *testing.T) {
	for _, tc := range []struct {
		name   string
		keying ReceiptKeying
		left   int // receipts still queued after the READ one was acknowledged
	}{{"by status", ReceiptKeyingByStatus, 1}, {"by message", ReceiptKeyingByMessage, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer(t, WithReceiptKeying(tc.keying))
			bot, alice := s.Bot(), s.NewUser("Alice")
			conv := createContact(t, s, bot, alice)
			c, err := s.Client()
			if err != nil {
				t.Fatal(err)
			}
			sent, err := c.SendText(ctxT(t), mixin.ToConversation(conv), "hi")
			if err != nil {
				t.Fatal(err)
			}
			// The bot is offline: both receipts wait in its queue, unpushed.
			for _, st := range []mixin.AckStatus{mixin.AckStatusDelivered, mixin.AckStatusRead} {
				if err := alice.Ack(ctxT(t), sent.MessageID, st); err != nil {
					t.Fatal(err)
				}
			}
			if n := s.Pending(bot.UserID); n != 2 {
				t.Fatalf("pending %d, want both receipts", n)
			}
			if err := c.SendAcknowledgements(ctxT(t), []mixin.AcknowledgementRequest{{MessageID: sent.MessageID, Status: mixin.AckStatusRead}}); err != nil {
				t.Fatal(err)
			}
			if n := s.Pending(bot.UserID); n != tc.left {
				t.Fatalf("pending %d after acknowledging READ, want %d", n, tc.left)
			}
		})
	}
}
