package mixin_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkReplicaScaling drains a backlog of b.N messages over 300
// conversations with one replica and with three, on one PostgreSQL store,
// each replica a process whose handler takes 5ms (waiting, as on a network
// call), in one run so the ratio of their msgs/s holds. The time counts
// from starting the replicas to the last acknowledgement. Each replica runs
// 2 workers, so that the handlers, not the machine's CPU, are the limit on
// a small machine (3 replicas of 8 workers would need about 4,800 msgs/s
// of CPU: decoding every message in every replica, the emulator pushing
// it to each); workers=8 runs the default. Needs MIXIN_TEST_POSTGRES:
//
//	go test -run '^$' -bench ReplicaScaling -benchtime 4000x -count 3 .
func BenchmarkReplicaScaling(b *testing.B) {
	for _, w := range []int{2, 8} {
		for _, n := range []int{1, 3} {
			b.Run(fmt.Sprintf("workers=%d/replicas=%d", w, n), func(b *testing.B) { benchReplicas(b, n, w) })
		}
	}
}

func benchReplicas(b *testing.B, n, workers int) {
	bot := newReplicaBot(b, n, 300, 0, false)
	for i := range b.N {
		if _, err := bot.send(b.Context(), i); err != nil {
			b.Fatal(err)
		}
	}
	pending := func() int { return bot.s.Pending(bot.s.Bot().UserID) }
	b.ResetTimer()
	children := make([]*child, n)
	for i := range children {
		cfg := bot.cfgs[i]
		cfg.Calls, cfg.Workers, cfg.Delay = filepath.Join(b.TempDir(), "calls.log"), workers, 5*time.Millisecond
		bot.cfgs[i] = cfg
		children[i] = startChild(b, cfg)
	}
	waitFor(b, "the backlog drained", func() int { return -pending() }, func() bool { return pending() == 0 })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	per := make([]int, n)
	for i := range per {
		per[i] = bot.calls(b, i)
	}
	b.Logf("handled per replica: %v", per)
	for _, c := range children {
		c.stop(b)
	}
}
