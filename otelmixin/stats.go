package otelmixin

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/gomixin/mixin"
)

// leaseTotals are the cumulative lease counts of one replica.
type leaseTotals struct {
	acquired, lost, released int64
}

func (l leaseTotals) add(s mixin.BlazeStats) leaseTotals {
	return leaseTotals{l.acquired + s.LeasesAcquired, l.lost + s.LeasesLost, l.released + s.LeasesReleased}
}

// gauges are the summed gauges of the runs of one replica.
type gauges struct {
	queued, deepest, conversations, deferred, parked, acks, connected, leases int64
	hasLeases                                                                 bool
	moves                                                                     leaseTotals
}

// observe reports the gauges of the running loops, summed by replica id
// (the deepest queue is the deepest of them), and the lease counters of
// every loop that ran.
func (t *Tracer) observe(_ context.Context, o metric.Observer) error {
	t.runsMu.Lock()
	runs := make([]*run, 0, len(t.runs))
	for r := range t.runs {
		runs = append(runs, r)
	}
	by := make(map[string]*gauges, len(runs)+len(t.retired))
	for replica, moves := range t.retired {
		by[replica] = &gauges{moves: moves, hasLeases: replica != ""}
	}
	t.runsMu.Unlock()
	for _, r := range runs {
		s := r.stats() // outside the lock: it takes the loop's locks
		g := by[r.replica]
		if g == nil {
			g = &gauges{}
			by[r.replica] = g
		}
		g.queued += int64(s.Queued)
		g.deepest = max(g.deepest, int64(s.DeepestQueue))
		g.conversations += int64(s.Conversations)
		g.deferred += int64(s.Deferred)
		g.parked += int64(s.Parked)
		g.acks += int64(s.AcksPending)
		if s.State == mixin.ConnStateConnected {
			g.connected++
		}
		g.leases += int64(s.LeasesHeld)
		g.hasLeases = g.hasLeases || r.replica != ""
		g.moves = g.moves.add(s)
	}
	for replica, g := range by {
		t.report(o, replica, g)
	}
	return nil
}

func (t *Tracer) report(o metric.Observer, replica string, g *gauges) {
	var opt metric.ObserveOption = metric.WithAttributeSet(*attribute.EmptySet())
	if replica != "" {
		opt = metric.WithAttributes(KeyReplica.String(replica))
	}
	in := &t.inst
	o.ObserveInt64(in.queued, g.queued, opt)
	o.ObserveInt64(in.deepest, g.deepest, opt)
	o.ObserveInt64(in.conversations, g.conversations, opt)
	o.ObserveInt64(in.deferred, g.deferred, opt)
	o.ObserveInt64(in.parked, g.parked, opt)
	o.ObserveInt64(in.acksPending, g.acks, opt)
	o.ObserveInt64(in.connected, g.connected, opt)
	if !g.hasLeases {
		return
	}
	o.ObserveInt64(in.leasesHeld, g.leases, opt)
	for _, m := range []struct {
		move string
		n    int64
	}{{"acquired", g.moves.acquired}, {"lost", g.moves.lost}, {"released", g.moves.released}} {
		o.ObserveInt64(in.leaseMoves, m.n, metric.WithAttributes(KeyReplica.String(replica), KeyLeaseMove.String(m.move)))
	}
}
