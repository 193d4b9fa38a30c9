package mixin_test

import (
	"testing"

	"github.com/gomixin/mixin/internal/loopbench"
)

// BenchmarkBlazeInbound measures messages through the whole loop: an
// in-process websocket server writes pre-encoded frames, a no-op handler
// runs, acknowledgements are batched to an in-process endpoint. Besides
// ns/op it reports cpu-ns/op, the process's CPU time per message (the
// loop's and the in-process servers'); x-decode, its time over a plain
// gzip and JSON decode of the same frames just before, in the same process,
// so machine load cancels out of the ratio; and acks/request. The same
// measure, with options, is otelmixin's BenchmarkBlazeInboundObserved.
func BenchmarkBlazeInbound(b *testing.B) { loopbench.Inbound(b) }
