package otelmixin_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/otelmixin"
	"github.com/gomixin/mixin/store/sqlite"
)

// With a store and a replica id, commits are measured (duration, group
// size, records), the leases this replica holds are a gauge, and taking
// them counts as lease moves. A handler's own transaction is a commit of
// kind tx, a child of its message's span; group commits link to theirs.
func TestStoreCommitsAndLeases(t *testing.T) {
	g := newRig(t)
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "bot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	const n = 6
	var handled atomic.Int64
	g.runLoop(t, mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		if string(mustBytes(t, m)) == "tx" {
			tx, err := mixin.Tx(ctx)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "SELECT 1"); err != nil {
				return err
			}
		}
		handled.Add(1)
		return nil
	}), mixin.WithStore(db), mixin.WithReplica("replica-a", 0))
	users := []string{"Alice", "Bob", "Carol"}
	for i := range n {
		u := g.srv.NewUser(users[i%len(users)])
		text := "plain"
		if i == 0 {
			text = "tx"
		}
		if _, err := u.SendText(t.Context(), g.srv.Bot().UserID, text); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "every message acknowledged", func() bool { return handled.Load() == n && g.srv.Pending(g.srv.Bot().UserID) == 0 })
	rm := g.collect(t)
	group := otelmixin.KeyCommitKind.String("group")
	tx := otelmixin.KeyCommitKind.String("tx")
	if got := total(rm, otelmixin.MetricRecordsHandled, group) + total(rm, otelmixin.MetricRecordsHandled, tx); got != n {
		t.Errorf("records handled = %d, want %d", got, n)
	}
	if got := total(rm, otelmixin.MetricRecordsHandled, tx); got != 1 {
		t.Errorf("records committed in the handler's transaction = %d, want 1", got)
	}
	if got := total(rm, otelmixin.MetricCommitDuration, group); got == 0 {
		t.Error("no group commit measured")
	}
	if got := total(rm, otelmixin.MetricCommitSize, group); got == 0 {
		t.Error("no group size measured")
	}
	replica := otelmixin.KeyReplica.String("replica-a")
	if got := total(rm, otelmixin.MetricLeaseMoves, replica, otelmixin.KeyLeaseMove.String("acquired")); got < n {
		t.Errorf("leases acquired = %d, want at least %d (one per conversation)", got, n)
	}
	if held := points(rm, otelmixin.MetricLeasesHeld); len(held) != 1 || !hasAll(held[0].attrs, []attribute.KeyValue{replica}) {
		t.Errorf("leases held: %v, want one point for replica-a", held)
	}
	checkCommitSpans(t, g)
}

func checkCommitSpans(t *testing.T, g *rig) {
	t.Helper()
	process := map[trace.SpanID]bool{}
	var txParents, groupLinks []trace.SpanID
	for _, s := range g.spans.Ended() {
		switch s.Name() {
		case "process":
			process[s.SpanContext().SpanID()] = true
		case "commit":
			attrs := attribute.NewSet(s.Attributes()...)
			if v, _ := attrs.Value(otelmixin.KeyCommitKind); v.AsString() == "tx" {
				txParents = append(txParents, s.Parent().SpanID())
				continue
			}
			for _, l := range s.Links() {
				groupLinks = append(groupLinks, l.SpanContext.SpanID())
			}
		}
	}
	if len(txParents) != 1 || !process[txParents[0]] {
		t.Errorf("the tx commit's parent is not a process span (%d tx commits)", len(txParents))
	}
	if len(groupLinks) == 0 {
		t.Fatal("no group commit links to a message")
	}
	for _, id := range groupLinks {
		if !process[id] {
			t.Error("a group commit links to something that is not a process span")
		}
	}
}
